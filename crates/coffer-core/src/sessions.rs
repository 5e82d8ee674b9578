//! Short-lived AWS credentials: what `coffer aws credential-process` hands
//! out instead of the stored key. A session comes from STS GetSessionToken,
//! made with the long-lived key (which never leaves the vault, or the agent
//! serving it), and is kept sealed in the vault's settings, bound to the key
//! it came from, and served again until [`REFRESH_BEFORE`] before it ends:
//! one STS call serves every tool for its life. Every serving is audited as
//! a `credential_process` entry saying whether the session was new or kept.
//!
//! The cache lives in the settings table (sealed under the vault key like
//! every setting, so rekey, backup and restore carry it) rather than a
//! table of its own: a new table is a new vault format, left for when role
//! chains need one entry per link.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::audit::{Action, Event};
use crate::credential::{Credential, Secrets};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::rotation::aws::{aws_error, own_config, sts};
use crate::runtime::block_on;
use crate::vault::Vault;

/// A kept session is served until this long before it ends (the AWS SDKs
/// refresh 5 to 15 minutes ahead; handing one out with less would make them
/// come straight back).
pub const REFRESH_BEFORE: Duration = Duration::minutes(15);
/// What a session lasts unless the credential says otherwise (STS allows
/// 900 s to 36 h for GetSessionToken).
pub const DEFAULT_DURATION: StdDuration = StdDuration::from_secs(3600);

/// Temporary credentials from STS. `Debug` names the key id and expiry only.
#[derive(Clone, Serialize, Deserialize)]
pub struct AwsSession {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Zeroizing<String>,
    pub expiration: DateTime<Utc>,
    /// The long-lived key id it was made with: a session of a rotated key is
    /// not served again.
    pub source_key_id: String,
    pub issued_at: DateTime<Utc>,
}

impl std::fmt::Debug for AwsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSession")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("source_key_id", &self.source_key_id)
            .finish_non_exhaustive()
    }
}

