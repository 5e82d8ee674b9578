//! PostgreSQL passwords changed in the database: the provider side of a
//! `db-password` rotation with `engine = postgres` (the run's order and its
//! saved state are in [`super::run`]).
//!
//! The new password reaches the server only as a SCRAM-SHA-256 verifier
//! (computed here by `postgres-protocol`), so it is in no server log or
//! statement statistics; a fresh login with it is checked before the vault
//! makes it current, and a failed check puts the old one back over the same
//! connection. In two-role mode the idle role of a pair gets the new
//! password and the credential switches to it; the old role is locked when
//! the grace period ends (NOLOGIN and a random password), never dropped.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config};

use crate::credential::{Credential, Secrets};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::secret::SecretValue;

/// How long a connection attempt may take before the rotation says so.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// What a PostgreSQL run keeps between steps (sealed with the run's state;
/// no secret in it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgState {
    /// A db-password credential whose role changes the password instead of
    /// the rotated role itself.
    pub admin: Option<String>,
    /// The role that gets the new password.
    pub role: String,
    /// The role the credential used before the run (the same as `role`
    /// outside two-role mode).
    pub old_role: String,
    /// Saved before the statement is sent: a run resumed with this set and
    /// `changed` unset finds out which password the server holds.
    pub changing: bool,
    pub changed: bool,
    /// Two-role mode: the old role is locked (the run's last act).
    pub locked: bool,
}

impl PgState {
    pub fn two_roles(&self) -> bool {
        self.role != self.old_role
    }
}

/// Where a credential's database is, from its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub tls: Tls,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// `sslmode=disable`: plain TCP (the default on loopback only).
    Off,
    /// `sslmode=verify-full`: TLS, the server's certificate checked against
    /// the system's roots or the file in `sslrootcert`, and its name.
    Verified { root_file: Option<String> },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}/{}", self.host, self.port, self.database)
    }
}

/// Whether `credential` is a PostgreSQL password Coffer can change itself.
pub fn is_postgres(credential: &Credential) -> bool {
    credential.meta.kind == Kind::DbPassword
        && credential
            .meta
            .fields
            .get("engine")
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "postgres" | "postgresql"))
}

fn field<'a>(credential: &'a Credential, name: &str) -> Option<&'a str> {
    credential
        .meta
        .fields
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The database `credential` names: host, port (5432), database (the
/// user's name, as libpq does), and TLS from `sslmode` (verify-full unless
/// the host is loopback).
pub fn target(credential: &Credential) -> Result<Target> {
    let what = format!("credential '{}'", credential.meta.name);
    let host = field(credential, "host")
        .ok_or_else(|| Error::invalid(&what, "it has no host"))?
        .to_owned();
    let port = match field(credential, "port") {
        None => 5432,
        Some(p) => p
            .parse()
            .map_err(|_| Error::invalid(&what, format!("port '{p}' is not a TCP port")))?,
    };
    let user = field(credential, "user").unwrap_or_default();
    let database = field(credential, "database").unwrap_or(user).to_owned();
    let tls = match field(credential, "sslmode") {
        None if is_loopback(&host) => Tls::Off,
        None | Some("verify-full") => Tls::Verified {
            root_file: field(credential, "sslrootcert").map(str::to_owned),
        },
        Some("disable") => Tls::Off,
        Some(other) => {
            return Err(Error::invalid(
                &what,
                format!(
                    "sslmode '{other}' is not one Coffer connects with: use verify-full (the \
                     server's certificate and name checked; sslrootcert names a CA file) or \
                     disable (plain TCP, for loopback or a tunnel); modes that encrypt without \
                     checking who answers would hand the password change to anyone in between"
                ),
            ))
        }
    };
    Ok(Target {
        host,
        port,
        database,
        tls,
    })
}

/// Who connects, and where: a role and its password, at the database of
/// the credential they come from (an admin connects with its own
/// credential's database and TLS settings, not the rotated one's).
pub struct Login<'a> {
    pub target: &'a Target,
    pub role: &'a str,
    pub password: &'a SecretValue,
}

