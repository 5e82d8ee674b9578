//! The AWS shared credentials file (`~/.aws/credentials`, INI): every
//! profile with keys becomes an `aws-access-key` credential.

use std::collections::BTreeMap;

use super::{Class, ImportItem, Parse, ParseError, Parsed};
use crate::credential::printable;
use crate::kind::Kind;
use crate::secret::SecretValue;

/// The file's setting names and the fields they fill.
fn field_for(key: &str) -> Option<&'static str> {
    match key {
        "aws_access_key_id" => Some("access_key_id"),
        "aws_secret_access_key" => Some("secret_access_key"),
        "aws_session_token" => Some("session_token"),
        // The old name the SDKs still read when the new one is absent.
        "aws_security_token" => Some("session_token"),
        "region" => Some("region"),
        "aws_account_id" => Some("account"),
        _ => None,
    }
}

struct Profile {
    line: usize,
    name: String,
    /// field → (value, line, setting name)
    values: BTreeMap<&'static str, (SecretValue, usize, String)>,
}

pub(crate) fn parse(text: &str, prefix: &str, out: &mut Parsed) -> Parse<()> {
    let mut profiles: Vec<Profile> = Vec::new();
    let mut seen_profiles: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_keys: BTreeMap<String, usize> = BTreeMap::new();
    let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        // An indented line continues the previous setting (nested settings
        // such as `s3 =`); none of them is a credential.
        if raw.starts_with([' ', '\t']) && !seen_keys.is_empty() && !trimmed.starts_with('[') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(inner) = rest.strip_suffix(']') else {
                return Err(ParseError::at(
                    line,
                    "a section header must end with ']' (e.g. [default])",
                ));
            };
            let inner = inner.trim();
            let name = inner.strip_prefix("profile ").unwrap_or(inner).trim();
            if name.is_empty() {
                return Err(ParseError::at(line, "a profile has an empty name"));
            }
            if let Some(first) = seen_profiles.insert(name.to_owned(), line) {
                return Err(ParseError::at(
                    line,
                    format!(
                        "profile '{}' appears twice (lines {first} and {line})",
                        printable(name)
                    ),
                ));
            }
            seen_keys.clear();
            profiles.push(Profile {
                line,
                name: name.to_owned(),
                values: BTreeMap::new(),
            });
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(ParseError::at(
                line,
                "expected 'key = value' or a [profile] header",
            ));
        };
        let key = key.trim().to_ascii_lowercase();
        let Some(profile) = profiles.last_mut() else {
            return Err(ParseError::at(
                line,
                "a setting before any [profile] header",
            ));
        };
        if let Some(first) = seen_keys.insert(key.clone(), line) {
            return Err(ParseError::at(
                line,
                format!(
                    "'{}' is set twice in profile '{}' (lines {first} and {line})",
                    printable(&key),
                    printable(&profile.name)
                ),
            ));
        }
        let value = value.trim();
        match field_for(&key) {
            Some(field) => {
                let legacy = key == "aws_security_token";
                if value.is_empty() || (legacy && profile.values.contains_key(field)) {
                    continue;
                }
                profile
                    .values
                    .insert(field, (SecretValue::from(value), line, key));
            }
            None => {
                ignored.entry(key).or_insert(line);
            }
        }
    }
    for (key, line) in ignored {
        out.warnings.push(format!(
            "line {line}: setting '{}' is not part of a credential and was not imported",
            printable(&key)
        ));
    }
    for profile in profiles {
        let has_key = profile.values.contains_key("access_key_id")
            || profile.values.contains_key("secret_access_key");
        if !has_key {
            out.warnings.push(format!(
                "line {}: profile '{}' holds no access key (a role, SSO or process profile); not imported",
                profile.line,
                printable(&profile.name)
            ));
            continue;
        }
        let mut item = ImportItem::new(
            profile.line,
            format!("{prefix}{}", profile.name),
            Kind::AwsAccessKey,
        );
        for (field, (value, line, _)) in profile.values {
            item.set(line, field, value, Class::ByName)?;
        }
        out.items.push(item);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Parse<Parsed> {
        let mut out = Parsed::default();
        parse(text, "aws/", &mut out).map(|()| out)
    }

    #[test]
    fn profiles_become_items() {
        let out = run("# c\n[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=abc/def+g==\nregion = eu-west-1\noutput = json\n\n[profile ci]\naws_access_key_id=AKIA2\naws_secret_access_key=x\naws_session_token=t\n[role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n")
            .unwrap();
        assert_eq!(out.items.len(), 2);
        assert_eq!(out.items[0].name, "aws/default");
        assert_eq!(out.items[1].name, "aws/ci");
        let fields: Vec<&str> = out.items[0].field_names().collect();
        assert_eq!(fields, ["access_key_id", "region", "secret_access_key"]);
        assert_eq!(out.warnings.len(), 4, "{:?}", out.warnings);
        assert!(out.warnings.iter().any(|w| w.contains("'role'")));
    }

    #[test]
    fn malformed_files_name_the_line() {
        for (text, line) in [
            ("aws_access_key_id = x\n", 1),
            ("[default\nx=1\n", 1),
            ("[a]\nx=1\n\n[a]\n", 4),
            ("[a]\nx=1\nx=2\n", 3),
            ("[a]\njust words\n", 2),
            ("[ ]\n", 1),
        ] {
            let e = run(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e:?}");
        }
    }
}
