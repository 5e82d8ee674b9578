//! Short-lived AWS credentials: what `coffer aws credential-process`,
//! `exec` and `env` hand out instead of the stored key. A session comes
//! from STS: GetSessionToken made with an aws-access-key's long-lived key
//! (which never leaves the vault, or the agent serving it), then, for an
//! aws-role, AssumeRole with the session of its source, link by link down a
//! chain (chain.rs). Each link's session is kept sealed in the vault's
//! settings, bound to what made it (chain.rs's bindings), and served again
//! until shortly before it ends: one STS call serves every tool for its
//! life. Every serving is audited, saying whether the session was new or
//! kept; a new one's entry says which role, device and expiry.
//!
//! The cache lives in the settings table (sealed under the vault key like
//! every setting, with the setting's name in the associated data, so
//! rekey, backup and restore carry it) rather than a table of its own: a
//! new table is a new vault format, which this does not need.

mod chain;
pub mod mfa;
mod sts;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::audit::{Action, Event};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::secret::SecretValue;
use crate::vault::Vault;

pub use chain::MAX_LINKS;
pub use mfa::MfaCodes;

/// A kept session is served until this long before it ends, or a quarter
/// of its life for a short one. (The issue asked for 5 minutes; the AWS
/// SDKs, botocore among them, refresh credentials 10 to 15 minutes before
/// they end, so a session handed out with less would bring them straight
/// back on every call.)
pub const REFRESH_BEFORE: Duration = Duration::minutes(15);
/// What a session lasts unless the credential's `duration` says otherwise.
pub const DEFAULT_DURATION: StdDuration = StdDuration::from_secs(3600);
/// AWS caps a session of a role assumed with another role's session at an
/// hour, whatever the role allows.
pub const CHAINED_ROLE_MAX: StdDuration = StdDuration::from_secs(3600);

/// Temporary credentials from STS. `Debug` names no secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct AwsSession {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Zeroizing<String>,
    pub expiration: DateTime<Utc>,
    /// The long-lived key id at the bottom of its chain.
    pub source_key_id: String,
    pub issued_at: DateTime<Utc>,
    /// What made it (see chain::bindings); a session kept before bindings
    /// has none and is made again.
    #[serde(default)]
    pub binding: String,
    /// The credential it was made for, as named then.
    #[serde(default)]
    pub credential: String,
    /// For a role's session: the role, and who STS says the session is.
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub assumed_arn: Option<String>,
    #[serde(default)]
    pub session_name: Option<String>,
    /// Whether an MFA code went into it or into a link below it.
    #[serde(default)]
    pub mfa: bool,
    #[serde(default)]
    pub region: Option<String>,
    /// How many times it was handed out.
    #[serde(default)]
    pub served: u64,
}

impl std::fmt::Debug for AwsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSession")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("source_key_id", &self.source_key_id)
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

/// A kept session as `coffer aws sessions` lists it: no secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionInfo {
    pub credential: String,
    pub session_key_id: String,
    pub source_key_id: String,
    pub role_arn: Option<String>,
    pub assumed_arn: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub expiration: DateTime<Utc>,
    pub mfa: bool,
    pub served: u64,
}

impl AwsSession {
    /// Nothing in it yet (what the STS calls fill in).
    pub(crate) fn empty() -> AwsSession {
        AwsSession {
            access_key_id: String::new(),
            secret_access_key: Zeroizing::default(),
            session_token: Zeroizing::default(),
            expiration: DateTime::<Utc>::MIN_UTC,
            source_key_id: String::new(),
            issued_at: DateTime::<Utc>::MIN_UTC,
            binding: String::new(),
            credential: String::new(),
            role_arn: None,
            assumed_arn: None,
            session_name: None,
            mfa: false,
            region: None,
            served: 0,
        }
    }

    /// Whether it may still be handed out at `now`: until
    /// [`REFRESH_BEFORE`] before it ends, or a quarter of its life before
    /// for a session shorter than an hour.
    pub fn fresh(&self, now: DateTime<Utc>) -> bool {
        let margin = REFRESH_BEFORE.min((self.expiration - self.issued_at) / 4);
        self.expiration - margin > now
    }

