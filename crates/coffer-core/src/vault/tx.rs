//! The one write path: every write to the vault, and every read that must be
//! audited (a reveal), happens inside a [`WriteTx`]. It takes the write lock
//! up front (`BEGIN IMMEDIATE`, so a read-check-write cannot race another
//! process), writes the queued audit events first (the unlock, failed
//! attempts), appends each action's entry in the same transaction, and rolls
//! everything back unless committed. Secret values are opened only through
//! it, so "a reveal is audited in its own transaction" is a fact of the types.

use std::ops::Deref;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{Row, Vault};
use crate::audit::{self, Event};
use crate::credential::Secrets;
use crate::error::Result;

pub(crate) struct WriteTx<'v> {
    vault: &'v Vault,
    tx: Transaction<'v>,
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
        self.flush_into(&tx)?;
        Ok(WriteTx { vault: self, tx })
    }

    /// Runs `write` in a transaction of its own and commits it.
    pub(crate) fn write<T>(&self, write: impl FnOnce(&WriteTx<'_>) -> Result<T>) -> Result<T> {
        let tx = self.begin()?;
        let out = write(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

impl<'v> WriteTx<'v> {
    /// Commits; the queued audit events it carried are then written for good.
    pub(crate) fn commit(self) -> Result<()> {
        self.vault.db(self.tx.commit())?;
        self.vault.queue.borrow_mut().clear();
        Ok(())
    }

    /// Appends `event` to the audit trail, in this transaction.
    pub(crate) fn record(&self, event: Event, now: DateTime<Utc>) -> Result<()> {
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
