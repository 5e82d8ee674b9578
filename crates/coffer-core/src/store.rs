//! The SQLite file: creating it safely, opening it with the right settings,
//! recognising a Coffer vault and its format version, and mapping SQLite
//! failures to clear errors.
//!
//! On-disk format version 2 (`PRAGMA user_version = 2`, `PRAGMA
//! application_id = 0x43464652` "CFFR"): see `ARCHITECTURE.md` for the tables.
//! A version 1 file (no `sync_links`) is upgraded in place when opened.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Error, Result};

pub const APPLICATION_ID: i32 = 0x4346_4652;
pub const FORMAT_VERSION: i64 = 2;
/// How long a writer waits for another process's transaction to finish.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA_V1: &str = "
CREATE TABLE vault (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    vault_id    BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE slots (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    body        BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE credentials (
    id          BLOB PRIMARY KEY,
    name_index  BLOB NOT NULL UNIQUE,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    meta        BLOB NOT NULL,
    secrets     BLOB NOT NULL
) STRICT;
CREATE TABLE history (
    credential_id BLOB NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    meta          BLOB NOT NULL,
    secrets       BLOB NOT NULL,
    PRIMARY KEY (credential_id, version)
) STRICT;
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    target      BLOB,
    body        BLOB NOT NULL,
    mac         BLOB NOT NULL
) STRICT;
CREATE TABLE rotations (
    id            BLOB PRIMARY KEY,
    credential_id BLOB NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    state         BLOB NOT NULL,
    pending       BLOB
) STRICT;
CREATE UNIQUE INDEX one_running_rotation ON rotations (credential_id) WHERE finished_at IS NULL;
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       BLOB NOT NULL
) STRICT;
CREATE TABLE audit_pending (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    interface   TEXT NOT NULL,
    reason      TEXT NOT NULL
) STRICT;
";

/// Added by format version 2: what each remote held when last synced.
const SCHEMA_V2: &str = "
CREATE TABLE sync_links (
    id          BLOB PRIMARY KEY,
    remote_id   TEXT NOT NULL,
    body        BLOB NOT NULL
) STRICT;
CREATE INDEX sync_links_by_remote ON sync_links (remote_id);
";

/// Maps an SQLite error on the vault at `path` to the core's error.
pub fn db_error(path: &Path, err: rusqlite::Error) -> Error {
    let code = err.sqlite_error_code();
    match code {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => Error::Busy {
            path: path.to_owned(),
        },
        Some(ErrorCode::ReadOnly) => Error::ReadOnly {
            path: path.to_owned(),
            reason: "the file or its directory is read-only".into(),
        },
        Some(ErrorCode::NotADatabase) => Error::NotAVault {
            path: path.to_owned(),
            reason: "not an SQLite database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => {
            Error::integrity(format!("the database file {} is corrupt", path.display()))
        }
        _ if matches!(err, rusqlite::Error::StatementChangedRows(_)) => Error::integrity(format!(
            "a write to {} was silently dropped by the database ({err}): the file holds \
             something that changes writes, and nothing was kept",
            path.display()
        )),
        Some(ErrorCode::DiskFull) => Error::Failure {
            what: format!(
                "the disk holding {} is full; nothing was written",
                path.display()
            ),
        },
        _ => Error::Database {
            path: path.to_owned(),
            source: err,
        },
    }
}

/// A new, empty vault file being built next to its final path. It becomes
/// visible under `path` only through [`NewFile::publish`], so a crash during
/// creation never leaves a half-made vault behind.
pub struct NewFile {
    pub conn: Connection,
    temp: TempGuard,
    path: PathBuf,
}

/// Removes the half-made file (and its SQLite side files) unless disarmed.
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = fs::remove_file(PathBuf::from(p));
        }
    }
}

