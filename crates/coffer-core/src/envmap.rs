//! Credentials as environment variables (per-kind defaults for `exec` and
//! `env`) and `{{ coffer://NAME/FIELD }}` templates (`inject`). Pure
//! functions over revealed credentials: the caller reveals them (audited)
//! and decides where the values go.

use std::collections::BTreeMap;

use crate::credential::{Credential, Secrets};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::secret::SecretValue;

/// One variable to set, and where its value came from.
#[derive(Clone, Debug)]
pub struct EnvVar {
    pub name: String,
    pub value: SecretValue,
    /// Which credential and field.
    pub source: (String, String),
    /// Whether the value is secret (for `--mask`).
    pub secret: bool,
    /// Whether the variable steers programs (see [`steers_programs`]); only
    /// an explicit mapping sets one, and the caller warns about it.
    pub steers: bool,
}

/// Exact names of variables that change how programs load code, run, find
/// their configuration or reach the network.
const STEERING: &[&str] = &[
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "IFS",
    "CDPATH",
    "PATH",
    "SHELL",
    "HOME",
    "TMPDIR",
    "NODE_OPTIONS",
    "NODE_PATH",
    "NODE_EXTRA_CA_CERTS",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "LESSOPEN",
    "LESSCLOSE",
    "LESSKEY",
    "PAGER",
    "MANPAGER",
    "EDITOR",
    "VISUAL",
    "BROWSER",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "GCONV_PATH",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "RES_OPTIONS",
    "NLSPATH",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "FTP_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "AWS_CA_BUNDLE",
    "PYTHONPATH",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CONFIG_DIRS",
    "XDG_DATA_DIRS",
];

/// Prefixes of such variables (dynamic loaders, shell functions, git's
/// configuration and helpers, Python's startup, npm's configuration).
const STEERING_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "BASH_FUNC_",
    "GIT_",
    "PYTHON",
    "NPM_CONFIG_",
    "MALLOC_",
];

/// Whether setting `var` changes how programs load code, run, find their
/// configuration or reach the network (`LD_PRELOAD`, `NODE_OPTIONS`,
/// `GIT_CONFIG_*`, `BASH_ENV`, `PYTHON*`, `PERL5OPT`, `LESSOPEN`, proxies,
/// CA bundles, …). A field pulled from a shared remote or imported must not
/// set one by its name alone: it would run code in every tool a script
/// starts. Case is ignored (`http_proxy` is read too).
pub fn steers_programs(var: &str) -> bool {
    let upper = var.to_ascii_uppercase();
    STEERING.contains(&upper.as_str()) || STEERING_PREFIXES.iter().any(|p| upper.starts_with(p))
}

fn value_of<'a>(c: &'a Credential, s: &'a Secrets, field: &str) -> Option<(&'a str, bool)> {
    s.0.get(field)
        .map(|v| (v.expose_secret(), true))
        .or_else(|| c.meta.fields.get(field).map(|v| (v.as_str(), false)))
}