/// Why a connection failed: the password was refused, or something else.
enum Refusal {
    Password,
    Other(Error),
}

fn tls_config(root_file: Option<&str>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match root_file {
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| Error::invalid("sslrootcert", format!("cannot read {path}: {e}")))?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| Error::invalid("sslrootcert", format!("{path}: {e}")))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Failure {
            what: format!("TLS setup: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Connects as `login` (inside the runtime: the connection's task is
/// spawned on it).
async fn connect(login: &Login<'_>) -> std::result::Result<Client, Refusal> {
    let target = login.target;
    let mut config = Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .dbname(&target.database)
        .user(login.role)
        .password(login.password.expose_secret().as_bytes())
        .application_name("coffer-rotation")
        .connect_timeout(CONNECT_WITHIN);
    let connected = match &target.tls {
        Tls::Off => {
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| refusal(target, login.role, e))?;
            tokio::spawn(connection);
            client
        }
        Tls::Verified { root_file } => {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
            let tls = tls_config(root_file.as_deref()).map_err(Refusal::Other)?;
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
            let (client, connection) = config
                .connect(tls)
                .await
                .map_err(|e| refusal(target, login.role, e))?;
            tokio::spawn(connection);
            client
        }
    };
    Ok(connected)
}

fn refusal(target: &Target, role: &str, e: tokio_postgres::Error) -> Refusal {
    if e.code() == Some(&SqlState::INVALID_PASSWORD)
        || e.code() == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
    {
        return Refusal::Password;
    }
    Refusal::Other(provider(
        format!("cannot connect to PostgreSQL at {target} as '{role}'"),
        &e,
    ))
}

/// The server's own words, without anything Coffer sent (an error from
/// tokio-postgres never carries the password or the statement).
fn provider(what: String, e: &tokio_postgres::Error) -> Error {
    let detail = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    };
    Error::Failure {
        what: format!("{what}: {detail}"),
    }
}

async fn connect_or_say(login: &Login<'_>) -> Result<Client> {
    let target = login.target;
    connect(login).await.map_err(|r| match r {
        Refusal::Password => Error::Denied {
            what: format!(
                "PostgreSQL at {target} refused the password Coffer holds for '{}'",
                login.role
            ),
        },
        Refusal::Other(e) => e,
    })
}

/// `"name"`, with inner quotes doubled: the one way a role name goes into
/// a statement (ALTER ROLE takes no parameters).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What a password change also sets on the role.
#[derive(Clone, Copy)]
enum Access {
    /// As it is.
    Same,
    /// LOGIN (the idle role of a pair, made current).
    Login,
    /// NOLOGIN (a role locked).
    NoLogin,
}

/// ALTER ROLE … PASSWORD with the SCRAM verifier of `password` (base64 and
/// `$:` only, so it is quoted as is).
fn set_password_sql(role: &str, password: &SecretValue, access: Access) -> String {
    let verifier = postgres_protocol::password::scram_sha_256(password.expose_secret().as_bytes());
    let access = match access {
        Access::Same => "",
        Access::Login => " LOGIN",
        Access::NoLogin => " NOLOGIN",
    };
    format!("ALTER ROLE {}{access} PASSWORD '{verifier}'", ident(role))
}

async fn set_password(
    client: &Client,
    by: &str,
    role: &str,
    password: &SecretValue,
    access: Access,
) -> Result<()> {
    client
        .batch_execute(&set_password_sql(role, password, access))
        .await
        .map_err(|e| {
            if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
                Error::Denied {
                    what: format!(
                        "role '{by}' may not change the password of role '{role}': that takes \
                         the CREATEROLE attribute (and from PostgreSQL 16 the ADMIN option on \
                         '{role}'), or being '{role}' itself; nothing was changed"
                    ),
                }
            } else {
                provider(format!("changing the password of role '{role}'"), &e)
            }
        })
}

