//! What other processes may have done to the vault file while this handle
//! stayed open: the checks a fresh open makes (`store::open`, the identity
//! row, the key slots, the anchor at unlock), made again for a long-lived holder (the
//! agent) before it answers, and the entries it wrote itself. About 0.1 ms
//! in all (docs/BENCHMARKS.md); the schema is read again only when
//! SQLite's schema counter moved.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::Vault;
use crate::error::{Error, Result};

/// What the handle saw when it opened the file, and since.
#[derive(Debug)]
pub(crate) struct Watch {
    /// The file this handle has open: one moved over its path (a restore,
    /// an older copy) is another vault to open and check from scratch.
    file: (u64, u64),
    /// `PRAGMA schema_version`: changes with any schema change, which is
    /// then checked again (a trigger planted after open would otherwise run
    /// inside this handle's writes).
    schema_version: i64,
    /// `PRAGMA user_version`, the format: an edit of it is checked with the
    /// schema as at open.
    format: i64,
    /// `PRAGMA data_version` (moves when another connection commits) and
    /// the anchor file's identity, size and time: while neither moved, no
    /// row and no anchor can have changed through SQLite or Coffer, and the
    /// checks of rows and anchor are skipped.
    seen: (i64, Option<(u64, u64, i64, i64)>),
    /// The newest audit entry this handle wrote (seq, MAC): it must still be
    /// there, unchanged, after another process's commit. The anchor covers
    /// what came before this handle; this covers what it wrote since, which
    /// it anchors only when it locks.
    written: Option<(u64, [u8; 32])>,
    /// The newest of those the anchor names (see [`Vault::anchor_written`]).
    anchored: Option<(u64, [u8; 32])>,
}

impl Watch {
    pub(crate) fn of(conn: &Connection, path: &Path) -> Result<Watch> {
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        let pragma = |name: &str| -> Result<i64> {
            conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .map_err(|e| crate::store::db_error(path, e))
        };
        Ok(Watch {
            file: (meta.dev(), meta.ino()),
            schema_version: pragma("schema_version")?,
            format: pragma("user_version")?,
            // Nothing seen yet: the first check reads everything.
            seen: (i64::MIN, None),
            written: None,
            anchored: None,
        })
    }
}

impl Vault {
    /// Checks again what another process may have changed since this
    /// handle opened the vault: the file replaced or removed, or the vault
    /// rekeyed (errors of the `CannotUnlock` class: it must be opened and
    /// unlocked again, with every check of a fresh open); the header, the
    /// schema, the identity row, the anchor and the entries this handle
    /// wrote (refused as a fresh open refuses them).
    pub fn check_unchanged_elsewhere(&self) -> Result<()> {
        let file = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if file != Some(self.watch.borrow().file) {
            return Err(Error::CannotUnlock {
                reason: format!(
                    "the vault file at {} was replaced or removed since this process opened it \
                     (a restore, or another file put in its place): it must be opened and \
                     unlocked again",
                    self.path.display()
                ),
            });
        }
        let version = crate::store::check_pragmas(&self.conn, &self.path)?;
        let schema_version: i64 =
            self.db(self
                .conn
                .query_row("PRAGMA schema_version", [], |r| r.get(0)))?;
        let seen = (
            self.watch.borrow().schema_version,
            self.watch.borrow().format,
        );
        if seen != (schema_version, version) {
            crate::store::check_schema(&self.conn, &self.path, version)?;
            let mut watch = self.watch.borrow_mut();
            watch.schema_version = schema_version;
            watch.format = version;
        }
        let seen = (
            self.db(self.conn.query_row("PRAGMA data_version", [], |r| r.get(0)))?,
            std::fs::metadata(crate::audit::anchor_path(&self.path))
                .ok()
                .map(|m| (m.ino(), m.size(), m.mtime(), m.mtime_nsec())),
        );
        if seen == self.watch.borrow().seen {
            return Ok(());
        }
        self.check_rows_and_anchor()?;
        self.watch.borrow_mut().seen = seen;
        Ok(())
    }

    /// What [`Vault::check_unchanged_elsewhere`] reads when another
    /// connection committed or the anchor file changed.
    fn check_rows_and_anchor(&self) -> Result<()> {
        let id: Option<Vec<u8>> = self.db(self
            .conn
            .query_row("SELECT vault_id FROM vault WHERE id = 1", [], |r| r.get(0))
            .optional())?;
        match id {
            None => return Err(Error::integrity("the vault identity row is missing")),
            // Another vault's identity: its slots and records are bound to
            // it, so it is opened and unlocked again (which then refuses it
            // as a fresh open does).
            Some(id) if id != self.vault_id => {
                return Err(Error::CannotUnlock {
                    reason: format!(
                        "the vault at {} has another identity than when this process opened \
                         it: it must be opened and unlocked again",
                        self.path.display()
                    ),
                })
            }
            Some(_) => {}
        }
        // The key slots (checksums, parameter bounds): read only to unlock,
        // but a tampered one is named now, not at the next unlock.
        self.read_slots()?;
        if !self.is_unlocked() {
            return Ok(());
        }
        if self.key_changed_elsewhere()? {
            return Err(Error::CannotUnlock {
                reason: "another process rekeyed the vault since this one unlocked it: it must \
                         be unlocked again with the new key"
                    .into(),
            });
        }
        // A lost `-wal`, an older copy written over the file, a deleted or
        // replaced anchor: as at unlock.
        self.check_anchor()?;
        if let Some((seq, mac)) = self.watch.borrow().written {
            let found: Option<Vec<u8>> = self.db(self
                .conn
                .query_row(
                    "SELECT mac FROM audit WHERE seq = ?1",
                    [i64::try_from(seq).unwrap_or(i64::MAX)],
                    |r| r.get(0),
                )
                .optional())?;
            if found.as_deref() != Some(&mac[..]) {
                return Err(Error::integrity(format!(
                    "audit entry {seq}, which this process wrote, was {} by another since: the \
                     trail was cut off or altered outside Coffer",
                    if found.is_none() {
                        "removed (truncated)"
                    } else {
                        "changed"
                    }
                )));
            }
        }
        Ok(())
    }

    /// Anchors the head when this handle wrote past its last anchor. A
    /// long-lived holder anchors as it goes, not only when it locks: a crash,
    /// or a `-wal` file lost after one, would otherwise take its writes with
    /// no trace the anchor could show.
    pub fn anchor_written(&self) -> Result<()> {
        let (written, anchored) = {
            let watch = self.watch.borrow();
            (watch.written, watch.anchored)
        };
        if written.is_none() || written == anchored || !self.is_unlocked() {
            return Ok(());
        }
        self.write_anchor()?;
        self.watch.borrow_mut().anchored = written;
        Ok(())
    }

    /// Drops this handle without writing anything more to the file, not
    /// even SQLite's checkpoint on close: for a vault another process
    /// changed under it, left exactly as found (the evidence of tampering
    /// included). The key is wiped as the handle drops.
    pub fn abandon(self) {
        let _ = self.conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        );
    }

    /// Notes the head of the trail after this handle's own commit.
    pub(crate) fn note_written(&self) -> Result<()> {
        let head = crate::audit::head(&self.conn, &self.path)?;
        self.watch.borrow_mut().written = Some(head);
        Ok(())
    }
}