/// `FIELD_NAME` from a field name: upper case, anything but letters and digits as `_`.
pub fn var_name(field: &str) -> String {
    let mut out: String = field
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Percent-encodes a URL userinfo part.
fn userinfo(s: &str) -> String {
    let mut out = String::with_capacity(3 * s.len());
    push_userinfo(&mut out, s);
    out
}

/// Percent-encodes `s` onto `out`, allocating nothing of its own (a password
/// must not pass through a temporary that is freed unwiped).
fn push_userinfo(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// The variables a credential sets by default, by kind:
/// `aws-access-key` and `aws-role` → `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_CREDENTIAL_EXPIRATION`
/// (a session's), `AWS_REGION`/`AWS_DEFAULT_REGION`; `vault-token` →
/// `VAULT_TOKEN` (+ `VAULT_ADDR`, `VAULT_NAMESPACE`); `db-password` → libpq's
/// `PGHOST`… `PGPASSWORD` and a `DATABASE_URL`; Azure and GCP their SDKs'
/// variables; everything else its field names upper-cased.
pub fn defaults(c: &Credential, s: &Secrets) -> Vec<EnvVar> {
    let mut out = Vec::new();
    let mut put = |var: &str, field: &str| {
        if let Some((v, secret)) = value_of(c, s, field) {
            out.push(EnvVar {
                name: var.to_owned(),
                value: SecretValue::from(v),
                source: (c.meta.name.clone(), field.to_owned()),
                secret,
                steers: steers_programs(var),
            });
        }
    };
    let mapped: &[(&str, &str)] = match c.meta.kind {
        // A role's values are its session's (the CLI maps a session so).
        Kind::AwsAccessKey | Kind::AwsRole => &[
            ("AWS_ACCESS_KEY_ID", "access_key_id"),
            ("AWS_SECRET_ACCESS_KEY", "secret_access_key"),
            ("AWS_SESSION_TOKEN", "session_token"),
            ("AWS_CREDENTIAL_EXPIRATION", "expiration"),
            ("AWS_REGION", "region"),
            ("AWS_DEFAULT_REGION", "region"),
        ],
        Kind::VaultToken => &[
            ("VAULT_TOKEN", "token"),
            ("VAULT_ADDR", "addr"),
            ("VAULT_NAMESPACE", "namespace"),
        ],
        Kind::VaultApprole => &[
            ("VAULT_ROLE_ID", "role_id"),
            ("VAULT_SECRET_ID", "secret_id"),
            ("VAULT_ADDR", "addr"),
            ("VAULT_NAMESPACE", "namespace"),
        ],
        Kind::DbPassword => &[
            ("PGHOST", "host"),
            ("PGPORT", "port"),
            ("PGUSER", "user"),
            ("PGPASSWORD", "password"),
            ("PGDATABASE", "database"),
        ],
        Kind::AzureServicePrincipal => &[
            ("AZURE_TENANT_ID", "tenant_id"),
            ("AZURE_CLIENT_ID", "client_id"),
            ("AZURE_CLIENT_SECRET", "client_secret"),
            ("AZURE_SUBSCRIPTION_ID", "subscription_id"),
        ],
        Kind::GcpServiceAccount => &[
            ("GOOGLE_CREDENTIALS", "json"),
            ("GOOGLE_CLOUD_PROJECT", "project_id"),
        ],
        // A lease's values are the lease's own (the CLI maps them).
        Kind::ApiKey | Kind::SshKey | Kind::TotpSeed | Kind::Generic | Kind::VaultLease => &[],
    };
    if mapped.is_empty() {
        let mut fields: Vec<&String> = c.meta.fields.keys().chain(s.0.keys()).collect();
        fields.sort();
        for f in fields {
            put(&var_name(f), f);
        }
    } else {
        for (var, field) in mapped {
            put(var, field);
        }
    }
    if c.meta.kind == Kind::DbPassword {
        if let (Some((user, _)), Some((pw, _)), Some((host, _))) = (
            value_of(c, s, "user"),
            value_of(c, s, "password"),
            value_of(c, s, "host"),
        ) {
            let scheme = match c.meta.fields.get("engine").map(|e| e.to_ascii_lowercase()) {
                Some(e) if e.contains("mysql") || e.contains("maria") => "mysql",
                Some(e) if e.contains("sqlserver") || e.contains("mssql") => "sqlserver",
                _ => "postgres",
            };
            let port = value_of(c, s, "port")
                .map(|(p, _)| format!(":{p}"))
                .unwrap_or_default();
            let db = value_of(c, s, "database")
                .map(|(d, _)| format!("/{}", userinfo(d)))
                .unwrap_or_default();
            // Built in one buffer sized for the worst case (every byte
            // percent-encoded), so it never grows: growing would leave
            // copies of the password behind in freed memory.
            let mut url = zeroize::Zeroizing::new(String::with_capacity(
                scheme.len() + 5 + 3 * (user.len() + pw.len()) + host.len() + port.len() + db.len(),
            ));
            url.push_str(scheme);
            url.push_str("://");
            push_userinfo(&mut url, user);
            url.push(':');
            push_userinfo(&mut url, pw);
            url.push('@');
            url.push_str(host);
            url.push_str(&port);
            url.push_str(&db);
            out.push(EnvVar {
                name: "DATABASE_URL".into(),
                value: SecretValue::from(url.as_str()),
                source: (c.meta.name.clone(), "password".into()),
                secret: true,
                steers: false,
            });
        }
    }
    out
}

/// Where `--env VAR=REF` takes its value: `FIELD` (of the only credential,
/// or the only one that has it) or `NAME/FIELD`.
pub fn pick<'a>(
    reference: &str,
    creds: &'a [(Credential, Secrets)],
) -> Result<(&'a Credential, &'a Secrets, String)> {
    let bad = |why: String| Error::invalid(format!("env reference '{reference}'"), why);
    if let Some((name, field)) = reference.rsplit_once('/') {
        if let Some((c, s)) = creds.iter().find(|(c, _)| c.meta.name == name) {
            return Ok((c, s, field.to_owned()));
        }
    }
    let having: Vec<&(Credential, Secrets)> = creds
        .iter()
        .filter(|(c, s)| value_of(c, s, reference).is_some())
        .collect();
    match having.as_slice() {
        [(c, s)] => Ok((c, s, reference.to_owned())),
        [] => Err(bad("no credential given has that field".into())),
        many => Err(bad(format!(
            "several credentials have that field ({}); write NAME/FIELD",
            many.iter()
                .map(|(c, _)| c.meta.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The variables for `exec`/`env`: each credential's defaults (unless
/// `no_defaults`), then the explicit `VAR=REF` mappings, which win. Two
/// credentials setting one variable by default is an error naming both.
pub fn variables(
    creds: &[(Credential, Secrets)],
    explicit: &[(String, String)],
    no_defaults: bool,
) -> Result<Vec<EnvVar>> {
    let mut vars: BTreeMap<String, EnvVar> = BTreeMap::new();
    if !no_defaults {
        for (c, s) in creds {
            for v in defaults(c, s) {
                if v.steers {
                    return Err(Error::invalid(
                        format!("variable {}", v.name),
                        format!(
                            "credential '{}' would set it from its field '{}', and it changes \
                             how programs load code, run or connect, so a field name never sets \
                             it; if you mean it, map it explicitly with --env {}={}/{}",
                            crate::credential::printable(&v.source.0),
                            crate::credential::printable(&v.source.1),
                            v.name,
                            crate::credential::printable(&v.source.0),
                            crate::credential::printable(&v.source.1)
                        ),
                    ));
                }
                if let Some(prev) = vars.get(&v.name) {
                    if prev.source.0 != v.source.0 {
                        return Err(Error::invalid(
                            format!("variable {}", v.name),
                            format!(
                                "both '{}' and '{}' set it; map it explicitly with --env {}=NAME/FIELD",
                                prev.source.0, v.source.0, v.name
                            ),
                        ));
                    }
                }
                vars.insert(v.name.clone(), v);
            }
        }
    }
    for (var, reference) in explicit {
        check_var_name(var)?;
        let (c, s, field) = pick(reference, creds)?;
        let (value, secret) = value_of(c, s, &field).ok_or_else(|| {
            Error::invalid(
                format!("env mapping {var}={reference}"),
                format!("credential '{}' has no field '{field}'", c.meta.name),
            )
        })?;
        vars.insert(
            var.clone(),
            EnvVar {
                name: var.clone(),
                value: SecretValue::from(value),
                source: (c.meta.name.clone(), field),
                secret,
                steers: steers_programs(var),
            },
        );
    }
    Ok(vars.into_values().collect())
}

/// A POSIX-portable environment variable name.
pub fn check_var_name(var: &str) -> Result<()> {
    let ok = !var.is_empty()
        && !var.starts_with(|c: char| c.is_ascii_digit())
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("variable name '{}'", crate::credential::printable(var)),
            "use letters, digits and '_', not starting with a digit",
        ))
    }
}

/// One `{{ coffer://NAME/FIELD }}` reference in a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub field: String,
    /// 1-based line of the reference.
    pub line: usize,
    start: usize,
    end: usize,
}

/// Finds every reference in `template`; a malformed one names its line.
pub fn references(template: &str) -> Result<Vec<Reference>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = template[from..].find("{{") {
        let start = from + open;
        let line = template[..start].matches('\n').count() + 1;
        let inner_start = start + 2;
        let rest = &template[inner_start..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        if !trimmed.starts_with("coffer://") {
            // Not ours: other template syntaxes pass through untouched.
            from = inner_start;
            continue;
        }
        let close = rest.find("}}").ok_or_else(|| {
            Error::invalid(
                format!("template line {line}"),
                "a {{ coffer://… reference is not closed with }}",
            )
        })?;
        let body = rest[..close].trim();
        let path = body.trim_start_matches("coffer://");
        let (name, field) = path.rsplit_once('/').ok_or_else(|| {
            Error::invalid(
                format!("template line {line}"),
                format!(
                    "'{}' is not coffer://NAME/FIELD",
                    crate::credential::printable(body)
                ),
            )
        })?;
        if name.is_empty() || field.is_empty() || path.contains(char::is_whitespace) {
            return Err(Error::invalid(
                format!("template line {line}"),
                format!(
                    "'{}' is not coffer://NAME/FIELD",
                    crate::credential::printable(body)
                ),
            ));
        }
        let end = inner_start + close + 2;
        out.push(Reference {
            name: name.to_owned(),
            field: field.to_owned(),
            line,
            start,
            end,
        });
        from = end;
    }
    Ok(out)
}

/// Renders `template`, replacing each reference with its value. The result
/// holds secrets: it is returned in a buffer that is wiped when dropped.
pub fn render(
    template: &str,
    refs: &[Reference],
    creds: &[(Credential, Secrets)],
) -> Result<zeroize::Zeroizing<String>> {
    let mut out = zeroize::Zeroizing::new(String::with_capacity(template.len() + 256));
    let mut at = 0;
    for r in refs {
        let (c, s) = creds
            .iter()
            .find(|(c, _)| c.meta.name == r.name)
            .ok_or_else(|| Error::NotFound {
                name: r.name.clone(),
            })?;
        let (value, _) = value_of(c, s, &r.field).ok_or_else(|| {
            Error::invalid(
                format!("template line {}", r.line),
                format!("credential '{}' has no field '{}'", r.name, r.field),
            )
        })?;
        out.push_str(&template[at..r.start]);
        out.push_str(value);
        at = r.end;
    }
    out.push_str(&template[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::credential::{CredentialId, CredentialMeta};

    fn cred(
        name: &str,
        kind: Kind,
        plain: &[(&str, &str)],
        secret: &[(&str, &str)],
    ) -> (Credential, Secrets) {
        let meta = CredentialMeta {
            name: name.into(),
            kind,
            env: None,
            tags: vec![],
            notes: None,
            fields: plain
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            secret_fields: secret.iter().map(|(k, _)| (*k).into()).collect(),
            expires_at: None,
            rotated_at: None,
            policy: None,
            compromised_at: None,
            arrived: None,
            trashed_at: None,
        };
        let c = Credential {
            id: CredentialId([1; 16]),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            meta,
        };
        let s = Secrets(
            secret
                .iter()
                .map(|(k, v)| ((*k).into(), SecretValue::from(*v)))
                .collect(),
        );
        (c, s)
    }

    fn get<'a>(vars: &'a [EnvVar], name: &str) -> Option<&'a str> {
        vars.iter()
            .find(|v| v.name == name)
            .map(|v| v.value.expose_secret())
    }

    #[test]
    fn kinds_map_to_the_variables_their_tools_read() {
        let aws = cred(
            "aws/dev",
            Kind::AwsAccessKey,
            &[("access_key_id", "AKIAX"), ("region", "eu-west-1")],
            &[("secret_access_key", "s")],
        );
        let db = cred(
            "db",
            Kind::DbPassword,
            &[
                ("host", "db.local"),
                ("port", "5432"),
                ("user", "app user"),
                ("database", "main"),
            ],
            &[("password", "p@ss:/w")],
        );
        let vars = variables(&[aws, db], &[], false).unwrap();
        assert_eq!(get(&vars, "AWS_ACCESS_KEY_ID"), Some("AKIAX"));
        assert_eq!(get(&vars, "AWS_DEFAULT_REGION"), Some("eu-west-1"));
        assert_eq!(get(&vars, "AWS_SESSION_TOKEN"), None);
        assert_eq!(get(&vars, "PGPASSWORD"), Some("p@ss:/w"));
        assert_eq!(
            get(&vars, "DATABASE_URL"),
            Some("postgres://app%20user:p%40ss%3A%2Fw@db.local:5432/main")
        );
        let generic = cred("g", Kind::Generic, &[("api-url", "u")], &[("token", "t")]);
        let vars = variables(&[generic], &[], false).unwrap();
        assert_eq!(get(&vars, "API_URL"), Some("u"));
        assert_eq!(get(&vars, "TOKEN"), Some("t"));
    }

    #[test]
    fn clashes_are_errors_and_explicit_mappings_win() {
        let a = cred("a", Kind::Generic, &[], &[("token", "1")]);
        let b = cred("b", Kind::Generic, &[], &[("token", "2")]);
        let both = [a, b];
        let err = variables(&both, &[], false).unwrap_err().to_string();
        assert!(err.contains("'a'") && err.contains("'b'"), "{err}");
        let vars = variables(&both, &[("TOKEN".into(), "b/token".into())], true).unwrap();
        assert_eq!(get(&vars, "TOKEN"), Some("2"));
        assert!(
            variables(&both, &[("T".into(), "token".into())], true).is_err(),
            "ambiguous"
        );
        assert!(variables(&both, &[("1BAD".into(), "a/token".into())], true).is_err());
    }

    #[test]
    fn templates_render_and_bad_references_name_their_line() {
        let c = cred(
            "app/db",
            Kind::Generic,
            &[("user", "u")],
            &[("password", "pw")],
        );
        let t = "user={{ coffer://app/db/user }}\npass={{coffer://app/db/password}}\nother={{ .Values.x }}\n";
        let refs = references(t).unwrap();
        assert_eq!(refs.len(), 2);
        let out = render(t, &refs, &[c]).unwrap();
        assert_eq!(out.as_str(), "user=u\npass=pw\nother={{ .Values.x }}\n");
        let err = references("a\nb {{ coffer://nofield }}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = references("{{ coffer://x/y").unwrap_err().to_string();
        assert!(err.contains("not closed"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn any_template_parses_or_fails_cleanly(t in ".{0,200}") {
            let _ = references(&t);
        }
    }

    #[test]
    fn a_field_named_like_a_loader_variable_sets_nothing_unless_mapped() {
        for field in [
            "ld_preload",
            "node_options",
            "git_config_count",
            "bash_env",
            "pythonpath",
            "http_proxy",
            "LESSOPEN",
        ] {
            let creds = [cred(
                "pulled",
                Kind::Generic,
                &[],
                &[(field, "/tmp/evil.so")],
            )];
            let e = variables(&creds, &[], false).expect_err(field);
            assert!(
                e.to_string().contains("changes how programs load code"),
                "{field}: {e}"
            );
        }
        // Mapped explicitly, it is set and marked for a warning.
        let creds = [cred(
            "pulled",
            Kind::Generic,
            &[],
            &[("ld_preload", "/tmp/x.so")],
        )];
        let vars = variables(
            &creds,
            &[("LD_PRELOAD".into(), "pulled/ld_preload".into())],
            true,
        )
        .expect("explicit");
        assert_eq!(vars.len(), 1);
        assert!(vars[0].steers);
        // Kinds' own variables are not steering ones.
        let creds = [cred(
            "aws",
            Kind::AwsAccessKey,
            &[("access_key_id", "AKIA"), ("region", "eu-west-1")],
            &[("secret_access_key", "s")],
        )];
        assert!(variables(&creds, &[], false)
            .expect("defaults")
            .iter()
            .all(|v| !v.steers));
    }
}
