//! Leased dynamic secrets (`vault-lease` credentials): values a Vault or
//! OpenBao secrets engine makes on request (e.g. `database/creds/readonly`
//! makes a database role), valid for the lease's TTL.
//!
//! `coffer exec` asks for a lease through the named remote's login, gives
//! the command its values, renews the lease at half its TTL while the
//! command runs and revokes it when the command ends. Each lease is
//! recorded (sealed in the settings table) from issue to revoke, so one
//! left behind by a Coffer that was killed is listed by `coffer status`
//! and revoked by it on request, or by `revoke-all`; otherwise it ends at
//! its TTL.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::audit::{Action, Event};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::secret::SecretValue;
use crate::sync::kv::Kv;
use crate::sync::remote::Spec;
use crate::vault::Vault;

const SETTING_PREFIX: &str = "vault-lease/";

/// A lease as recorded, without its values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    pub credential: String,
    pub remote: String,
    pub path: String,
    /// Vault's name for the lease (the path and a random part); it revokes
    /// the lease only with a token allowed `sys/leases/revoke`.
    pub lease_id: String,
    pub issued_at: DateTime<Utc>,
    /// When it ends unless renewed (as of its issue).
    pub expires_at: DateTime<Utc>,
    pub renewable: bool,
    /// The Coffer process holding it, and the boot it runs in.
    pub pid: u32,
    pub boot: String,
}

impl LeaseInfo {
    /// Whether the Coffer that holds it still runs (it renews and revokes
    /// it); a lease whose holder is gone was left behind.
    pub fn held(&self) -> bool {
        if self.boot != boot_id() {
            return false;
        }
        std::fs::read_to_string(format!("/proc/{}/comm", self.pid))
            .is_ok_and(|comm| comm.trim_end().starts_with("coffer"))
    }
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|b| b.trim().to_owned())
        .unwrap_or_default()
}

fn setting_key(lease_id: &str) -> String {
    format!(
        "{SETTING_PREFIX}{}",
        hex::encode(&crate::crypto::digest(&[lease_id.as_bytes()])[..16])
    )
}

/// A lease held by this process: what renews and revokes it (its own
/// network runtime and the remote's logged-in client, kept for the life
/// of the command).
pub struct Lease {
    rt: tokio::runtime::Runtime,
    kv: Kv,
    pub info: LeaseInfo,
    ttl: Duration,
    increment: u64,
    renewals: u32,
}

/// A lease just issued and its values.
pub struct Issued {
    pub lease: Lease,
    pub values: BTreeMap<String, SecretValue>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failure {
            what: format!("cannot start the network runtime: {e}"),
        })
}

fn field<'a>(credential: &'a Credential, name: &str) -> Result<&'a str> {
    credential
        .meta
        .fields
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                format!("credential '{}'", credential.meta.name),
                format!("it has no {name}"),
            )
        })
}

/// The remote's logged-in client, on a runtime of its own.
fn connect(
    vault: &Vault,
    remote_name: &str,
    now: DateTime<Utc>,
) -> Result<(tokio::runtime::Runtime, Kv)> {
    let remote = vault.remote(remote_name)?;
    let Spec::Vault(spec) = &remote.spec else {
        return Err(Error::invalid(
            "remote",
            format!("'{remote_name}' is not a Vault/OpenBao remote; leases come from Vault"),
        ));
    };
    let rt = runtime()?;
    let kv = rt.block_on(Kv::connect(&remote, spec, vault, now))?;
    Ok((rt, kv))
}

fn refused(kv: &Kv, what: &str, status: reqwest::StatusCode, v: &Value) -> Error {
    let detail = crate::sync::kv::errors_of(v);
    let text = format!(
        "Vault at {} refused {what} (HTTP {status}: {detail})",
        kv.addr()
    );
    if status == reqwest::StatusCode::FORBIDDEN {
        Error::Denied {
            what: format!("{text}: the remote's login lacks a policy for it"),
        }
    } else {
        Error::Failure { what: text }
    }
}