impl NewFile {
    pub fn create(path: &Path) -> Result<NewFile> {
        let dir = parent_dir(path);
        if !dir.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|source| Error::Io {
                    action: "create the vault directory",
                    path: dir.clone(),
                    source,
                })?;
        }
        if fs::symlink_metadata(path).is_ok() {
            return Err(Error::VaultExists {
                path: path.to_owned(),
            });
        }
        let mut suffix = [0u8; 6];
        crate::crypto::random_bytes(&mut suffix)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{file_name}.creating-{}", hex::encode(suffix)));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(|source| Error::Io {
                action: "create",
                path: temp.clone(),
                source,
            })?;
        let conn = Connection::open_with_flags(
            &temp,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(&temp, e))?;
        let file = NewFile {
            conn,
            temp: TempGuard {
                path: temp.clone(),
                armed: true,
            },
            path: path.to_owned(),
        };
        configure(&file.conn).map_err(|e| db_error(&temp, e))?;
        file.conn
            .execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {FORMAT_VERSION}; {SCHEMA_V1} {SCHEMA_V2}"
            ))
            .map_err(|e| db_error(&temp, e))?;
        Ok(file)
    }

    /// Closes the finished file and links it under its final name, refusing
    /// to replace anything that appeared there meanwhile.
    pub fn publish(self) -> Result<()> {
        let NewFile { conn, temp, path } = self;
        conn.close().map_err(|(_, e)| db_error(&temp.path, e))?;
        // Linking (unlike renaming) fails if the target appeared meanwhile.
        let linked = fs::hard_link(&temp.path, &path);
        drop(temp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::VaultExists { path });
            }
            Err(source) => {
                return Err(Error::Io {
                    action: "create",
                    path,
                    source,
                })
            }
        }
        if let Ok(dir) = fs::File::open(parent_dir(&path)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Opens an existing vault file. A file that is not a Coffer vault is never
/// modified: the header is checked before SQLite opens it.
pub fn open(path: &Path) -> Result<Connection> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::VaultMissing {
                path: path.to_owned(),
            });
        }
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path: path.to_owned(),
                source,
            })
        }
    };
    if !meta.is_file() {
        return Err(Error::NotAVault {
            path: path.to_owned(),
            reason: "not a regular file".into(),
        });
    }
    check_header(path)?;
    if meta.permissions().mode() & 0o077 != 0 {
        // Tighten a vault file that someone made readable to others.
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| db_error(path, e))?;
    configure(&conn).map_err(|e| db_error(path, e))?;
    let version = check_pragmas(&conn, path)?;
    check_schema(&conn, path, version)?;
    if version < FORMAT_VERSION {
        upgrade(&conn, path)?;
    }
    Ok(conn)
}

/// The header fields an open vault must still have (another process may
/// edit them later: see `Vault::check_unchanged_elsewhere`): Coffer's
/// application id and a format version this build reads, which it returns.
pub(crate) fn check_pragmas(conn: &Connection, path: &Path) -> Result<i64> {
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| db_error(path, e))?;
    if app_id != APPLICATION_ID {
        return Err(Error::NotAVault {
            path: path.to_owned(),
            reason: "an SQLite database of another application".into(),
        });
    }
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| db_error(path, e))?;
    check_version(path, version)?;
    Ok(version)
}

/// One schema object as SQLite records it: (type, name) → (table, SQL).
type Schema = BTreeMap<(String, String), (String, Option<String>)>;

fn read_schema(conn: &Connection) -> rusqlite::Result<Schema> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema")?;
    let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))?;
    rows.collect()
}

/// The indexes SQLite makes by itself for the PRIMARY KEY and UNIQUE
/// constraints of `SCHEMA_V1` and `SCHEMA_V2`: (table, index).
const AUTOINDEXES_V1: &[(&str, &str)] = &[
    ("credentials", "sqlite_autoindex_credentials_1"),
    ("credentials", "sqlite_autoindex_credentials_2"),
    ("history", "sqlite_autoindex_history_1"),
    ("rotations", "sqlite_autoindex_rotations_1"),
    ("settings", "sqlite_autoindex_settings_1"),
];
const AUTOINDEXES_V2: &[(&str, &str)] = &[("sync_links", "sqlite_autoindex_sync_links_1")];

/// The schema of format `version` (1 or 2) as SQLite records it, read from
/// the statements that create a vault. Written out rather than built in an
/// in-memory database at every open (about a millisecond per command); a
/// unit test checks the two agree.
fn expected_schema(version: i64) -> &'static Schema {
    static V1: OnceLock<Schema> = OnceLock::new();
    static V2: OnceLock<Schema> = OnceLock::new();
    if version == 1 {
        V1.get_or_init(|| declared(&[SCHEMA_V1], &[AUTOINDEXES_V1]))
    } else {
        V2.get_or_init(|| declared(&[SCHEMA_V1, SCHEMA_V2], &[AUTOINDEXES_V1, AUTOINDEXES_V2]))
    }
}

/// (type, name) → (table, SQL) of every statement of `schemas`, as SQLite
/// stores it (the statement's text without its semicolon), and `autoindexes`.
fn declared(schemas: &[&str], autoindexes: &[&[(&str, &str)]]) -> Schema {
    let mut out = Schema::new();
    for statement in schemas.iter().flat_map(|s| s.split(';')) {
        let sql = statement.trim();
        if sql.is_empty() {
            continue;
        }
        let words: Vec<&str> = sql.split_whitespace().collect();
        let (kind, name, table) = match words.as_slice() {
            ["CREATE", "TABLE", name, ..] => ("table", *name, *name),
            ["CREATE", "INDEX", name, "ON", table, ..]
            | ["CREATE", "UNIQUE", "INDEX", name, "ON", table, ..] => ("index", *name, *table),
            _ => continue,
        };
        out.insert(
            (kind.to_owned(), name.to_owned()),
            (table.to_owned(), Some(sql.to_owned())),
        );
    }
    for (table, index) in autoindexes.iter().copied().flatten() {
        out.insert(
            ("index".to_owned(), (*index).to_owned()),
            ((*table).to_owned(), None),
        );
    }
    out
}

