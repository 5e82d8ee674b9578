//! The credential model: what a credential holds, the input that creates or
//! changes one, and the validation every write goes through.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kind::{FieldFormat, Kind};
use crate::secret::SecretValue;

/// Longest credential name, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Largest value of one field, in bytes (1 MiB).
pub const MAX_VALUE_LEN: usize = 1024 * 1024;
/// Longest notes, in bytes (64 KiB).
pub const MAX_NOTES_LEN: usize = 64 * 1024;
pub const MAX_FIELDS: usize = 64;
pub const MAX_FIELD_NAME_LEN: usize = 64;
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_LEN: usize = 64;
pub const MAX_ENV_LEN: usize = 32;

/// A credential's random 128-bit id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(pub [u8; 16]);

impl CredentialId {
    pub fn random() -> Result<Self> {
        let mut id = [0u8; 16];
        crate::crypto::random_bytes(&mut id)?;
        Ok(Self(id))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Secret values as JSON strings, for the one place they are serialized:
/// a [`Draft`] or [`Patch`] sent to the agent (the request's buffer is
/// wiped on both sides). [`SecretValue`] itself has no `Serialize`.
pub mod exposed {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::SecretValue;

    pub fn serialize<S: Serializer>(
        values: &BTreeMap<String, SecretValue>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(values.iter().map(|(k, v)| (k, v.expose_secret())))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<BTreeMap<String, SecretValue>, D::Error> {
        BTreeMap::deserialize(d)
    }
}

/// A [`Patch`]'s `Option<Option<T>>` as JSON: absent leaves the property,
/// `null` clears it, a value sets it.
mod set_or_clear {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<Option<T>>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> std::result::Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// As its hex text (between the agent and its clients).
impl Serialize for CredentialId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for CredentialId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text)
            .ok()
            .and_then(|b| CredentialId::from_slice(&b))
            .ok_or_else(|| serde::de::Error::custom("a credential id is 32 hex digits"))
    }
}

impl fmt::Debug for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialId({self})")
    }
}

/// Everything about a credential except its secret values. Stored encrypted;
/// holds no secret, so it may be shown and searched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialMeta {
    pub name: String,
    pub kind: Kind,
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Non-secret fields and their values.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Names of the secret fields (their values are in [`Secrets`]).
    #[serde(default)]
    pub secret_fields: Vec<String>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub rotated_at: Option<DateTime<Utc>>,
    /// This credential's own rotation policy, overriding every other.
    #[serde(default)]
    pub policy: Option<Policy>,
    /// Set by an emergency revoke: the value must be treated as leaked.
    #[serde(default)]
    pub compromised_at: Option<DateTime<Utc>>,
    /// Where this version's fields came from when Coffer did not write them
    /// from the person's own input (a pull from a remote, an import): shown
    /// until the person reviews them (`Vault::mark_reviewed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrived: Option<Arrival>,
    /// Set when the credential was deleted into the trash (see
    /// `vault/trash.rs`): sealed with the rest, so the trash is a state the
    /// key vouches for, not only where the row is filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trashed_at: Option<DateTime<Utc>>,
}

impl CredentialMeta {
    /// A credential's meta with its name and kind and nothing else set.
    pub fn bare(name: impl Into<String>, kind: Kind) -> CredentialMeta {
        CredentialMeta {
            name: name.into(),
            kind,
            env: None,
            tags: Vec::new(),
            notes: None,
            fields: BTreeMap::new(),
            secret_fields: Vec::new(),
            expires_at: None,
            rotated_at: None,
            policy: None,
            compromised_at: None,
            arrived: None,
            trashed_at: None,
        }
    }

    /// What `field` is in this credential: a plain value (read without a
    /// reveal), a secret one (read only by revealing it), or none of its
    /// fields, which are then listed (sorted) for the error.
    pub fn field(&self, field: &str) -> FieldIs<'_> {
        if let Some(value) = self.fields.get(field) {
            return FieldIs::Plain(value);
        }
        if self.secret_fields.iter().any(|f| f == field) {
            return FieldIs::Secret;
        }
        let mut known: Vec<String> = self
            .fields
            .keys()
            .chain(&self.secret_fields)
            .cloned()
            .collect();
        known.sort();
        FieldIs::Missing(known)
    }
}