/// Asks for a lease of credential `name` and records it (with `details`,
/// e.g. the program, in its audit entry).
pub fn issue(vault: &Vault, name: &str, details: Value, now: DateTime<Utc>) -> Result<Issued> {
    let credential = vault.get(name)?;
    if credential.meta.kind != Kind::VaultLease {
        return Err(Error::invalid(
            format!("credential '{name}'"),
            format!("it is a {}, not a vault-lease", credential.meta.kind),
        ));
    }
    let remote = field(&credential, "remote")?.to_owned();
    let path = field(&credential, "path")?.trim_matches('/').to_owned();
    let (rt, kv) = connect(vault, &remote, now)?;
    let (status, v) = rt.block_on(kv.request(Method::GET, &path, None))?;
    if !status.is_success() {
        return Err(refused(&kv, &format!("a lease at {path}"), status, &v));
    }
    let lease_id = v
        .get("lease_id")
        .and_then(Value::as_str)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| Error::invalid(
            format!("credential '{name}'"),
            format!("{path} answered without a lease: it is not a dynamic secret (a KV secret is synced, not leased)"),
        ))?
        .to_owned();
    let ttl = v.get("lease_duration").and_then(Value::as_u64).unwrap_or(0);
    let renewable = v.get("renewable").and_then(Value::as_bool).unwrap_or(false);
    let mut values = BTreeMap::new();
    if let Some(Value::Object(data)) = v.get("data") {
        for (k, value) in data {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            values.insert(k.clone(), SecretValue::from(text));
        }
    }
    let info = LeaseInfo {
        credential: name.to_owned(),
        remote,
        path,
        lease_id,
        issued_at: now,
        expires_at: now + chrono::Duration::seconds(ttl as i64),
        renewable,
        pid: std::process::id(),
        boot: boot_id(),
    };
    let mut event_details = json!({
        "lease": "issued",
        "remote": info.remote,
        "path": info.path,
        "ttl_secs": ttl,
        "renewable": renewable,
    });
    if let (Value::Object(into), Value::Object(more)) = (&mut event_details, details) {
        into.extend(more);
    }
    let event = Event::new(Action::Lease)
        .target(credential.id, name)
        .details(event_details);
    let recorded = vault.write_setting_now(&setting_key(&info.lease_id), &info, event, now);
    let lease = Lease {
        rt,
        kv,
        info,
        ttl: Duration::from_secs(ttl),
        increment: ttl,
        renewals: 0,
    };
    if let Err(e) = recorded {
        // Not recorded: not handed out either.
        let _ = lease.revoke();
        return Err(e);
    }
    Ok(Issued { lease, values })
}

/// What the renewing thread of [`Lease::keep_renewed`] has to say, for
/// the command holding the lease to tell its person.
pub enum Renewal {
    /// Vault capped it at its max TTL: no more renewals, it ends in this.
    AtMaxTtl(Duration),
    /// A renewal failed; the next try is after `again`.
    Failed { error: Error, again: Duration },
}

/// A lease renewed on a thread of its own until [`Renewing::stop`].
pub struct Renewing {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Lease>,
}

impl Renewing {
    /// Stops renewing; the lease back (for its revoke), unless the thread
    /// died.
    pub fn stop(self) -> Option<Lease> {
        let _ = self.stop.send(());
        self.thread.join().ok()
    }
}

