//! HashiCorp Vault / OpenBao KV v2 over its HTTP API: a credential is the
//! secret `<mount>/data/<prefix><name>`, its labels the secret's custom
//! metadata. Writes use check-and-set on the version Coffer last saw.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::api::{backoff, request_timeout, Entry, Expect, Fault, Res, ATTEMPTS, CONNECT_TIMEOUT};
use super::payload::{coffer_labels, Payload, LABELS};
use super::remote::{Remote, VaultAuth, VaultSpec};
use super::Check;
use crate::bounds::MAX_RESPONSE;
use crate::error::{Error, Result};
use crate::secret::SecretValue;
use crate::vault::Vault;

enum Login {
    Token,
    Approle {
        mount: String,
        role_id: String,
        secret_id: SecretValue,
    },
}

struct Token {
    value: SecretValue,
    /// When an AppRole token should be replaced (80% of its TTL).
    renew_at: Option<Instant>,
    generation: u64,
}

pub(crate) struct Kv {
    http: reqwest::Client,
    addr: String,
    mount: String,
    prefix: String,
    namespace: Option<String>,
    login: Login,
    token: tokio::sync::Mutex<Token>,
}

fn vault_errors(v: &Value) -> String {
    v.get("errors")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "no detail".into())
}

/// The innermost error's message (e.g. rustls's certificate verdict), which
/// reqwest's own message ("error sending request") leaves out.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn labels_of(meta: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Object(m)) = meta else {
        return BTreeMap::new();
    };
    coffer_labels(
        m.iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))),
    )
}

/// The keys of a LIST answer: `(leaves, subfolders)`, prefixed with `folder`.
pub(crate) fn listed_keys(folder: &str, v: &Value) -> (Vec<String>, Vec<String>) {
    let mut leaves = Vec::new();
    let mut folders = Vec::new();
    for k in v
        .pointer("/data/keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if k.ends_with('/') {
            folders.push(format!("{folder}{k}"));
        } else {
            leaves.push(format!("{folder}{k}"));
        }
    }
    (leaves, folders)
}

/// The secret in a successful KV v2 read of `path`; `None` when it has no data.
pub(crate) fn read_entry(key: &str, path: &str, v: &Value) -> Res<Option<Entry>> {
    let Some(data) = v.pointer("/data/data").filter(|d| !d.is_null()) else {
        return Ok(None);
    };
    let fields = Payload::fields_from_json(data, &format!("remote secret {path}"))
        .map_err(|e| Fault::Invalid(e.to_string()))?;
    let labels = labels_of(v.pointer("/data/metadata/custom_metadata"));
    let version = v
        .pointer("/data/metadata/version")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(Some(Entry {
        key: key.to_owned(),
        version: version.to_string(),
        labels: labels.clone(),
        updated: parse_time(v.pointer("/data/metadata/created_time")),
        payload: Some(Payload { fields, labels }),
        fault: None,
    }))
}

/// One request to the Vault/OpenBao server at `addr` with `token`, outside
/// any remote (rotation of tokens and AppRole secret ids, emergency
/// revoke), through the same client, retries and bounds as sync. The
/// status and the JSON answer (`null` when empty), or what went wrong.
pub(crate) async fn call(
    addr: &str,
    namespace: Option<String>,
    method: Method,
    path: &str,
    body: Option<&Value>,
    token: Option<&SecretValue>,
) -> Result<(StatusCode, Value)> {
    let kv = Kv {
        http: http_client(None)?,
        addr: addr.trim_end_matches('/').to_owned(),
        mount: String::new(),
        prefix: String::new(),
        namespace,
        login: Login::Token,
        token: tokio::sync::Mutex::new(Token {
            value: SecretValue::from(""),
            renew_at: None,
            generation: 0,
        }),
    };
    let body = body.map(Value::to_string);
    kv.send(method.clone(), path, body.as_deref(), token, false)
        .await
        .map_err(|fault| Error::Failure {
            what: format!("Vault at {addr}: {method} {path}: {}", fault.message()),
        })
}