/// See [`CredentialMeta::field`].
#[derive(Debug, PartialEq, Eq)]
pub enum FieldIs<'a> {
    Plain(&'a str),
    Secret,
    Missing(Vec<String>),
}

/// How a version of a credential arrived from elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    /// "pull from remote 'team'", "import from creds.csv".
    pub via: String,
    pub at: DateTime<Utc>,
}

/// The secret field values of a credential. `Debug` shows only the names.
#[derive(Clone, Default, PartialEq)]
pub struct Secrets(pub BTreeMap<String, SecretValue>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "[REDACTED]")))
            .finish()
    }
}

/// A stored credential's current version, without its secret values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub id: CredentialId,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub meta: CredentialMeta,
}

/// The input of a new credential. `fields` come from plain input (argv);
/// `values` from secret input (stdin or a hidden prompt) and are routed to
/// secret or plain fields by the kind's schema.
///
/// It crosses the agent's socket as JSON (a command adding through the
/// agent): the secret values then travel exposed, in wiped buffers, and
/// only there (see [`exposed`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Draft {
    pub name: String,
    pub kind: Kind,
    pub env: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub fields: BTreeMap<String, String>,
    #[serde(with = "exposed")]
    pub values: BTreeMap<String, SecretValue>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub policy: Option<Policy>,
}

impl Draft {
    pub fn new(name: impl Into<String>, kind: Kind) -> Self {
        Draft {
            name: name.into(),
            kind,
            env: None,
            tags: Vec::new(),
            notes: None,
            fields: BTreeMap::new(),
            values: BTreeMap::new(),
            expires_at: None,
            rotated_at: None,
            policy: None,
        }
    }

    /// Checks the plain part of the input (name, labels, notes, plain
    /// fields) before any secret is asked for; required fields are checked
    /// later by [`Draft::into_parts`].
    pub fn check_plain_input(&self) -> Result<()> {
        let mut meta = CredentialMeta {
            env: self.env.clone(),
            tags: self.tags.clone(),
            notes: self.notes.clone(),
            ..CredentialMeta::bare(self.name.clone(), self.kind)
        };
        let mut secrets = Secrets::default();
        for (name, value) in &self.fields {
            set_plain_field(&mut meta, &mut secrets, name.clone(), value.clone())?;
            check_value(self.kind, name, value, false)?;
        }
        validate_properties(&meta)
    }

    /// Builds the validated metadata and secrets.
    pub fn into_parts(self) -> Result<(CredentialMeta, Secrets)> {
        let mut meta = CredentialMeta {
            name: self.name,
            kind: self.kind,
            env: self.env,
            tags: self.tags,
            notes: self.notes,
            fields: BTreeMap::new(),
            secret_fields: Vec::new(),
            expires_at: self.expires_at,
            rotated_at: self.rotated_at,
            policy: self.policy,
            compromised_at: None,
            arrived: None,
            trashed_at: None,
        };
        let mut secrets = Secrets::default();
        for (name, value) in self.fields {
            set_plain_field(&mut meta, &mut secrets, name, value)?;
        }
        for (name, value) in self.values {
            set_input_value(&mut meta, &mut secrets, name, value)?;
        }
        normalize(&mut meta, &secrets);
        validate(&meta, &secrets)?;
        Ok((meta, secrets))
    }
}

/// A change to a stored credential. `None` leaves a property as it is.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Patch {
    pub rename: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "set_or_clear"
    )]
    pub env: Option<Option<String>>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    /// The whole set of tags after the change (an editor's form), applied
    /// before `add_tags`/`remove_tags`.
    pub tags: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "set_or_clear"
    )]
    pub notes: Option<Option<String>>,
    pub fields: BTreeMap<String, String>,
    #[serde(with = "exposed")]
    pub values: BTreeMap<String, SecretValue>,
    pub unset: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "set_or_clear"
    )]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "set_or_clear"
    )]
    pub rotated_at: Option<Option<DateTime<Utc>>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "set_or_clear"
    )]
    pub policy: Option<Option<Policy>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "set_or_clear"
    )]
    pub compromised_at: Option<Option<DateTime<Utc>>>,
    /// Refuse the change unless the stored credential is at this version.
    pub expected_version: Option<u64>,
}

