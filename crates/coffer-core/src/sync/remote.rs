//! Remotes: named connections to a Vault/OpenBao KV v2 mount or to AWS
//! Secrets Manager, kept in the encrypted `remotes` setting. A remote never
//! holds a secret itself: its token, AppRole or AWS keys are a credential in
//! the vault, named by `auth_credential`.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{Action, Event};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::vault::Vault;

const REMOTES: &str = "remotes";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Remote {
    pub name: String,
    /// A random id: links survive a remote being renamed or re-added.
    pub id: String,
    /// Prepended to a credential's name to make its remote path.
    #[serde(default)]
    pub prefix: String,
    pub spec: Spec,
    pub created_at: DateTime<Utc>,
    /// What the remote holds; `None` only for a remote added before scopes
    /// existed, which keeps its old behaviour (every credential) until a
    /// sync or a change of the remotes writes that down (see [`Remote::scope`]).
    #[serde(default)]
    pub scope: Option<Scope>,
}

/// What a remote holds: the only credentials a sync sends to it or takes
/// from it. A credential is held when its name starts with one of `names`
/// or it has one of `tags`; an empty scope holds nothing, so adding a team
/// remote and pushing cannot upload personal keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Name prefixes ("" holds every name).
    #[serde(default)]
    pub names: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Scope {
    /// Every credential.
    pub fn everything() -> Scope {
        Scope {
            names: vec![String::new()],
            tags: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.tags.is_empty()
    }

    /// Whether a credential called `name` with `tags` is held.
    pub fn holds<'a>(&self, name: &str, mut tags: impl Iterator<Item = &'a str>) -> bool {
        self.names.iter().any(|p| name.starts_with(p.as_str()))
            || (!self.tags.is_empty() && tags.any(|t| self.tags.iter().any(|s| s == t)))
    }

    /// "every credential", "names under team/ or tagged shared", "nothing".
    pub fn describe(&self) -> String {
        if self.names.iter().any(String::is_empty) {
            return "every credential".into();
        }
        let mut parts = Vec::new();
        if !self.names.is_empty() {
            parts.push(format!("names under {}", self.names.join(", ")));
        }
        if !self.tags.is_empty() {
            parts.push(format!("tagged {}", self.tags.join(", ")));
        }
        if parts.is_empty() {
            "nothing (give it a scope)".into()
        } else {
            parts.join(" or ")
        }
    }

    /// Checks the prefixes and tags as names and tags are checked.
    pub fn check(&self) -> Result<()> {
        for p in &self.names {
            if p.chars().any(char::is_control) || p.len() > 256 {
                return Err(Error::invalid(
                    format!("scope prefix '{}'", crate::credential::printable(p)),
                    "use printable characters, at most 256",
                ));
            }
        }
        for t in &self.tags {
            crate::credential::check_tag(t)?;
        }
        Ok(())
    }
}

