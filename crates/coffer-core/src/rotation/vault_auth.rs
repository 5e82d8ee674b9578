//! Vault/OpenBao logins at their server: `revoke-self` for an emergency
//! revoke, and the provider side of rotating a `vault-token` (a new token
//! with the same policies, TTLs and metadata, checked with lookup-self, the
//! old one revoked after the grace period) and a `vault-approle` secret id
//! (a new one generated, a login checked, the old one destroyed by its
//! accessor after the grace period). The run's order is in [`super::run`].
//!
//! The address comes from the credential's `addr` field, else `VAULT_ADDR`;
//! plain `http://` is accepted only to a loopback address.

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::credential::{Credential, Secrets};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::secret::SecretValue;
use crate::sync::kv::{call, errors_of};

/// Where a credential's server is.
#[derive(Clone, Debug)]
pub struct Server {
    pub addr: String,
    pub namespace: Option<String>,
}

impl Server {
    pub fn of(credential: &Credential) -> Result<Server> {
        let addr = credential
            .meta
            .fields
            .get("addr")
            .cloned()
            .filter(|a| !a.is_empty())
            .or_else(|| std::env::var("VAULT_ADDR").ok())
            .ok_or_else(|| {
                Error::invalid(
                    format!("credential '{}'", credential.meta.name),
                    "has no addr field and VAULT_ADDR is not set",
                )
            })?;
        crate::sync::remote::check_url("Vault address", &addr, false)?;
        Ok(Server {
            addr,
            namespace: credential
                .meta
                .fields
                .get("namespace")
                .cloned()
                .filter(|n| !n.is_empty()),
        })
    }

    /// One request; a refusal (4xx) is an error naming what was asked.
    fn ask(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&SecretValue>,
    ) -> Result<Value> {
        let (status, answer) = self.try_ask(method.clone(), path, body, token)?;
        if !status.is_success() {
            return Err(refused(&self.addr, &method, path, status, &answer));
        }
        Ok(answer)
    }

    fn try_ask(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&SecretValue>,
    ) -> Result<(StatusCode, Value)> {
        crate::runtime::block_on(call(
            &self.addr,
            self.namespace.clone(),
            method,
            path,
            body,
            token,
        ))?
    }
}

fn refused(addr: &str, method: &Method, path: &str, status: StatusCode, answer: &Value) -> Error {
    let what = format!(
        "Vault at {addr} refused {method} {path} (HTTP {status}: {})",
        errors_of(answer)
    );
    if status == StatusCode::FORBIDDEN {
        Error::Denied {
            what: format!("{what}: the token used lacks a policy for that path"),
        }
    } else {
        Error::Failure { what }
    }
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn secret(v: &Value, pointer: &str, what: &str) -> Result<SecretValue> {
    text(v, pointer)
        .filter(|s| !s.is_empty())
        .map(SecretValue::from)
        .ok_or_else(|| Error::Failure {
            what: format!("the server's answer has no {what}"),
        })
}

/// What a new token copies from the old one (from lookup-self).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSpec {
    pub policies: Vec<String>,
    pub meta: serde_json::Map<String, Value>,
    pub display_name: String,
    /// Seconds; 0 when unset.
    pub creation_ttl: u64,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub renewable: bool,
    pub num_uses: u64,
    pub orphan: bool,
    pub accessor: String,
}

/// What a Vault run keeps between steps (sealed with the run's state; no
/// secret in it: accessors name a token or secret id, they do not open
/// anything without a policy on them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultState {
    /// A vault-token credential that makes the changes instead of the
    /// rotated credential itself.
    pub admin: Option<String>,
    #[serde(default)]
    pub token: Option<TokenSpec>,
    /// AppRole: the role's name (from a login) and its mount.
    #[serde(default)]
    pub role_name: Option<String>,
    #[serde(default)]
    pub mount: String,
    /// The old and new secret ids' (or tokens') accessors.
    pub old_accessor: String,
    #[serde(default)]
    pub new_accessor: Option<String>,
    /// Saved before the new token or secret id is made.
    #[serde(default)]
    pub creating: bool,
}

