//! Emergency revoke, for a machine that may be compromised: every matching
//! credential's value is revoked where a provider API allows it (AWS access
//! keys set Inactive through IAM, with the sessions already issued from them
//! denied by an inline policy on their user; Vault/OpenBao tokens revoked
//! with `revoke-self`; the live leases of a `vault-lease` revoked) and every
//! one is marked compromised, each step audited.

use chrono::{DateTime, Utc};

use crate::audit::{Action, Event, Outcome};
use crate::credential::{Credential, Patch, Secrets};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::vault::Vault;

/// Which credentials to revoke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    All,
    Env(String),
    Tag(String),
}

impl Selector {
    fn matches(&self, c: &Credential) -> bool {
        match self {
            Selector::All => true,
            Selector::Env(e) => c.meta.env.as_ref() == Some(e),
            Selector::Tag(t) => c.meta.tags.contains(t),
        }
    }
}

/// What revoking one credential will do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub kind: Kind,
    /// The provider call, or `None` when only a person can revoke it.
    pub provider: Option<&'static str>,
}

/// What revoking one credential did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub name: String,
    /// What the provider did, or why it could not.
    pub provider: std::result::Result<String, String>,
}

fn provider_of(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::AwsAccessKey => Some(
            "IAM PutUserPolicy (deny its user's sessions issued before now) and \
             UpdateAccessKey (Inactive) on its own key",
        ),
        Kind::VaultToken => Some("Vault token revoke-self"),
        Kind::VaultLease => Some("Vault sys/leases/revoke of each lease recorded for it"),
        _ => None,
    }
}

/// The credentials `selector` picks and what will happen to each.
pub fn plan(vault: &Vault, selector: &Selector) -> Result<Vec<Planned>> {
    Ok(vault
        .list()?
        .into_iter()
        .filter(|c| selector.matches(c))
        .map(|c| Planned {
            provider: provider_of(c.meta.kind),
            kind: c.meta.kind,
            name: c.meta.name,
        })
        .collect())
}

fn provider_revoke(
    vault: &Vault,
    credential: &Credential,
    secrets: &Secrets,
    now: DateTime<Utc>,
) -> std::result::Result<String, String> {
    let result = match credential.meta.kind {
        Kind::VaultLease => revoke_leases(vault, &credential.meta.name, now),
        Kind::AwsAccessKey => super::aws::revoke_own(credential, secrets, now),
        Kind::VaultToken => super::vault_auth::revoke_self(credential, secrets),
        _ => return Err("no provider API: revoke it at its provider".into()),
    };
    result.map_err(|e| e.to_string())
}

/// Revokes every lease recorded for `name` (held by a running command or
/// left behind); the command holding one finds it gone at its next renewal.
fn revoke_leases(vault: &Vault, name: &str, now: DateTime<Utc>) -> Result<String> {
    let done = crate::leases::revoke_recorded(
        vault,
        |l| l.credential == name,
        "revoked (revoke-all)",
        now,
    )?;
    let total = done.len();
    let failed: Vec<String> = done
        .into_iter()
        .filter_map(|(info, r)| r.err().map(|e| format!("{}: {e}", info.path)))
        .collect();
    if !failed.is_empty() {
        return Err(Error::Failure {
            what: format!(
                "{} of {total} leases not revoked: {}",
                failed.len(),
                failed.join("; ")
            ),
        });
    }
    Ok(format!("{total} lease(s) revoked"))
}

/// Revokes and marks every credential `selector` picks. A provider failure
/// does not stop the others; each credential is marked compromised anyway.
pub fn revoke_all(vault: &mut Vault, selector: &Selector, now: DateTime<Utc>) -> Result<Vec<Done>> {
    let mut done = Vec::new();
    for planned in plan(vault, selector)? {
        let (credential, secrets) = vault.reveal(&planned.name, None, now)?;
        let provider = provider_revoke(vault, &credential, &secrets, now);
        let mut event = Event::new(Action::EmergencyRevoke)
            .target(credential.id, &credential.meta.name)
            .details(serde_json::json!({
                "kind": credential.meta.kind.as_str(),
                "provider": match &provider { Ok(what) => what.clone(), Err(why) => why.clone() },
            }));
        if provider.is_err() && planned.provider.is_some() {
            event.outcome = Outcome::Error;
        }
        vault.record_events(&[event], now)?;
        let mark = Patch {
            compromised_at: Some(Some(now)),
            ..Patch::default()
        };
        vault.update(&planned.name, &mark, now)?;
        done.push(Done {
            name: planned.name,
            provider,
        });
    }
    if done.is_empty() {
        return Err(Error::NotFound {
            name: format!("(no credential matches {selector:?})"),
        });
    }
    Ok(done)
}