    /// Whether it may be handed out for the link bound as `binding` at
    /// `now`: fresh, made for what the link is now (not a key rotated away,
    /// a role changed or a source swapped), and not older than any link's
    /// being marked compromised (`revoke-all` denied such sessions at AWS).
    fn servable(&self, binding: &str, chain: &[Credential], now: DateTime<Utc>) -> bool {
        self.fresh(now)
            && self.binding == binding
            && chain
                .iter()
                .all(|c| c.meta.compromised_at.is_none_or(|at| self.issued_at > at))
    }

    /// What the audit trail says of it (no secret).
    fn described(&self, how: &str) -> Value {
        let mut d = serde_json::json!({
            "session": how,
            "session_key_id": self.access_key_id,
            "expires": self.expiration.to_rfc3339_opts(SecondsFormat::Secs, true),
            "mfa": self.mfa,
        });
        if let Some(role) = &self.role_arn {
            d["role_arn"] = role.as_str().into();
            d["session_name"] = self.session_name.clone().unwrap_or_default().into();
        }
        d
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            credential: self.credential.clone(),
            session_key_id: self.access_key_id.clone(),
            source_key_id: self.source_key_id.clone(),
            role_arn: self.role_arn.clone(),
            assumed_arn: self.assumed_arn.clone(),
            issued_at: self.issued_at,
            expiration: self.expiration,
            mfa: self.mfa,
            served: self.served,
        }
    }
}

/// The vault as a session flow needs it: directly, or (in the agent)
/// behind its lock, taken for each step and never across an STS call.
pub trait VaultAccess {
    fn with<T>(&self, f: impl FnOnce(&Vault) -> Result<T>) -> Result<T>;
}

impl VaultAccess for Vault {
    fn with<T>(&self, f: impl FnOnce(&Vault) -> Result<T>) -> Result<T> {
        f(self)
    }
}

const SETTING_PREFIX: &str = "aws-session/";

fn setting_key(credential: &Credential) -> String {
    format!("{SETTING_PREFIX}{}", credential.id)
}

/// What a session is handed out for, as the audit trail names it.
pub fn check_use(action: Action) -> Result<()> {
    match action {
        Action::CredentialProcess | Action::Exec | Action::EnvExport => Ok(()),
        other => Err(Error::invalid(
            "session request",
            format!("a session is not handed out for {}", other.as_str()),
        )),
    }
}

/// The names of the credentials a session of `name` is made through (the
/// asked one first, the key last), for access rules; errors as
/// [`session_for`] gives them.
pub fn chain_names(vault: &Vault, name: &str) -> Result<Vec<String>> {
    Ok(chain::resolve(|n| vault.get(n), name)?
        .into_iter()
        .map(|c| c.meta.name)
        .collect())
}

/// What a session of `name` may use, for the agent's access rules: its
/// chain, and the totp-seed credentials its links' `mfa_totp` name.
pub fn used_names(vault: &Vault, name: &str) -> Result<Vec<String>> {
    let chain = chain::resolve(|n| vault.get(n), name)?;
    let mut names: Vec<String> = chain.iter().map(|c| c.meta.name.clone()).collect();
    for link in &chain {
        if let Some(seed) = link.meta.fields.get("mfa_totp") {
            if !names.contains(seed) {
                names.push(seed.clone());
            }
        }
    }
    Ok(names)
}

/// Refuses a credential that cannot yield a session (before anything is
/// revealed).
pub fn check_kind(name: &str, credential: &Credential) -> Result<()> {
    if !matches!(credential.meta.kind, Kind::AwsAccessKey | Kind::AwsRole) {
        return Err(Error::Invalid {
            what: format!("credential '{name}'"),
            reason: format!(
                "it is a {} credential; an AWS session comes from an aws-access-key or an \
                 aws-role one",
                credential.meta.kind.as_str()
            ),
        });
    }
    Ok(())
}

