//! Links: for each remote, what Coffer last synced for each credential (the
//! local version, the remote version and a keyed digest of the content they
//! agreed on). A link body is sealed under the vault key with associated data
//! `("coffer/v1/sync-link", vault id, remote id, link id)`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::error::{Error, Result};
use crate::sealed::Place;
use crate::vault::Vault;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Link {
    /// The credential's name (its remote path is the remote's prefix + this).
    pub key: String,
    pub local_version: u64,
    pub remote_version: String,
    /// Digest of the remote's Coffer labels (custom metadata / tags).
    pub remote_labels: String,
    /// Keyed digest of the content both sides held.
    pub digest: String,
    pub synced_at: DateTime<Utc>,
}

/// A link as stored: its row id and sealed body (for the optimistic update).
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub id: [u8; 16],
    pub body: Vec<u8>,
    pub link: Link,
}

/// Where a credential is synced: a remote it is linked to, the remote
/// version it last agreed with and when.
#[derive(Clone, Debug)]
pub struct Binding {
    pub remote: super::Remote,
    pub remote_version: String,
    pub synced_at: DateTime<Utc>,
}

impl Vault {
    /// The remotes credential `name` is linked to.
    pub fn bindings(&self, name: &str) -> Result<Vec<Binding>> {
        let mut out = Vec::new();
        for remote in self.remotes()? {
            if let Some(l) = self
                .links(&remote.id)?
                .into_iter()
                .find(|l| l.link.key == name)
            {
                out.push(Binding {
                    remote_version: l.link.remote_version,
                    synced_at: l.link.synced_at,
                    remote,
                });
            }
        }
        Ok(out)
    }

    /// How many credentials are linked to the remote with id `remote_id`.
    pub fn link_count(&self, remote_id: &str) -> Result<usize> {
        Ok(self.links(remote_id)?.len())
    }

    /// The links of one remote.
    pub(crate) fn links(&self, remote_id: &str) -> Result<Vec<Stored>> {
        self.flush()?;
        let rows: Vec<(Vec<u8>, Vec<u8>)> = self.db(self
            .conn()
            .prepare("SELECT id, body FROM sync_links WHERE remote_id = ?1")
            .and_then(|mut stmt| {
                stmt.query_map([remote_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            }))?;
        rows.into_iter()
            .map(|(id, body)| {
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::integrity("a sync link id is malformed"))?;
                let at = Place::SyncLink { remote_id, id: &id };
                let plain = self.open_at(at, &body, "a sync link")?;
                let link = serde_json::from_slice(&plain)
                    .map_err(|_| Error::integrity("a sync link: malformed content"))?;
                Ok(Stored { id, body, link })
            })
            .collect()
    }

    /// Writes `link` in `tx`, replacing `old` only if no other sync changed it meanwhile.
    pub(crate) fn put_link(
        &self,
        tx: &Connection,
        remote_id: &str,
        old: Option<&Stored>,
        link: &Link,
    ) -> Result<()> {
        let id = match old {
            Some(o) => o.id,
            None => {
                let mut id = [0u8; 16];
                crypto::random_bytes(&mut id)?;
                id
            }
        };
        let plain = serde_json::to_vec(link).map_err(|e| Error::Failure {
            what: format!("cannot encode a sync link: {e}"),
        })?;
        let body = self.seal_at(Place::SyncLink { remote_id, id: &id }, &plain)?;
        let changed = match old {
            Some(o) => self.db(tx.execute(
                "UPDATE sync_links SET body = ?1 WHERE id = ?2 AND body = ?3",
                params![body, &id[..], o.body],
            ))?,
            None => self.db(tx.execute(
                "INSERT INTO sync_links (id, remote_id, body) VALUES (?1, ?2, ?3)",
                params![&id[..], remote_id, body],
            ))?,
        };
        if changed != 1 {
            return Err(another_sync(&link.key));
        }
        Ok(())
    }

    /// Deletes a link in `tx` (both sides are gone, or the user pruned).
    pub(crate) fn drop_link(&self, tx: &Connection, old: &Stored) -> Result<()> {
        let changed = self.db(tx.execute(
            "DELETE FROM sync_links WHERE id = ?1 AND body = ?2",
            params![&old.id[..], old.body],
        ))?;
        if changed != 1 {
            return Err(another_sync(&old.link.key));
        }
        Ok(())
    }
}

fn another_sync(name: &str) -> Error {
    Error::Failure {
        what: format!(
            "'{name}': another sync of this remote changed it meanwhile; run the sync again"
        ),
    }
}

#[cfg(test)]
impl Vault {
    /// Links `name` to `remote` as if a sync had just written it (the golden fixture).
    pub(crate) fn put_golden_link(
        &self,
        remote: &str,
        name: &str,
        version: u64,
        now: DateTime<Utc>,
    ) {
        let remote = self.remote(remote).expect("remote");
        let tx = self.begin().expect("begin");
        let link = Link {
            key: name.to_owned(),
            local_version: version,
            remote_version: version.to_string(),
            remote_labels: String::new(),
            digest: String::new(),
            synced_at: now,
        };
        self.put_link(&tx, &remote.id, None, &link).expect("link");
        tx.commit().expect("commit");
    }
}
