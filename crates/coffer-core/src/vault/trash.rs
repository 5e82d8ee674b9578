//! The trash: a deleted credential is kept, whole and with its history, for
//! [`TRASH_DAYS`] days, so a delete can be undone; a purge removes it for good.
//!
//! A credential in the trash is a current record whose sealed metadata says
//! when it was deleted (`trashed_at`), filed under `rows::trash_index`
//! instead of its name's index: its name is free at once, and lookups by
//! name, the catalog and the count (which read only `rows::live!()` records)
//! do not see it. Deleting and restoring each write a new version, like any
//! change, audited as `trash` and `untrash`; a purge is the `delete` entry a
//! delete always was (the record is gone, which the trail's check expects).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection};

use super::{Row, Vault};
use crate::audit::{Action, Event};
use crate::credential::{validate_name, Credential, CredentialId, CredentialMeta};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::rows;

/// How long a deleted credential stays in the trash before the next write
/// that looks (a delete, a purge, the app's daily pass) removes it for good.
pub const TRASH_DAYS: i64 = 30;

/// A credential in the trash, as listed (no secret value).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trashed {
    pub id: CredentialId,
    pub name: String,
    pub kind: Kind,
    pub env: Option<String>,
    /// The version its deletion wrote.
    pub version: u64,
    pub trashed_at: DateTime<Utc>,
    /// When it is removed for good.
    pub purge_after: DateTime<Utc>,
}