/// What [`Vault::edited_remote`] makes of a remote.
#[derive(Clone, Debug, PartialEq)]
pub struct Edited {
    pub remote: Remote,
    /// It points somewhere else than before: what it held there is forgotten.
    pub moved: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Spec {
    Vault(VaultSpec),
    Aws(AwsSpec),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaultSpec {
    pub addr: String,
    pub mount: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    pub auth: VaultAuth,
    #[serde(default)]
    pub insecure_http: bool,
}

/// How to log in to Vault. A token credential of `None` means `VAULT_TOKEN`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum VaultAuth {
    Token { credential: Option<String> },
    Approle { credential: String },
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AwsSpec {
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    /// An `aws-access-key` credential; else the profile or the SDK's chain.
    #[serde(default)]
    pub credential: Option<String>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub insecure_http: bool,
}

impl Spec {
    /// Where the remote is, in words, for a person deciding whether to send
    /// credentials there: "the Vault server at https://… (KV mount secret)".
    /// Every part is printable (a name read from a vault file cannot draw
    /// on the screen).
    pub fn describe(&self, prefix: &str) -> String {
        let p = crate::credential::printable;
        let under = if prefix.is_empty() {
            String::new()
        } else {
            format!(", under {}", p(prefix))
        };
        match self {
            Spec::Vault(v) => {
                let namespace = v
                    .namespace
                    .as_deref()
                    .map(|n| format!(", namespace {}", p(n)))
                    .unwrap_or_default();
                format!(
                    "the Vault server at {} (KV mount {}{namespace}{under})",
                    without_userinfo(&v.addr),
                    p(&v.mount)
                )
            }
            Spec::Aws(a) => {
                let mut parts = Vec::new();
                if let Some(region) = &a.region {
                    parts.push(format!("region {}", p(region)));
                }
                if let Some(profile) = &a.profile {
                    parts.push(format!("profile {}", p(profile)));
                }
                let endpoint = match &a.endpoint_url {
                    Some(url) => format!(" at {}", without_userinfo(url)),
                    None => String::new(),
                };
                let detail = if parts.is_empty() {
                    "the SDK's default account".to_owned()
                } else {
                    parts.join(", ")
                };
                format!("AWS Secrets Manager{endpoint} ({detail}{under})")
            }
        }
    }
}

impl Remote {
    pub fn type_name(&self) -> &'static str {
        match self.spec {
            Spec::Vault(_) => "vault",
            Spec::Aws(_) => "aws",
        }
    }

    /// The vault credential this remote logs in with, if any.
    /// Where the remote's secrets are, whoever logs in: its server, mount or
    /// region, and prefix (not the credential it logs in with, nor its scope).
    fn whereabouts(&self) -> (String, String) {
        let place = match &self.spec {
            Spec::Vault(v) => format!("vault {} {} {:?}", v.addr, v.mount, v.namespace),
            Spec::Aws(a) => format!("aws {:?} {:?} {:?}", a.region, a.endpoint_url, a.profile),
        };
        (place, self.prefix.clone())
    }

    pub fn auth_credential(&self) -> Option<&str> {
        match &self.spec {
            Spec::Vault(v) => match &v.auth {
                VaultAuth::Token { credential } => credential.as_deref(),
                VaultAuth::Approle { credential } => Some(credential),
            },
            Spec::Aws(a) => a.credential.as_deref(),
        }
    }

    /// What the remote holds (every credential for one added before scopes).
    pub fn scope(&self) -> Scope {
        self.scope.clone().unwrap_or_else(Scope::everything)
    }

    /// Where credential `name` lives on the remote, for messages.
    pub fn location(&self, name: &str) -> String {
        match &self.spec {
            Spec::Vault(v) => format!("{}/{}{name}", v.mount, self.prefix),
            Spec::Aws(_) => format!("{}{name}", self.prefix),
        }
    }
}

fn exists(name: &str) -> Error {
    Error::invalid(
        format!("remote '{name}'"),
        "a remote of that name exists; remove it first (`coffer remote rm`)",
    )
}

/// Gives every remote added before scopes existed the scope it behaved
/// with (every credential); returns their names.
fn explicit_scopes(all: &mut [Remote]) -> Vec<String> {
    all.iter_mut()
        .filter(|r| r.scope.is_none())
        .map(|r| {
            r.scope = Some(Scope::everything());
            r.name.clone()
        })
        .collect()
}

/// `url` as an error may show it: a user name and password in it (which
/// are refused) are left out, parsed or not.
fn without_userinfo(url: &str) -> String {
    let shown = match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(start), Some(at)) if at > start => format!("{}://…{}", &url[..start], &url[at..]),
            _ => url.to_owned(),
        },
    };
    crate::credential::printable(&shown)
}