/// Checks before anything changes: the connecting role logs in, may
/// change the password it must change, and in two-role mode the idle role
/// exists and is not the one in use.
pub fn prepare(auth: &Login<'_>, role: &str, old_role: &str) -> Result<Vec<String>> {
    let target = auth.target;
    crate::runtime::block_on(async {
        let client = connect_or_say(auth).await?;
        let mut said = vec![format!(
            "Connected to PostgreSQL at {target} as '{}'.",
            auth.role
        )];
        let row = client
            .query_opt(
                "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1",
                &[&role],
            )
            .await
            .map_err(|e| provider(format!("looking up role '{role}'"), &e))?;
        let Some(_) = row else {
            return Err(Error::invalid(
                "alternate",
                format!(
                    "PostgreSQL at {target} has no role '{role}': create it first (e.g. CREATE \
                     ROLE {} NOLOGIN IN ROLE <the group that owns the app's objects>); Coffer \
                     never creates or drops roles",
                    ident(role)
                ),
            ));
        };
        if auth.role != role {
            let me = client
                .query_one(
                    "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user",
                    &[],
                )
                .await
                .map_err(|e| provider("looking up the connecting role".into(), &e))?;
            let (superuser, createrole): (bool, bool) = (me.get(0), me.get(1));
            if !superuser && !createrole {
                return Err(Error::Denied {
                    what: format!(
                        "role '{}' may not change the password of role '{role}': it lacks the \
                         CREATEROLE attribute; rotate as '{role}' itself (without --admin) or \
                         name an admin credential whose role has CREATEROLE; nothing was changed",
                        auth.role
                    ),
                });
            }
        }
        if role != old_role {
            said.push(format!(
                "Two-role mode: '{role}' gets the new password and becomes current; '{old_role}' \
                 keeps working until the grace period ends, then it is locked (NOLOGIN)."
            ));
        }
        Ok(said)
    })?
}

/// Sets `new` on `role` and checks a fresh login with it; when the check
/// fails, the old password goes back over the same connection (or the
/// idle role is locked again) and the error says so.
pub fn change(
    target: &Target,
    auth: &Login<'_>,
    state: &PgState,
    new: &SecretValue,
    old: &SecretValue,
) -> Result<Vec<String>> {
    crate::runtime::block_on(async {
        let client = connect_or_say(auth).await?;
        let role = state.role.as_str();
        let access = if state.two_roles() {
            Access::Login
        } else {
            Access::Same
        };
        set_password(&client, auth.role, role, new, access).await?;
        let mut said = vec![format!(
            "Ran ALTER ROLE {}{} PASSWORD '••••••' as '{}' (sent as a SCRAM-SHA-256 verifier).",
            ident(role),
            if state.two_roles() { " LOGIN" } else { "" },
            auth.role
        )];
        let checked = check_login(target, role, new).await;
        if let Err(e) = checked {
            let undone = if state.two_roles() {
                lock(&client, role).await
            } else {
                set_password(&client, auth.role, role, old, Access::Same).await
            };
            let how = match undone {
                Ok(()) if state.two_roles() => format!("'{role}' was locked again"),
                Ok(()) => format!("the old password of '{role}' was set back"),
                Err(undo) => format!("putting things back failed too ({undo})"),
            };
            return Err(Error::Failure {
                what: format!("the new password did not log in ({e}); {how}"),
            });
        }
        said.push(format!(
            "Logged in afresh as '{role}' with the new password: it works."
        ));
        Ok(said)
    })?
}

async fn check_login(target: &Target, role: &str, password: &SecretValue) -> Result<()> {
    let login = Login {
        target,
        role,
        password,
    };
    let client = connect_or_say(&login).await?;
    let row = client
        .query_one("SELECT session_user::text", &[])
        .await
        .map_err(|e| provider("checking the login".into(), &e))?;
    let who: String = row.get(0);
    if who != role {
        return Err(Error::Failure {
            what: format!("logged in as '{who}', not '{role}'"),
        });
    }
    Ok(())
}