impl AwsSession {
    /// Whether it may still be handed out at `now`.
    pub fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.expiration - REFRESH_BEFORE > now
    }

    /// Whether it may be handed out for `credential` at `now`: fresh, made
    /// with the credential's current key (not one rotated away), and not
    /// older than the credential's being marked compromised (`revoke-all`
    /// denied such sessions at AWS too).
    pub fn servable(&self, credential: &Credential, now: DateTime<Utc>) -> bool {
        self.fresh(now)
            && credential.meta.fields.get("access_key_id") == Some(&self.source_key_id)
            && credential
                .meta
                .compromised_at
                .is_none_or(|at| self.issued_at > at)
    }

    /// What the audit trail says of it (no secret).
    fn described(&self, how: &str) -> Value {
        serde_json::json!({
            "session": how,
            "session_key_id": self.access_key_id,
            "expires": self.expiration.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }
}

/// The vault as a session flow needs it: directly, or (in the agent)
/// behind its lock, taken for each step and never across the STS call.
pub trait VaultAccess {
    fn with<T>(&self, f: impl FnOnce(&Vault) -> Result<T>) -> Result<T>;
}

impl VaultAccess for Vault {
    fn with<T>(&self, f: impl FnOnce(&Vault) -> Result<T>) -> Result<T> {
        f(self)
    }
}

fn setting_key(credential: &Credential) -> String {
    format!("aws-session/{}", credential.id)
}

/// Refuses a credential that cannot yield a session (before anything is
/// revealed).
pub fn check_kind(name: &str, credential: &Credential) -> Result<()> {
    if credential.meta.kind != Kind::AwsAccessKey {
        return Err(Error::Invalid {
            what: format!("credential '{name}'"),
            reason: format!(
                "it is a {} credential; credential_process needs an aws-access-key one",
                credential.meta.kind.as_str()
            ),
        });
    }
    Ok(())
}

/// A session for the aws-access-key credential `name`: the kept one while it
/// is fresh and made with the credential's current key, else a new one from
/// STS (kept for the next caller). `details` go into the audit entry (the
/// asking process, through the agent). The entry is written before the
/// session is returned; for a new session the key is revealed under it.
pub fn session_for(
    vault: &impl VaultAccess,
    name: &str,
    details: Value,
    now: DateTime<Utc>,
) -> Result<(Credential, AwsSession)> {
    let with = |mut extra: Value| {
        let mut all = match details.clone() {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        if let Value::Object(e) = extra.take() {
            all.extend(e);
        }
        Value::Object(all)
    };
    let kept = vault.with(|v| {
        let credential = v.get(name)?;
        check_kind(name, &credential)?;
        let kept: Option<AwsSession> = v.read_setting_now(&setting_key(&credential))?;
        match kept {
            Some(s) if s.servable(&credential, now) => {
                let event = Event::new(Action::CredentialProcess)
                    .target(credential.id, &credential.meta.name)
                    .details(with(s.described("kept")));
                v.record_events(&[event], now)?;
                Ok(Ok((credential, s)))
            }
            _ => Ok(Err(credential)),
        }
    })?;
    let credential = match kept {
        Ok(served) => return Ok(served),
        Err(credential) => credential,
    };
    // Refused before the key is revealed for nothing.
    if crate::runtime::offline() {
        return Err(Error::Failure {
            what: format!(
                "a session for '{name}' needs AWS STS, and COFFER_OFFLINE asks Coffer not to \
                 reach AWS: `coffer aws credential-process {name} --long-lived` hands out the \
                 stored key instead"
            ),
        });
    }
    let (credential, secrets) = vault.with(|v| {
        let mut revealed = v.reveal_for(
            &[name],
            Action::CredentialProcess,
            &with(serde_json::json!({ "session": "new" })),
            now,
        )?;
        revealed.pop().ok_or_else(|| Error::NotFound {
            name: credential.meta.name.clone(),
        })
    })?;
    let session = issue(&credential, &secrets, DEFAULT_DURATION, now)?;
    vault.with(|v| keep(v, &credential, &session, now))?;
    Ok((credential, session))
}

/// STS GetSessionToken with the credential's own key.
pub fn issue(
    credential: &Credential,
    secrets: &Secrets,
    duration: StdDuration,
    now: DateTime<Utc>,
) -> Result<AwsSession> {
    let name = &credential.meta.name;
    let source_key_id = credential
        .meta
        .fields
        .get("access_key_id")
        .cloned()
        .ok_or_else(|| Error::invalid(format!("credential '{name}'"), "has no access_key_id"))?;
    block_on(async {
        let conf = own_config(credential, secrets).await?;
        let out = sts(&conf)
            .get_session_token()
            .duration_seconds(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| aws_error("STS GetSessionToken", name, &e))?;
        let c = out.credentials().ok_or_else(|| Error::Failure {
            what: format!("STS GetSessionToken for {name} returned no credentials"),
        })?;
        let expiration = Utc
            .timestamp_opt(c.expiration().secs(), 0)
            .single()
            .ok_or_else(|| Error::Failure {
                what: format!("STS GetSessionToken for {name} returned an impossible expiry"),
            })?;
        Ok(AwsSession {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: Zeroizing::new(c.secret_access_key().to_owned()),
            session_token: Zeroizing::new(c.session_token().to_owned()),
            expiration,
            source_key_id,
            issued_at: now,
        })
    })?
}

/// Keeps `session` for `credential`, sealed; the write's audit entry says
/// which session (key id and expiry), never its secrets.
pub fn keep(
    vault: &Vault,
    credential: &Credential,
    session: &AwsSession,
    now: DateTime<Utc>,
) -> Result<()> {
    let event = Event::new(Action::SettingsChange)
        .target(credential.id, &credential.meta.name)
        .details(session.described("kept for reuse"));
    vault.write_setting_now(&setting_key(credential), &Some(session), event, now)
}

/// Drops the session kept for `credential` (its key rotated or revoked).
pub fn forget(vault: &Vault, credential: &Credential, now: DateTime<Utc>) -> Result<()> {
    let event = Event::new(Action::SettingsChange)
        .target(credential.id, &credential.meta.name)
        .details(serde_json::json!({ "session": "forgotten" }));
    vault.write_setting_now(&setting_key(credential), &None::<AwsSession>, event, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expiration: DateTime<Utc>) -> AwsSession {
        AwsSession {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Zeroizing::new("canary-session-secret".into()),
            session_token: Zeroizing::new("canary-session-token".into()),
            expiration,
            source_key_id: "AKIAEXAMPLE".into(),
            issued_at: expiration - Duration::hours(1),
        }
    }

    #[test]
    fn a_session_is_served_until_a_quarter_hour_before_it_ends() {
        let end = Utc.with_ymd_and_hms(2026, 12, 6, 16, 0, 0).unwrap();
        let s = session(end);
        assert!(s.fresh(end - Duration::minutes(16)));
        assert!(!s.fresh(end - Duration::minutes(15)));
        assert!(!s.fresh(end));
    }

    #[test]
    fn a_session_of_a_rotated_or_revoked_key_is_not_served() {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 0).unwrap();
        let mut s = session(now + Duration::hours(1));
        s.issued_at = now - Duration::minutes(30);
        let mut c = Credential {
            id: crate::credential::CredentialId([1; 16]),
            version: 1,
            created_at: now,
            updated_at: now,
            meta: crate::credential::CredentialMeta::bare("aws/dev", Kind::AwsAccessKey),
        };
        c.meta
            .fields
            .insert("access_key_id".into(), "AKIAEXAMPLE".into());
        assert!(s.servable(&c, now));
        c.meta.compromised_at = Some(now - Duration::minutes(1));
        assert!(!s.servable(&c, now), "revoked after it was issued");
        c.meta.compromised_at = Some(now - Duration::hours(2));
        assert!(s.servable(&c, now), "issued after the revoke");
        c.meta.compromised_at = None;
        c.meta
            .fields
            .insert("access_key_id".into(), "AKIAROTATED".into());
        assert!(!s.servable(&c, now), "made with a key rotated away");
    }

    #[test]
    fn debug_and_audit_details_name_no_secret() {
        let s = session(Utc::now());
        let shown = format!("{s:?} {}", s.described("kept"));
        assert!(shown.contains("ASIAEXAMPLE"));
        assert!(!shown.contains("canary-session"), "{shown}");
    }
}
