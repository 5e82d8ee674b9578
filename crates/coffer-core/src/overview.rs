//! Everything one credential's page shows, read at once: the credential,
//! its rotation status under the policies in force, its running rotation and
//! the remotes it is linked to. No secret value is read.

use chrono::{DateTime, Utc};

use crate::credential::{Arrival, Credential};
use crate::error::Result;
use crate::policy::{self, Status};
use crate::rotation::run::Run;
use crate::sync::Binding;
use crate::vault::Vault;

pub struct Overview {
    pub credential: Credential,
    pub status: Status,
    pub run: Option<Run>,
    pub bindings: Vec<Binding>,
    /// How the current version arrived, while nobody has reviewed it.
    pub unreviewed: Option<Arrival>,
}

impl Vault {
    /// The overview of credential `name` at `now`.
    pub fn overview(&self, name: &str, now: DateTime<Utc>) -> Result<Overview> {
        let credential = self.get(name)?;
        let status = policy::status(&credential, &self.policies()?, now);
        Ok(Overview {
            unreviewed: self.unreviewed(&credential)?,
            run: self.running_rotation(name)?,
            bindings: self.bindings(name)?,
            status,
            credential,
        })
    }
}
