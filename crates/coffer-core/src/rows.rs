//! The SQL of the credential tables, written once: a current record in
//! `credentials`, an earlier version in `history`. Callers bring sealed
//! columns (see `sealed.rs`); this module only stores them.

use rusqlite::{params, Connection};

/// A credential record, sealed, as it is stored.
pub(crate) struct StoredRecord<'a> {
    pub id: &'a [u8],
    pub name_index: &'a [u8],
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub meta: &'a [u8],
    pub secrets: &'a [u8],
}

fn version(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `Ok` when a write changed exactly one row: a statement that changed none
/// was dropped by something in the file (a trigger's `RAISE(IGNORE)`).
pub(crate) fn one_row(changed: usize) -> rusqlite::Result<()> {
    match changed {
        1 => Ok(()),
        n => Err(rusqlite::Error::StatementChangedRows(n)),
    }
}

/// Inserts a current record (a new credential, or one restored).
pub(crate) fn insert_current(conn: &Connection, r: &StoredRecord<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO credentials (id, name_index, version, created_at, updated_at, meta, secrets)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.id,
        r.name_index,
        version(r.version),
        r.created_at,
        r.updated_at,
        r.meta,
        r.secrets
    ])
    .and_then(one_row)
}

/// Inserts an earlier version into the history (its `updated_at` is when it was written).
pub(crate) fn insert_history(conn: &Connection, r: &StoredRecord<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO history (credential_id, version, created_at, meta, secrets)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        r.id,
        version(r.version),
        r.updated_at,
        r.meta,
        r.secrets
    ])
    .and_then(one_row)
}

/// The condition on `credentials` that picks the live records, as SQL text
/// for `concat!`. A live credential is filed under the 32-byte MAC of its
/// name (`Cipher::name_index`); one in the trash under [`trash_index`], so
/// its name is free and reads of the live records skip it without
/// decrypting anything. The sealed `trashed_at` is what is trusted: a record
/// filed against it is refused where it is read.
macro_rules! live {
    () => {
        "length(name_index) = 32"
    };
}
pub(crate) use live;

/// Where a credential in the trash is filed: not a MAC (nothing about a
/// deleted record's name is in it), and never 32 bytes long, so never live.
pub(crate) fn trash_index(id: &[u8]) -> Vec<u8> {
    [b"trash:".as_slice(), id].concat()
}
