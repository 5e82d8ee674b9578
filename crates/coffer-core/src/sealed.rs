//! Every encrypted column of the vault, declared once: its table, its column,
//! and the associated data that binds a value to its place (vault, row,
//! version, purpose), so a ciphertext moved anywhere else fails to open.
//!
//! Nothing else builds associated data for a vault column or calls the AEAD
//! on one: writers and readers name a [`Place`], and rekey walks [`COLUMNS`],
//! so a column added here is re-encrypted without further code (a unit test
//! adds one and checks it).

use rusqlite::types::Value;
use rusqlite::{params, Connection};
use zeroize::Zeroizing;

use crate::crypto;
use crate::error::{Error, Result};
use crate::secret::Key32;

/// The label of the audit trail's bodies (and, through HKDF, of its MAC key).
pub const AUDIT_LABEL: &str = "coffer/v1/audit";

/// Which half of a credential record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordPart {
    Meta,
    Secrets,
}

/// Which half of a rotation run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunPart {
    State,
    Pending,
}

/// Where a sealed value lives: what its associated data binds besides the
/// envelope version and the vault id.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place<'a> {
    /// A credential's current record or one of its history versions.
    Record {
        id: &'a [u8],
        version: u64,
        part: RecordPart,
    },
    /// A setting, by key.
    Setting { key: &'a str },
    /// What a remote held at the last sync, by remote and link id.
    SyncLink { remote_id: &'a str, id: &'a [u8] },
    /// A rotation run's state or pending value, by run id.
    Rotation { run: &'a [u8], part: RunPart },
    /// An audit entry's body (its place in the trail is bound by the MAC chain).
    AuditBody,
}

impl Place<'_> {
    /// The associated data of a value at this place in vault `vault_id`.
    pub(crate) fn aad(&self, vault_id: &[u8]) -> Vec<u8> {
        match *self {
            Place::Record { id, version, part } => crypto::aad(&[
                b"coffer/v1/record",
                vault_id,
                id,
                &version.to_be_bytes(),
                match part {
                    RecordPart::Meta => b"meta",
                    RecordPart::Secrets => b"secrets",
                },
            ]),
            Place::Setting { key } => {
                crypto::aad(&[b"coffer/v1/setting", vault_id, key.as_bytes()])
            }
            Place::SyncLink { remote_id, id } => {
                crypto::aad(&[b"coffer/v1/sync-link", vault_id, remote_id.as_bytes(), id])
            }
            Place::Rotation { run, part } => crypto::aad(&[
                b"coffer/v1/rotation",
                vault_id,
                run,
                match part {
                    RunPart::State => b"state",
                    RunPart::Pending => b"pending",
                },
            ]),
            Place::AuditBody => crypto::aad(&[AUDIT_LABEL.as_bytes(), vault_id]),
        }
    }
}

/// Seals `plaintext` for `place` under the vault key.
pub(crate) fn seal(
    key: &Key32,
    vault_id: &[u8],
    place: Place<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    crypto::seal(key, &place.aad(vault_id), plaintext)
}

/// Opens a value sealed for `place`; any failure is an integrity error naming `what`.
pub(crate) fn open(
    key: &Key32,
    vault_id: &[u8],
    place: Place<'_>,
    envelope: &[u8],
    what: impl FnOnce() -> String,
) -> Result<Zeroizing<Vec<u8>>> {
    crypto::open_with(key, &place.aad(vault_id), envelope, what)
}

/// How rekey treats a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rekey {
    /// Opened under the old key and sealed under the new one, row by row.
    Reseal,
    /// Re-encrypted by `audit::rechain`, which also recomputes the MAC chain
    /// (after verifying it under the old key).
    Rechain,
}

/// One encrypted column of the vault.
pub(crate) struct Column {
    pub table: &'static str,
    pub column: &'static str,
    /// The columns a row's [`Place`] is read from, in the order `place` takes them.
    pub keys: &'static [&'static str],
    pub place: for<'a> fn(&'a [Value]) -> Option<Place<'a>>,
    pub rekey: Rekey,
    /// What a failure names ("credential record", "setting", …).
    pub what: &'static str,
}

fn blob(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Blob(b) => Some(b),
        _ => None,
    }
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::Text(t) => Some(t),
        _ => None,
    }
}

fn record(keys: &[Value], part: RecordPart) -> Option<Place<'_>> {
    match keys {
        [id, Value::Integer(version)] => Some(Place::Record {
            id: blob(id)?,
            version: u64::try_from(*version).ok()?,
            part,
        }),
        _ => None,
    }
}