impl Vault {
    /// Deletes a credential into the trash, from which [`Vault::restore`]
    /// brings it back (its history with it) for [`TRASH_DAYS`] days. Refused
    /// while a rotation of it is running (its new value would be lost).
    pub fn remove(&mut self, name: &str, now: DateTime<Utc>) -> Result<Credential> {
        let tx = self.begin()?;
        self.purge_expired(&tx, now)?;
        let (row, meta) = self.find_required(&tx, name)?;
        self.refuse_while_rotating(&tx, &row, &meta)?;
        let secrets = tx.open_secrets(&row)?;
        let mut trashed = meta;
        trashed.trashed_at = Some(now);
        let credential = self.write_version(&tx, &row, &trashed, &secrets, now)?;
        let event = Event::new(Action::Trash)
            .target(row.id, &trashed.name)
            .details(serde_json::json!({ "version": credential.version }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(credential)
    }

    /// Deletes a credential and its history for good, without the trash.
    pub fn purge(&mut self, name: &str, now: DateTime<Utc>) -> Result<Credential> {
        let tx = self.begin()?;
        let (row, meta) = self.find_required(&tx, name)?;
        self.refuse_while_rotating(&tx, &row, &meta)?;
        self.delete_record(&tx, &row, &meta, "purge", now)?;
        tx.commit()?;
        Ok(row.credential(meta))
    }

    /// What the trash holds, the most recently deleted first.
    pub fn trash(&self) -> Result<Vec<Trashed>> {
        self.flush()?;
        let mut out: Vec<Trashed> = self
            .trashed_rows(&self.conn)?
            .into_iter()
            .map(|(row, meta)| listed(&row, &meta))
            .collect();
        out.sort_by(|a, b| b.trashed_at.cmp(&a.trashed_at).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Brings a credential back from the trash as a new version, under its
    /// name or `rename`. `which` is its id, or a name (the most recently
    /// deleted of that name). A live credential holding the name refuses it.
    pub fn restore(
        &mut self,
        which: &str,
        rename: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Credential> {
        if let Some(name) = rename {
            validate_name(name)?;
        }
        let tx = self.begin()?;
        let (row, meta) = self.pick_trashed(&tx, which)?;
        let secrets = tx.open_secrets(&row)?;
        let mut back = meta;
        back.trashed_at = None;
        if let Some(name) = rename {
            back.name = name.to_owned();
        }
        let credential = self.write_version(&tx, &row, &back, &secrets, now)?;
        let event = Event::new(Action::Untrash)
            .target(row.id, &back.name)
            .details(serde_json::json!({ "version": credential.version }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(credential)
    }

    /// Removes for good one credential of the trash (`which` as for
    /// [`Vault::restore`]), or all of it (`None`). Returns what went.
    pub fn purge_trashed(
        &mut self,
        which: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Trashed>> {
        let tx = self.begin()?;
        let picked = match which {
            Some(which) => vec![self.pick_trashed(&tx, which)?],
            None => self.trashed_rows(&tx)?,
        };
        let mut gone = Vec::with_capacity(picked.len());
        for (row, meta) in picked {
            self.delete_record(&tx, &row, &meta, "purge", now)?;
            gone.push(listed(&row, &meta));
        }
        tx.commit()?;
        Ok(gone)
    }

    /// Removes for good what has been in the trash longer than
    /// [`TRASH_DAYS`]; the app calls it daily, and every delete does too.
    pub fn purge_expired_trash(&mut self, now: DateTime<Utc>) -> Result<usize> {
        let tx = self.begin()?;
        let purged = self.purge_expired(&tx, now)?;
        if purged > 0 {
            tx.commit()?;
        }
        Ok(purged)
    }

    fn purge_expired(&self, tx: &super::WriteTx<'_>, now: DateTime<Utc>) -> Result<usize> {
        let mut purged = 0;
        for (row, meta) in self.trashed_rows(tx)? {
            if listed(&row, &meta).purge_after <= now {
                self.delete_record(tx, &row, &meta, "expired", now)?;
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// Deletes a record and its history (the foreign keys cascade) with its
    /// `delete` entry, saying why (`purge`, `expired`).
    fn delete_record(
        &self,
        tx: &super::WriteTx<'_>,
        row: &Row,
        meta: &CredentialMeta,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.db(tx
            .execute("DELETE FROM credentials WHERE id = ?1", [&row.id.0[..]])
            .and_then(rows::one_row))?;
        // The catalog kept beside the vault may still describe it. (An app
        // saving its catalog at this very moment could write it again; its
        // next save, at the latest on lock, leaves the purged item out.)
        self.forget_catalog();
        let event = Event::new(Action::Delete)
            .target(row.id, &meta.name)
            .details(serde_json::json!({
                "version": row.version,
                "why": why,
                "from_trash": meta.trashed_at.is_some(),
            }));
        tx.record(event, now)
    }

    fn refuse_while_rotating(
        &self,
        conn: &Connection,
        row: &Row,
        meta: &CredentialMeta,
    ) -> Result<()> {
        let running: bool = self.db(conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM rotations WHERE credential_id = ?1 AND finished_at IS NULL)",
            params![&row.id.0[..]],
            |r| r.get(0),
        ))?;
        if running {
            return Err(Error::invalid(
                "delete",
                format!(
                    "credential '{}' has a rotation in progress; finish it or abort it \
                     (`coffer rotate {} --abort`) before deleting it",
                    crate::credential::printable(&meta.name),
                    crate::credential::printable(&meta.name)
                ),
            ));
        }
        Ok(())
    }

    /// The record of the trash `which` names: its id (hex), else the most
    /// recently deleted credential of that name.
    fn pick_trashed(&self, conn: &Connection, which: &str) -> Result<(Row, CredentialMeta)> {
        let mut found: Vec<(Row, CredentialMeta)> = self
            .trashed_rows(conn)?
            .into_iter()
            .filter(|(row, meta)| row.id.to_string() == which || meta.name == which)
            .collect();
        found.sort_by_key(|(row, meta)| (row.id.to_string() == which, meta.trashed_at));
        found.pop().ok_or_else(|| Error::NotFound {
            name: format!("{which} in the trash"),
        })
    }

    /// Every record in the trash, checked: each must be sealed as deleted
    /// and filed as the trash files it.
    fn trashed_rows(&self, conn: &Connection) -> Result<Vec<(Row, CredentialMeta)>> {
        let mut stmt = self.db(conn.prepare_cached(concat!(
            "SELECT id, version, created_at, updated_at, meta, secrets, name_index FROM credentials WHERE NOT (",
            rows::live!(),
            ")"
        )))?;
        let raws = self.db(stmt
            .query_map([], |r| Ok((Vault::row_from(r)?, r.get::<_, Vec<u8>>(6)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>()))?;
        let mut out = Vec::with_capacity(raws.len());
        for (raw, index) in raws {
            let row = Vault::make_row(raw)?;
            let meta = self.open_meta(&row)?;
            if meta.trashed_at.is_none() || index != rows::trash_index(&row.id.0) {
                return Err(Error::integrity(format!(
                    "credential record {} is filed as deleted but is not sealed as deleted: \
                     the index was altered",
                    row.id
                )));
            }
            out.push((row, meta));
        }
        Ok(out)
    }
}

impl Trashed {
    /// The trash entry of what [`Vault::remove`] returned (`None` for a
    /// credential not in the trash), without reading the trash again.
    pub fn of(credential: &Credential) -> Option<Trashed> {
        credential
            .meta
            .trashed_at
            .map(|_| entry(credential.id, credential.version, &credential.meta))
    }
}

fn listed(row: &Row, meta: &CredentialMeta) -> Trashed {
    entry(row.id, row.version, meta)
}

fn entry(id: CredentialId, version: u64, meta: &CredentialMeta) -> Trashed {
    let trashed_at = meta.trashed_at.unwrap_or_default();
    Trashed {
        id,
        name: meta.name.clone(),
        kind: meta.kind,
        env: meta.env.clone(),
        version,
        trashed_at,
        purge_after: trashed_at + Duration::days(TRASH_DAYS),
    }
}

#[cfg(test)]
#[path = "trash_tests.rs"]
mod tests;