/// The errors a Vault answer lists, for a message.
pub(crate) fn errors_of(v: &Value) -> String {
    vault_errors(v)
}

/// Revokes `token` itself at the Vault/OpenBao server at `addr` (an
/// emergency revoke).
pub(crate) async fn revoke_self(
    addr: &str,
    namespace: Option<String>,
    token: SecretValue,
) -> Result<()> {
    match call(
        addr,
        namespace,
        Method::POST,
        "auth/token/revoke-self",
        None,
        Some(&token),
    )
    .await
    {
        Ok((status, _)) if status.is_success() => Ok(()),
        Ok((status, _)) => Err(Error::Failure {
            what: format!("Vault token revoke-self at {addr} failed: HTTP {status}"),
        }),
        Err(e) => Err(Error::Failure {
            what: format!("Vault token revoke-self at {addr} failed: {e}"),
        }),
    }
}

/// The deepest folder a scan descends into, and the most names it gathers.
pub(crate) const MAX_DEPTH: usize = 32;
pub(crate) const MAX_ENTRIES: usize = 200_000;

fn too_large(addr: &str, method: &Method, path: &str) -> Fault {
    Fault::Invalid(format!(
        "Vault at {addr} answered {method} {path}: {}",
        crate::bounds::too_large()
    ))
}

/// The HTTP client of every request to Vault: connect and request time
/// limits, no redirects (a redirect would carry the token, the AppRole
/// secret id or a secret's body to wherever it points), and the CA
/// certificate to trust besides the system's, if any.
fn http_client(ca_cert: Option<std::path::PathBuf>) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(request_timeout())
        .pool_max_idle_per_host(32);
    if let Some(path) = ca_cert.or_else(|| std::env::var_os("VAULT_CACERT").map(Into::into)) {
        let pem = std::fs::read(&path).map_err(|source| Error::Io {
            action: "read the CA certificate",
            path: path.clone(),
            source,
        })?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
            Error::invalid(
                format!("CA certificate {}", path.display()),
                format!("is not a PEM certificate: {e}"),
            )
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| Error::Failure {
        what: format!("cannot make an HTTP client: {e}"),
    })
}

impl Kv {
    pub async fn connect(
        remote: &Remote,
        spec: &VaultSpec,
        vault: &Vault,
        now: DateTime<Utc>,
    ) -> Result<Kv> {
        let http = http_client(spec.ca_cert.clone())?;
        let (login, token) = match &spec.auth {
            VaultAuth::Token { credential: None } => {
                let token = std::env::var("VAULT_TOKEN").map_err(|_| {
                    Error::invalid(
                        format!("remote '{}'", remote.name),
                        "logs in with VAULT_TOKEN, which is not set",
                    )
                })?;
                (Login::Token, SecretValue::new(token))
            }
            VaultAuth::Token {
                credential: Some(name),
            } => {
                let (_, secrets) = vault.reveal(name, Some(&["token"]), now)?;
                let token = secrets.0.get("token").cloned().ok_or_else(|| {
                    Error::invalid(format!("credential '{name}'"), "has no token field")
                })?;
                (Login::Token, token)
            }
            VaultAuth::Approle { credential } => {
                let (c, secrets) = vault.reveal(credential, None, now)?;
                let role_id = c.meta.fields.get("role_id").cloned().ok_or_else(|| {
                    Error::invalid(format!("credential '{credential}'"), "has no role_id")
                })?;
                let secret_id = secrets.0.get("secret_id").cloned().ok_or_else(|| {
                    Error::invalid(format!("credential '{credential}'"), "has no secret_id")
                })?;
                let mount = c
                    .meta
                    .fields
                    .get("mount")
                    .cloned()
                    .unwrap_or_else(|| "approle".into());
                (
                    Login::Approle {
                        mount,
                        role_id,
                        secret_id,
                    },
                    SecretValue::from(""),
                )
            }
        };
        let kv = Kv {
            http,
            addr: spec.addr.trim_end_matches('/').to_owned(),
            mount: spec.mount.clone(),
            prefix: remote.prefix.clone(),
            namespace: spec
                .namespace
                .clone()
                .or_else(|| std::env::var("VAULT_NAMESPACE").ok()),
            login,
            token: tokio::sync::Mutex::new(Token {
                value: token,
                renew_at: None,
                generation: 0,
            }),
        };
        if matches!(kv.login, Login::Approle { .. }) {
            kv.relogin(0).await.map_err(|f| Error::Failure {
                what: f.message().to_owned(),
            })?;
        }
        Ok(kv)
    }

