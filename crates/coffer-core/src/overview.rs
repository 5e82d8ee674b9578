//! Everything one credential's page shows, read at once: the credential,
//! its rotation status under the policies in force, its running rotation,
//! the remotes it is linked to, and for an AWS credential the STS session
//! kept for it and (a role) the chain it is assumed through. No secret
//! value is read.

use chrono::{DateTime, Utc};

use crate::credential::{Arrival, Credential};
use crate::error::Result;
use crate::kind::Kind;
use crate::policy::{self, Status};
use crate::rotation::run::Run;
use crate::sessions::{self, SessionInfo};
use crate::sync::Binding;
use crate::vault::Vault;

pub struct Overview {
    pub credential: Credential,
    pub status: Status,
    pub run: Option<Run>,
    pub bindings: Vec<Binding>,
    /// How the current version arrived, while nobody has reviewed it.
    pub unreviewed: Option<Arrival>,
    /// The STS session kept for it (ended ones too, until replaced).
    pub session: Option<SessionInfo>,
    /// For an aws-role: the names it is assumed through, itself first and
    /// its key last, or what is wrong with its sources.
    pub chain: Option<std::result::Result<Vec<String>, String>>,
}

impl Vault {
    /// The overview of credential `name` at `now`.
    pub fn overview(&self, name: &str, now: DateTime<Utc>) -> Result<Overview> {
        let credential = self.get(name)?;
        let status = policy::status(&credential, &self.policies()?, now);
        let chain = (credential.meta.kind == Kind::AwsRole)
            .then(|| sessions::chain_names(self, name).map_err(|e| e.to_string()));
        Ok(Overview {
            session: sessions::kept(self, &credential)?,
            chain,
            unreviewed: self.unreviewed(&credential)?,
            run: self.running_rotation(name)?,
            bindings: self.bindings(name)?,
            status,
            credential,
        })
    }
}
