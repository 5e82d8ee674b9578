//! Which credentials a session is made through: the one asked for, then
//! its source, its source's source, down to the aws-access-key whose
//! long-lived key starts it all. Pure over a lookup, so it is tested
//! without a vault.

use crate::credential::Credential;
use crate::crypto;
use crate::error::{Error, Result};
use crate::kind::Kind;

/// The most links a chain may have (the key and four roles): AWS itself
/// limits role chaining to one hour sessions, and a longer chain is more
/// likely a mistake than a design.
pub const MAX_LINKS: usize = 5;

/// The chain of `name`: `[asked, its source, …, the key]`. Errors name the
/// credential and what is wrong with its source: missing, the wrong kind,
/// a cycle, or too long a chain.
pub fn resolve(get: impl Fn(&str) -> Result<Credential>, name: &str) -> Result<Vec<Credential>> {
    let first = get(name)?;
    super::check_kind(name, &first)?;
    let mut chain = vec![first];
    loop {
        let last = chain.last().expect("never empty");
        if last.meta.kind == Kind::AwsAccessKey {
            return Ok(chain);
        }
        let role = last.meta.name.clone();
        let what = || format!("aws-role '{role}'");
        let source = last.meta.fields.get("source").cloned().ok_or_else(|| {
            Error::invalid(
                what(),
                "it names no source (the credential its role is assumed with)",
            )
        })?;
        let next = match get(&source) {
            Ok(c) => c,
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid(
                    what(),
                    format!("its source '{source}' does not exist"),
                ))
            }
            Err(e) => return Err(e),
        };
        if chain.iter().any(|c| c.id == next.id) {
            let mut names: Vec<&str> = chain.iter().map(|c| c.meta.name.as_str()).collect();
            names.push(&next.meta.name);
            return Err(Error::invalid(
                what(),
                format!("its sources go round in a circle: {}", names.join(" → ")),
            ));
        }
        if !matches!(next.meta.kind, Kind::AwsAccessKey | Kind::AwsRole) {
            return Err(Error::invalid(
                what(),
                format!(
                    "its source '{source}' is a {} credential; a source is an aws-access-key or \
                     another aws-role",
                    next.meta.kind
                ),
            ));
        }
        if chain.len() == MAX_LINKS {
            return Err(Error::invalid(
                what(),
                format!("its chain of sources is longer than {MAX_LINKS} links"),
            ));
        }
        chain.push(next);
    }
}