impl Patch {
    /// Applies the patch to a credential's metadata and secrets, then validates.
    pub fn apply(
        &self,
        meta: &CredentialMeta,
        secrets: &Secrets,
    ) -> Result<(CredentialMeta, Secrets)> {
        let mut meta = meta.clone();
        let mut secrets = secrets.clone();
        if let Some(name) = &self.rename {
            meta.name = name.clone();
        }
        if let Some(env) = &self.env {
            meta.env = env.clone();
        }
        if let Some(tags) = &self.tags {
            meta.tags = tags.clone();
        }
        meta.tags.retain(|t| !self.remove_tags.contains(t));
        meta.tags.extend(self.add_tags.iter().cloned());
        if let Some(notes) = &self.notes {
            meta.notes = notes.clone();
        }
        for name in &self.unset {
            let had_plain = meta.fields.remove(name).is_some();
            let had_secret = secrets.0.remove(name).is_some();
            if !had_plain && !had_secret {
                return Err(Error::invalid(
                    format!("field '{name}'"),
                    format!("credential '{}' has no such field to remove", meta.name),
                ));
            }
        }
        for (name, value) in &self.fields {
            set_plain_field(&mut meta, &mut secrets, name.clone(), value.clone())?;
        }
        for (name, value) in &self.values {
            set_input_value(&mut meta, &mut secrets, name.clone(), value.clone())?;
        }
        if let Some(expires_at) = self.expires_at {
            meta.expires_at = expires_at;
        }
        if let Some(rotated_at) = self.rotated_at {
            meta.rotated_at = rotated_at;
        }
        if let Some(policy) = self.policy {
            meta.policy = policy;
        }
        if let Some(compromised_at) = self.compromised_at {
            meta.compromised_at = compromised_at;
        }
        normalize(&mut meta, &secrets);
        validate(&meta, &secrets)?;
        Ok((meta, secrets))
    }
}

/// A field given as plain input: refused when the kind (or its name) says secret.
fn set_plain_field(
    meta: &mut CredentialMeta,
    secrets: &mut Secrets,
    name: String,
    value: String,
) -> Result<()> {
    check_field_name(meta.kind, &name)?;
    if meta.kind.is_secret_field(&name) {
        return Err(Error::invalid(
            format!("field '{name}'"),
            "it holds a secret, so it is not accepted on the command line; pass it as JSON on stdin or at the hidden prompt",
        ));
    }
    secrets.0.remove(&name);
    meta.fields.insert(name, value);
    Ok(())
}

/// A field given as secret input: secret unless the kind's schema says plain.
fn set_input_value(
    meta: &mut CredentialMeta,
    secrets: &mut Secrets,
    name: String,
    value: SecretValue,
) -> Result<()> {
    check_field_name(meta.kind, &name)?;
    let plain = meta.kind.field(&name).is_some_and(|spec| !spec.secret);
    if plain {
        secrets.0.remove(&name);
        meta.fields.insert(name, value.expose_secret().to_owned());
    } else {
        meta.fields.remove(&name);
        secrets.0.insert(name, value);
    }
    Ok(())
}

