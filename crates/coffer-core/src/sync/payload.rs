//! How a credential looks on a remote: its fields (plain and secret alike)
//! are the secret's key/value data, and its non-secret labels (kind,
//! environment, tags, which fields are plain) travel as `coffer-*` Vault
//! custom metadata or AWS tags. Other keys a remote carries are ignored.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::credential::{self, CredentialMeta, Secrets};
use crate::crypto;
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::secret::{Key32, SecretValue};

pub(crate) const KIND: &str = "coffer-kind";
pub(crate) const ENV: &str = "coffer-env";
pub(crate) const TAGS: &str = "coffer-tags";
pub(crate) const PLAIN: &str = "coffer-plain";
pub(crate) const LABELS: [&str; 4] = [KIND, ENV, TAGS, PLAIN];

/// A remote secret's content.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Payload {
    pub fields: BTreeMap<String, SecretValue>,
    pub labels: BTreeMap<String, String>,
}

/// Keeps only Coffer's own labels from a remote's metadata or tags.
pub(crate) fn coffer_labels<'a>(
    all: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, String> {
    all.into_iter()
        .filter(|(k, _)| LABELS.contains(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A short digest of labels, so a label-only change on the remote is seen.
pub(crate) fn labels_digest(labels: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<&[u8]> = Vec::new();
    for (k, v) in labels {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    hex::encode(&crypto::digest(&parts)[..8])
}

impl Payload {
    /// The remote form of a local credential.
    pub fn from_local(meta: &CredentialMeta, secrets: &Secrets) -> Payload {
        let mut fields: BTreeMap<String, SecretValue> = secrets.0.clone();
        let mut plain = Vec::new();
        for (k, v) in &meta.fields {
            fields.insert(k.clone(), SecretValue::from(v.as_str()));
            if meta.kind.field(k).is_none_or(|spec| spec.secret) {
                plain.push(k.as_str());
            }
        }
        let mut labels = BTreeMap::new();
        labels.insert(KIND.to_owned(), meta.kind.as_str().to_owned());
        if let Some(env) = &meta.env {
            labels.insert(ENV.to_owned(), env.clone());
        }
        if !meta.tags.is_empty() {
            labels.insert(TAGS.to_owned(), meta.tags.join(" "));
        }
        if !plain.is_empty() {
            labels.insert(PLAIN.to_owned(), plain.join(" "));
        }
        Payload { fields, labels }
    }

    /// The local form of this remote content for credential `name`. With
    /// `base`, the local-only properties (notes, expiry, policy, rotation
    /// date) are kept from it.
    pub fn to_local(
        &self,
        name: &str,
        base: Option<&CredentialMeta>,
    ) -> Result<(CredentialMeta, Secrets)> {
        let kind = match self.labels.get(KIND) {
            Some(k) => k.parse::<Kind>().unwrap_or(Kind::Generic),
            None => Kind::Generic,
        };
        let plain: Vec<&str> = self
            .labels
            .get(PLAIN)
            .map(|p| p.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let mut meta = CredentialMeta {
            name: name.to_owned(),
            kind,
            env: self.labels.get(ENV).filter(|e| !e.is_empty()).cloned(),
            tags: self
                .labels
                .get(TAGS)
                .map(|t| {
                    t.split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            notes: base.and_then(|b| b.notes.clone()),
            fields: BTreeMap::new(),
            secret_fields: Vec::new(),
            expires_at: base.and_then(|b| b.expires_at),
            rotated_at: base.and_then(|b| b.rotated_at),
            policy: base.and_then(|b| b.policy),
            compromised_at: base.and_then(|b| b.compromised_at),
            arrived: None,
            trashed_at: None,
        };
        let mut secrets = Secrets::default();
        for (k, v) in &self.fields {
            let is_plain =
                plain.contains(&k.as_str()) || kind.field(k).is_some_and(|spec| !spec.secret);
            if is_plain {
                meta.fields.insert(k.clone(), v.expose_secret().to_owned());
            } else {
                secrets.0.insert(k.clone(), v.clone());
            }
        }
        credential::normalize(&mut meta, &secrets);
        credential::validate(&meta, &secrets)?;
        Ok((meta, secrets))
    }

    /// The fields as one JSON object (Vault's `data`, AWS's SecretString),
    /// written straight into a buffer that is wiped when dropped.
    pub fn fields_json(&self) -> Zeroizing<String> {
        let map: BTreeMap<&str, &str> = self
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let size: usize = map.iter().map(|(k, v)| 2 * (k.len() + v.len()) + 8).sum();
        let mut buf = Zeroizing::new(Vec::with_capacity(size + 2));
        // Writing strings to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, &map);
        Zeroizing::new(String::from_utf8(std::mem::take(&mut *buf)).unwrap_or_default())
    }

    /// Fields from a remote's JSON object; numbers and booleans written by
    /// other clients become their text, nested values their JSON.
    pub fn fields_from_json(value: &Value, what: &str) -> Result<BTreeMap<String, SecretValue>> {
        let Value::Object(map) = value else {
            return Err(Error::invalid(
                what.to_owned(),
                "the remote secret is not a JSON object of fields",
            ));
        };
        Ok(map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k.clone(), SecretValue::new(text))
            })
            .collect())
    }
}

/// A keyed digest of what a credential holds that travels to a remote (kind,
/// environment, tags, fields and values), so both sides can be compared
/// without keeping a copy; keyed, so it says nothing about the values.
pub(crate) fn content_digest(key: &Key32, meta: &CredentialMeta, secrets: &Secrets) -> String {
    let mut parts: Vec<Vec<u8>> = vec![
        b"coffer/v1/sync-content".to_vec(),
        meta.kind.as_str().as_bytes().to_vec(),
        meta.env.clone().unwrap_or_default().into_bytes(),
        meta.tags.join(" ").into_bytes(),
    ];
    for (k, v) in &meta.fields {
        parts.push(format!("p:{k}").into_bytes());
        parts.push(v.as_bytes().to_vec());
    }
    let mut secret_parts: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    for (k, v) in &secrets.0 {
        secret_parts.push(Zeroizing::new(format!("s:{k}").into_bytes()));
        secret_parts.push(Zeroizing::new(v.expose_secret().as_bytes().to_vec()));
    }
    let all: Vec<&[u8]> = parts
        .iter()
        .map(Vec::as_slice)
        .chain(secret_parts.iter().map(|p| p.as_slice()))
        .collect();
    hex::encode(crypto::mac(key, &all))
}

/// The later of two optional dates.
pub(crate) fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: Kind) -> CredentialMeta {
        CredentialMeta {
            env: Some("prod".into()),
            tags: vec!["team-a".into(), "web".into()],
            notes: Some("local note".into()),
            ..CredentialMeta::bare("app/db", kind)
        }
    }

    #[test]
    fn a_credential_survives_the_round_trip_through_its_remote_form() {
        let mut m = meta(Kind::DbPassword);
        m.fields.insert("host".into(), "db.internal".into());
        m.fields.insert("user".into(), "app".into());
        let mut s = Secrets::default();
        s.0.insert("password".into(), SecretValue::from("hunter2"));
        credential::normalize(&mut m, &s);
        let p = Payload::from_local(&m, &s);
        assert_eq!(p.labels.get(KIND).map(String::as_str), Some("db-password"));
        assert!(
            !p.labels.contains_key(PLAIN),
            "schema-plain fields need no label"
        );
        let (back, back_s) = p.to_local("app/db", Some(&m)).unwrap();
        assert_eq!(back, m);
        assert_eq!(back_s, s);
        let key = Key32::from_bytes([7; 32]);
        assert_eq!(
            content_digest(&key, &m, &s),
            content_digest(&key, &back, &back_s)
        );
    }

    #[test]
    fn generic_plain_fields_are_named_in_a_label_and_restored_as_plain() {
        let mut m = meta(Kind::Generic);
        m.fields.insert("url".into(), "https://x".into());
        let mut s = Secrets::default();
        s.0.insert("token".into(), SecretValue::from("t0k"));
        credential::normalize(&mut m, &s);
        let p = Payload::from_local(&m, &s);
        assert_eq!(p.labels.get(PLAIN).map(String::as_str), Some("url"));
        let (back, back_s) = p.to_local("app/db", None).unwrap();
        assert_eq!(
            back.fields.get("url").map(String::as_str),
            Some("https://x")
        );
        assert!(back_s.0.contains_key("token"));
        assert_eq!(back.notes, None, "notes stay local");
    }

    #[test]
    fn foreign_secrets_map_to_generic_with_every_value_secret() {
        let value: Value = serde_json::json!({"password": "p", "port": 5432, "on": true});
        let fields = Payload::fields_from_json(&value, "x").unwrap();
        let p = Payload {
            fields,
            labels: BTreeMap::new(),
        };
        let (m, s) = p.to_local("legacy", None).unwrap();
        assert_eq!(m.kind, Kind::Generic);
        assert_eq!(s.0.get("port").map(|v| v.expose_secret()), Some("5432"));
        assert!(m.fields.is_empty());
    }

    #[test]
    fn a_different_value_changes_the_digest_and_the_key_matters() {
        let m = meta(Kind::Generic);
        let mut a = Secrets::default();
        a.0.insert("k".into(), SecretValue::from("1"));
        let mut b = Secrets::default();
        b.0.insert("k".into(), SecretValue::from("2"));
        let k1 = Key32::from_bytes([1; 32]);
        let k2 = Key32::from_bytes([2; 32]);
        assert_ne!(content_digest(&k1, &m, &a), content_digest(&k1, &m, &b));
        assert_ne!(content_digest(&k1, &m, &a), content_digest(&k2, &m, &a));
    }

    #[test]
    fn label_digest_sees_a_label_change() {
        let mut l = BTreeMap::new();
        l.insert(KIND.to_owned(), "generic".to_owned());
        let a = labels_digest(&l);
        l.insert(ENV.to_owned(), "dev".to_owned());
        assert_ne!(a, labels_digest(&l));
    }
}