fn record_meta(keys: &[Value]) -> Option<Place<'_>> {
    record(keys, RecordPart::Meta)
}

fn record_secrets(keys: &[Value]) -> Option<Place<'_>> {
    record(keys, RecordPart::Secrets)
}

fn setting(keys: &[Value]) -> Option<Place<'_>> {
    Some(Place::Setting {
        key: text(keys.first()?)?,
    })
}

fn sync_link(keys: &[Value]) -> Option<Place<'_>> {
    match keys {
        [remote_id, id] => Some(Place::SyncLink {
            remote_id: text(remote_id)?,
            id: blob(id)?,
        }),
        _ => None,
    }
}

fn run(keys: &[Value], part: RunPart) -> Option<Place<'_>> {
    Some(Place::Rotation {
        run: blob(keys.first()?)?,
        part,
    })
}

fn run_state(keys: &[Value]) -> Option<Place<'_>> {
    run(keys, RunPart::State)
}

fn run_pending(keys: &[Value]) -> Option<Place<'_>> {
    run(keys, RunPart::Pending)
}

fn audit_body(_: &[Value]) -> Option<Place<'_>> {
    Some(Place::AuditBody)
}

/// Every encrypted column of the vault (format version 2). Key slots are not
/// here: they are sealed under key-encryption keys, not the vault key (`slot.rs`).
pub(crate) const COLUMNS: &[Column] = &[
    Column {
        table: "credentials",
        column: "meta",
        keys: &["id", "version"],
        place: record_meta,
        rekey: Rekey::Reseal,
        what: "credential record",
    },
    Column {
        table: "credentials",
        column: "secrets",
        keys: &["id", "version"],
        place: record_secrets,
        rekey: Rekey::Reseal,
        what: "credential record",
    },
    Column {
        table: "history",
        column: "meta",
        keys: &["credential_id", "version"],
        place: record_meta,
        rekey: Rekey::Reseal,
        what: "credential history record",
    },
    Column {
        table: "history",
        column: "secrets",
        keys: &["credential_id", "version"],
        place: record_secrets,
        rekey: Rekey::Reseal,
        what: "credential history record",
    },
    Column {
        table: "settings",
        column: "value",
        keys: &["key"],
        place: setting,
        rekey: Rekey::Reseal,
        what: "setting",
    },
    Column {
        table: "sync_links",
        column: "body",
        keys: &["remote_id", "id"],
        place: sync_link,
        rekey: Rekey::Reseal,
        what: "sync link",
    },
    Column {
        table: "rotations",
        column: "state",
        keys: &["id"],
        place: run_state,
        rekey: Rekey::Reseal,
        what: "rotation state",
    },
    Column {
        table: "rotations",
        column: "pending",
        keys: &["id"],
        place: run_pending,
        rekey: Rekey::Reseal,
        what: "rotation pending value",
    },
    Column {
        table: "audit",
        column: "body",
        keys: &[],
        place: audit_body,
        rekey: Rekey::Rechain,
        what: "audit entry",
    },
];

/// What [`reseal_all`] shows each value it re-encrypts: the column, the
/// row's key values and the plaintext.
pub(crate) type Seen<'a> = dyn FnMut(&Column, &[Value], &[u8]) -> Result<()> + 'a;

/// `SELECT rowid, <column>, <keys…> FROM <table>` over the rows that hold a value.
fn select(c: &Column) -> String {
    format!(
        "SELECT rowid, {col}{sep}{keys} FROM {table} WHERE {col} IS NOT NULL",
        col = c.column,
        sep = if c.keys.is_empty() { "" } else { ", " },
        keys = c.keys.join(", "),
        table = c.table,
    )
}

/// A row's rowid, sealed value and key values, as [`select`] returns them.
fn row_of(c: &Column, r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Vec<u8>, Vec<Value>)> {
    let keys = (0..c.keys.len())
        .map(|i| r.get::<_, Value>(i + 2))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((r.get(0)?, r.get(1)?, keys))
}

/// The place a row's key values name, or an integrity error.
fn place_of<'a>(c: &Column, keys: &'a [Value]) -> Result<Place<'a>> {
    (c.place)(keys).ok_or_else(|| {
        Error::integrity(format!(
            "a {}'s row is malformed ({}.{})",
            c.what, c.table, c.column
        ))
    })
}