/// Whether `password` logs in as `role` (a refusal is `false`; a server
/// that cannot be reached is an error).
pub fn logs_in(target: &Target, role: &str, password: &SecretValue) -> Result<bool> {
    crate::runtime::block_on(async {
        let login = Login {
            target,
            role,
            password,
        };
        match connect(&login).await {
            Ok(_) => Ok(true),
            Err(Refusal::Password) => Ok(false),
            Err(Refusal::Other(e)) => Err(e),
        }
    })?
}

/// NOLOGIN, and a random password no one knows: the role stays (objects,
/// grants, a later switch back), its old password is dead even if LOGIN is
/// given back by hand.
async fn lock(client: &Client, role: &str) -> Result<()> {
    let mut random = zeroize::Zeroizing::new([0u8; 32]);
    crate::crypto::random_bytes(random.as_mut())?;
    let unknown = SecretValue::from(hex::encode(random.as_ref()));
    client
        .batch_execute(&set_password_sql(role, &unknown, Access::NoLogin))
        .await
        .map_err(|e| provider(format!("locking role '{role}'"), &e))
}

/// Ends the grace period of a two-role run: the old role is locked.
pub fn lock_role(auth: &Login<'_>, role: &str) -> Result<String> {
    crate::runtime::block_on(async {
        let client = connect_or_say(auth).await?;
        lock(&client, role).await?;
        Ok(format!(
            "Locked role '{role}' (ALTER ROLE {} NOLOGIN, with a random password) as '{}'.",
            ident(role),
            auth.role
        ))
    })?
}

/// Puts a single role's old password back (an abort after the change).
pub fn restore(auth: &Login<'_>, role: &str, old: &SecretValue) -> Result<()> {
    crate::runtime::block_on(async {
        let client = connect_or_say(auth).await?;
        set_password(&client, auth.role, role, old, Access::Same).await
    })?
}

/// The admin credential named for a run, checked: a PostgreSQL password
/// for the same server. Where it connects (its own database and TLS
/// settings), its role and password.
pub fn admin(
    target: &Target,
    admin: &Credential,
    secrets: &Secrets,
) -> Result<(Target, String, SecretValue)> {
    let name = &admin.meta.name;
    if !is_postgres(admin) {
        return Err(Error::invalid(
            "admin",
            format!(
                "'{name}' is a {}, not a db-password with engine postgres",
                admin.meta.kind
            ),
        ));
    }
    let theirs = self::target(admin)?;
    if (theirs.host.as_str(), theirs.port) != (target.host.as_str(), target.port) {
        return Err(Error::invalid(
            "admin",
            format!(
                "'{name}' is for {}:{}, not {}:{} where the role is",
                theirs.host, theirs.port, target.host, target.port
            ),
        ));
    }
    let role = field(admin, "user")
        .ok_or_else(|| Error::invalid("admin", format!("'{name}' has no user")))?;
    let password = secrets
        .0
        .get("password")
        .cloned()
        .ok_or_else(|| Error::invalid("admin", format!("'{name}' has no password")))?;
    Ok((theirs, role.to_owned(), password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_quoted_and_the_password_sent_only_as_a_verifier() {
        assert_eq!(
            ident(r#"app"; DROP ROLE x; --"#),
            r#""app""; DROP ROLE x; --""#
        );
        let password = SecretValue::from("canary-Zq81");
        let sql = set_password_sql("app", &password, Access::Login);
        assert!(
            sql.starts_with(r#"ALTER ROLE "app" LOGIN PASSWORD 'SCRAM-SHA-256$4096:"#),
            "{sql}"
        );
        assert!(!sql.contains("canary-Zq81"));
        assert!(!sql[sql.find('\'').unwrap() + 1..sql.len() - 1].contains('\''));
    }
}
