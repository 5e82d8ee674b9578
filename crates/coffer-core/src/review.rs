//! Versions whose fields arrived from elsewhere (a pull from a remote, an
//! import) are shown as such until the person reviews them: a field pulled
//! from a shared remote may have been written by someone else, and `exec`
//! turns fields into a program's environment. The mark is part of the
//! version (`CredentialMeta::arrived`); the reviews are a setting, so
//! reviewing writes no new version.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::audit::{Action, Event};
use crate::credential::{Arrival, Credential};
use crate::error::Result;
use crate::vault::Vault;

/// Record id (hex) → the version the person reviewed.
const REVIEWED: &str = "reviewed";

impl Vault {
    /// How `c`'s current version arrived, while nobody has reviewed it.
    pub fn unreviewed(&self, c: &Credential) -> Result<Option<Arrival>> {
        let Some(arrival) = &c.meta.arrived else {
            return Ok(None);
        };
        let reviewed: BTreeMap<String, u64> = self.read_setting(self.conn(), REVIEWED)?;
        Ok((reviewed.get(&c.id.to_string()) != Some(&c.version)).then(|| arrival.clone()))
    }

    /// Marks the current version of `name` as reviewed; audited. `false`
    /// when there was nothing to review (nothing is written then).
    pub fn mark_reviewed(&mut self, name: &str, now: DateTime<Utc>) -> Result<bool> {
        let c = self.get(name)?;
        let Some(arrival) = self.unreviewed(&c)? else {
            return Ok(false);
        };
        let tx = self.begin()?;
        let mut reviewed: BTreeMap<String, u64> = self.read_setting(&tx, REVIEWED)?;
        // Reviews of deleted credentials are of no more use (only the ids
        // are read: no record is decrypted).
        let live: std::collections::HashSet<String> = self.db(tx
            .prepare("SELECT lower(hex(id)) FROM credentials")
            .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect()))?;
        reviewed.retain(|id, _| live.contains(id));
        reviewed.insert(c.id.to_string(), c.version);
        self.write_setting(&tx, REVIEWED, &reviewed)?;
        let event = Event::new(Action::Review)
            .target(c.id, &c.meta.name)
            .details(serde_json::json!({ "version": c.version, "arrived_by": arrival.via }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(true)
    }
}