/// What each link's session depends on, as a digest per link (same order
/// as the chain): a kept session whose binding differs (the key rotated, a
/// role's ARN, external id, MFA device, session name or duration changed,
/// a source swapped) was made for something else and is not served.
pub fn bindings(chain: &[Credential]) -> Vec<String> {
    const SETTINGS: [&str; 7] = [
        "access_key_id",
        "role_arn",
        "external_id",
        "mfa_serial",
        "role_session_name",
        "duration",
        "region",
    ];
    let mut below = String::new();
    let mut out: Vec<String> = chain
        .iter()
        .rev()
        .map(|c| {
            let id = c.id.to_string();
            let mut parts: Vec<&[u8]> = vec![
                below.as_bytes(),
                c.meta.kind.as_str().as_bytes(),
                id.as_bytes(),
            ];
            for s in SETTINGS {
                parts.push(s.as_bytes());
                parts.push(c.meta.fields.get(s).map_or(&b"\0"[..], |v| v.as_bytes()));
            }
            below = hex::encode(crypto::digest(&parts));
            below.clone()
        })
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{CredentialId, CredentialMeta};
    use chrono::Utc;
    use std::collections::BTreeMap;

    fn cred(n: u8, name: &str, kind: Kind, source: Option<&str>) -> Credential {
        let mut meta = CredentialMeta::bare(name, kind);
        if let Some(s) = source {
            meta.fields.insert("source".into(), s.into());
            meta.fields.insert(
                "role_arn".into(),
                format!("arn:aws:iam::123456789012:role/{name}"),
            );
        } else if kind == Kind::AwsAccessKey {
            meta.fields
                .insert("access_key_id".into(), "AKIAEXAMPLEEXAMPLE".into());
        }
        Credential {
            id: CredentialId([n; 16]),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            meta,
        }
    }

    fn vault(creds: Vec<Credential>) -> impl Fn(&str) -> Result<Credential> {
        let by_name: BTreeMap<String, Credential> = creds
            .into_iter()
            .map(|c| (c.meta.name.clone(), c))
            .collect();
        move |n: &str| {
            by_name
                .get(n)
                .cloned()
                .ok_or_else(|| Error::NotFound { name: n.into() })
        }
    }

    #[test]
    fn a_chain_runs_from_the_role_asked_for_down_to_the_key() {
        let get = vault(vec![
            cred(1, "key", Kind::AwsAccessKey, None),
            cred(2, "ops", Kind::AwsRole, Some("key")),
            cred(3, "prod", Kind::AwsRole, Some("ops")),
        ]);
        let names: Vec<String> = resolve(&get, "prod")
            .expect("chain")
            .into_iter()
            .map(|c| c.meta.name)
            .collect();
        assert_eq!(names, ["prod", "ops", "key"]);
        assert_eq!(resolve(&get, "key").expect("key").len(), 1);
    }

    #[test]
    fn a_missing_source_a_cycle_a_wrong_kind_and_a_long_chain_are_named() {
        let mut db = cred(9, "db", Kind::DbPassword, None);
        db.meta.fields.clear();
        let get = vault(vec![
            cred(1, "lost", Kind::AwsRole, Some("nowhere")),
            cred(2, "a", Kind::AwsRole, Some("b")),
            cred(3, "b", Kind::AwsRole, Some("a")),
            cred(4, "odd", Kind::AwsRole, Some("db")),
            db,
        ]);
        let err = |n: &str| resolve(&get, n).expect_err(n).to_string();
        assert!(
            err("lost").contains("its source 'nowhere' does not exist"),
            "{}",
            err("lost")
        );
        assert!(err("a").contains("circle: a → b → a"), "{}", err("a"));
        assert!(
            err("odd").contains("'db' is a db-password credential"),
            "{}",
            err("odd")
        );
        assert!(
            err("db").contains("it is a db-password credential"),
            "{}",
            err("db")
        );
        assert!(matches!(
            resolve(&get, "ghost"),
            Err(Error::NotFound { .. })
        ));

        let mut long = vec![cred(0, "r0", Kind::AwsAccessKey, None)];
        for i in 1..=MAX_LINKS as u8 {
            long.push(cred(
                i,
                &format!("r{i}"),
                Kind::AwsRole,
                Some(&format!("r{}", i - 1)),
            ));
        }
        let top = format!("r{MAX_LINKS}");
        let e = resolve(vault(long), &top).expect_err("long").to_string();
        assert!(e.contains("longer than 5 links"), "{e}");
    }

    #[test]
    fn a_binding_moves_with_anything_below_or_at_its_link() {
        let key = cred(1, "key", Kind::AwsAccessKey, None);
        let role = cred(2, "ops", Kind::AwsRole, Some("key"));
        let before = bindings(&[role.clone(), key.clone()]);
        let mut rotated = key.clone();
        rotated
            .meta
            .fields
            .insert("access_key_id".into(), "AKIAROTATEDROTATED".into());
        let after = bindings(&[role.clone(), rotated]);
        assert_ne!(
            before[0], after[0],
            "the role's session came from the old key"
        );
        assert_ne!(before[1], after[1]);
        let mut renamed = role.clone();
        renamed
            .meta
            .fields
            .insert("external_id".into(), "other".into());
        let after = bindings(&[renamed, key]);
        assert_ne!(before[0], after[0]);
        assert_eq!(before[1], after[1], "the key's own session still serves");
    }
}