/// A code for `link`'s MFA device from the totp-seed credential `seed` its
/// `mfa_totp` names (the seed's reveal audited as this session's use).
fn totp_code(
    vault: &Vault,
    link: &Credential,
    seed: &str,
    action: Action,
    details: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<SecretValue> {
    let what = || format!("credential '{}'", link.meta.name);
    let found = vault.get(seed).map_err(|e| match e {
        Error::NotFound { .. } => {
            Error::invalid(what(), format!("its mfa_totp '{seed}' does not exist"))
        }
        other => other,
    })?;
    if found.meta.kind != Kind::TotpSeed {
        return Err(Error::invalid(
            what(),
            format!(
                "its mfa_totp '{seed}' is a {} credential, not a totp-seed",
                found.meta.kind
            ),
        ));
    }
    let (credential, secrets) = vault
        .reveal_for(&[seed], action, details, now)?
        .pop()
        .ok_or_else(|| Error::NotFound { name: seed.into() })?;
    let value = secrets
        .0
        .get("seed")
        .ok_or_else(|| Error::invalid(format!("totp-seed '{seed}'"), "it has no seed"))?;
    crate::totp::code(seed, value, |f| credential.meta.fields.get(f).cloned(), now)
}

/// A link's `duration` field, else an hour, within what STS takes (a key's
/// GetSessionToken 15 minutes to 36 hours, AssumeRole 15 minutes to 12
/// hours); a role assumed with another role's session gets at most
/// [`CHAINED_ROLE_MAX`].
fn duration_of(link: &Credential, chained: bool) -> Result<StdDuration> {
    let (most, said) = if link.meta.kind == Kind::AwsRole {
        (43_200, "12 hours (12h)")
    } else {
        (129_600, "36 hours (36h)")
    };
    let asked = match link.meta.fields.get("duration") {
        Some(text) => crate::time::parse_span(text)
            .and_then(|d| d.to_std().ok())
            .filter(|d| (900..=most).contains(&d.as_secs()))
            .ok_or_else(|| {
                Error::invalid(
                    format!("field 'duration' of '{}'", link.meta.name),
                    format!(
                        "an STS session of a {} lasts from 15 minutes (900) to {said}",
                        link.meta.kind
                    ),
                )
            })?,
        None => DEFAULT_DURATION,
    };
    Ok(if chained {
        asked.min(CHAINED_ROLE_MAX)
    } else {
        asked
    })
}

/// The session name AssumeRole is given: the role's `role_session_name`,
/// else `coffer-USER` (what CloudTrail then shows as who assumed it).
fn session_name_of(role: &Credential) -> String {
    if let Some(n) = role.meta.fields.get("role_session_name") {
        return n.clone();
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "user".into());
    // STS takes 2 to 64 of [\w+=,.@-].
    let clean: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(57)
        .collect();
    format!("coffer-{clean}")
}

/// The region a link's STS call goes to: its own `region`, else one below
/// it in the chain, else the environment's, else us-east-1.
fn region_of(chain: &[Credential], at: usize) -> String {
    chain[at..]
        .iter()
        .find(|c| c.meta.fields.contains_key("region"))
        .map(crate::rotation::aws::region)
        .unwrap_or_else(|| crate::rotation::aws::region(&chain[at]))
}

fn merged(details: &Value, extra: Value) -> Value {
    let mut all = match details {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    if let Value::Object(e) = extra {
        all.extend(e);
    }
    Value::Object(all)
}

/// What one request for a session asks.
pub struct Want<'a> {
    /// The aws-access-key or aws-role credential.
    pub name: &'a str,
    /// What the session is handed out for (see [`check_use`]).
    pub action: Action,
    /// Put into the audit entries (the asking process, through the agent).
    pub details: Value,
}

/// A session for `want.name`: the kept one while it serves, else made
/// from the nearest link of its chain whose kept session still serves, or
/// from the key (revealed, audited, under the vault's lock only while it is
/// read). Each link made is kept for the next caller. MFA codes come from
/// a link's `mfa_process`, else `codes`. Entries are written before the
/// session is returned.
pub fn session_for(
    vault: &impl VaultAccess,
    want: &Want<'_>,
    codes: &mut dyn MfaCodes,
    now: DateTime<Utc>,
) -> Result<(Credential, AwsSession)> {
    check_use(want.action)?;
    let flight = flight(vault.with(|v| Ok(format!("{}/{}", v.vault_id(), want.name)))?);
    let _one_at_a_time = flight.lock().unwrap_or_else(|p| p.into_inner());
    match attempt(vault, want, codes, now, false) {
        Err(Retry::Again) => attempt(vault, want, codes, now, true).map_err(Retry::into_error),
        other => other.map_err(Retry::into_error),
    }
}

/// One session flow at a time per asked credential of a vault, in this
/// process (the agent serves tools in parallel): a tool that asks while
/// another's miss waits on STS waits too, then finds the session it made
/// kept, so one STS call serves them all. Written here rather than taken
/// from a crate: a map of weak handles to mutexes is all it takes, and the
/// vault's own lock must not be held across the STS call.
fn flight(key: String) -> std::sync::Arc<std::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock, Weak};
    static FLIGHTS: OnceLock<Mutex<HashMap<String, Weak<Mutex<()>>>>> = OnceLock::new();
    let mut flights = FLIGHTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    flights.retain(|_, f| f.strong_count() > 0);
    if let Some(f) = flights.get(&key).and_then(Weak::upgrade) {
        return f;
    }
    let f = Arc::new(Mutex::new(()));
    flights.insert(key, Arc::downgrade(&f));
    f
}

