//! Credential kinds and their field schemas.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Kind {
    AwsAccessKey,
    AwsRole,
    VaultToken,
    VaultApprole,
    /// Dynamic secrets read from a Vault/OpenBao path under a lease (see
    /// leases.rs): no secret of its own, its values are the lease's.
    VaultLease,
    DbPassword,
    ApiKey,
    GcpServiceAccount,
    AzureServicePrincipal,
    SshKey,
    /// The seed of a TOTP authenticator (RFC 6238), kept only when the person
    /// chooses to: an AWS credential's `mfa_totp` then makes its MFA codes
    /// from it, which turns two factors into one (see totp.rs).
    TotpSeed,
    Generic,
}

/// How a field's value is checked beyond its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldFormat {
    Text,
    /// A TCP port, 1–65535.
    Port,
    /// An AWS access key id: 16–128 upper-case letters and digits.
    AwsKeyId,
    /// A JSON object.
    JsonObject,
    /// An http(s) URL.
    Url,
    /// An IAM role ARN (`arn:PARTITION:iam::ACCOUNT:role/NAME`).
    RoleArn,
    /// A length of time: seconds, or a number with `s`, `m` or `h`.
    Duration,
    /// A TOTP seed in base32 (spaces, dashes, lower case and padding
    /// allowed), at least [`crate::totp::MIN_SEED_BYTES`] bytes.
    Base32Seed,
    /// One of a few words.
    OneOf(&'static [&'static str]),
}

#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub secret: bool,
    pub required: bool,
    pub format: FieldFormat,
}

const fn field(name: &'static str, secret: bool, required: bool, format: FieldFormat) -> FieldSpec {
    FieldSpec {
        name,
        secret,
        required,
        format,
    }
}

use FieldFormat::{AwsKeyId, Base32Seed, Duration, JsonObject, OneOf, Port, RoleArn, Text, Url};