/// Re-encrypts, inside `tx`, every value of every [`Rekey::Reseal`] column of
/// `columns` from the `old` to the `new` vault key. `seen` gets each column,
/// its row's key values and the plaintext (rekey recomputes the name index
/// from the credential metadata this way, without opening it twice).
pub(crate) fn reseal_all(
    tx: &Connection,
    path: &std::path::Path,
    vault_id: &[u8],
    columns: &[Column],
    old: &Key32,
    new: &Key32,
    seen: &mut Seen<'_>,
) -> Result<()> {
    let db = |e| crate::store::db_error(path, e);
    for c in columns.iter().filter(|c| c.rekey == Rekey::Reseal) {
        let update = format!("UPDATE {} SET {} = ?1 WHERE rowid = ?2", c.table, c.column);
        // Read first, then write: the rows are not updated under a live SELECT.
        let rows: Vec<(i64, Vec<u8>, Vec<Value>)> = tx
            .prepare(&select(c))
            .and_then(|mut stmt| {
                stmt.query_map([], |r| row_of(c, r))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            })
            .map_err(db)?;
        // One prepared statement per column: rekey runs it once per row.
        let mut update = tx.prepare(&update).map_err(db)?;
        for (rowid, sealed, keys) in rows {
            let place = place_of(c, &keys)?;
            let plain = open(old, vault_id, place, &sealed, || c.what.to_owned())?;
            seen(c, &keys, &plain)?;
            let resealed = seal(new, vault_id, place, &plain)?;
            let changed = update.execute(params![resealed, rowid]).map_err(db)?;
            if changed != 1 {
                return Err(Error::integrity(format!(
                    "{}.{}: a row changed during rekey",
                    c.table, c.column
                )));
            }
        }
    }
    Ok(())
}

/// Opens every value of every [`Rekey::Reseal`] column of `columns` under
/// `key`, one row at a time, and names the first that does not open (a
/// flipped byte, a value moved to another row, a row from another vault).
/// The audit bodies are left to the chain check, which reads them anyway.
pub(crate) fn check_all(
    conn: &Connection,
    path: &std::path::Path,
    vault_id: &[u8],
    columns: &[Column],
    key: &Key32,
) -> Result<()> {
    let db = |e| crate::store::db_error(path, e);
    for c in columns.iter().filter(|c| c.rekey == Rekey::Reseal) {
        let mut stmt = conn.prepare(&select(c)).map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let (rowid, sealed, keys) = row_of(c, r).map_err(db)?;
            let place = place_of(c, &keys)?;
            open(key, vault_id, place, &sealed, || {
                format!("{} ({}.{}, row {rowid})", c.what, c.table, c.column)
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_place_binds_its_own_associated_data() {
        let vault = [1u8; 16];
        let id = [2u8; 16];
        let places = [
            Place::Record {
                id: &id,
                version: 1,
                part: RecordPart::Meta,
            },
            Place::Record {
                id: &id,
                version: 1,
                part: RecordPart::Secrets,
            },
            Place::Record {
                id: &id,
                version: 2,
                part: RecordPart::Meta,
            },
            Place::Setting { key: "a" },
            Place::SyncLink {
                remote_id: "a",
                id: &id,
            },
            Place::Rotation {
                run: &id,
                part: RunPart::State,
            },
            Place::Rotation {
                run: &id,
                part: RunPart::Pending,
            },
            Place::AuditBody,
        ];
        let aads: Vec<Vec<u8>> = places.iter().map(|p| p.aad(&vault)).collect();
        for (i, a) in aads.iter().enumerate() {
            for b in &aads[i + 1..] {
                assert_ne!(a, b);
            }
            assert_ne!(a, &places[i].aad(&[9u8; 16]), "the vault id is bound");
        }
    }

    #[test]
    fn every_declared_column_exists_in_the_schema_with_its_keys() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let path = dir.path().join("v.sqlite");
        let v = crate::Vault::create(
            &path,
            &crate::CreateOptions {
                sealer: None,
                passphrase: Some(&crate::SecretValue::from("a passphrase")),
                kdf: crate::KdfParams::MIN,
            },
            chrono::Utc::now(),
        )
        .expect("create");
        drop(v);
        let conn = Connection::open(&path).expect("open");
        for c in COLUMNS {
            let cols = std::iter::once(c.column)
                .chain(c.keys.iter().copied())
                .collect::<Vec<_>>();
            conn.prepare(&format!("SELECT {} FROM {}", cols.join(", "), c.table))
                .unwrap_or_else(|e| panic!("{}.{}: {e}", c.table, c.column));
        }
    }
}
