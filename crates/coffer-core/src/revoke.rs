//! Emergency revoke, for a machine that may be compromised: every matching
//! credential's value is revoked where a provider API allows it (AWS access
//! keys set Inactive through IAM, with the sessions already issued from
//! them denied by an inline policy on their user and on every role a chain
//! of Coffer's assumes with them; an `aws-role`'s sessions denied the same
//! way on its role; Vault/OpenBao tokens revoked with `revoke-self`; the
//! live leases of a `vault-lease` revoked) and every one is marked
//! compromised, each step audited. It spans the features (rotation's
//! provider calls, sessions' chains, leases), so it is a feature of its own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::audit::{Action, Event, Outcome};
use crate::credential::{Credential, Patch, Secrets};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::rotation::aws;
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
            "IAM PutRolePolicy on each role Coffer assumes with it and PutUserPolicy on its user \
             (deny sessions issued before now), then UpdateAccessKey (Inactive) on its own key",
        ),
        Kind::AwsRole => Some(
            "IAM PutRolePolicy on its role (deny sessions issued before now), made with the key \
             its chain starts from",
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

/// The roles whose sessions this revoke has denied (true) or failed to
/// deny (false), by ARN: a role reached through its key is not asked
/// again for its own entry.
type Denied = BTreeMap<String, bool>;

fn provider_revoke(
    vault: &Vault,
    credential: &Credential,
    secrets: &Secrets,
    denied: &mut Denied,
    now: DateTime<Utc>,
) -> std::result::Result<String, String> {
    let result = match credential.meta.kind {
        Kind::VaultLease => revoke_leases(vault, &credential.meta.name, now),
        Kind::AwsAccessKey => revoke_key(vault, credential, secrets, denied, now),
        Kind::AwsRole => revoke_role(vault, credential, denied, now),
        Kind::VaultToken => crate::rotation::vault_auth::revoke_self(credential, secrets),
        _ => return Err("no provider API: revoke it at its provider".into()),
    };
    result.map_err(|e| e.to_string())
}

/// The role ARNs of the aws-role credentials whose chain starts from the
/// key `key_name` (a role whose chain is broken is left out: nothing can
/// be assumed through it).
fn roles_assumed_with(vault: &Vault, key_name: &str) -> Result<Vec<String>> {
    let mut arns = Vec::new();
    for role in vault.list()? {
        if role.meta.kind != Kind::AwsRole {
            continue;
        }
        let Ok(chain) = crate::sessions::chain_names(vault, &role.meta.name) else {
            continue;
        };
        if chain.last().map(String::as_str) != Some(key_name) {
            continue;
        }
        if let Some(arn) = role.meta.fields.get("role_arn") {
            if !arns.contains(arn) {
                arns.push(arn.clone());
            }
        }
    }
    Ok(arns)
}

/// A key's revoke: the sessions of every role assumed with it denied first
/// (the key makes those calls, so before it stops working), then its
/// user's sessions, then the key set Inactive. A role that may not be
/// denied does not stop the rest; the result then says which sessions live
/// on.
fn revoke_key(
    vault: &Vault,
    key: &Credential,
    secrets: &Secrets,
    denied: &mut Denied,
    now: DateTime<Utc>,
) -> Result<String> {
    let mut roles_done = Vec::new();
    let mut roles_failed = Vec::new();
    for arn in roles_assumed_with(vault, &key.meta.name)? {
        if denied.contains_key(&arn) {
            continue;
        }
        let result = aws::deny_role_sessions(key, secrets, &arn, now);
        denied.insert(arn.clone(), result.is_ok());
        match result {
            Ok(what) => roles_done.push(what),
            Err(e) => roles_failed.push(format!("{arn}: {e}")),
        }
    }
    let roles_failed = if roles_failed.is_empty() {
        String::new()
    } else {
        format!(
            "; the sessions of roles assumed with it still work until they expire: {}",
            roles_failed.join("; ")
        )
    };
    let roles_done: String = roles_done.iter().map(|d| format!("; {d}")).collect();
    match aws::revoke_own(key, secrets, now) {
        Ok(own) if roles_failed.is_empty() => Ok(format!("{own}{roles_done}")),
        Ok(own) => Err(Error::Failure {
            what: format!("{own}{roles_done}{roles_failed}"),
        }),
        Err(e) => Err(Error::Failure {
            what: format!("{e}{roles_done}{roles_failed}"),
        }),
    }
}

/// A role's revoke: its sessions denied by a policy on the role, put with
/// the key its chain starts from (unless this revoke did so already).
fn revoke_role(
    vault: &Vault,
    role: &Credential,
    denied: &mut Denied,
    now: DateTime<Utc>,
) -> Result<String> {
    let name = &role.meta.name;
    let arn = role
        .meta
        .fields
        .get("role_arn")
        .ok_or_else(|| Error::invalid(format!("aws-role '{name}'"), "it has no role_arn"))?;
    match denied.get(arn) {
        Some(true) => {
            return Ok(format!(
                "sessions of role {arn} already denied in this revoke, with its chain's key"
            ))
        }
        Some(false) => {
            return Err(Error::Failure {
                what: format!(
                    "the sessions of role {arn} could not be denied with its chain's key (see \
                     that key's entry): they work until they expire"
                ),
            })
        }
        None => {}
    }
    let chain = crate::sessions::chain_names(vault, name)?;
    let key_name = chain.last().expect("a chain ends with its key");
    let (key, secrets) = vault.reveal(key_name, None, now)?;
    let result = aws::deny_role_sessions(&key, &secrets, arn, now);
    denied.insert(arn.clone(), result.is_ok());
    Ok(format!("{}, with the key of '{key_name}'", result?))
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
    let mut denied = Denied::new();
    for planned in plan(vault, selector)? {
        let (credential, secrets) = vault.reveal(&planned.name, None, now)?;
        let provider = provider_revoke(vault, &credential, &secrets, &mut denied, now);
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