/// Refuses a file whose schema is not exactly Coffer's for its format:
/// a trigger, view, index or table added (or one changed) with `sqlite3`
/// by someone without the key could silence the audit trail or alter
/// writes while every MAC still holds. SQLite's own statistics tables
/// (`ANALYZE`) change no data and are allowed.
///
/// The upgrade from version 1 keeps its own check of an edited header
/// (a file saying version 1 that holds version 2's tables).
pub(crate) fn check_schema(conn: &Connection, path: &Path, version: i64) -> Result<()> {
    let mut found = read_schema(conn).map_err(|e| db_error(path, e))?;
    found.retain(|(kind, name), _| !(kind == "table" && name.starts_with("sqlite_stat")));
    if version == 1 && &found == expected_schema(FORMAT_VERSION) {
        // An upgrade adds the version 2 objects and the version in one transaction.
        return Err(Error::integrity(format!(
            "{} says format version 1 but holds the tables of version 2: its header \
             (user_version) was edited",
            path.display()
        )));
    }
    let expected = expected_schema(version);
    let altered = |what: String| {
        Error::integrity(format!(
            "{} {what}: the file was edited outside Coffer (without the key), so it is not opened; \
             restore it from a backup, or remove that object if you added it yourself",
            path.display()
        ))
    };
    for ((kind, name), (table, sql)) in &found {
        match expected.get(&(kind.clone(), name.clone())) {
            None => {
                let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                return Err(altered(format!(
                    "holds {article} {kind} '{}' on table '{}' that Coffer does not create",
                    crate::credential::printable(name),
                    crate::credential::printable(table)
                )));
            }
            Some(wanted) if wanted != &(table.clone(), sql.clone()) => {
                return Err(altered(format!(
                    "has its {kind} '{}' changed from Coffer's definition",
                    crate::credential::printable(name)
                )))
            }
            Some(_) => {}
        }
    }
    if let Some((kind, name)) = expected.keys().find(|k| !found.contains_key(*k)) {
        return Err(altered(format!("lacks its {kind} '{name}'")));
    }
    Ok(())
}

/// Brings a version 1 file to the current format in one transaction (a
/// concurrent opener that upgraded first is noticed inside it).
fn upgrade(conn: &Connection, path: &Path) -> Result<()> {
    let run = || -> rusqlite::Result<bool> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 1 {
            // A version 2 table in a file that says version 1: its header was
            // edited (an upgrade adds both in one transaction).
            let has_v2: bool = conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sync_links')",
                [],
                |r| r.get(0),
            )?;
            if has_v2 {
                conn.execute_batch("ROLLBACK")?;
                return Ok(false);
            }
            conn.execute_batch(SCHEMA_V2)?;
            conn.execute_batch(&format!("PRAGMA user_version = {FORMAT_VERSION}"))?;
        }
        conn.execute_batch("COMMIT")?;
        Ok(true)
    };
    match run() {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::integrity(format!(
            "{} says format version 1 but holds the tables of version 2: its header (user_version) was edited",
            path.display()
        ))),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(db_error(path, e))
        }
    }
}

fn check_version(path: &Path, version: i64) -> Result<()> {
    if version > FORMAT_VERSION {
        return Err(Error::NewerFormat {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version < 1 {
        return Err(Error::NotAVault {
            path: path.to_owned(),
            reason: format!("format version {version} is not a Coffer format"),
        });
    }
    Ok(())
}

/// Checks the SQLite header: the magic string and Coffer's application id.
fn check_header(path: &Path) -> Result<()> {
    let mut header = [0u8; 100];
    let mut file = fs::File::open(path).map_err(|source| Error::Io {
        action: "open",
        path: path.to_owned(),
        source,
    })?;
    let n = read_up_to(&mut file, &mut header).map_err(|source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let not_a_vault = |reason: &str| Error::NotAVault {
        path: path.to_owned(),
        reason: reason.into(),
    };
    if n < 100 || &header[..16] != b"SQLite format 3\0" {
        return Err(not_a_vault("not an SQLite database"));
    }
    let app_id = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    if app_id != APPLICATION_ID {
        return Err(not_a_vault("an SQLite database of another application"));
    }
    let version = i32::from_be_bytes([header[60], header[61], header[62], header[63]]);
    check_version(path, i64::from(version))
}

fn read_up_to(file: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Defensive mode refuses the statements that can corrupt a file on
    // purpose (writable_schema, journal_mode=OFF, …); an untrusted schema
    // cannot call functions with side effects from a view or trigger.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode returns a row, so it is read rather than executed.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA secure_delete = ON;",
    )
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The written-out schema is exactly what SQLite records for the same
    /// statements, for both formats.
    #[test]
    fn the_expected_schema_is_what_sqlite_records() {
        for (version, sql) in [
            (1, SCHEMA_V1.to_owned()),
            (2, format!("{SCHEMA_V1} {SCHEMA_V2}")),
        ] {
            let conn = Connection::open_in_memory().expect("in-memory database");
            conn.execute_batch(&sql).expect("schema");
            assert_eq!(
                &read_schema(&conn).expect("read"),
                expected_schema(version),
                "format {version}"
            );
        }
    }
}