/// Why an attempt stopped: an error, or a kept session below refused by
/// STS as ended (dropped: the chain is made again from the key, once).
enum Retry {
    Error(Error),
    Again,
}

impl Retry {
    fn into_error(self) -> Error {
        match self {
            Retry::Error(e) => e,
            Retry::Again => Error::Failure {
                what: "STS refused a session Coffer had just made".into(),
            },
        }
    }
}

impl From<Error> for Retry {
    fn from(e: Error) -> Self {
        Retry::Error(e)
    }
}

fn attempt(
    vault: &impl VaultAccess,
    want: &Want<'_>,
    codes: &mut dyn MfaCodes,
    now: DateTime<Utc>,
    from_key: bool,
) -> std::result::Result<(Credential, AwsSession), Retry> {
    let name = want.name;
    let action = want.action;
    let looked = vault.with(|v| {
        let mut chain = chain::resolve(|n| v.get(n), name)?;
        let bindings = chain::bindings(&chain);
        let mut kept: Vec<Option<AwsSession>> = Vec::with_capacity(chain.len());
        for (link, binding) in chain.iter().zip(&bindings) {
            let s: Option<AwsSession> = v.read_setting_now(&setting_key(link))?;
            kept.push(s.filter(|s| !from_key && s.servable(binding, &chain, now)));
        }
        if let Some(mut s) = kept[0].take() {
            s.served += 1;
            let event = Event::new(action)
                .target(chain[0].id, &chain[0].meta.name)
                .details(merged(&want.details, s.described("kept")));
            v.write_setting_now(&setting_key(&chain[0]), &Some(&s), event, now)?;
            return Ok(Err((chain.swap_remove(0), s)));
        }
        Ok(Ok((chain, bindings, kept)))
    })?;
    let (chain, bindings, mut kept) = match looked {
        Err(served) => return Ok(served),
        Ok(l) => l,
    };
    // Refused before the key is revealed for nothing.
    if crate::runtime::offline() {
        return Err(Error::Failure {
            what: format!(
                "a session for '{name}' needs AWS STS, and COFFER_OFFLINE asks Coffer not to \
                 reach AWS: --long-lived hands out an aws-access-key's stored key instead"
            ),
        }
        .into());
    }
    let top = &chain[0];
    let bottom = chain.len() - 1;
    // A link's code: its mfa_process runs only when the person has seen
    // the version it came with (a pulled or imported credential could
    // otherwise run anyone's command here).
    // Nor does its mfa_totp pick a seed unreviewed.
    let mut code_for = |link: &Credential, serial: &str| -> Result<SecretValue> {
        for field in ["mfa_process", "mfa_totp"] {
            if !link.meta.fields.contains_key(field) {
                continue;
            }
            if let Some(arrival) = vault.with(|v| v.unreviewed(link))? {
                return Err(Error::Denied {
                    what: format!(
                        "the {field} of '{0}' arrived by {1} and nobody has reviewed it, so \
                         Coffer does not use it: look at it with `coffer show {0}` (which marks \
                         it reviewed), then try again",
                        link.meta.name, arrival.via
                    ),
                });
            }
        }
        if let Some(seed) = link.meta.fields.get("mfa_totp") {
            let details = merged(
                &want.details,
                serde_json::json!({ "mfa_code_for": link.meta.name }),
            );
            let code = vault.with(|v| totp_code(v, link, seed, action, &details, now))?;
            mfa::check(&link.meta.name, &code)?;
            return Ok(code);
        }
        mfa::code_for(link, serial, codes)
    };
    // Every link's duration, checked before anything is revealed.
    let durations = chain
        .iter()
        .enumerate()
        .map(|(i, link)| {
            let chained = chain
                .get(i + 1)
                .is_some_and(|b| b.meta.kind == Kind::AwsRole);
            duration_of(link, chained)
        })
        .collect::<Result<Vec<_>>>()?;
    // The nearest link below the top whose kept session serves; the key's
    // own session is made when none does.
    let start = (1..chain.len()).find(|&i| kept[i].is_some());
    let (mut below, mut at) = match start {
        Some(i) => (kept[i].take().expect("found"), i),
        None => {
            let key = &chain[bottom];
            let ask_mfa = key.meta.fields.get("mfa_serial").cloned();
            let mfa = match &ask_mfa {
                Some(serial) => Some(code_for(key, serial)?),
                None => None,
            };
            let (key, secrets) = vault.with(|v| {
                let details = if bottom == 0 {
                    merged(&want.details, serde_json::json!({ "session": "new" }))
                } else {
                    merged(
                        &want.details,
                        serde_json::json!({ "session": "new", "for": top.meta.name }),
                    )
                };
                let mut revealed =
                    v.reveal_for(&[key.meta.name.as_str()], action, &details, now)?;
                revealed.pop().ok_or_else(|| Error::NotFound {
                    name: key.meta.name.clone(),
                })
            })?;
            let ask = sts::Ask {
                duration: durations[bottom],
                mfa: ask_mfa.as_deref().zip(mfa),
                region: region_of(&chain, bottom),
            };
            let mut made = sts::session_token(&key, &secrets, ask, now).map_err(|f| f.error)?;
            drop(secrets);
            made.source_key_id = key
                .meta
                .fields
                .get("access_key_id")
                .cloned()
                .unwrap_or_default();
            made.binding = bindings[bottom].clone();
            made.credential = key.meta.name.clone();
            // Handed out now when the key is what was asked for.
            made.served = u64::from(bottom == 0);
            vault.with(|v| keep(v, &key, &made, now))?;
            (made, bottom)
        }
    };
    while at > 0 {
        at -= 1;
        let role = &chain[at];
        let ask_mfa = role.meta.fields.get("mfa_serial").cloned();
        let mfa = match &ask_mfa {
            Some(serial) => Some(code_for(role, serial)?),
            None => None,
        };
        let ask = sts::Ask {
            duration: durations[at],
            mfa: ask_mfa.as_deref().zip(mfa),
            region: region_of(&chain, at),
        };
        let mut made = match sts::assume_role(role, &below, &session_name_of(role), ask, now) {
            Ok(s) => s,
            Err(f) if f.source_refused && !from_key && start.is_some() => {
                // A kept session STS no longer takes: dropped, and the
                // chain made again from the key.
                vault.with(|v| forget(v, &chain[at + 1], now))?;
                return Err(Retry::Again);
            }
            Err(f) => return Err(f.error.into()),
        };
        made.source_key_id = below.source_key_id.clone();
        made.binding = bindings[at].clone();
        made.credential = role.meta.name.clone();
        made.served = u64::from(at == 0);
        vault.with(|v| keep(v, role, &made, now))?;
        below = made;
    }
    if bottom > 0 {
        // The key's reveal was audited for the role; this is the role's own use.
        let event = Event::new(action)
            .target(top.id, &top.meta.name)
            .details(merged(&want.details, below.described("new")));
        vault.with(|v| v.record_events(&[event], now))?;
    }
    Ok((chain.into_iter().next().expect("never empty"), below))
}