    /// One HTTP exchange, retried on throttling, 5xx and dropped connections.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        token: Option<&SecretValue>,
        merge_patch: bool,
    ) -> Res<(StatusCode, Value)> {
        let url = format!("{}/v1/{path}", self.addr);
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header("X-Vault-Request", "true");
            if let Some(t) = token {
                req = req.header("X-Vault-Token", t.expose_secret());
            }
            if let Some(ns) = &self.namespace {
                req = req.header("X-Vault-Namespace", ns);
            }
            if let Some(b) = body {
                let ct = if merge_patch {
                    "application/merge-patch+json"
                } else {
                    "application/json"
                };
                req = req.header("Content-Type", ct).body(b.to_owned());
            }
            match req.send().await {
                Err(e) => {
                    let cause = root_cause(&e);
                    if cause.contains("certificate") {
                        // Not transient: retrying cannot make the certificate trusted.
                        return Err(Fault::Unreachable(format!(
                            "TLS with Vault at {} failed: {cause}; if the server's certificate comes from a private CA, give that CA with `coffer remote add vault --ca-cert FILE` or VAULT_CACERT",
                            self.addr
                        )));
                    }
                    last = if e.is_timeout() {
                        "timed out".to_owned()
                    } else if e.is_connect() {
                        format!("connection refused or failed: {cause}")
                    } else {
                        format!("the connection broke: {cause}")
                    };
                }
                Ok(mut resp) => {
                    let status = resp.status();
                    if status.is_redirection() {
                        let to = resp
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map(crate::credential::printable)
                            .unwrap_or_else(|| "nowhere given".to_owned());
                        return Err(Fault::Unreachable(format!(
                            "Vault at {} answered {method} {path} with a redirect (HTTP {status}) to {to}; \
                             Coffer follows no redirect, since it would carry the token and the request \
                             elsewhere: set the remote's address to the server that answers",
                            self.addr
                        )));
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS
                        || matches!(status.as_u16(), 500 | 502 | 503 | 504)
                    {
                        last = format!("HTTP {status}");
                        tracing::debug!(%status, attempt, "Vault asked to retry");
                        continue;
                    }
                    let content_type = resp
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_owned();
                    if resp
                        .content_length()
                        .is_some_and(|n| n > MAX_RESPONSE as u64)
                    {
                        return Err(too_large(&self.addr, &method, path));
                    }
                    // Read chunk by chunk, so a server that sends without end
                    // is stopped at the bound rather than filling memory.
                    let mut bytes = Vec::new();
                    let cut = loop {
                        match resp.chunk().await {
                            Ok(Some(chunk)) => {
                                if bytes.len() + chunk.len() > MAX_RESPONSE {
                                    return Err(too_large(&self.addr, &method, path));
                                }
                                bytes.extend_from_slice(&chunk);
                            }
                            Ok(None) => break false,
                            Err(_) => break true,
                        }
                    };
                    if cut {
                        last = "the response was cut off".to_owned();
                        continue;
                    }
                    let value = if bytes.is_empty() {
                        Value::Null
                    } else {
                        match serde_json::from_slice(&bytes) {
                            Ok(v) => v,
                            // A success whose body cannot be read must not pass for an
                            // empty answer (a listing with no keys, a secret with no
                            // data): that would read as secrets deleted remotely.
                            Err(_) if status.is_success() => {
                                last = format!(
                                    "HTTP {status} with a body that is not valid JSON (content type {content_type}, {} bytes)",
                                    bytes.len()
                                );
                                continue;
                            }
                            // An error status is reported by its status; the detail is lost.
                            Err(_) => Value::Null,
                        }
                    };
                    return Ok((status, value));
                }
            }
        }
        Err(Fault::Unreachable(format!(
            "Vault at {} did not answer {method} {path} after {ATTEMPTS} attempts ({last})",
            self.addr
        )))
    }

    /// Logs in again with AppRole unless another task already did.
    async fn relogin(&self, seen_generation: u64) -> Res<()> {
        let Login::Approle {
            mount,
            role_id,
            secret_id,
        } = &self.login
        else {
            return Ok(());
        };
        let mut token = self.token.lock().await;
        if token.generation != seen_generation {
            return Ok(());
        }
        let body = zeroize::Zeroizing::new(
            json!({ "role_id": role_id, "secret_id": secret_id.expose_secret() }).to_string(),
        );
        let path = format!("auth/{mount}/login");
        let (status, v) = self
            .send(Method::POST, &path, Some(&body), None, false)
            .await?;
        if !status.is_success() {
            return Err(Fault::Auth(format!(
                "AppRole login at {}/v1/{path} failed: HTTP {status}: {}",
                self.addr,
                vault_errors(&v)
            )));
        }
        let client_token = v
            .pointer("/auth/client_token")
            .and_then(Value::as_str)
            .ok_or_else(|| Fault::Auth("AppRole login returned no token".into()))?;
        let ttl = v
            .pointer("/auth/lease_duration")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        token.value = SecretValue::new(client_token.to_owned());
        token.renew_at =
            (ttl > 0).then(|| Instant::now() + std::time::Duration::from_millis(ttl * 800));
        token.generation += 1;
        Ok(())
    }

    async fn current_token(&self) -> Res<(SecretValue, u64)> {
        let (value, generation, due) = {
            let t = self.token.lock().await;
            let due = t.renew_at.is_some_and(|at| Instant::now() >= at);
            (t.value.clone(), t.generation, due)
        };
        if due {
            self.relogin(generation).await?;
            let t = self.token.lock().await;
            return Ok((t.value.clone(), t.generation));
        }
        Ok((value, generation))
    }

    /// An authenticated call. A 403 is told apart: a token Vault no longer
    /// accepts (expired, revoked) ends the sync, unless AppRole can log in
    /// again; a valid token without permission fails only this call.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        merge_patch: bool,
    ) -> Res<(StatusCode, Value)> {
        for round in 0..2 {
            let (token, generation) = self.current_token().await?;
            let (status, v) = self
                .send(method.clone(), path, body, Some(&token), merge_patch)
                .await?;
            if status != StatusCode::FORBIDDEN {
                return Ok((status, v));
            }
            let (lookup, _) = self
                .send(
                    Method::GET,
                    "auth/token/lookup-self",
                    None,
                    Some(&token),
                    false,
                )
                .await?;
            if lookup.is_success() {
                return Ok((status, v));
            }
            if round == 0 && matches!(self.login, Login::Approle { .. }) {
                self.relogin(generation).await?;
                continue;
            }
            return Err(Fault::Auth(format!(
                "Vault at {} rejects the token (expired or revoked; HTTP 403 on auth/token/lookup-self); log in again and update the remote's auth credential",
                self.addr
            )));
        }
        Err(Fault::Auth(format!(
            "Vault at {} rejects the token even after a fresh AppRole login",
            self.addr
        )))
    }

    /// An authenticated request outside KV (leases), through the remote's
    /// login (AppRole logs in again as a sync would). A refusal is the
    /// status and answer, for the caller to name.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value)> {
        let body = body.map(Value::to_string);
        self.call(method.clone(), path, body.as_deref(), false)
            .await
            .map_err(|fault| Error::Failure {
                what: format!(
                    "Vault at {}: {method} {path}: {}",
                    self.addr,
                    fault.message()
                ),
            })
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    fn data_path(&self, key: &str) -> String {
        format!("{}/data/{}{key}", self.mount, self.prefix)
    }

    fn meta_path(&self, key: &str) -> String {
        format!("{}/metadata/{}{key}", self.mount, self.prefix)
    }

    fn denied(&self, what: &str, path: &str) -> Fault {
        Fault::Denied(format!(
            "permission denied: the token's policies do not grant '{what}' on {path}"
        ))
    }

    fn other(&self, call: &str, path: &str, status: StatusCode, v: &Value) -> Fault {
        Fault::Other(format!(
            "Vault {call} {path} failed: HTTP {status}: {}",
            vault_errors(v)
        ))
    }

    /// Lists one folder: `(leaves, subfolders)`, relative to the prefix.
    async fn list(&self, folder: &str) -> Res<(Vec<String>, Vec<String>)> {
        let path = format!("{}?list=true", self.meta_path(folder));
        let (status, v) = self.call(Method::GET, &path, None, false).await?;
        match status.as_u16() {
            200 => {}
            404 => return Ok((Vec::new(), Vec::new())),
            403 => return Err(self.denied("list", &self.meta_path(folder))),
            _ => return Err(self.other("list", &self.meta_path(folder), status, &v)),
        }
        Ok(listed_keys(folder, &v))
    }

    pub async fn scan(&self, concurrency: usize) -> Res<Vec<Entry>> {
        let mut leaves = Vec::new();
        let mut folders = vec![String::new()];
        let mut depth = 0;
        while !folders.is_empty() {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(Fault::Invalid(format!(
                    "Vault at {} holds folders more than {MAX_DEPTH} levels deep under {}/{}; \
                     Coffer stops there (a loop or a hostile server) and changed nothing",
                    self.addr, self.mount, self.prefix
                )));
            }
            let batch = std::mem::take(&mut folders);
            let results: Vec<Res<(Vec<String>, Vec<String>)>> = stream::iter(batch)
                .map(|f| async move { self.list(&f).await })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            for r in results {
                let (l, f) = r?;
                leaves.extend(l);
                folders.extend(f);
            }
            if leaves.len() + folders.len() > MAX_ENTRIES {
                return Err(Fault::Invalid(format!(
                    "Vault at {} lists more than {MAX_ENTRIES} secrets and folders under {}/{}; \
                     Coffer stops there and changed nothing (narrow the remote's prefix)",
                    self.addr, self.mount, self.prefix
                )));
            }
        }
        let reads: Vec<(String, Res<Option<Entry>>)> = stream::iter(leaves)
            .map(|k| async move {
                let r = self.read(&k).await;
                (k, r)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut out = Vec::new();
        for (key, r) in reads {
            match r {
                Ok(Some(e)) => out.push(e),
                Ok(None) => {}
                Err(f) if f.fatal() => return Err(f),
                // A secret that cannot be read is listed without content;
                // the plan reports it against that one name.
                Err(f) => out.push(Entry {
                    key,
                    version: String::new(),
                    labels: BTreeMap::new(),
                    updated: None,
                    payload: None,
                    fault: Some(f),
                }),
            }
        }
        Ok(out)
    }

    pub async fn read(&self, key: &str) -> Res<Option<Entry>> {
        let path = self.data_path(key);
        let (status, v) = self.call(Method::GET, &path, None, false).await?;
        match status.as_u16() {
            200 => {}
            404 => return Ok(None),
            403 => return Err(self.denied("read", &path)),
            _ => return Err(self.other("read", &path, status, &v)),
        }
        read_entry(key, &path, &v)
    }

    /// The current version number, counting a deleted latest version (0: none).
    async fn current_version(&self, key: &str) -> Res<u64> {
        let path = self.meta_path(key);
        let (status, v) = self.call(Method::GET, &path, None, false).await?;
        match status.as_u16() {
            200 => Ok(v
                .pointer("/data/current_version")
                .and_then(Value::as_u64)
                .unwrap_or(0)),
            404 => Ok(0),
            403 => Err(self.denied("read", &path)),
            _ => Err(self.other("read metadata", &path, status, &v)),
        }
    }

    pub async fn write(&self, key: &str, payload: &Payload, expected: Expect<'_>) -> Res<Entry> {
        let cas: u64 = match expected {
            Expect::Absent => 0,
            Expect::Version(v) => v.parse().unwrap_or(0),
            Expect::Current => self.current_version(key).await?,
        };
        // Labels first, as a merge patch of the custom metadata (other keys
        // stay, Coffer labels no longer wanted go): if the data write below
        // never happens, the secret still has no data and reads as absent.
        let mut custom = serde_json::Map::new();
        for k in LABELS {
            custom.insert(
                k.to_owned(),
                payload
                    .labels
                    .get(k)
                    .map_or(Value::Null, |v| Value::String(v.clone())),
            );
        }
        let mpath = self.meta_path(key);
        let patch = json!({ "custom_metadata": custom });
        let (mut status, mut v) = self
            .call(Method::PATCH, &mpath, Some(&patch.to_string()), true)
            .await?;
        if status == StatusCode::NOT_FOUND {
            let labels: serde_json::Map<String, Value> = payload
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let create = json!({ "custom_metadata": labels });
            (status, v) = self
                .call(Method::POST, &mpath, Some(&create.to_string()), false)
                .await?;
        }
        match status.as_u16() {
            200 | 204 => {}
            403 => return Err(self.denied("create/patch", &mpath)),
            _ => return Err(self.other("update metadata", &mpath, status, &v)),
        }
        let path = self.data_path(key);
        let fields = payload.fields_json();
        let body = zeroize::Zeroizing::new(format!(
            r#"{{"options":{{"cas":{cas}}},"data":{}}}"#,
            fields.as_str()
        ));
        let (status, v) = self.call(Method::POST, &path, Some(&body), false).await?;
        match status.as_u16() {
            200 | 204 => {}
            400 if vault_errors(&v).contains("check-and-set") => {
                return Err(Fault::Conflict(format!(
                    "{path} changed on the remote since Coffer last saw it (expected version {cas})"
                )));
            }
            403 => return Err(self.denied("create/update", &path)),
            _ => return Err(self.other("write", &path, status, &v)),
        }
        let version = v
            .pointer("/data/version")
            .and_then(Value::as_u64)
            .unwrap_or(cas + 1);
        let updated = parse_time(v.pointer("/data/created_time"));
        Ok(Entry {
            key: key.to_owned(),
            version: version.to_string(),
            labels: payload.labels.clone(),
            updated,
            payload: None,
            fault: None,
        })
    }

    /// Soft-deletes the latest version (recoverable with `kv undelete`).
    pub async fn delete(&self, key: &str, expected: &str) -> Res<()> {
        let current = self.current_version(key).await?;
        if current.to_string() != expected {
            return Err(Fault::Conflict(format!(
                "{} changed on the remote since Coffer last saw it (version {current}, expected {expected})",
                self.data_path(key)
            )));
        }
        let path = self.data_path(key);
        let (status, v) = self.call(Method::DELETE, &path, None, false).await?;
        match status.as_u16() {
            200 | 204 | 404 => Ok(()),
            403 => Err(self.denied("delete", &path)),
            _ => Err(self.other("delete", &path, status, &v)),
        }
    }

    pub async fn check(&self) -> Vec<Check> {
        let mut out = Vec::new();
        match self
            .send(Method::GET, "sys/health", None, None, false)
            .await
        {
            Ok((status, v)) => {
                let version = v.get("version").and_then(Value::as_str).unwrap_or("?");
                let sealed = v.get("sealed").and_then(Value::as_bool).unwrap_or(false);
                out.push(Check::new(
                    "reachable",
                    !sealed,
                    if sealed {
                        format!("{} answers but is sealed (HTTP {status})", self.addr)
                    } else {
                        format!("{} answers (version {version})", self.addr)
                    },
                ));
            }
            Err(f) => {
                out.push(Check::new("reachable", false, f.message().to_owned()));
                return out;
            }
        }
        let token = match self.current_token().await {
            Ok((t, _)) => t,
            Err(f) => {
                out.push(Check::new("login", false, f.message().to_owned()));
                return out;
            }
        };
        match self
            .send(
                Method::GET,
                "auth/token/lookup-self",
                None,
                Some(&token),
                false,
            )
            .await
        {
            Ok((s, v)) if s.is_success() => {
                let policies: Vec<&str> = v
                    .pointer("/data/policies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let ttl = v.pointer("/data/ttl").and_then(Value::as_u64).unwrap_or(0);
                let expiry = if ttl == 0 {
                    "does not expire".to_owned()
                } else {
                    format!("expires in {ttl}s")
                };
                out.push(Check::new(
                    "login",
                    true,
                    format!(
                        "token accepted (policies: {}; {expiry})",
                        policies.join(", ")
                    ),
                ));
            }
            Ok((s, v)) => {
                out.push(Check::new(
                    "login",
                    false,
                    format!("token rejected: HTTP {s}: {}", vault_errors(&v)),
                ));
                return out;
            }
            Err(f) => {
                out.push(Check::new("login", false, f.message().to_owned()));
                return out;
            }
        }
        let ui = format!("sys/internal/ui/mounts/{}", self.mount);
        match self.call(Method::GET, &ui, None, false).await {
            Ok((s, v)) if s.is_success() => {
                let version = v.pointer("/data/options/version").and_then(Value::as_str);
                let kind = v
                    .pointer("/data/type")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                out.push(Check::new(
                    "mount",
                    version == Some("2"),
                    if version == Some("2") {
                        format!("{}/ is a KV version 2 mount", self.mount)
                    } else {
                        format!(
                            "{}/ is a '{kind}' mount with version {}; sync needs KV version 2",
                            self.mount,
                            version.unwrap_or("1")
                        )
                    },
                ));
            }
            Ok((s, _)) => out.push(Check::new(
                "mount",
                false,
                format!(
                    "no mount at {}/ visible to this token (HTTP {s})",
                    self.mount
                ),
            )),
            Err(f) => out.push(Check::new("mount", false, f.message().to_owned())),
        }
        let probe = "coffer-permission-probe";
        let wants = [
            (self.meta_path(""), "list", "to list secrets"),
            (self.data_path(probe), "read", "to pull"),
            (self.data_path(probe), "create", "to push new secrets"),
            (self.data_path(probe), "update", "to push changes"),
            (self.meta_path(probe), "patch", "to set custom metadata"),
            (self.data_path(probe), "delete", "for --prune"),
        ];
        let paths: Vec<String> = {
            let mut p: Vec<String> = wants.iter().map(|w| w.0.clone()).collect();
            p.dedup();
            p
        };
        let body = json!({ "paths": paths });
        match self
            .call(
                Method::POST,
                "sys/capabilities-self",
                Some(&body.to_string()),
                false,
            )
            .await
        {
            Ok((s, v)) if s.is_success() => {
                for (path, cap, why) in wants {
                    let caps: Vec<&str> = v
                        .pointer(&format!(
                            "/data/{}",
                            path.replace('~', "~0").replace('/', "~1")
                        ))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let ok = caps.contains(&"root") || caps.contains(&cap);
                    let shown = path.replace(probe, "*");
                    out.push(Check::new(
                        &format!("permission {cap}"),
                        ok,
                        if ok {
                            format!("'{cap}' on {shown} ({why})")
                        } else {
                            format!("missing '{cap}' on {shown} (needed {why})")
                        },
                    ));
                }
            }
            Ok((s, v)) => out.push(Check::new(
                "permissions",
                false,
                format!(
                    "cannot ask for capabilities: HTTP {s}: {}",
                    vault_errors(&v)
                ),
            )),
            Err(f) => out.push(Check::new("permissions", false, f.message().to_owned())),
        }
        out
    }
}