fn seconds(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// A token's own description of itself, as its spec.
pub fn lookup_self(server: &Server, token: &SecretValue) -> Result<TokenSpec> {
    let v = server.ask(Method::GET, "auth/token/lookup-self", None, Some(token))?;
    let mut policies: Vec<String> = v
        .pointer("/data/policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    policies.sort();
    if policies.iter().any(|p| p == "root") {
        return Err(Error::invalid(
            "token",
            "it is a root token: Coffer does not make root tokens (make a token with the policies \
             needed, store that, and revoke the root token)",
        ));
    }
    if text(&v, "/data/type").as_deref() == Some("batch") {
        return Err(Error::invalid(
            "token",
            "it is a batch token, which cannot be renewed or made again by itself: give Coffer \
             a service token (or an AppRole) to rotate",
        ));
    }
    let display_name = text(&v, "/data/display_name").unwrap_or_default();
    Ok(TokenSpec {
        policies,
        meta: v
            .pointer("/data/meta")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        // Vault prefixes "token-" to the name a token is created with.
        display_name: display_name
            .strip_prefix("token-")
            .unwrap_or(&display_name)
            .to_owned(),
        creation_ttl: seconds(&v, "/data/creation_ttl"),
        explicit_max_ttl: seconds(&v, "/data/explicit_max_ttl"),
        period: seconds(&v, "/data/period"),
        renewable: v
            .pointer("/data/renewable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        num_uses: seconds(&v, "/data/num_uses"),
        orphan: v
            .pointer("/data/orphan")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        accessor: text(&v, "/data/accessor").unwrap_or_default(),
    })
}

/// A new token like `spec`, made by `creator`: an orphan when the old one
/// was (or when the old token makes it: a child of the token it replaces
/// would die with it), else a child of the creator (an admin token).
pub fn create_token(
    server: &Server,
    creator: &SecretValue,
    spec: &TokenSpec,
    orphan: bool,
) -> Result<(SecretValue, String)> {
    let mut body = json!({
        "policies": spec.policies.iter().filter(|p| *p != "default").collect::<Vec<_>>(),
        "no_default_policy": !spec.policies.iter().any(|p| p == "default"),
        "meta": spec.meta,
        "display_name": spec.display_name,
        "renewable": spec.renewable,
        "num_uses": spec.num_uses,
    });
    for (key, value) in [
        ("ttl", spec.creation_ttl),
        ("explicit_max_ttl", spec.explicit_max_ttl),
        ("period", spec.period),
    ] {
        if value > 0 {
            body[key] = format!("{value}s").into();
        }
    }
    let path = if orphan {
        "auth/token/create-orphan"
    } else {
        "auth/token/create"
    };
    let v = server.ask(Method::POST, path, Some(&body), Some(creator))?;
    let token = secret(&v, "/auth/client_token", "token")?;
    let accessor = text(&v, "/auth/accessor").unwrap_or_default();
    Ok((token, accessor))
}

/// The new token answers lookup-self with the old one's policies.
pub fn verify_token(server: &Server, new: &SecretValue, spec: &TokenSpec) -> Result<String> {
    let seen = lookup_self(server, new)?;
    if seen.policies != spec.policies {
        return Err(Error::Failure {
            what: format!(
                "the new token has policies {:?}, not {:?} as the old one",
                seen.policies, spec.policies
            ),
        });
    }
    Ok(format!(
        "The new token answers lookup-self with the same policies ({}).",
        spec.policies.join(", ")
    ))
}

/// Revokes `token` itself, then checks it is refused.
pub fn revoke_token(server: &Server, token: &SecretValue) -> Result<String> {
    let (status, answer) =
        server.try_ask(Method::POST, "auth/token/revoke-self", None, Some(token))?;
    // 403: already revoked or expired; the check below says which.
    if !status.is_success() && status != StatusCode::FORBIDDEN {
        return Err(refused(
            &server.addr,
            &Method::POST,
            "auth/token/revoke-self",
            status,
            &answer,
        ));
    }
    let (status, _) = server.try_ask(Method::GET, "auth/token/lookup-self", None, Some(token))?;
    if status.is_success() {
        return Err(Error::Failure {
            what: "the old token still answers lookup-self after revoke-self".into(),
        });
    }
    Ok("Revoked the old token (revoke-self); it is refused now.".into())
}

fn approle_mount(credential: &Credential) -> String {
    credential
        .meta
        .fields
        .get("mount")
        .map(|m| m.trim_matches('/').to_owned())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "approle".into())
}

/// An AppRole login: its token and the role's name.
pub fn approle_login(
    server: &Server,
    mount: &str,
    role_id: &str,
    secret_id: &SecretValue,
) -> Result<(SecretValue, String)> {
    let body = json!({ "role_id": role_id, "secret_id": secret_id.expose_secret() });
    let path = format!("auth/{mount}/login");
    let v = server.ask(Method::POST, &path, Some(&body), None)?;
    let token = secret(&v, "/auth/client_token", "token")?;
    let role = text(&v, "/auth/metadata/role_name").ok_or_else(|| Error::Failure {
        what: "the AppRole login answer names no role".into(),
    })?;
    Ok((token, role))
}

/// Whether a login with `secret_id` is refused (a server that cannot be
/// reached is an error).
pub fn approle_refused(
    server: &Server,
    mount: &str,
    role_id: &str,
    secret_id: &SecretValue,
) -> Result<bool> {
    let body = json!({ "role_id": role_id, "secret_id": secret_id.expose_secret() });
    let (status, answer) = server.try_ask(
        Method::POST,
        &format!("auth/{mount}/login"),
        Some(&body),
        None,
    )?;
    if status.is_success() {
        if let Some(token) = text(&answer, "/auth/client_token") {
            let _ = revoke_token(server, &SecretValue::from(token));
        }
    }
    Ok(status.is_client_error())
}

/// The credential's role id and secret id.
pub fn approle_parts(credential: &Credential, secrets: &Secrets) -> Result<(String, SecretValue)> {
    let what = format!("credential '{}'", credential.meta.name);
    let role_id = credential
        .meta
        .fields
        .get("role_id")
        .cloned()
        .ok_or_else(|| Error::invalid(&what, "it has no role_id"))?;
    let secret_id = secrets
        .0
        .get("secret_id")
        .cloned()
        .ok_or_else(|| Error::invalid(&what, "it has no secret_id"))?;
    Ok((role_id, secret_id))
}

/// A token that may manage the role's secret ids: the admin's, else a
/// fresh login of the role itself (revoked by the caller with
/// [`done_with`]).
pub struct Manager {
    pub token: SecretValue,
    own_login: bool,
}

pub fn manager(
    server: &Server,
    admin: Option<&SecretValue>,
    mount: &str,
    role_id: &str,
    secret_id: &SecretValue,
) -> Result<Manager> {
    Ok(match admin {
        Some(token) => Manager {
            token: token.clone(),
            own_login: false,
        },
        None => Manager {
            token: approle_login(server, mount, role_id, secret_id)?.0,
            own_login: true,
        },
    })
}

/// Revokes a manager token made by a login for this step.
pub fn done_with(server: &Server, manager: Manager) {
    if manager.own_login {
        let _ = revoke_token(server, &manager.token);
    }
}

/// The role's name (from a login with the current secret id) and the
/// current secret id's accessor.
pub fn approle_prepare(
    server: &Server,
    credential: &Credential,
    secrets: &Secrets,
    admin: Option<&SecretValue>,
) -> Result<VaultState> {
    let mount = approle_mount(credential);
    let (role_id, secret_id) = approle_parts(credential, secrets)?;
    let (login, role) = approle_login(server, &mount, &role_id, &secret_id)?;
    let _ = revoke_token(server, &login);
    let manager = manager(server, admin, &mount, &role_id, &secret_id)?;
    let looked = server.ask(
        Method::POST,
        &format!("auth/{mount}/role/{role}/secret-id/lookup"),
        Some(&json!({ "secret_id": secret_id.expose_secret() })),
        Some(&manager.token),
    );
    done_with(server, manager);
    let looked = looked?;
    Ok(VaultState {
        role_name: Some(role),
        mount,
        old_accessor: text(&looked, "/data/secret_id_accessor").unwrap_or_default(),
        ..VaultState::default()
    })
}

/// A new secret id for the role.
pub fn approle_new(
    server: &Server,
    state: &VaultState,
    manager: &Manager,
) -> Result<(SecretValue, String)> {
    let role = state.role_name.as_deref().unwrap_or_default();
    let v = server.ask(
        Method::POST,
        &format!("auth/{}/role/{role}/secret-id", state.mount),
        Some(&json!({})),
        Some(&manager.token),
    )?;
    let secret_id = secret(&v, "/data/secret_id", "secret id")?;
    let accessor = text(&v, "/data/secret_id_accessor").unwrap_or_default();
    Ok((secret_id, accessor))
}

/// Destroys the secret id behind `accessor`.
pub fn approle_destroy(
    server: &Server,
    state: &VaultState,
    manager: &Manager,
    accessor: &str,
) -> Result<()> {
    let role = state.role_name.as_deref().unwrap_or_default();
    server.ask(
        Method::POST,
        &format!(
            "auth/{}/role/{role}/secret-id-accessor/destroy",
            state.mount
        ),
        Some(&json!({ "secret_id_accessor": accessor })),
        Some(&manager.token),
    )?;
    Ok(())
}

/// The admin credential named for a run: a vault-token.
pub fn admin_token(admin: &Credential, secrets: &Secrets) -> Result<SecretValue> {
    if admin.meta.kind != Kind::VaultToken {
        return Err(Error::invalid(
            "admin",
            format!(
                "'{}' is a {}, not a vault-token",
                admin.meta.name, admin.meta.kind
            ),
        ));
    }
    secrets
        .0
        .get("token")
        .cloned()
        .ok_or_else(|| Error::invalid("admin", format!("'{}' has no token", admin.meta.name)))
}

pub fn revoke_self(credential: &Credential, secrets: &Secrets) -> Result<String> {
    let server = Server::of(credential)?;
    let token = secrets
        .0
        .get("token")
        .cloned()
        .unwrap_or_else(|| SecretValue::from(""));
    crate::runtime::block_on(crate::sync::kv::revoke_self(
        &server.addr,
        server.namespace.clone(),
        token,
    ))??;
    Ok(format!("token revoked at {}", server.addr))
}