impl Lease {
    /// Renews it at half its TTL on a thread of its own, until stopped or
    /// Vault says it reached its max TTL; a failed renewal is tried again
    /// sooner (2, 4, 8 … up to 32 s, within what is left). `tell` hears of
    /// both.
    pub fn keep_renewed(mut self, tell: impl Fn(&str, Renewal) + Send + 'static) -> Renewing {
        use std::sync::mpsc::RecvTimeoutError;
        use std::time::Instant;
        let (stop, told) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let name = self.info.credential.clone();
            let first = self.ttl();
            let mut ends = Instant::now() + first;
            let mut wait = Some(first / 2);
            let mut failures = 0u32;
            loop {
                let waited = match wait {
                    Some(w) => told.recv_timeout(w.max(Duration::from_millis(200))),
                    None => told.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                if !matches!(waited, Err(RecvTimeoutError::Timeout)) {
                    return self;
                }
                match self.renew() {
                    Ok(ttl) => {
                        failures = 0;
                        ends = Instant::now() + ttl;
                        wait = if ttl < first {
                            tell(&name, Renewal::AtMaxTtl(ttl));
                            None
                        } else {
                            Some(ttl / 2)
                        };
                    }
                    Err(error) => {
                        failures += 1;
                        let left = ends.saturating_duration_since(Instant::now());
                        let again = Duration::from_secs(1 << failures.min(5)).min(left / 2);
                        tell(&name, Renewal::Failed { error, again });
                        wait = if left.is_zero() { None } else { Some(again) };
                    }
                }
            }
        });
        Renewing { stop, thread }
    }

    /// The TTL it has now.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn renewals(&self) -> u32 {
        self.renewals
    }

    /// Renews it by its first TTL (Vault caps that at the max TTL); the
    /// TTL it has now.
    pub fn renew(&mut self) -> Result<Duration> {
        if !self.info.renewable {
            return Err(Error::invalid(
                "lease",
                "Vault made it not renewable: it ends at its TTL",
            ));
        }
        let body = json!({ "lease_id": self.info.lease_id, "increment": self.increment });
        let (status, v) = self.rt.block_on(self.kv.request(
            Method::PUT,
            "sys/leases/renew",
            Some(&body),
        ))?;
        if !status.is_success() {
            return Err(refused(&self.kv, "renewing the lease", status, &v));
        }
        self.ttl =
            Duration::from_secs(v.get("lease_duration").and_then(Value::as_u64).unwrap_or(0));
        self.renewals += 1;
        Ok(self.ttl)
    }

    /// Revokes it at Vault (whatever it made, e.g. a database role, goes).
    pub fn revoke(&self) -> Result<()> {
        revoke_at(&self.rt, &self.kv, &self.info.lease_id)
    }
}

fn revoke_at(rt: &tokio::runtime::Runtime, kv: &Kv, lease_id: &str) -> Result<()> {
    let body = json!({ "lease_id": lease_id });
    let (status, v) = rt.block_on(kv.request(Method::PUT, "sys/leases/revoke", Some(&body)))?;
    if !status.is_success() {
        return Err(refused(kv, "revoking the lease", status, &v));
    }
    Ok(())
}

/// Forgets a lease that ended (`how`: "revoked", "expired", …), with its
/// audit entry.
pub fn ended(
    vault: &Vault,
    info: &LeaseInfo,
    how: &str,
    renewals: u32,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut event = Event::new(Action::Lease).details(json!({
        "lease": how,
        "remote": info.remote,
        "path": info.path,
        "renewals": renewals,
        "held_secs": (now - info.issued_at).num_seconds(),
    }));
    if let Ok(c) = vault.get(&info.credential) {
        event = event.target(c.id, &info.credential);
    }
    vault.clear_settings(&[setting_key(&info.lease_id)], event, now)
}

/// Every recorded lease, soonest to end first.
pub fn list(vault: &Vault) -> Result<Vec<LeaseInfo>> {
    let mut out = Vec::new();
    for key in vault.setting_keys(SETTING_PREFIX)? {
        if let Some(info) = vault.read_setting_now::<LeaseInfo>(&key)? {
            out.push(info);
        }
    }
    out.sort_by(|a, b| {
        a.expires_at
            .cmp(&b.expires_at)
            .then(a.credential.cmp(&b.credential))
    });
    Ok(out)
}