const AWS: &[FieldSpec] = &[
    field("access_key_id", false, true, AwsKeyId),
    field("secret_access_key", true, true, Text),
    field("session_token", true, false, Text),
    field("region", false, false, Text),
    field("account", false, false, Text),
    // What its STS sessions are made with (see sessions.rs).
    field("mfa_serial", false, false, Text),
    field("mfa_process", false, false, Text),
    // The name of a totp-seed credential its codes are made from.
    field("mfa_totp", false, false, Text),
    field("duration", false, false, Duration),
];
/// A role assumed through a source credential (an aws-access-key, or another
/// aws-role: a chain). It holds no secret of its own: the external id is an
/// identifier the role's owner chose, not a secret (AWS says as much).
const AWS_ROLE: &[FieldSpec] = &[
    field("role_arn", false, true, RoleArn),
    field("source", false, true, Text),
    field("external_id", false, false, Text),
    field("mfa_serial", false, false, Text),
    field("mfa_process", false, false, Text),
    field("mfa_totp", false, false, Text),
    field("role_session_name", false, false, Text),
    field("duration", false, false, Duration),
    field("region", false, false, Text),
];
const VAULT_TOKEN: &[FieldSpec] = &[
    field("token", true, true, Text),
    field("addr", false, false, Url),
    field("namespace", false, false, Text),
];
const VAULT_APPROLE: &[FieldSpec] = &[
    field("role_id", false, true, Text),
    field("secret_id", true, true, Text),
    field("addr", false, false, Url),
    field("mount", false, false, Text),
    field("namespace", false, false, Text),
];
/// A path of a Vault/OpenBao secrets engine that hands out leased values
/// (e.g. `database/creds/readonly`), read through a remote's login; `env`
/// maps the values to variables (`username=PGUSER password=PGPASSWORD`).
const VAULT_LEASE: &[FieldSpec] = &[
    field("remote", false, true, Text),
    field("path", false, true, Text),
    field("env", false, false, Text),
];
const DB: &[FieldSpec] = &[
    field("host", false, true, Text),
    field("port", false, false, Port),
    field("user", false, true, Text),
    field("password", true, true, Text),
    field("database", false, false, Text),
    field("engine", false, false, Text),
    // PostgreSQL: disable or verify-full (the default off loopback), and a
    // CA file for a private CA.
    field("sslmode", false, false, Text),
    field("sslrootcert", false, false, Text),
    // Two-role rotation: the idle role of the pair.
    field("alternate_user", false, false, Text),
];
const API_KEY: &[FieldSpec] = &[
    field("key", true, true, Text),
    field("key_id", false, false, Text),
    field("url", false, false, Url),
];
const GCP: &[FieldSpec] = &[
    field("json", true, true, JsonObject),
    field("project_id", false, false, Text),
    field("client_email", false, false, Text),
];
const AZURE: &[FieldSpec] = &[
    field("tenant_id", false, true, Text),
    field("client_id", false, true, Text),
    field("client_secret", true, true, Text),
    field("subscription_id", false, false, Text),
];
/// A TOTP authenticator's seed and settings (an authenticator app's
/// defaults when left out: 6 digits, 30 s, SHA1).
const TOTP: &[FieldSpec] = &[
    field("seed", true, true, Base32Seed),
    field("digits", false, false, OneOf(&["6", "7", "8"])),
    field("period", false, false, Duration),
    field(
        "algorithm",
        false,
        false,
        OneOf(&["SHA1", "SHA256", "SHA512"]),
    ),
    field("issuer", false, false, Text),
    field("account", false, false, Text),
];
const SSH: &[FieldSpec] = &[
    field("private_key", true, true, Text),
    field("public_key", false, false, Text),
    field("passphrase", true, false, Text),
    field("user", false, false, Text),
    field("host", false, false, Text),
];

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::AwsAccessKey,
        Kind::AwsRole,
        Kind::VaultToken,
        Kind::VaultApprole,
        Kind::VaultLease,
        Kind::DbPassword,
        Kind::ApiKey,
        Kind::GcpServiceAccount,
        Kind::AzureServicePrincipal,
        Kind::SshKey,
        Kind::TotpSeed,
        Kind::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AwsAccessKey => "aws-access-key",
            Kind::AwsRole => "aws-role",
            Kind::VaultToken => "vault-token",
            Kind::VaultApprole => "vault-approle",
            Kind::VaultLease => "vault-lease",
            Kind::DbPassword => "db-password",
            Kind::ApiKey => "api-key",
            Kind::GcpServiceAccount => "gcp-service-account",
            Kind::AzureServicePrincipal => "azure-service-principal",
            Kind::SshKey => "ssh-key",
            Kind::TotpSeed => "totp-seed",
            Kind::Generic => "generic",
        }
    }

    /// The kind's fields; empty for `generic`, which takes any field.
    pub fn schema(self) -> &'static [FieldSpec] {
        match self {
            Kind::AwsAccessKey => AWS,
            Kind::AwsRole => AWS_ROLE,
            Kind::VaultToken => VAULT_TOKEN,
            Kind::VaultApprole => VAULT_APPROLE,
            Kind::VaultLease => VAULT_LEASE,
            Kind::DbPassword => DB,
            Kind::ApiKey => API_KEY,
            Kind::GcpServiceAccount => GCP,
            Kind::AzureServicePrincipal => AZURE,
            Kind::SshKey => SSH,
            Kind::TotpSeed => TOTP,
            Kind::Generic => &[],
        }
    }

    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.schema().iter().find(|f| f.name == name)
    }

    /// Whether a field of this kind holds a secret. For `generic`, fields
    /// are secret unless given as plain fields; names that look secret are
    /// treated as secret whatever the kind.
    pub fn is_secret_field(self, name: &str) -> bool {
        match self.field(name) {
            Some(spec) => spec.secret,
            None => looks_secret(name),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                Error::invalid(
                    "kind",
                    format!("unknown kind '{s}' (known kinds: {})", known.join(", ")),
                )
            })
    }
}

/// A field name that by convention holds a secret (`password`, `api_token`,
/// `private_key`, …). Such a field is never accepted on the command line.
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n.ends_with("_id") || n.ends_with("key_id") || n.ends_with("_user") || n == "user" {
        return false;
    }
    const WORDS: [&str; 10] = [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "private",
        "credential",
        "apikey",
        "api_key",
        "pwd",
    ];
    WORDS.iter().any(|w| n.contains(w)) || n == "key" || n.ends_with("_key") || n.ends_with("-key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().expect("parse"), k);
            let json = serde_json::to_string(&k).expect("json");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        let err = "aws".parse::<Kind>().unwrap_err().to_string();
        assert!(
            err.contains("unknown kind 'aws'") && err.contains("aws-access-key"),
            "{err}"
        );
    }

    #[test]
    fn secret_fields_follow_schema_then_names() {
        assert!(Kind::AwsAccessKey.is_secret_field("secret_access_key"));
        assert!(!Kind::AwsAccessKey.is_secret_field("access_key_id"));
        assert!(Kind::Generic.is_secret_field("DB_PASSWORD"));
        assert!(Kind::Generic.is_secret_field("api_key"));
        assert!(!Kind::Generic.is_secret_field("api_key_id"));
        assert!(!Kind::Generic.is_secret_field("region"));
    }

    #[test]
    fn every_kind_but_generic_role_and_lease_has_a_required_secret() {
        // A role's secret is its source's key; a lease's values are issued.
        for k in Kind::ALL {
            let has = k.schema().iter().any(|f| f.secret && f.required);
            assert_eq!(
                has,
                !matches!(k, Kind::Generic | Kind::AwsRole | Kind::VaultLease),
                "{k}"
            );
        }
    }
}