/// How long back `coffer status` looks for long-lived keys handed out.
pub const LONG_LIVED_WINDOW: Duration = Duration::days(30);

/// How many times each credential's long-lived key was handed out to a
/// tool (`--long-lived`: credential_process, exec, env) in `entries`,
/// which the caller reads from the trail for [`LONG_LIVED_WINDOW`].
pub fn long_lived_uses(
    entries: &[crate::audit::Entry],
) -> std::collections::BTreeMap<String, usize> {
    let mut uses = std::collections::BTreeMap::new();
    for e in entries {
        let tool = matches!(
            e.body.action,
            Action::CredentialProcess | Action::Exec | Action::EnvExport
        );
        if tool && e.body.details.get("long_lived") == Some(&Value::Bool(true)) {
            if let Some(name) = &e.body.target_name {
                *uses.entry(name.clone()).or_insert(0) += 1;
            }
        }
    }
    uses
}

/// Keeps `session` for `credential`, sealed; the write's audit entry says
/// which session (key id, role, MFA, expiry), never its secrets.
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

/// A kept session as stored, read without writing anything first (unlike
/// the serving path, which writes the queued audit entries before a
/// session leaves): what is read here is shown without its secrets, and a
/// credential's page or a listing must not need the vault's write lock.
fn stored(vault: &Vault, key: &str) -> Result<Option<AwsSession>> {
    vault.read_setting::<Option<AwsSession>>(vault.conn(), key)
}

