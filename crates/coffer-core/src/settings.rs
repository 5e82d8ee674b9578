//! Vault settings (rotation policies today), stored encrypted in the
//! `settings` table: the value of key `k` is sealed under the vault key with
//! associated data `("coffer/v1/setting", vault id, k)`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::audit::{Action, Event};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::policy::{self, Policies, Policy, Scope, Status};
use crate::sealed::Place;
use crate::vault::{Vault, WriteTx};

const POLICIES: &str = "rotation-policies";

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
        let plain = self.open_at(Place::Setting { key }, &sealed, &what)?;
        serde_json::from_slice(&plain)
            .map_err(|_| Error::integrity(format!("{what}: malformed content")))
    }

    /// Writes setting `key` in `tx`; the transaction's entry stamps it.
    pub(crate) fn write_setting<T: Serialize>(
        &self,
        tx: &WriteTx<'_>,
        key: &str,
        value: &T,
    ) -> Result<()> {
        let plain = serde_json::to_vec(value).map_err(|e| Error::Failure {
            what: format!("cannot encode setting '{key}': {e}"),
        })?;
        let sealed = self.seal_at(Place::Setting { key }, &plain)?;
        self.db(tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![key, sealed],
        ))?;
        tx.stamp_setting(key, &sealed);
        Ok(())
    }

    /// Setting `key` as stored now (`None` when unset), after the queued
    /// audit events are written (nothing leaves the vault before them).
    pub(crate) fn read_setting_now<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.flush()?;
        self.read_setting::<Option<T>>(self.conn(), key)
    }

    /// Writes setting `key` in a transaction of its own, with `event` as
    /// the entry that stamps it.
    pub(crate) fn write_setting_now<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        event: Event,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self.begin()?;
        self.write_setting(&tx, key, value)?;
        tx.record(event, now)?;
        tx.commit()
    }

    /// The names of the settings starting with `prefix`, sorted.
    pub(crate) fn setting_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = self.db(conn.prepare("SELECT key FROM settings ORDER BY key"))?;
        let keys = self.db(stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>()))?;
        Ok(keys.into_iter().filter(|k| k.starts_with(prefix)).collect())
    }

    /// Unsets the settings `keys` in one transaction, `event` its entry.
    pub(crate) fn clear_settings(
        &self,
        keys: &[String],
        event: Event,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self.begin()?;
        for key in keys {
            self.write_setting(&tx, key, &None::<()>)?;
        }
        tx.record(event, now)?;
        tx.commit()
    }

    /// The rotation policies set by kind, tag and environment.
    pub fn policies(&self) -> Result<Policies> {
        self.flush()?;
        self.read_setting(self.conn(), POLICIES)
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
        tx.record(event, now)?;
        tx.commit()?;
        Ok(policies)
    }

    /// The credentials `filter` picks with their rotation status at `now`,
    /// most urgent first.
    pub fn statuses(
        &self,
        now: DateTime<Utc>,
        filter: &policy::Filter,
    ) -> Result<Vec<(Credential, Status)>> {
        let policies = self.policies()?;
        let mut all: Vec<(Credential, Status)> = self
            .list()?
            .into_iter()
            .filter(|c| filter.matches(c))
            .map(|c| {
                let s = policy::status(&c, &policies, now);
                (c, s)
            })
            .collect();
        all.sort_by(|(a, sa), (b, sb)| {
            (sa.state, sa.due, &a.meta.name).cmp(&(sb.state, sb.due, &b.meta.name))
        });
        Ok(all)
    }
}
