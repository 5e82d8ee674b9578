//! Vault settings (rotation policies today), stored encrypted in the
//! `settings` table: the value of key `k` is sealed under the vault key with
//! associated data `("coffer/v1/setting", vault id, k)`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::audit::{Action, Event};
use crate::credential::Credential;
use crate::crypto;
use crate::error::{Error, Result};
use crate::rotation::{self, Policies, Policy, Scope, Status};
use crate::secret::Key32;
use crate::vault::Vault;

const POLICIES: &str = "rotation-policies";

pub(crate) fn aad(vault_id: &[u8], key: &str) -> Vec<u8> {
    let mut a = Vec::new();
    for part in [b"coffer/v1/setting".as_slice(), vault_id, key.as_bytes()] {
        a.extend_from_slice(&(part.len() as u32).to_be_bytes());
        a.extend_from_slice(part);
    }
    a
}

impl Vault {
    pub(crate) fn read_setting<T: DeserializeOwned + Default>(
        &self,
        conn: &Connection,
        key: &str,
    ) -> Result<T> {
        let sealed: Option<Vec<u8>> = self.db(conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional())?;
        let Some(sealed) = sealed else {
            return Ok(T::default());
        };
        let what = format!("setting '{key}'");
        let plain = crypto::open(
            &self.keys()?.vault_key,
            &aad(&self.vault_id, key),
            &sealed,
            &what,
        )?;
        serde_json::from_slice(&plain)
            .map_err(|_| Error::integrity(format!("{what}: malformed content")))
    }

    pub(crate) fn write_setting<T: Serialize>(
        &self,
        conn: &Connection,
        key: &str,
        value: &T,
    ) -> Result<()> {
        let plain = serde_json::to_vec(value).map_err(|e| Error::Failure {
            what: format!("cannot encode setting '{key}': {e}"),
        })?;
        let sealed = crypto::seal(&self.keys()?.vault_key, &aad(&self.vault_id, key), &plain)?;
        self.db(conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![key, sealed],
        ))?;
        Ok(())
    }

    /// The rotation policies set by kind, tag and environment.
    pub fn policies(&self) -> Result<Policies> {
        self.flush()?;
        self.read_setting(&self.conn, POLICIES)
    }

    /// Sets (or, with `None`, removes) the policy for `scope`; audited.
    pub fn set_policy(
        &mut self,
        scope: &Scope,
        policy: Option<Policy>,
        now: DateTime<Utc>,
    ) -> Result<Policies> {
        let tx = self.begin()?;
        let mut policies: Policies = self.read_setting(&tx, POLICIES)?;
        policies.set(scope, policy);
        self.write_setting(&tx, POLICIES, &policies)?;
        let (scope_kind, scope_name) = match scope {
            Scope::Kind(k) => ("kind", k.as_str().to_owned()),
            Scope::Tag(t) => ("tag", t.clone()),
            Scope::Env(e) => ("env", e.clone()),
        };
        let event = Event::new(Action::SettingsChange).details(serde_json::json!({
            "setting": "rotation policy",
            "scope": scope_kind,
            "name": scope_name,
            "policy": policy,
        }));
        self.record(&tx, event, now)?;
        self.commit(tx)?;
        Ok(policies)
    }

    /// The credentials `filter` picks with their rotation status at `now`,
    /// most urgent first.
    pub fn statuses(
        &self,
        now: DateTime<Utc>,
        filter: &rotation::Filter,
    ) -> Result<Vec<(Credential, Status)>> {
        let policies = self.policies()?;
        let mut all: Vec<(Credential, Status)> = self
            .list()?
            .into_iter()
            .filter(|c| filter.matches(c))
            .map(|c| {
                let s = rotation::status(&c, &policies, now);
                (c, s)
            })
            .collect();
        all.sort_by(|(a, sa), (b, sb)| {
            (sa.state, sa.due, &a.meta.name).cmp(&(sb.state, sb.due, &b.meta.name))
        });
        Ok(all)
    }
}

/// Re-encrypts every setting from `old` to `new` vault keys (inside rekey's transaction).
pub(crate) fn rekey(
    conn: &Connection,
    path: &std::path::Path,
    vault_id: &[u8],
    old: &Key32,
    new: &Key32,
) -> Result<()> {
    let db = |e| crate::store::db_error(path, e);
    let rows: Vec<(String, Vec<u8>)> = conn
        .prepare("SELECT key, value FROM settings")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        })
        .map_err(db)?;
    for (key, sealed) in rows {
        let plain = crypto::open(
            old,
            &aad(vault_id, &key),
            &sealed,
            &format!("setting '{key}'"),
        )?;
        let resealed = crypto::seal(new, &aad(vault_id, &key), &plain)?;
        conn.execute(
            "UPDATE settings SET value = ?1 WHERE key = ?2",
            params![resealed, key],
        )
        .map_err(db)?;
    }
    Ok(())
}