/// Revokes the recorded leases that `pick` chooses (left behind ones for
/// `status`, a credential's for `revoke-all`), each through its remote,
/// and forgets them (`how` in the audit entry); one past its TTL that
/// could not be renewed is forgotten as expired.
pub fn revoke_recorded(
    vault: &Vault,
    pick: impl Fn(&LeaseInfo) -> bool,
    how: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(LeaseInfo, Result<()>)>> {
    let mut out = Vec::new();
    let mut clients: BTreeMap<String, Result<(tokio::runtime::Runtime, Kv)>> = BTreeMap::new();
    for info in list(vault)?.into_iter().filter(|i| pick(i)) {
        if info.expires_at <= now && !info.renewable {
            ended(vault, &info, "expired", 0, now)?;
            out.push((info, Ok(())));
            continue;
        }
        let client = clients
            .entry(info.remote.clone())
            .or_insert_with(|| connect(vault, &info.remote, now));
        let result = match client {
            Ok((rt, kv)) => revoke_at(rt, kv, &info.lease_id),
            Err(e) => Err(Error::Failure {
                what: format!("remote '{}': {e}", info.remote),
            }),
        };
        if result.is_ok() {
            ended(vault, &info, how, 0, now)?;
        }
        out.push((info, result));
    }
    Ok(out)
}

/// The variables a lease's values go to: the credential's `env` field
/// (`username=PGUSER password=PGPASSWORD`, spaces or commas between), else
/// each value's name in upper case.
pub fn variables(
    credential: &Credential,
    values: &BTreeMap<String, SecretValue>,
) -> Result<Vec<(String, String)>> {
    let what = format!("credential '{}'", credential.meta.name);
    let mut out = Vec::new();
    match credential
        .meta
        .fields
        .get("env")
        .filter(|e| !e.trim().is_empty())
    {
        Some(spec) => {
            for pair in spec
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|p| !p.is_empty())
            {
                let (key, var) = pair.split_once('=').ok_or_else(|| {
                    Error::invalid(&what, format!("env entry '{pair}' is not VALUE=VARIABLE"))
                })?;
                if !values.contains_key(key) {
                    let known: Vec<&str> = values.keys().map(String::as_str).collect();
                    return Err(Error::invalid(
                        &what,
                        format!(
                            "the lease has no value '{key}' (it has {})",
                            known.join(", ")
                        ),
                    ));
                }
                out.push((var.to_owned(), key.to_owned()));
            }
        }
        None => {
            for key in values.keys() {
                out.push((crate::envmap::var_name(key), key.clone()));
            }
        }
    }
    for (var, _) in &out {
        let valid = var
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(Error::invalid(
                &what,
                format!("'{var}' is not a variable name"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::CredentialMeta;

    fn lease_credential(env: Option<&str>) -> Credential {
        let mut meta = CredentialMeta::bare("db/lease", Kind::VaultLease);
        meta.fields.insert("remote".into(), "bao".into());
        meta.fields
            .insert("path".into(), "database/creds/ro".into());
        if let Some(e) = env {
            meta.fields.insert("env".into(), e.into());
        }
        Credential {
            id: crate::credential::CredentialId([7; 16]),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            meta,
        }
    }

    #[test]
    fn values_go_to_the_variables_named_or_their_own_names() {
        let values = BTreeMap::from([
            ("username".to_owned(), SecretValue::from("v-1")),
            ("password".to_owned(), SecretValue::from("p")),
        ]);
        let plain = variables(&lease_credential(None), &values).expect("ok");
        assert_eq!(
            plain,
            vec![
                ("PASSWORD".into(), "password".into()),
                ("USERNAME".into(), "username".into())
            ]
        );
        let mapped = variables(
            &lease_credential(Some("username=PGUSER, password=PGPASSWORD")),
            &values,
        )
        .expect("ok");
        assert_eq!(
            mapped,
            vec![
                ("PGUSER".into(), "username".into()),
                ("PGPASSWORD".into(), "password".into())
            ]
        );
        let missing = variables(&lease_credential(Some("user=PGUSER")), &values);
        assert!(missing.is_err_and(|e| e.to_string().contains("no value 'user'")));
        let bad = variables(&lease_credential(Some("username=1X")), &values);
        assert!(bad.is_err_and(|e| e.to_string().contains("not a variable name")));
    }
}