fn check_field_name(kind: Kind, name: &str) -> Result<()> {
    let what = || format!("field name '{}'", printable(name));
    if name.is_empty() || name.len() > MAX_FIELD_NAME_LEN {
        return Err(Error::invalid(
            what(),
            format!("must be 1 to {MAX_FIELD_NAME_LEN} characters"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::invalid(
            what(),
            "use letters, digits, '_', '-' and '.' only",
        ));
    }
    if kind != Kind::Generic && kind.field(name).is_none() {
        let known: Vec<&str> = kind.schema().iter().map(|f| f.name).collect();
        return Err(Error::invalid(
            format!("field '{name}'"),
            format!(
                "kind {kind} has no such field (its fields: {})",
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

pub(crate) fn normalize(meta: &mut CredentialMeta, secrets: &Secrets) {
    let tags: BTreeSet<String> = meta.tags.drain(..).collect();
    meta.tags = tags.into_iter().collect();
    meta.secret_fields = secrets.0.keys().cloned().collect();
    if meta.notes.as_deref() == Some("") {
        meta.notes = None;
    }
}

/// Checks a credential against its kind's schema and the size limits.
pub fn validate(meta: &CredentialMeta, secrets: &Secrets) -> Result<()> {
    validate_properties(meta)?;
    validate_fields(meta, secrets)
}

/// Name, environment, tags and notes.
fn validate_properties(meta: &CredentialMeta) -> Result<()> {
    validate_name(&meta.name)?;
    if let Some(env) = &meta.env {
        validate_label("environment", env, MAX_ENV_LEN)?;
    }
    if meta.tags.len() > MAX_TAGS {
        return Err(Error::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags per credential"),
        ));
    }
    for tag in &meta.tags {
        validate_label("tag", tag, MAX_TAG_LEN)?;
    }
    if let Some(notes) = &meta.notes {
        if notes.len() > MAX_NOTES_LEN {
            return Err(Error::invalid(
                "notes",
                format!(
                    "{} bytes is over the limit of {MAX_NOTES_LEN} bytes",
                    notes.len()
                ),
            ));
        }
        if notes
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(Error::invalid(
                "notes",
                "control characters are not allowed",
            ));
        }
    }
    Ok(())
}

fn validate_fields(meta: &CredentialMeta, secrets: &Secrets) -> Result<()> {
    let count = meta.fields.len() + secrets.0.len();
    if count > MAX_FIELDS {
        return Err(Error::invalid(
            "fields",
            format!("at most {MAX_FIELDS} fields per credential"),
        ));
    }
    if meta.kind == Kind::Generic && count == 0 {
        return Err(Error::invalid(
            "fields",
            "a generic credential needs at least one field (secret values as JSON on stdin, plain ones with --field)",
        ));
    }
    for spec in meta.kind.schema() {
        let present = if spec.secret {
            secrets.0.contains_key(spec.name)
        } else {
            meta.fields.contains_key(spec.name)
        };
        if spec.required && !present {
            let how = if spec.secret {
                "as JSON on stdin or at the hidden prompt"
            } else {
                "with --field"
            };
            return Err(Error::invalid(
                format!("credential '{}'", meta.name),
                format!(
                    "kind {} requires field '{}' (give it {how})",
                    meta.kind, spec.name
                ),
            ));
        }
    }
    for (name, value) in &meta.fields {
        check_value(meta.kind, name, value, false)?;
    }
    for (name, value) in &secrets.0 {
        check_value(meta.kind, name, value.expose_secret(), true)?;
    }
    check_mfa(meta)
}

/// An AWS credential's MFA codes come from one place: `mfa_totp` (a
/// totp-seed credential's name) goes with `mfa_serial` and not with
/// `mfa_process`.
fn check_mfa(meta: &CredentialMeta) -> Result<()> {
    let has = |f: &str| meta.fields.contains_key(f);
    if !has("mfa_totp") {
        return Ok(());
    }
    let what = || format!("credential '{}'", meta.name);
    if !has("mfa_serial") {
        return Err(Error::invalid(
            what(),
            "mfa_totp makes codes for an MFA device: set mfa_serial (the device's ARN) too",
        ));
    }
    if has("mfa_process") {
        return Err(Error::invalid(
            what(),
            "mfa_totp and mfa_process both give MFA codes: keep one",
        ));
    }
    if meta.fields.get("mfa_totp") == Some(&meta.name) {
        return Err(Error::invalid(
            what(),
            "mfa_totp names a totp-seed credential, not this one",
        ));
    }
    Ok(())
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`, as STS AssumeRole takes it.
fn is_role_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
}

/// Never echoes a value: a secret's content must not reach an error message.
fn check_value(kind: Kind, name: &str, value: &str, secret: bool) -> Result<()> {
    let what = || format!("field '{name}'");
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::invalid(
            what(),
            format!(
                "{} bytes is over the limit of {MAX_VALUE_LEN} bytes (1 MiB)",
                value.len()
            ),
        ));
    }
    if value.is_empty() {
        return Err(Error::invalid(
            what(),
            "the value is empty; use --unset to remove a field",
        ));
    }
    if !secret
        && value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::invalid(
            what(),
            "control characters are not allowed in a plain field",
        ));
    }
    let format = kind
        .field(name)
        .map(|f| f.format)
        .unwrap_or(FieldFormat::Text);
    let ok = match format {
        FieldFormat::Text => true,
        FieldFormat::Port => value.parse::<u16>().is_ok_and(|p| p > 0),
        FieldFormat::AwsKeyId => {
            (16..=128).contains(&value.len())
                && value
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        }
        FieldFormat::JsonObject => {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(value).is_ok()
        }
        FieldFormat::Url => value.starts_with("https://") || value.starts_with("http://"),
        FieldFormat::RoleArn => is_role_arn(value),
        FieldFormat::Duration => crate::time::parse_span(value).is_some(),
        FieldFormat::Base32Seed => crate::totp::decode_seed(value).is_ok(),
        FieldFormat::OneOf(words) => words.contains(&value),
    };
    if ok {
        return Ok(());
    }
    let expected = match format {
        FieldFormat::Port => "a port number from 1 to 65535".into(),
        FieldFormat::AwsKeyId => {
            "an AWS access key id (16 to 128 upper-case letters and digits, e.g. AKIA…)".into()
        }
        FieldFormat::JsonObject => "a JSON object".into(),
        FieldFormat::Url => "an http:// or https:// URL".into(),
        FieldFormat::RoleArn => "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)".into(),
        FieldFormat::Duration => "a length of time (3600, 90s, 30m, 12h)".into(),
        FieldFormat::Base32Seed => format!(
            "a TOTP seed: base32 (A-Z, 2-7) of at least {} bytes",
            crate::totp::MIN_SEED_BYTES
        ),
        FieldFormat::OneOf(words) => format!("one of {}", words.join(", ")),
        FieldFormat::Text => "text".into(),
    };
    if secret {
        Err(Error::invalid(
            what(),
            format!("the value is not {expected}"),
        ))
    } else {
        Err(Error::invalid(
            what(),
            format!("'{}' is not {expected}", printable(value)),
        ))
    }
}

/// Checks a credential name: 1–256 bytes, path-like segments separated by
/// `/`, no empty segment, no surrounding spaces, no control characters.
pub fn validate_name(name: &str) -> Result<()> {
    let what = || format!("name '{}'", printable(name));
    if name.is_empty() {
        return Err(Error::invalid("name", "the name is empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid(
            "name",
            format!(
                "{} bytes is over the limit of {MAX_NAME_LEN} bytes",
                name.len()
            ),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(what(), "control characters are not allowed"));
    }
    if name.trim() != name {
        return Err(Error::invalid(
            what(),
            "leading or trailing spaces are not allowed",
        ));
    }
    if name
        .split('/')
        .any(|seg| seg.is_empty() || seg.trim() != seg)
    {
        return Err(Error::invalid(
            what(),
            "segments are separated by single '/', with no empty segment and no '/' at either end",
        ));
    }
    Ok(())
}

/// Checks one tag as a credential's tags are checked.
pub fn check_tag(tag: &str) -> Result<()> {
    validate_label("tag", tag, MAX_TAG_LEN)
}

fn validate_label(what: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() || value.len() > max {
        return Err(Error::invalid(
            format!("{what} '{}'", printable(value)),
            format!("must be 1 to {max} characters"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '='))
    {
        return Err(Error::invalid(
            format!("{what} '{}'", printable(value)),
            "use letters, digits and - _ . / : = only",
        ));
    }
    Ok(())
}

/// A user-supplied plain string made safe to show in a message: control
/// characters escaped, long text cut.
pub fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_default).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// How old a credential may get, and how early to warn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub max_age_days: u32,
    pub warn_days: u32,
}

impl Policy {
    pub fn new(max_age_days: u32, warn_days: u32) -> Result<Policy> {
        if max_age_days == 0 || max_age_days > 36_500 {
            return Err(Error::invalid("maximum age", "must be 1 to 36500 days"));
        }
        if warn_days >= max_age_days {
            return Err(Error::invalid(
                "warning window",
                format!(
                    "{warn_days} days is not shorter than the maximum age of {max_age_days} days"
                ),
            ));
        }
        Ok(Policy {
            max_age_days,
            warn_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_plain_secret_or_missing_with_the_fields_listed() {
        let mut meta = CredentialMeta::bare("db", Kind::Generic);
        meta.fields.insert("user".into(), "app".into());
        meta.secret_fields = vec!["password".into()];
        assert_eq!(meta.field("user"), FieldIs::Plain("app"));
        assert_eq!(meta.field("password"), FieldIs::Secret);
        assert_eq!(
            meta.field("host"),
            FieldIs::Missing(vec!["password".into(), "user".into()])
        );
    }

    fn aws_draft() -> Draft {
        let mut d = Draft::new("aws/prod/deploy", Kind::AwsAccessKey);
        d.fields
            .insert("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into());
        d.values
            .insert("secret_access_key".into(), "wJalrXUtnFEMI/K7MDENG".into());
        d.tags = vec!["b".into(), "a".into(), "a".into()];
        d
    }

    #[test]
    fn draft_routes_and_normalizes() {
        let (meta, secrets) = aws_draft().into_parts().expect("valid");
        assert_eq!(meta.tags, vec!["a", "b"]);
        assert_eq!(meta.secret_fields, vec!["secret_access_key"]);
        assert!(meta.fields.contains_key("access_key_id"));
        assert_eq!(
            format!("{secrets:?}"),
            "{\"secret_access_key\": \"[REDACTED]\"}"
        );
    }

    #[test]
    fn plain_values_on_stdin_go_to_plain_fields() {
        let mut d = Draft::new("db/main", Kind::DbPassword);
        for (k, v) in [
            ("host", "db.local"),
            ("user", "app"),
            ("password", "pw"),
            ("port", "5432"),
        ] {
            d.values.insert(k.into(), v.into());
        }
        let (meta, secrets) = d.into_parts().expect("valid");
        assert_eq!(meta.fields.len(), 3);
        assert_eq!(secrets.0.len(), 1);
    }

    #[test]
    fn secret_on_argv_is_refused() {
        let mut d = aws_draft();
        d.fields.insert("secret_access_key".into(), "x".into());
        let err = d.into_parts().unwrap_err().to_string();
        assert!(err.contains("not accepted on the command line"), "{err}");
        let mut g = Draft::new("x", Kind::Generic);
        g.fields.insert("DB_PASSWORD".into(), "hunter2".into());
        let err = g.into_parts().unwrap_err().to_string();
        assert!(
            err.contains("DB_PASSWORD") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn missing_unknown_and_bad_fields() {
        let mut d = Draft::new("x", Kind::AwsAccessKey);
        d.fields
            .insert("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into());
        assert!(d
            .clone()
            .into_parts()
            .unwrap_err()
            .to_string()
            .contains("requires field 'secret_access_key'"));
        d.fields.insert("colour".into(), "blue".into());
        assert!(d
            .into_parts()
            .unwrap_err()
            .to_string()
            .contains("has no such field"));
        let mut p = Draft::new("db", Kind::DbPassword);
        for (k, v) in [
            ("host", "h"),
            ("user", "u"),
            ("password", "p"),
            ("port", "99999"),
        ] {
            p.values.insert(k.into(), v.into());
        }
        assert!(p
            .into_parts()
            .unwrap_err()
            .to_string()
            .contains("port number"));
    }

    #[test]
    fn oversize_secret_is_refused_without_echo() {
        let mut d = Draft::new("big", Kind::ApiKey);
        d.values
            .insert("key".into(), "k".repeat(MAX_VALUE_LEN + 1).into());
        let err = d.into_parts().unwrap_err().to_string();
        assert!(err.contains("over the limit") && err.len() < 200, "{err}");
    }

    #[test]
    fn names() {
        for ok in [
            "a",
            "aws/prod/deploy",
            "team 1/key",
            &"x".repeat(MAX_NAME_LEN),
        ] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " a",
            "a ",
            "/a",
            "a/",
            "a//b",
            "a\nb",
            "a\u{7}",
            &"x".repeat(MAX_NAME_LEN + 1),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        let err = validate_name("a\nb").unwrap_err().to_string();
        assert!(err.contains("a\\nb"), "{err}");
    }

    #[test]
    fn patch_applies_and_revalidates() {
        let (meta, secrets) = aws_draft().into_parts().expect("valid");
        let mut patch = Patch {
            add_tags: vec!["c".into()],
            remove_tags: vec!["a".into()],
            notes: Some(Some("rotated by ops".into())),
            ..Patch::default()
        };
        patch.values.insert("session_token".into(), "tok".into());
        let (m2, s2) = patch.apply(&meta, &secrets).expect("valid");
        assert_eq!(m2.tags, vec!["b", "c"]);
        assert_eq!(m2.secret_fields, vec!["secret_access_key", "session_token"]);
        assert_eq!(s2.0.len(), 2);
        let remove_required = Patch {
            unset: vec!["secret_access_key".into()],
            ..Patch::default()
        };
        assert!(remove_required.apply(&meta, &secrets).is_err());
        let remove_missing = Patch {
            unset: vec!["region".into()],
            ..Patch::default()
        };
        assert!(remove_missing
            .apply(&meta, &secrets)
            .unwrap_err()
            .to_string()
            .contains("no such field"));
    }
}
