//! The AWS shared credentials and config files (INI): every profile with
//! keys becomes an `aws-access-key` credential, every profile that assumes
//! a role from another profile (`role_arn` + `source_profile`) an
//! `aws-role` whose source is that profile's credential.

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
        "mfa_serial" => Some("mfa_serial"),
        "duration_seconds" => Some("duration"),
        // A role profile's (see `role_field`).
        "role_arn" => Some("role_arn"),
        "source_profile" => Some("source"),
        "external_id" => Some("external_id"),
        "role_session_name" => Some("role_session_name"),
        _ => None,
    }
}

/// Fields only a role profile has.
fn role_field(field: &str) -> bool {
    matches!(
        field,
        "role_arn" | "source" | "external_id" | "role_session_name"
    )
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
        let is_role = profile.values.contains_key("role_arn");
        let kind = match (has_key, is_role) {
            (true, _) => Kind::AwsAccessKey,
            (false, true) if profile.values.contains_key("source") => Kind::AwsRole,
            (false, true) => {
                out.warnings.push(format!(
                    "line {}: profile '{}' assumes a role without a source_profile (an instance, \
                     container or web identity source); not imported",
                    profile.line,
                    printable(&profile.name)
                ));
                continue;
            }
            (false, false) => {
                out.warnings.push(format!(
                    "line {}: profile '{}' holds no access key and assumes no role (an SSO or \
                     process profile); not imported",
                    profile.line,
                    printable(&profile.name)
                ));
                continue;
            }
        };
        let mut item = ImportItem::new(profile.line, format!("{prefix}{}", profile.name), kind);
        for (field, (value, line, key)) in profile.values {
            if kind == Kind::AwsAccessKey && role_field(field) {
                out.warnings.push(format!(
                    "line {line}: profile '{}' has keys of its own, so its '{}' was not imported",
                    printable(&profile.name),
                    printable(&key)
                ));
                continue;
            }
            if kind == Kind::AwsRole
                && !role_field(field)
                && !matches!(field, "mfa_serial" | "duration" | "region")
            {
                continue;
            }
            let value = if field == "source" {
                SecretValue::from(format!("{prefix}{}", value.expose_secret()))
            } else {
                value
            };
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
        assert_eq!(out.items.len(), 3);
        assert_eq!(out.items[0].name, "aws/default");
        assert_eq!(out.items[1].name, "aws/ci");
        assert_eq!(out.items[2].name, "aws/role");
        assert_eq!(out.items[2].kind, Kind::AwsRole);
        let fields: Vec<&str> = out.items[0].field_names().collect();
        assert_eq!(fields, ["access_key_id", "region", "secret_access_key"]);
        let fields: Vec<&str> = out.items[2].field_names().collect();
        assert_eq!(fields, ["role_arn", "source"]);
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(out.warnings[0].contains("'output'"), "{:?}", out.warnings);
    }

    #[test]
    fn role_profiles_keep_their_settings_and_name_their_source_by_credential() {
        let out = run("[profile base]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=x\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = base\nexternal_id = ext-1\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nduration_seconds = 1800\nrole_session_name = me\n[profile ec2]\nrole_arn = arn:aws:iam::123456789012:role/x\ncredential_source = Ec2InstanceMetadata\n")
            .unwrap();
        assert_eq!(out.items.len(), 2, "{:?}", out.warnings);
        let role = &out.items[1];
        let fields: Vec<&str> = role.field_names().collect();
        assert_eq!(
            fields,
            [
                "duration",
                "external_id",
                "mfa_serial",
                "role_arn",
                "role_session_name",
                "source"
            ]
        );
        assert_eq!(role.fields["source"].0.expose_secret(), "aws/base");
        assert!(out.items[0].field_names().any(|f| f == "mfa_serial"));
        assert!(
            out.warnings
                .iter()
                .any(|w| w.contains("'ec2'") && w.contains("without a source_profile")),
            "{:?}",
            out.warnings
        );
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
