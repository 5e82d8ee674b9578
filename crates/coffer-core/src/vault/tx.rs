//! The one write path: every write to the vault, and every read that must be
//! audited (a reveal), happens inside a [`WriteTx`]. It takes the write lock
//! up front (`BEGIN IMMEDIATE`, so a read-check-write cannot race another
//! process), writes the queued audit events first (the unlock, failed
//! attempts), appends each action's entry in the same transaction, and rolls
//! everything back unless committed. Secret values are opened only through
//! it, so "a reveal is audited in its own transaction" is a fact of the types.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Deref;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{Row, Vault};
use crate::audit::{self, Action, Event};
use crate::credential::Secrets;
use crate::error::{Error, Result};
use crate::sealed::Place;

pub(crate) struct WriteTx<'v> {
    vault: &'v Vault,
    tx: Transaction<'v>,
    /// Stamps of the settings written in this transaction, by key, for the
    /// next entry recorded without a target (or one of their own at commit).
    stamps: RefCell<BTreeMap<String, String>>,
}

/// Reads and writes inside the transaction go through the connection.
impl Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.tx
    }
}

impl Vault {
    /// Begins a write transaction, with the queued audit events already in it.
    pub(crate) fn begin(&self) -> Result<WriteTx<'_>> {
        let tx = self.db(Transaction::new_unchecked(
            &self.conn,
            TransactionBehavior::Immediate,
        ))?;
        self.check_key_current(&tx)?;
        self.flush_into(&tx)?;
        Ok(WriteTx {
            vault: self,
            tx,
            stamps: RefCell::default(),
        })
    }

    /// Runs `write` in a transaction of its own and commits it.
    pub(crate) fn write<T>(&self, write: impl FnOnce(&WriteTx<'_>) -> Result<T>) -> Result<T> {
        let tx = self.begin()?;
        let out = write(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

impl Vault {
    /// Refuses to write when the vault key this handle holds is no longer
    /// the vault's: another process rekeyed the vault since this one
    /// unlocked it, and anything written under the old key would be lost.
    /// Rekey re-seals the whole trail, so the newest audit entry opening
    /// under this key says it is current (one small read and decryption).
    /// When it does not open but the anchor still verifies under this key,
    /// the entry was altered rather than re-sealed: that is `audit verify`'s
    /// to name, and writing goes on as before.
    fn check_key_current(&self, conn: &Connection) -> Result<()> {
        if self.key_changed_on(conn)? {
            return Err(Error::CannotUnlock {
                reason: "the vault key changed since this process unlocked the vault (another \
                         process rekeyed it); nothing was written: unlock it again"
                    .into(),
            });
        }
        Ok(())
    }

    /// Whether another process rekeyed the vault since this handle was
    /// unlocked (see [`Vault::check_key_current`]). A long-lived holder (the
    /// agent) asks after a record fails to open: a stale key, not a tampered
    /// record, is then the cause, and unlocking again is the cure.
    pub fn key_changed_elsewhere(&self) -> Result<bool> {
        self.key_changed_on(&self.conn)
    }

    fn key_changed_on(&self, conn: &Connection) -> Result<bool> {
        let newest: Option<Vec<u8>> = self.db(conn
            .prepare_cached("SELECT body FROM audit ORDER BY seq DESC LIMIT 1")
            .and_then(|mut stmt| {
                use rusqlite::OptionalExtension as _;
                stmt.query_row([], |r| r.get(0)).optional()
            }))?;
        let Some(body) = newest else {
            return Ok(false);
        };
        Ok(self
            .open_at(Place::AuditBody, &body, "the newest audit entry")
            .is_err()
            && !matches!(
                crate::audit::read_anchor(&self.path, &self.keys()?.anchor_key),
                Ok(Some(_))
            ))
    }
}

impl<'v> WriteTx<'v> {
    /// Commits; the queued audit events it carried are then written for good.
    /// Settings stamps no entry carried yet get one of their own.
    pub(crate) fn commit(self) -> Result<()> {
        if !self.stamps.borrow().is_empty() {
            self.record(Event::new(Action::SettingsChange), Utc::now())?;
        }
        self.vault.db(self.tx.commit())?;
        self.vault.queue.borrow_mut().clear();
        self.vault.note_written()
    }

    /// Notes that setting `key` now holds `sealed` (see [`audit::stamp`]).
    pub(crate) fn stamp_setting(&self, key: &str, sealed: &[u8]) {
        self.stamps
            .borrow_mut()
            .insert(key.to_owned(), audit::stamp(&[sealed]));
    }

    /// `event`, carrying the pending settings stamps when it has no target.
    fn with_stamps(&self, mut event: Event) -> Event {
        if event.target.is_some() || self.stamps.borrow().is_empty() {
            return event;
        }
        let stamps = std::mem::take(&mut *self.stamps.borrow_mut());
        event.target = Some((audit::STAMPS, "(settings)".to_owned()));
        match &mut event.details {
            serde_json::Value::Object(d) => {
                d.insert("stored".into(), serde_json::json!(stamps));
            }
            other => *other = serde_json::json!({ "stored": stamps }),
        }
        event
    }

    /// Appends `event` to the audit trail, in this transaction.
    pub(crate) fn record(&self, event: Event, now: DateTime<Utc>) -> Result<()> {
        let event = self.with_stamps(event);
        let v = self.vault;
        audit::append(
            &self.tx,
            &v.path,
            &v.vault_id,
            v.keys()?,
            &v.actor,
            &event,
            now,
        )
    }

    /// Appends `events`, in order (their bodies encrypted on all cores).
    pub(crate) fn record_all(&self, events: &[Event], now: DateTime<Utc>) -> Result<()> {
        let v = self.vault;
        audit::append_all(
            &self.tx,
            &v.path,
            &v.vault_id,
            v.keys()?,
            &v.actor,
            events,
            now,
        )
    }

    /// Runs `write` inside a savepoint: when it fails, only its own writes
    /// (its audit entries included) are undone and the transaction goes on.
    pub(crate) fn savepoint<T>(&self, write: impl FnOnce(&WriteTx<'v>) -> Result<T>) -> Result<T> {
        self.vault
            .db(self.tx.execute_batch("SAVEPOINT one_write"))?;
        match write(self) {
            Ok(out) => {
                self.vault.db(self.tx.execute_batch("RELEASE one_write"))?;
                Ok(out)
            }
            Err(e) => {
                self.vault.db(self
                    .tx
                    .execute_batch("ROLLBACK TO one_write; RELEASE one_write"))?;
                Err(e)
            }
        }
    }

    /// The secret values of `row`. Only a transaction opens them: the caller
    /// records what it reveals before committing.
    pub(crate) fn open_secrets(&self, row: &Row) -> Result<Secrets> {
        self.vault.cipher()?.open_secrets(row)
    }
}