/// Whether `url` names this machine: only 127.0.0.0/8, `::1` and the exact
/// host name `localhost` count, read by a real URL parser (so
/// `http://localhost:1@example.com/`, `http://127.0.0.1.example.com/` and
/// `http://localhost.example.com/` are remote hosts, as they are).
pub fn is_loopback(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    match parsed.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// Checks an endpoint URL: http(s) with a host and no user name or password
/// in it, and plain http only to this machine unless `insecure_http`.
pub fn check_url(what: &str, url: &str, insecure_http: bool) -> Result<()> {
    let bad = |why: &str| {
        Error::invalid(
            format!("{what} '{}'", without_userinfo(url)),
            why.to_owned(),
        )
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if parsed.host().is_none() {
        return Err(bad("has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "holds a user name or password; give credentials as a credential, never in the address",
        ));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if insecure_http || is_loopback(url) => Ok(()),
        "http" => Err(bad(
            "plain http to a host other than this machine would send secrets unencrypted; use \
             https, or allow plain http for this remote explicitly (insecure_http)",
        )),
        _ => Err(bad("must start with https:// (or http:// to this machine)")),
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Error::invalid(
            format!("remote name '{}'", crate::credential::printable(name)),
            "use 1 to 64 letters, digits, '-', '_' or '.'",
        ));
    }
    Ok(())
}

fn check_prefix(remote: &Remote) -> Result<()> {
    let p = &remote.prefix;
    let what = || format!("prefix '{}'", crate::credential::printable(p));
    if p.starts_with('/') || p.contains("//") || p.chars().any(char::is_control) {
        return Err(Error::invalid(
            what(),
            "must not start with '/', contain '//' or control characters",
        ));
    }
    match &remote.spec {
        Spec::Vault(v) => {
            if !p.is_empty() && !p.ends_with('/') {
                return Err(Error::invalid(
                    what(),
                    "a KV v2 prefix is a folder: end it with '/'",
                ));
            }
            if v.mount.is_empty() || v.mount.starts_with('/') || v.mount.ends_with('/') {
                return Err(Error::invalid(
                    format!("mount '{}'", crate::credential::printable(&v.mount)),
                    "give the mount path without surrounding '/' (e.g. secret)",
                ));
            }
        }
        Spec::Aws(_) => {
            if !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
            {
                return Err(Error::invalid(
                    what(),
                    "Secrets Manager names allow only letters, digits and / _ + = . @ -",
                ));
            }
        }
    }
    Ok(())
}

impl Vault {
    /// Every configured remote, sorted by name.
    pub fn remotes(&self) -> Result<Vec<Remote>> {
        self.flush()?;
        let mut all: Vec<Remote> = self.read_setting(self.conn(), REMOTES)?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// The remote called `name`.
    pub fn remote(&self, name: &str) -> Result<Remote> {
        self.remotes()?
            .into_iter()
            .find(|r| r.name == name)
            .ok_or_else(|| Error::RemoteNotFound {
                name: name.to_owned(),
            })
    }

    /// The remote [`Vault::add_remote`] would add, checked (its name, scope,
    /// addresses and auth credential) but not stored: what a confirmation
    /// describes before anything is written.
    pub fn new_remote(
        &self,
        name: &str,
        prefix: &str,
        scope: Scope,
        spec: Spec,
        now: DateTime<Utc>,
    ) -> Result<Remote> {
        self.check_remote(name, prefix, scope, spec, now, None)
    }

    /// A remote as [`Vault::new_remote`] checks it; the name may be the one
    /// of the remote it replaces (`replacing`).
    fn check_remote(
        &self,
        name: &str,
        prefix: &str,
        scope: Scope,
        spec: Spec,
        now: DateTime<Utc>,
        replacing: Option<&str>,
    ) -> Result<Remote> {
        check_name(name)?;
        scope.check()?;
        // A Vault remote given an AppRole credential where a token was
        // expected logs in with AppRole: the credential's kind says how.
        let spec = match spec {
            Spec::Vault(mut vs) => {
                if let VaultAuth::Token {
                    credential: Some(c),
                } = &vs.auth
                {
                    if self.get(c)?.meta.kind == Kind::VaultApprole {
                        vs.auth = VaultAuth::Approle {
                            credential: c.clone(),
                        };
                    }
                }
                Spec::Vault(vs)
            }
            aws => aws,
        };
        let mut id = [0u8; 8];
        crate::crypto::random_bytes(&mut id)?;
        let remote = Remote {
            name: name.to_owned(),
            id: hex::encode(id),
            prefix: prefix.to_owned(),
            spec,
            created_at: now,
            scope: Some(scope),
        };
        check_prefix(&remote)?;
        match &remote.spec {
            Spec::Vault(v) => check_url("Vault address", &v.addr, v.insecure_http)?,
            Spec::Aws(a) => {
                if let Some(url) = &a.endpoint_url {
                    check_url("endpoint URL", url, a.insecure_http)?;
                }
                if a.profile.is_some() && a.credential.is_some() {
                    return Err(Error::invalid(
                        "AWS remote",
                        "give --profile or --auth-credential, not both",
                    ));
                }
            }
        }
        if let Some(cred) = remote.auth_credential() {
            let c = self.get(cred)?;
            let wanted: &[Kind] = match &remote.spec {
                Spec::Vault(VaultSpec {
                    auth: VaultAuth::Token { .. },
                    ..
                }) => &[Kind::VaultToken],
                Spec::Vault(_) => &[Kind::VaultApprole],
                Spec::Aws(_) => &[Kind::AwsAccessKey],
            };
            if !wanted.contains(&c.meta.kind) {
                return Err(Error::invalid(
                    format!("auth credential '{cred}'"),
                    format!(
                        "is a {} credential; this remote needs a {} one",
                        c.meta.kind.as_str(),
                        wanted[0].as_str()
                    ),
                ));
            }
        }
        if replacing != Some(name) && self.remotes()?.iter().any(|r| r.name == name) {
            return Err(exists(name));
        }
        Ok(remote)
    }

    /// What remote `name` would become with these settings, checked as a
    /// new one is (it may take a free name), not stored: what a
    /// confirmation describes. It keeps its id and creation time, and the
    /// settings the form does not show (a Vault CA file, an AWS KMS key).
    pub fn edited_remote(
        &self,
        name: &str,
        new_name: &str,
        prefix: &str,
        scope: Scope,
        spec: Spec,
        now: DateTime<Utc>,
    ) -> Result<Edited> {
        let old = self.remote(name)?;
        let mut remote = self.check_remote(new_name, prefix, scope, spec, now, Some(name))?;
        remote.id = old.id.clone();
        remote.created_at = old.created_at;
        match (&old.spec, &mut remote.spec) {
            (Spec::Vault(was), Spec::Vault(now)) if now.ca_cert.is_none() => {
                now.ca_cert = was.ca_cert.clone();
            }
            (Spec::Aws(was), Spec::Aws(now)) if now.kms_key_id.is_none() => {
                now.kms_key_id = was.kms_key_id.clone();
            }
            _ => {}
        }
        let moved = old.whereabouts() != remote.whereabouts();
        Ok(Edited { remote, moved })
    }

    /// Changes remote `name` as [`Vault::edited_remote`] describes; audited.
    /// A remote that now points elsewhere (another server, mount, region or
    /// prefix) forgets what the old place held, so its next sync compares
    /// afresh instead of taking the new place's absences for deletions.
    pub fn edit_remote(
        &mut self,
        name: &str,
        new_name: &str,
        prefix: &str,
        scope: Scope,
        spec: Spec,
        now: DateTime<Utc>,
    ) -> Result<Edited> {
        let edited = self.edited_remote(name, new_name, prefix, scope, spec, now)?;
        let tx = self.begin()?;
        let mut all: Vec<Remote> = self.read_setting(&tx, REMOTES)?;
        if new_name != name && all.iter().any(|r| r.name == new_name) {
            return Err(exists(new_name));
        }
        let slot = all
            .iter_mut()
            .find(|r| r.name == name && r.id == edited.remote.id)
            .ok_or_else(|| Error::RemoteNotFound {
                name: name.to_owned(),
            })?;
        let before = slot.clone();
        *slot = edited.remote.clone();
        let upgraded = explicit_scopes(&mut all);
        self.write_setting(&tx, REMOTES, &all)?;
        if edited.moved {
            self.db(tx.execute(
                "DELETE FROM sync_links WHERE remote_id = ?1",
                [&edited.remote.id],
            ))?;
        }
        let event = Event::new(Action::SettingsChange).details(serde_json::json!({
            "setting": "remote changed",
            "remote": new_name,
            "was": name,
            "from": before.spec.describe(&before.prefix),
            "to": edited.remote.spec.describe(&edited.remote.prefix),
            "scope_from": before.scope().describe(),
            "scope_to": edited.remote.scope().describe(),
            "moved": edited.moved,
            "scopes_made_explicit": upgraded,
        }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(edited)
    }

    /// Adds a remote that holds `scope`, after checking it as [`Vault::new_remote`]
    /// does; audited.
    pub fn add_remote(
        &mut self,
        name: &str,
        prefix: &str,
        scope: Scope,
        spec: Spec,
        now: DateTime<Utc>,
    ) -> Result<Remote> {
        let remote = self.new_remote(name, prefix, scope, spec, now)?;
        let tx = self.begin()?;
        let mut all: Vec<Remote> = self.read_setting(&tx, REMOTES)?;
        if all.iter().any(|r| r.name == name) {
            return Err(exists(name));
        }
        all.push(remote.clone());
        let upgraded = explicit_scopes(&mut all);
        self.write_setting(&tx, REMOTES, &all)?;
        let event = Event::new(Action::SettingsChange).details(serde_json::json!({
            "setting": "remote added",
            "remote": name,
            "type": remote.type_name(),
            "scope": remote.scope().describe(),
            "scopes_made_explicit": upgraded,
        }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(remote)
    }

    /// Sets what remote `name` holds; audited. Narrowing it leaves the
    /// remote's copies of the credentials now outside it alone.
    pub fn set_remote_scope(
        &mut self,
        name: &str,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> Result<Remote> {
        scope.check()?;
        let tx = self.begin()?;
        let mut all: Vec<Remote> = self.read_setting(&tx, REMOTES)?;
        let remote =
            all.iter_mut()
                .find(|r| r.name == name)
                .ok_or_else(|| Error::RemoteNotFound {
                    name: name.to_owned(),
                })?;
        let before = remote.scope().describe();
        remote.scope = Some(scope);
        let remote = remote.clone();
        explicit_scopes(&mut all);
        self.write_setting(&tx, REMOTES, &all)?;
        let event = Event::new(Action::SettingsChange).details(serde_json::json!({
            "setting": "remote scope",
            "remote": name,
            "from": before,
            "to": remote.scope().describe(),
        }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(remote)
    }

    /// Writes down the scope of remote `name` if it was added before scopes
    /// existed (every credential, as it behaved then); audited. A sync calls
    /// it first, so the scope it works under is on record.
    pub(crate) fn settle_scope(&self, name: &str, now: DateTime<Utc>) -> Result<Remote> {
        let tx = self.begin()?;
        let mut all: Vec<Remote> = self.read_setting(&tx, REMOTES)?;
        let upgraded = explicit_scopes(&mut all);
        let remote = all
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .ok_or_else(|| Error::RemoteNotFound {
                name: name.to_owned(),
            })?;
        if upgraded.is_empty() {
            return Ok(remote);
        }
        self.write_setting(&tx, REMOTES, &all)?;
        let event = Event::new(Action::SettingsChange).details(serde_json::json!({
            "setting": "remote scope",
            "scopes_made_explicit": upgraded,
            "to": Scope::everything().describe(),
        }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(remote)
    }

    /// Removes a remote and what Coffer knew of its contents; the remote
    /// itself and the local credentials are untouched. Audited.
    pub fn remove_remote(&mut self, name: &str, now: DateTime<Utc>) -> Result<Remote> {
        let tx = self.begin()?;
        let mut all: Vec<Remote> = self.read_setting(&tx, REMOTES)?;
        let at = all
            .iter()
            .position(|r| r.name == name)
            .ok_or_else(|| Error::RemoteNotFound {
                name: name.to_owned(),
            })?;
        let remote = all.remove(at);
        let upgraded = explicit_scopes(&mut all);
        self.write_setting(&tx, REMOTES, &all)?;
        self.db(tx.execute("DELETE FROM sync_links WHERE remote_id = ?1", [&remote.id]))?;
        let event = Event::new(Action::SettingsChange).details(serde_json::json!({
            "setting": "remote removed",
            "remote": name,
            "scopes_made_explicit": upgraded,
        }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain-http guard's attacks: addresses that look local to a
    /// string test but name another host.
    #[test]
    fn only_this_machine_passes_the_plain_http_guard() {
        for local in [
            "http://127.0.0.1:8200",
            "http://127.5.6.7/",
            "http://localhost:8200",
            "http://LOCALHOST/",
            "http://[::1]:8200/",
            "https://vault.example.com",
        ] {
            check_url("address", local, false).unwrap_or_else(|e| panic!("{local}: {e}"));
        }
        for remote in [
            "http://localhost:1@example.com/",
            "http://127.0.0.1@example.com/",
            "http://127.0.0.1.example.com/",
            "http://localhost.example.com/",
            "http://mylocalhost/",
            "http://[::ffff:8.8.8.8]/",
            "http://[::2]/",
            "http://10.0.0.1/",
        ] {
            let e = check_url("address", remote, false).expect_err(remote);
            assert!(matches!(e, Error::Invalid { .. }), "{remote}: {e}");
        }
        for userinfo in [
            "https://user:pw@vault.example.com",
            "http://user@127.0.0.1/",
        ] {
            let e = check_url("address", userinfo, true).expect_err(userinfo);
            assert!(e.to_string().contains("user name or password"), "{e}");
        }
        for junk in ["vault.example.com", "ftp://x/", "http://", "http://[::1"] {
            assert!(check_url("address", junk, true).is_err(), "{junk}");
        }
        check_url("address", "http://10.0.0.1/", true).expect("allowed explicitly");
    }

    /// A password in a refused address never reaches the error message.
    #[test]
    fn an_address_with_a_password_is_refused_without_showing_it() {
        for url in [
            "https://user:pw-canary@vault.example.com",
            "http://user:pw-canary@10.0.0.1/",
            "http://user:pw-canary@",
        ] {
            let e = check_url("address", url, false).expect_err(url);
            assert!(!e.to_string().contains("pw-canary"), "{e}");
        }
    }

    /// The words a confirmation shows say where credentials would go, and a
    /// hostile name (control characters that could redraw the line, a
    /// password in the address) cannot change what the person reads.
    #[test]
    fn a_remote_is_described_printably_and_without_a_password() {
        let vault = Spec::Vault(VaultSpec {
            addr: "https://user:pw-canary@vault.example.com:8200".into(),
            mount: "secret\u{1b}[2K".into(),
            namespace: Some("team".into()),
            ca_cert: None,
            auth: VaultAuth::Token { credential: None },
            insecure_http: false,
        });
        let said = vault.describe("shared/\n");
        assert!(
            said.starts_with("the Vault server at https://vault.example.com:8200"),
            "{said}"
        );
        assert!(!said.contains("pw-canary"), "{said}");
        assert!(!said.chars().any(char::is_control), "{said}");
        assert!(
            said.contains("namespace team") && said.contains("under shared/"),
            "{said}"
        );

        let aws = Spec::Aws(AwsSpec {
            region: Some("eu-west-1".into()),
            endpoint_url: Some("http://127.0.0.1:5000".into()),
            ..AwsSpec::default()
        });
        assert_eq!(
            aws.describe(""),
            "AWS Secrets Manager at http://127.0.0.1:5000/ (region eu-west-1)"
        );
        assert_eq!(
            Spec::Aws(AwsSpec::default()).describe("p/"),
            "AWS Secrets Manager (the SDK's default account, under p/)"
        );
    }
}