/// The session kept for `credential`, without secrets (none for a kind
/// that has no sessions).
pub fn kept(vault: &Vault, credential: &Credential) -> Result<Option<SessionInfo>> {
    if !matches!(credential.meta.kind, Kind::AwsAccessKey | Kind::AwsRole) {
        return Ok(None);
    }
    Ok(stored(vault, &setting_key(credential))?.map(|s| s.info()))
}

/// Every session kept (live or ended), without secrets, soonest to end first.
pub fn list(vault: &Vault) -> Result<Vec<SessionInfo>> {
    let mut out = Vec::new();
    for key in vault.setting_keys(SETTING_PREFIX)? {
        if let Some(s) = stored(vault, &key)? {
            out.push(s.info());
        }
    }
    out.sort_by(|a, b| {
        a.expiration
            .cmp(&b.expiration)
            .then(a.credential.cmp(&b.credential))
    });
    Ok(out)
}

/// Drops every kept session (`coffer lock --forget-sessions`), in one
/// transaction with one entry; returns how many there were.
pub fn forget_all(vault: &Vault, now: DateTime<Utc>) -> Result<usize> {
    let keys = vault.setting_keys(SETTING_PREFIX)?;
    let mut count = 0;
    for key in &keys {
        if stored(vault, key)?.is_some() {
            count += 1;
        }
    }
    if count > 0 {
        let event = Event::new(Action::SettingsChange)
            .details(serde_json::json!({ "sessions": "forgotten", "count": count }));
        vault.clear_settings(&keys, event, now)?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn session(expiration: DateTime<Utc>) -> AwsSession {
        AwsSession {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Zeroizing::new("canary-session-secret".into()),
            session_token: Zeroizing::new("canary-session-token".into()),
            expiration,
            source_key_id: "AKIAEXAMPLE".into(),
            issued_at: expiration - Duration::hours(1),
            binding: "b".into(),
            role_arn: Some("arn:aws:iam::123456789012:role/ops".into()),
            ..AwsSession::empty()
        }
    }

    #[test]
    fn a_session_is_served_until_a_quarter_hour_before_it_ends() {
        let end = Utc.with_ymd_and_hms(2026, 12, 6, 16, 0, 0).unwrap();
        let s = session(end);
        assert!(s.fresh(end - Duration::minutes(16)));
        assert!(!s.fresh(end - Duration::minutes(15)));
        assert!(!s.fresh(end));
        // A 15-minute session serves for three quarters of its life.
        let mut short = session(end);
        short.issued_at = end - Duration::minutes(15);
        assert!(short.fresh(end - Duration::minutes(4)));
        assert!(!short.fresh(end - Duration::minutes(3)));
    }

    #[test]
    fn a_session_of_a_changed_chain_or_a_revoked_link_is_not_served() {
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
        assert!(s.servable("b", std::slice::from_ref(&c), now));
        assert!(
            !s.servable("other", std::slice::from_ref(&c), now),
            "made for another chain"
        );
        c.meta.compromised_at = Some(now - Duration::minutes(1));
        assert!(
            !s.servable("b", std::slice::from_ref(&c), now),
            "revoked after it was issued"
        );
        c.meta.compromised_at = Some(now - Duration::hours(2));
        assert!(
            s.servable("b", std::slice::from_ref(&c), now),
            "issued after the revoke"
        );
    }

    #[test]
    fn durations_stay_within_what_sts_takes_and_chained_roles_get_an_hour() {
        let link = |kind: Kind, duration: Option<&str>| {
            let mut meta = crate::credential::CredentialMeta::bare("l", kind);
            if let Some(d) = duration {
                meta.fields.insert("duration".into(), d.into());
            }
            Credential {
                id: crate::credential::CredentialId([2; 16]),
                version: 1,
                created_at: Utc::now(),
                updated_at: Utc::now(),
                meta,
            }
        };
        let secs = |kind, d, chained| duration_of(&link(kind, d), chained).map(|d| d.as_secs());
        assert_eq!(
            secs(Kind::AwsAccessKey, None, false).expect("default"),
            3600
        );
        assert_eq!(
            secs(Kind::AwsAccessKey, Some("36h"), false).expect("key"),
            129_600
        );
        assert_eq!(
            secs(Kind::AwsRole, Some("12h"), false).expect("role"),
            43_200
        );
        assert_eq!(
            secs(Kind::AwsRole, Some("12h"), true).expect("chained"),
            3600
        );
        for (kind, bad) in [
            (Kind::AwsRole, "13h"),
            (Kind::AwsRole, "10m"),
            (Kind::AwsAccessKey, "37h"),
        ] {
            let e = secs(kind, Some(bad), false).expect_err(bad).to_string();
            assert!(e.contains("field 'duration' of 'l'"), "{e}");
        }
    }

    #[test]
    fn a_kept_session_is_listed_shown_on_its_page_and_forgotten_without_its_secrets() {
        let now = crate::testkit::t0();
        let (_f, mut vault) = crate::testkit::vault(Some("recovery pass"), now);
        let mut key = crate::credential::Draft::new("aws/me", Kind::AwsAccessKey);
        key.fields
            .insert("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into());
        key.values
            .insert("secret_access_key".into(), "canary-long-lived".into());
        let key = vault.add(key, now).expect("key");
        let mut role = crate::credential::Draft::new("aws/ops", Kind::AwsRole);
        role.fields.insert(
            "role_arn".into(),
            "arn:aws:iam::123456789012:role/ops".into(),
        );
        role.fields.insert("source".into(), "aws/me".into());
        let role = vault.add(role, now).expect("role");
        let mut lost = crate::credential::Draft::new("aws/lost", Kind::AwsRole);
        lost.fields.insert(
            "role_arn".into(),
            "arn:aws:iam::123456789012:role/lost".into(),
        );
        lost.fields.insert("source".into(), "aws/gone".into());
        vault.add(lost, now).expect("lost");

        let mut s = session(now + Duration::hours(1));
        s.credential = "aws/ops".into();
        keep(&vault, &role, &s, now).expect("keep");
        let page = vault.overview("aws/ops", now).expect("overview");
        assert_eq!(
            page.session.as_ref().map(|i| i.session_key_id.as_str()),
            Some("ASIAEXAMPLE")
        );
        assert_eq!(
            page.chain,
            Some(Ok(vec!["aws/ops".to_owned(), "aws/me".to_owned()]))
        );
        let page = vault.overview("aws/lost", now).expect("overview");
        let problem = page.chain.expect("a role").expect_err("broken");
        assert!(
            problem.contains("its source 'aws/gone' does not exist"),
            "{problem}"
        );
        let page = vault.overview("aws/me", now).expect("overview");
        assert!(page.session.is_none() && page.chain.is_none());

        assert_eq!(list(&vault).expect("list").len(), 1);
        assert_eq!(forget_all(&vault, now).expect("forget"), 1);
        assert!(list(&vault).expect("list").is_empty());
        assert_eq!(forget_all(&vault, now).expect("again"), 0);
        assert!(kept(&vault, &key).expect("kept").is_none());
    }

    #[test]
    fn only_uses_that_hand_credentials_to_a_tool_get_a_session() {
        for ok in [Action::CredentialProcess, Action::Exec, Action::EnvExport] {
            check_use(ok).expect("allowed");
        }
        assert!(check_use(Action::Export).is_err());
    }

    #[test]
    fn debug_and_audit_details_name_no_secret() {
        let s = session(Utc::now());
        let shown = format!("{s:?} {} {:?}", s.described("kept"), s.info());
        assert!(shown.contains("ASIAEXAMPLE") && shown.contains("role/ops"));
        assert!(!shown.contains("canary-session"), "{shown}");
    }
}
