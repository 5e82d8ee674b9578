//! Moving AWS profiles out of plaintext files (`coffer migrate aws`).
//!
//! The shared credentials and config files are parsed line by line, so a
//! rewrite keeps every other profile, setting, comment and the order. The
//! keys go into the vault in one transaction; then each migrated profile is
//! pointed at `coffer aws credential-process` and its key lines are removed.
//! The file text is held in zeroizing buffers: it carries keys.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::{Action, Event};
use crate::credential::{printable, validate_name, Draft};
use crate::error::{Error, Result};
use crate::fsx;
use crate::kind::Kind;
use crate::secret::SecretValue;
use crate::vault::Vault;

/// The setting names that hold key material; all of them are removed from a
/// migrated profile. `aws_security_token` is the old name of the session token.
const KEY_SETTINGS: [&str; 4] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

/// A role profile's settings, moved into its `aws-role` credential and
/// removed from the profile (botocore would otherwise assume the role
/// itself, ahead of credential_process), with the fields they fill.
const ROLE_SETTINGS: [(&str, &str); 6] = [
    ("role_arn", "role_arn"),
    ("source_profile", "source"),
    ("external_id", "external_id"),
    ("mfa_serial", "mfa_serial"),
    ("duration_seconds", "duration"),
    ("role_session_name", "role_session_name"),
];

/// Files larger than this are refused: an AWS file is a few KiB.
const MAX_FILE: u64 = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------
// The INI dialect of the AWS files (Python's configparser, as botocore reads it).

#[derive(Clone, PartialEq, Eq)]
enum LineKind {
    Blank,
    Comment,
    /// A `[section]` header, with its trimmed name.
    Section(String),
    /// `key = value` (or `key: value`): the key lower-cased, as configparser does.
    Setting(String),
    /// An indented line continuing the setting above it.
    Continuation,
}

struct Line {
    /// The line as it was, without its `\n` (a `\r` stays, so CRLF files stay CRLF).
    text: Zeroizing<String>,
    kind: LineKind,
    /// 0 for lines outside any section, else 1 + the section's index.
    section: usize,
}

/// A parsed AWS credentials or config file. Holds key material: no `Debug`
/// beyond the path.
pub struct IniFile {
    pub path: PathBuf,
    pub exists: bool,
    lines: Vec<Line>,
    /// Section names in order.
    sections: Vec<String>,
    ends_with_newline: bool,
}

impl fmt::Debug for IniFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IniFile")
            .field("path", &self.path)
            .field("lines", &self.lines.len())
            .finish_non_exhaustive()
    }
}

fn at(path: &Path, line: usize) -> String {
    format!("{}:{line}", path.display())
}

fn indent_of(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

impl IniFile {
    /// Reads and parses `path`; a missing file is an empty one.
    pub fn read(path: &Path) -> Result<IniFile> {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return IniFile::parse(path, "", false)
            }
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path: path.to_owned(),
                    source,
                })
            }
        };
        if meta.len() > MAX_FILE {
            return Err(Error::invalid(
                path.display().to_string(),
                format!("{} bytes is too large for an AWS file", meta.len()),
            ));
        }
        let bytes = Zeroizing::new(fs::read(path).map_err(|source| Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?);
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::invalid(path.display().to_string(), "not UTF-8 text"))?;
        IniFile::parse(path, text, true)
    }

    /// Parses `text` as the content of `path` (named in errors as `path:line`).
    pub fn parse(path: &Path, text: &str, exists: bool) -> Result<IniFile> {
        let mut lines = Vec::new();
        let mut sections: Vec<String> = Vec::new();
        let mut keys_in_section: Vec<String> = Vec::new();
        // The indentation of the setting that an indented line may continue.
        let mut open_setting: Option<usize> = None;
        let ends_with_newline = text.ends_with('\n');
        let body = text.strip_suffix('\n').unwrap_or(text);
        if !text.is_empty() {
            for (i, raw) in body.split('\n').enumerate() {
                let n = i + 1;
                let t = raw.strip_suffix('\r').unwrap_or(raw);
                let trimmed = t.trim();
                let kind = if trimmed.is_empty() {
                    LineKind::Blank
                } else if trimmed.starts_with('#') || trimmed.starts_with(';') {
                    LineKind::Comment
                } else if open_setting.is_some_and(|ind| indent_of(t) > ind) {
                    LineKind::Continuation
                } else if let Some(rest) = trimmed.strip_prefix('[') {
                    let Some(inner) = rest.strip_suffix(']') else {
                        return Err(Error::invalid(
                            at(path, n),
                            "a section header must end with ']'",
                        ));
                    };
                    let name = inner.trim().to_owned();
                    if name.is_empty() {
                        return Err(Error::invalid(at(path, n), "empty section name"));
                    }
                    if sections.contains(&name) {
                        return Err(Error::invalid(
                            at(path, n),
                            format!(
                                "section [{}] appears twice (the AWS CLI refuses this file too)",
                                printable(&name)
                            ),
                        ));
                    }
                    sections.push(name.clone());
                    keys_in_section.clear();
                    open_setting = None;
                    LineKind::Section(name)
                } else {
                    if sections.is_empty() {
                        return Err(Error::invalid(
                            at(path, n),
                            "a setting before any [section] header",
                        ));
                    }
                    let Some(pos) = t.find(['=', ':']) else {
                        return Err(Error::invalid(
                            at(path, n),
                            "expected `name = value`, a [section] header or a comment",
                        ));
                    };
                    let key = t[..pos].trim().to_ascii_lowercase();
                    if key.is_empty() {
                        return Err(Error::invalid(at(path, n), "a setting without a name"));
                    }
                    if keys_in_section.contains(&key) {
                        return Err(Error::invalid(
                            at(path, n),
                            format!(
                                "'{}' is set twice in this section (the AWS CLI refuses this file too)",
                                printable(&key)
                            ),
                        ));
                    }
                    keys_in_section.push(key.clone());
                    open_setting = Some(indent_of(t));
                    LineKind::Setting(key)
                };
                if kind == LineKind::Blank {
                    // A blank line ends a multi-line value as far as we are concerned.
                    open_setting = None;
                }
                lines.push(Line {
                    text: Zeroizing::new(raw.to_owned()),
                    kind,
                    section: sections.len(),
                });
            }
        }
        Ok(IniFile {
            path: path.to_owned(),
            exists,
            lines,
            sections,
            ends_with_newline,
        })
    }

    /// A copy to rewrite (not `Clone`: copies of key material are made on purpose only).
    fn duplicate(&self) -> IniFile {
        IniFile {
            path: self.path.clone(),
            exists: self.exists,
            lines: self
                .lines
                .iter()
                .map(|l| Line {
                    text: l.text.clone(),
                    kind: l.kind.clone(),
                    section: l.section,
                })
                .collect(),
            sections: self.sections.clone(),
            ends_with_newline: self.ends_with_newline,
        }
    }

    /// The section index (1-based, as in [`Line::section`]) of `name`.
    fn section(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s == name).map(|i| i + 1)
    }

    /// The value of setting `key` in section `section`, and its line number.
    /// A multi-line value is returned as its first line (key settings are one line).
    fn value(&self, section: usize, key: &str) -> Option<(Zeroizing<String>, usize)> {
        self.lines
            .iter()
            .enumerate()
            .find_map(|(i, l)| match &l.kind {
                LineKind::Setting(k) if l.section == section && k == key => {
                    let t = l.text.strip_suffix('\r').unwrap_or(&l.text);
                    let pos = t.find(['=', ':']).unwrap_or(t.len());
                    let v = t.get(pos + 1..).unwrap_or("").trim();
                    Some((Zeroizing::new(v.to_owned()), i + 1))
                }
                _ => None,
            })
    }

    fn render(&self) -> Zeroizing<String> {
        let cap = self.lines.iter().map(|l| l.text.len() + 1).sum::<usize>();
        let mut out = Zeroizing::new(String::with_capacity(cap + 256));
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&l.text);
        }
        if self.ends_with_newline || !self.exists {
            out.push('\n');
        }
        out
    }

    /// Removes `keys` (with their continuation lines) from `section`.
    fn remove_settings(&mut self, section: usize, keys: &[&str]) -> bool {
        let before = self.lines.len();
        let mut dropping = false;
        self.lines.retain(|l| {
            if l.section != section {
                dropping = false;
                return true;
            }
            match &l.kind {
                LineKind::Setting(k) => {
                    dropping = keys.contains(&k.as_str());
                    !dropping
                }
                LineKind::Continuation => !dropping,
                _ => {
                    dropping = false;
                    true
                }
            }
        });
        self.lines.len() != before
    }

    /// Sets `key = value` in `section`, replacing an existing setting in
    /// place or adding it after the section's last setting; creates the
    /// section at the end when it does not exist. Returns whether anything changed.
    fn set(&mut self, section_name: &str, key: &str, value: &str) -> bool {
        let newline_style = if self.lines.iter().any(|l| l.text.ends_with('\r')) {
            "\r"
        } else {
            ""
        };
        let setting = Zeroizing::new(format!("{key} = {value}{newline_style}"));
        let Some(section) = self.section(section_name) else {
            let index = self.sections.len() + 1;
            self.sections.push(section_name.to_owned());
            if self.lines.last().is_some_and(|l| l.kind != LineKind::Blank) {
                self.lines.push(Line {
                    text: Zeroizing::new(newline_style.to_owned()),
                    kind: LineKind::Blank,
                    section: index - 1,
                });
            }
            self.lines.push(Line {
                text: Zeroizing::new(format!("[{section_name}]{newline_style}")),
                kind: LineKind::Section(section_name.to_owned()),
                section: index,
            });
            self.lines.push(Line {
                text: setting,
                kind: LineKind::Setting(key.to_owned()),
                section: index,
            });
            self.ends_with_newline = true;
            return true;
        };
        if let Some(i) = self
            .lines
            .iter()
            .position(|l| l.section == section && l.kind == LineKind::Setting(key.to_owned()))
        {
            let same = self
                .value(section, key)
                .is_some_and(|(v, _)| v.as_str() == value);
            if same {
                return false;
            }
            self.remove_settings(section, &[key]);
            self.lines.insert(
                i,
                Line {
                    text: setting,
                    kind: LineKind::Setting(key.to_owned()),
                    section,
                },
            );
            return true;
        }
        // After the section's last setting (or its header), before any
        // trailing blank lines and comments that introduce the next section.
        let last = self
            .lines
            .iter()
            .rposition(|l| {
                l.section == section
                    && matches!(
                        l.kind,
                        LineKind::Setting(_) | LineKind::Continuation | LineKind::Section(_)
                    )
            })
            .unwrap_or(self.lines.len().saturating_sub(1));
        self.lines.insert(
            last + 1,
            Line {
                text: setting,
                kind: LineKind::Setting(key.to_owned()),
                section,
            },
        );
        if last + 2 == self.lines.len() {
            self.ends_with_newline = true;
        }
        true
    }
}

/// The profile a section of the config file describes, if any.
fn config_profile(section: &str) -> Option<String> {
    if section == "default" {
        return Some("default".into());
    }
    let rest = section.strip_prefix("profile")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let name = rest.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The config-file section for a profile.
fn config_section(profile: &str) -> String {
    if profile == "default" {
        "default".into()
    } else {
        format!("profile {profile}")
    }
}

// ---------------------------------------------------------------------------
// The plan.

/// The default file locations: `$AWS_SHARED_CREDENTIALS_FILE` or
/// `~/.aws/credentials`, and `$AWS_CONFIG_FILE` or `~/.aws/config`.
pub fn default_paths() -> Result<(PathBuf, PathBuf)> {
    let home = || {
        directories::BaseDirs::new()
            .map(|b| b.home_dir().to_owned())
            .ok_or_else(|| Error::Failure {
                what: "cannot find the home directory; pass --credentials-file and --config-file"
                    .into(),
            })
    };
    let pick = |var: &str, default: &str| -> Result<PathBuf> {
        match std::env::var_os(var) {
            Some(v) if !v.is_empty() => {
                let p = PathBuf::from(v);
                match p.strip_prefix("~") {
                    Ok(rest) => Ok(home()?.join(rest)),
                    Err(_) => Ok(p),
                }
            }
            _ => Ok(home()?.join(".aws").join(default)),
        }
    };
    Ok((
        pick("AWS_SHARED_CREDENTIALS_FILE", "credentials")?,
        pick("AWS_CONFIG_FILE", "config")?,
    ))
}

/// One profile to move into the vault. Holds its keys: `Debug` shows none.
pub struct ProfilePlan {
    pub profile: String,
    /// The credential it becomes: `<prefix><profile>`.
    pub credential: String,
    pub access_key_id: String,
    pub region: Option<String>,
    /// The profile's MFA device, which its sessions then use.
    pub mfa_serial: Option<String>,
    /// Where its keys were: `file:line` of the secret key.
    pub source: String,
    secret_access_key: SecretValue,
    session_token: Option<SecretValue>,
}

impl fmt::Debug for ProfilePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfilePlan")
            .field("profile", &self.profile)
            .field("credential", &self.credential)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ProfilePlan {
    pub fn has_session_token(&self) -> bool {
        self.session_token.is_some()
    }

    fn draft(&self) -> Draft {
        let mut d = Draft::new(self.credential.clone(), Kind::AwsAccessKey);
        d.fields
            .insert("access_key_id".into(), self.access_key_id.clone());
        if let Some(r) = &self.region {
            d.fields.insert("region".into(), r.clone());
        }
        if let Some(m) = &self.mfa_serial {
            d.fields.insert("mfa_serial".into(), m.clone());
        }
        d.values
            .insert("secret_access_key".into(), self.secret_access_key.clone());
        if let Some(t) = &self.session_token {
            d.values.insert("session_token".into(), t.clone());
        }
        d
    }
}

/// One role profile (`role_arn` + `source_profile`) to move into the vault
/// as an `aws-role` credential. No secret in it.
#[derive(Clone, Debug)]
pub struct RolePlan {
    pub profile: String,
    /// The credential it becomes: `<prefix><profile>`.
    pub credential: String,
    pub role_arn: String,
    /// The credential of its source profile.
    pub source: String,
    /// Where its role_arn was: `file:line`.
    pub at: String,
    fields: Vec<(&'static str, String)>,
}

impl RolePlan {
    fn draft(&self) -> Draft {
        let mut d = Draft::new(self.credential.clone(), Kind::AwsRole);
        d.fields.insert("role_arn".into(), self.role_arn.clone());
        d.fields.insert("source".into(), self.source.clone());
        for (field, value) in &self.fields {
            d.fields.insert((*field).into(), value.clone());
        }
        d
    }

    /// Whether `meta` is this role as stored by an earlier run.
    fn same_as(&self, meta: &crate::credential::CredentialMeta) -> bool {
        meta.kind == Kind::AwsRole && self.draft().fields == meta.fields
    }
}

/// What `migrate aws` will do: the profiles to move, the ones it leaves,
/// and the two files as they are now.
#[derive(Debug)]
pub struct Plan {
    pub profiles: Vec<ProfilePlan>,
    /// Role profiles, after the keys they come from.
    pub roles: Vec<RolePlan>,
    /// Profiles left as they are, with the reason (e.g. half a key pair).
    pub skipped: Vec<(String, String)>,
    pub credentials: IniFile,
    pub config: IniFile,
}

/// Reads both files and works out what to migrate. Touches nothing.
pub fn plan(credentials_file: &Path, config_file: &Path, prefix: &str) -> Result<Plan> {
    let credentials = IniFile::read(credentials_file)?;
    let config = IniFile::read(config_file)?;
    plan_from(credentials, config, prefix)
}

/// [`plan`] over files already parsed.
pub fn plan_from(credentials: IniFile, config: IniFile, prefix: &str) -> Result<Plan> {
    // Profile name -> (file, section index), credentials file first: the AWS
    // CLI prefers its keys over the config file's.
    let mut names: Vec<String> = Vec::new();
    for s in &credentials.sections {
        if !names.contains(s) {
            names.push(s.clone());
        }
    }
    for s in &config.sections {
        if let Some(p) = config_profile(s) {
            if !names.contains(&p) {
                names.push(p);
            }
        }
    }
    let mut profiles = Vec::new();
    let mut skipped = Vec::new();
    // (profile, line of its role_arn) of the profiles that hold no key.
    let mut role_profiles: Vec<(String, usize)> = Vec::new();
    for name in names {
        let cred_section = credentials.section(&name);
        let conf_section = config
            .sections
            .iter()
            .position(|s| config_profile(s).as_deref() == Some(name.as_str()))
            .map(|i| i + 1);
        let get = |key: &str| -> Option<(Zeroizing<String>, String)> {
            cred_section
                .and_then(|s| credentials.value(s, key))
                .map(|(v, n)| (v, at(&credentials.path, n)))
                .or_else(|| {
                    conf_section
                        .and_then(|s| config.value(s, key))
                        .map(|(v, n)| (v, at(&config.path, n)))
                })
                .filter(|(v, _)| !v.is_empty())
        };
        let id = get("aws_access_key_id");
        let secret = get("aws_secret_access_key");
        let token = get("aws_session_token").or_else(|| get("aws_security_token"));
        let (id, secret) = match (id, secret) {
            (Some(id), Some(secret)) => (id, secret),
            (None, None) => {
                if let Some(role) = conf_section.and_then(|s| config.value(s, "role_arn")) {
                    role_profiles.push((name, role.1));
                }
                continue;
            }
            (Some(_), None) => {
                skipped.push((
                    name,
                    "has aws_access_key_id but no aws_secret_access_key".into(),
                ));
                continue;
            }
            (None, Some(_)) => {
                skipped.push((
                    name,
                    "has aws_secret_access_key but no aws_access_key_id".into(),
                ));
                continue;
            }
        };
        let region = conf_section
            .and_then(|s| config.value(s, "region"))
            .or_else(|| cred_section.and_then(|s| credentials.value(s, "region")))
            .map(|(v, _)| v.as_str().to_owned())
            .filter(|v| !v.is_empty());
        let mfa_serial = conf_section
            .and_then(|s| config.value(s, "mfa_serial"))
            .map(|(v, _)| v.as_str().to_owned())
            .filter(|v| !v.is_empty());
        let p = ProfilePlan {
            mfa_serial,
            credential: format!("{prefix}{name}"),
            profile: name,
            access_key_id: id.0.as_str().to_owned(),
            region,
            source: secret.1.clone(),
            secret_access_key: SecretValue::from(secret.0),
            session_token: token.map(|(v, _)| SecretValue::from(v)),
        };
        // Refuse a profile the vault would refuse, before anything is written,
        // naming where it came from.
        validate_name(&p.credential)?;
        if let Err(e) = p.draft().into_parts() {
            return Err(Error::invalid(
                format!("profile [{}] at {}", printable(&p.profile), p.source),
                e.to_string(),
            ));
        }
        profiles.push(p);
    }
    let roles = plan_roles(&config, &profiles, role_profiles, prefix, &mut skipped)?;
    Ok(Plan {
        profiles,
        roles,
        skipped,
        credentials,
        config,
    })
}

/// The role profiles whose source is a key profile being migrated, one
/// migrated before (its credential_process is Coffer's), or another such
/// role; the others are left as they are, with the reason.
fn plan_roles(
    config: &IniFile,
    keys: &[ProfilePlan],
    candidates: Vec<(String, usize)>,
    prefix: &str,
    skipped: &mut Vec<(String, String)>,
) -> Result<Vec<RolePlan>> {
    let section_of = |profile: &str| {
        config
            .sections
            .iter()
            .position(|s| config_profile(s).as_deref() == Some(profile))
            .map(|i| i + 1)
    };
    let value = |profile: &str, key: &str| {
        section_of(profile)
            .and_then(|s| config.value(s, key))
            .map(|(v, _)| v.as_str().to_owned())
            .filter(|v| !v.is_empty())
    };
    // A profile already served by Coffer: the credential it names.
    let served_by_coffer = |profile: &str| -> Option<String> {
        let process = value(profile, "credential_process")?;
        let (_, name) = process.rsplit_once(" aws credential-process ")?;
        let name = name.trim().trim_matches('\'');
        (!name.is_empty() && !name.contains(' ')).then(|| name.to_owned())
    };
    let mut planned: Vec<RolePlan> = Vec::new();
    let mut waiting: Vec<(String, usize)> = Vec::new();
    for (profile, line) in candidates {
        if value(&profile, "source_profile").is_none() {
            let why = if value(&profile, "credential_source").is_some() {
                "assumes its role with credential_source (the instance's or container's own credentials), which stays with the AWS tools"
            } else {
                "assumes a role without a source_profile"
            };
            skipped.push((profile, why.into()));
            continue;
        }
        waiting.push((profile, line));
    }
    // Sources first: a role whose source is a role waits for that one.
    loop {
        let before = waiting.len();
        let mut still = Vec::new();
        for (profile, line) in std::mem::take(&mut waiting) {
            let source_profile = value(&profile, "source_profile").unwrap_or_default();
            let source = if let Some(k) = keys.iter().find(|k| k.profile == source_profile) {
                Some(k.credential.clone())
            } else if let Some(r) = planned.iter().find(|r| r.profile == source_profile) {
                Some(r.credential.clone())
            } else if source_profile != profile {
                served_by_coffer(&source_profile)
            } else {
                None
            };
            let Some(source) = source else {
                still.push((profile, line));
                continue;
            };
            let fields: Vec<(&'static str, String)> = ROLE_SETTINGS
                .iter()
                .filter(|(key, _)| !matches!(*key, "role_arn" | "source_profile"))
                .filter_map(|(key, field)| value(&profile, key).map(|v| (*field, v)))
                .chain(value(&profile, "region").map(|r| ("region", r)))
                .collect();
            let r = RolePlan {
                credential: format!("{prefix}{profile}"),
                role_arn: value(&profile, "role_arn").unwrap_or_default(),
                source,
                at: at(&config.path, line),
                fields,
                profile,
            };
            validate_name(&r.credential)?;
            if let Err(e) = r.draft().into_parts() {
                return Err(Error::invalid(
                    format!("profile [{}] at {}", printable(&r.profile), r.at),
                    e.to_string(),
                ));
            }
            planned.push(r);
        }
        waiting = still;
        if waiting.is_empty() || waiting.len() == before {
            break;
        }
    }
    for (profile, _) in waiting {
        let source = value(&profile, "source_profile").unwrap_or_default();
        skipped.push((
            profile,
            format!(
                "its source_profile '{}' holds no key this migration stores (nor is it served by Coffer already)",
                printable(&source)
            ),
        ));
    }
    Ok(planned)
}

/// How a planned credential stands against the vault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Not in the vault yet.
    New,
    /// Already there with the same keys: migrated before.
    Present,
    /// The name is taken by something else.
    Clash(String),
}

/// What [`Vault::migrate_aws`] stored.
#[derive(Clone, Debug, Default)]
pub struct Stored {
    pub added: Vec<String>,
    pub present: Vec<String>,
}

impl Vault {
    /// How each planned credential stands, from metadata alone (the key id
    /// is a plain field; a secret key that differs is only found by
    /// [`Vault::migrate_aws`]). For a dry run.
    pub fn migrate_aws_standing(&self, plan: &Plan) -> Result<Vec<Standing>> {
        let roles = plan.roles.iter().map(|r| match self.get(&r.credential) {
            Err(Error::NotFound { .. }) => Ok(Standing::New),
            Err(e) => Err(e),
            Ok(c) if r.same_as(&c.meta) => Ok(Standing::Present),
            Ok(c) => Ok(Standing::Clash(format!(
                "'{}' is a {} credential that differs from this role profile",
                r.credential, c.meta.kind
            ))),
        });
        plan.profiles
            .iter()
            .map(|p| match self.get(&p.credential) {
                Err(Error::NotFound { .. }) => Ok(Standing::New),
                Err(e) => Err(e),
                Ok(c) if c.meta.kind != Kind::AwsAccessKey => Ok(Standing::Clash(format!(
                    "'{}' is a {} credential",
                    p.credential, c.meta.kind
                ))),
                Ok(c) if c.meta.fields.get("access_key_id") != Some(&p.access_key_id) => Ok(
                    Standing::Clash(format!("'{}' holds another access key", p.credential)),
                ),
                Ok(_) => Ok(Standing::Present),
            })
            .chain(roles)
            .collect()
    }

    /// Stores every planned profile as an `aws-access-key` credential in one
    /// transaction, with a `migrate` audit entry each. A name that already
    /// holds the same keys is left as it is (a rerun after an interrupted
    /// migration); any other clash refuses the whole migration, naming them all.
    pub fn migrate_aws(&mut self, plan: &Plan, now: DateTime<Utc>) -> Result<Stored> {
        let mut parts = Vec::with_capacity(plan.profiles.len());
        for p in &plan.profiles {
            parts.push(p.draft().into_parts()?);
        }
        let mut role_parts = Vec::with_capacity(plan.roles.len());
        for r in &plan.roles {
            role_parts.push(r.draft().into_parts()?);
        }
        let files = json!([plan.credentials.path, plan.config.path]);
        let tx = self.begin()?;
        let mut clashes = Vec::new();
        let mut stored = Stored::default();
        let mut new = Vec::new();
        for (p, part) in plan.profiles.iter().zip(parts) {
            match self.lookup(&tx, &p.credential)? {
                None => new.push((p, part)),
                Some(_) => {
                    let (row, meta, secrets) = self.current_with_secrets(&tx, &p.credential)?;
                    let same = meta.kind == Kind::AwsAccessKey
                        && meta.fields.get("access_key_id") == Some(&p.access_key_id)
                        && secrets.0.get("secret_access_key") == Some(&p.secret_access_key)
                        && secrets.0.get("session_token") == p.session_token.as_ref();
                    if same {
                        let event = Event::new(Action::Migrate)
                            .target(row.id, &p.credential)
                            .details(json!({
                                "source": "aws", "profile": p.profile,
                                "files": files, "stored": "already present",
                            }));
                        tx.record(event, now)?;
                        stored.present.push(p.credential.clone());
                    } else {
                        clashes.push(p.credential.clone());
                    }
                }
            }
        }
        let mut new_roles = Vec::new();
        for (r, part) in plan.roles.iter().zip(role_parts) {
            match self.lookup(&tx, &r.credential)? {
                None => new_roles.push((r, part)),
                Some(_) => {
                    let (row, meta, _) = self.current_with_secrets(&tx, &r.credential)?;
                    if r.same_as(&meta) {
                        let event = Event::new(Action::Migrate)
                            .target(row.id, &r.credential)
                            .details(json!({
                                "source": "aws", "profile": r.profile,
                                "files": files, "stored": "already present",
                            }));
                        tx.record(event, now)?;
                        stored.present.push(r.credential.clone());
                    } else {
                        clashes.push(r.credential.clone());
                    }
                }
            }
        }
        if !clashes.is_empty() {
            // Dropping the transaction rolls it back.
            return Err(Error::Failure {
                what: format!(
                    "nothing was migrated: these credentials already exist with other keys: {}; choose another --prefix or remove them",
                    clashes.join(", ")
                ),
            });
        }
        for (p, (meta, secrets)) in new {
            let c = self.insert(&tx, meta, &secrets, now)?;
            let event = Event::new(Action::Migrate)
                .target(c.id, &p.credential)
                .details(json!({
                    "source": "aws", "profile": p.profile, "files": files,
                    "stored": "added", "kind": Kind::AwsAccessKey.as_str(),
                }));
            tx.record(event, now)?;
            stored.added.push(p.credential.clone());
        }
        for (r, (meta, secrets)) in new_roles {
            let c = self.insert(&tx, meta, &secrets, now)?;
            let event = Event::new(Action::Migrate)
                .target(c.id, &r.credential)
                .details(json!({
                    "source": "aws", "profile": r.profile, "files": files,
                    "stored": "added", "kind": Kind::AwsRole.as_str(),
                    "role_arn": r.role_arn, "via": r.source,
                }));
            tx.record(event, now)?;
            stored.added.push(r.credential.clone());
        }
        tx.commit()?;
        tracing::debug!(
            added = stored.added.len(),
            present = stored.present.len(),
            "aws profiles migrated"
        );
        Ok(stored)
    }
}

// ---------------------------------------------------------------------------
// The rewrite.

/// A word for `credential_process`, which botocore splits like a POSIX
/// shell (`shlex.split`): quoted when it holds anything but safe characters.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The `credential_process` command for a credential:
/// `EXE [--vault VAULT] aws credential-process NAME`.
pub fn credential_process(exe: &Path, vault: Option<&Path>, name: &str) -> Result<String> {
    let text = |p: &Path| -> Result<String> {
        let s = p.to_str().ok_or_else(|| {
            Error::invalid(
                p.display().to_string(),
                "the path is not UTF-8 and cannot go into an AWS config file",
            )
        })?;
        if s.contains(['\n', '\r']) {
            return Err(Error::invalid(
                p.display().to_string(),
                "a path with a line break cannot go into an AWS config file",
            ));
        }
        Ok(shell_word(s))
    };
    let mut words = vec![text(exe)?];
    if let Some(v) = vault {
        words.push("--vault".into());
        words.push(text(v)?);
    }
    words.extend(["aws".into(), "credential-process".into(), shell_word(name)]);
    Ok(words.join(" "))
}

/// The two files as they will be, each `None` when it does not change.
pub struct Rewritten {
    pub credentials: Option<Zeroizing<String>>,
    pub config: Option<Zeroizing<String>>,
}

/// The rewritten files; `command(credential)` gives the credential_process.
pub fn rewritten(plan: &Plan, command: &dyn Fn(&str) -> Result<String>) -> Result<Rewritten> {
    let mut credentials = plan.credentials.duplicate();
    let mut config = plan.config.duplicate();
    let mut cred_changed = false;
    let mut conf_changed = false;
    for p in &plan.profiles {
        if let Some(s) = credentials.section(&p.profile) {
            cred_changed |= credentials.remove_settings(s, &KEY_SETTINGS);
        }
        let existing = config
            .sections
            .iter()
            .find(|s| config_profile(s).as_deref() == Some(p.profile.as_str()))
            .cloned();
        let section = existing.unwrap_or_else(|| config_section(&p.profile));
        if let Some(s) = config.section(&section) {
            conf_changed |= config.remove_settings(s, &KEY_SETTINGS);
        }
        conf_changed |= config.set(&section, "credential_process", &command(&p.credential)?);
    }
    let role_keys: Vec<&str> = ROLE_SETTINGS.iter().map(|(key, _)| *key).collect();
    for r in &plan.roles {
        let section = config
            .sections
            .iter()
            .find(|s| config_profile(s).as_deref() == Some(r.profile.as_str()))
            .cloned()
            .unwrap_or_else(|| config_section(&r.profile));
        if let Some(s) = config.section(&section) {
            conf_changed |= config.remove_settings(s, &role_keys);
        }
        conf_changed |= config.set(&section, "credential_process", &command(&r.credential)?);
    }
    Ok(Rewritten {
        credentials: cred_changed.then(|| credentials.render()),
        config: conf_changed.then(|| config.render()),
    })
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// The backups of the original files (0600, plaintext keys inside).
    pub backups: Vec<PathBuf>,
    pub written: Vec<PathBuf>,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The file to write for `path`: a symlink (a dotfiles manager's) is
/// followed, so the link stays and its target is rewritten.
fn target(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// A 0600 copy of `path` next to it, fsynced: `<file>.coffer-backup-<time>`.
fn backup(path: &Path, now: DateTime<Utc>) -> Result<PathBuf> {
    let original = Zeroizing::new(fs::read(path).map_err(io("read", path))?);
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    for n in 1..100 {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".coffer-backup-{stamp}{suffix}"));
        let to = PathBuf::from(name);
        match fsx::write_private(&to, &original, fsx::Replace::Never, "back up") {
            Ok(()) => {}
            Err(Error::FileExists { .. }) => continue,
            Err(e) => return Err(e),
        }
        return Ok(to);
    }
    Err(Error::Failure {
        what: format!("cannot find a free backup name next to {}", path.display()),
    })
}

/// Replaces `path` with `text` atomically (a temporary file in the same
/// directory, fsynced, renamed over it), keeping its mode; a new file is 0600.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let path = target(path);
    let dir = parent(&path).to_owned();
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io("create the directory", &dir))?;
    }
    fsx::write_private(&path, text.as_bytes(), fsx::Replace::KeepingMode, "replace")
}

/// Backs up both original files, then writes the rewritten ones: the config
/// file first, so a failure between the two leaves each profile with its
/// keys still in place (the AWS CLI prefers them over credential_process).
pub fn apply(
    plan: &Plan,
    command: &dyn Fn(&str) -> Result<String>,
    now: DateTime<Utc>,
) -> Result<Applied> {
    let Rewritten {
        credentials,
        config,
    } = rewritten(plan, command)?;
    let mut applied = Applied::default();
    for (file, changes) in [
        (&plan.credentials, credentials.is_some()),
        (&plan.config, config.is_some()),
    ] {
        if changes && file.exists {
            applied.backups.push(backup(&target(&file.path), now)?);
        }
    }
    if let Some(text) = &config {
        write_atomic(&plan.config.path, text)?;
        applied.written.push(plan.config.path.clone());
    }
    if let Some(text) = &credentials {
        write_atomic(&plan.credentials.path, text)?;
        applied.written.push(plan.credentials.path.clone());
    }
    Ok(applied)
}

/// Overwrites a file with random bytes, fsyncs it and unlinks it. On
/// copy-on-write or journaling file systems and SSDs the old blocks may
/// survive; this narrows the window, it does not promise erasure.
pub fn shred(path: &Path) -> Result<()> {
    let len = fs::symlink_metadata(path).map_err(io("read", path))?.len();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io("open", path))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        getrandom::fill(&mut buf[..n]).map_err(|e| Error::Failure {
            what: format!("the OS random number generator failed: {e}"),
        })?;
        f.write_all(&buf[..n]).map_err(io("overwrite", path))?;
        left -= n as u64;
    }
    f.sync_all().map_err(io("sync", path))?;
    drop(f);
    fs::remove_file(path).map_err(io("remove", path))?;
    fsx::sync_dir(parent(path), "sync the directory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ID: &str = "AKIAZQ3DT5Y7MOCKKEY1";
    const SECRET: &str = "q8Rk2mVb7Tz0Lw4Xn9Pa3Hc6Yd1Fe5Gj8Kl2Mn4B";

    fn files(creds: &str, conf: &str) -> (IniFile, IniFile) {
        (
            IniFile::parse(Path::new("/h/.aws/credentials"), creds, !creds.is_empty())
                .expect("creds"),
            IniFile::parse(Path::new("/h/.aws/config"), conf, !conf.is_empty()).expect("conf"),
        )
    }

    fn cmd(name: &str) -> Result<String> {
        credential_process(Path::new("/usr/bin/coffer"), None, name)
    }

    #[test]
    fn plans_every_plaintext_profile_with_region_from_either_file() {
        let creds = format!(
            "# mine\n[default]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n\n[half]\naws_access_key_id = {ID}\n[role]\nrole_arn = arn:aws:iam::1:role/x\n"
        );
        let conf = format!(
            "[default]\nregion = eu-west-1\n[profile inconf]\naws_access_key_id={ID}\naws_secret_access_key={SECRET}\naws_session_token=tok\n[sso-session x]\nsso_region = us-east-1\n"
        );
        let (c, f) = files(&creds, &conf);
        let plan = plan_from(c, f, "aws/").expect("plan");
        let names: Vec<&str> = plan
            .profiles
            .iter()
            .map(|p| p.credential.as_str())
            .collect();
        assert_eq!(names, ["aws/default", "aws/inconf"]);
        assert_eq!(plan.profiles[0].region.as_deref(), Some("eu-west-1"));
        assert_eq!(plan.profiles[0].source, "/h/.aws/credentials:4");
        assert!(plan.profiles[1].has_session_token());
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.skipped[0].0, "half");
        let debug = format!("{plan:?}");
        assert!(!debug.contains(SECRET), "{debug}");
    }

    #[test]
    fn role_profiles_follow_their_sources_and_lose_their_role_settings() {
        let creds = format!("[base]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n");
        let conf = "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n\
            [profile prod]\nrole_arn = arn:aws:iam::123456789012:role/prod\nsource_profile = ops\n\
            [profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = base\n\
            external_id = e-1\nduration_seconds = 1800\nregion = eu-west-1\noutput = json\n\
            [profile ec2]\nrole_arn = arn:aws:iam::123456789012:role/x\ncredential_source = Ec2InstanceMetadata\n\
            [profile orphan]\nrole_arn = arn:aws:iam::123456789012:role/y\nsource_profile = nobody\n\
            [profile old]\ncredential_process = /usr/bin/coffer aws credential-process aws/old\n\
            [profile viaold]\nrole_arn = arn:aws:iam::123456789012:role/z\nsource_profile = old\n";
        let (c, f) = files(&creds, conf);
        let plan = plan_from(c, f, "aws/").expect("plan");
        assert_eq!(
            plan.profiles[0].mfa_serial.as_deref(),
            Some("arn:aws:iam::123456789012:mfa/me")
        );
        let roles: Vec<(&str, &str)> = plan
            .roles
            .iter()
            .map(|r| (r.credential.as_str(), r.source.as_str()))
            .collect();
        // A role's source comes first; one served by Coffer already counts.
        assert_eq!(
            roles,
            [
                ("aws/ops", "aws/base"),
                ("aws/viaold", "aws/old"),
                ("aws/prod", "aws/ops")
            ]
        );
        let ops = plan.roles[0].draft();
        assert_eq!(ops.fields["external_id"], "e-1");
        assert_eq!(ops.fields["duration"], "1800");
        assert_eq!(ops.fields["region"], "eu-west-1");
        let skipped: Vec<&str> = plan.skipped.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(skipped, ["ec2", "orphan"], "{:?}", plan.skipped);
        assert!(plan.skipped[0].1.contains("credential_source"));
        assert!(plan.skipped[1].1.contains("'nobody'"));

        let out = rewritten(&plan, &cmd).expect("rewrite");
        let conf = out.config.expect("config changed");
        for gone in [
            "role/ops",
            "role/prod",
            "source_profile = base",
            "external_id",
            "duration_seconds",
        ] {
            assert!(!conf.contains(gone), "{gone} left in:\n{}", conf.as_str());
        }
        for kept in [
            "output = json",
            "region = eu-west-1",
            "credential_source = Ec2InstanceMetadata",
            "source_profile = nobody",
        ] {
            assert!(conf.contains(kept), "{kept} lost:\n{}", conf.as_str());
        }
        assert!(
            conf.contains("credential_process = /usr/bin/coffer aws credential-process aws/prod")
        );
    }

    #[test]
    fn rewrite_removes_keys_and_sets_credential_process_keeping_the_rest() {
        let creds = format!(
            "# top comment\n[default]\naws_access_key_id = {ID}\n; keep me\naws_secret_access_key = {SECRET}\nregion = us-east-2\n\n[other]\nfoo = bar\n"
        );
        let conf = "# cfg\n[default]\noutput = json\n\n[profile other]\nregion = eu-west-1\n";
        let (c, f) = files(&creds, conf);
        let plan = plan_from(c, f, "aws/").expect("plan");
        let Rewritten {
            credentials: c,
            config: f,
        } = rewritten(&plan, &cmd).expect("rewrite");
        let c = c.expect("credentials change");
        let f = f.expect("config changes");
        assert_eq!(
            c.as_str(),
            "# top comment\n[default]\n; keep me\nregion = us-east-2\n\n[other]\nfoo = bar\n"
        );
        assert_eq!(
            f.as_str(),
            "# cfg\n[default]\noutput = json\ncredential_process = /usr/bin/coffer aws credential-process aws/default\n\n[profile other]\nregion = eu-west-1\n"
        );
    }

    #[test]
    fn rewrite_creates_sections_and_files_and_replaces_an_old_process() {
        let creds = format!(
            "[dev]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n[ci]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"
        );
        let conf = "[profile ci]\ncredential_process = /old/tool\n  --flag\nregion = x";
        let (c, f) = files(&creds, conf);
        let plan = plan_from(c, f, "").expect("plan");
        let f = rewritten(&plan, &cmd).expect("rewrite").config;
        assert_eq!(
            f.expect("config").as_str(),
            "[profile ci]\ncredential_process = /usr/bin/coffer aws credential-process ci\nregion = x\n\n[profile dev]\ncredential_process = /usr/bin/coffer aws credential-process dev\n"
        );
        let (c, f) = files(&creds, "");
        let plan = plan_from(c, f, "").expect("plan");
        let f = rewritten(&plan, &cmd).expect("rewrite").config;
        assert!(f
            .expect("config")
            .starts_with("[profile dev]\ncredential_process"));
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let creds = format!(
            "[default]\r\naws_access_key_id = {ID}\r\naws_secret_access_key = {SECRET}\r\nregion = a\r\n"
        );
        let (c, f) = files(&creds, "[default]\r\noutput = json\r\n");
        let plan = plan_from(c, f, "aws/").expect("plan");
        let Rewritten {
            credentials: c,
            config: f,
        } = rewritten(&plan, &cmd).expect("rewrite");
        assert_eq!(c.expect("c").as_str(), "[default]\r\nregion = a\r\n");
        assert_eq!(
            f.expect("f").as_str(),
            "[default]\r\noutput = json\r\ncredential_process = /usr/bin/coffer aws credential-process aws/default\r\n"
        );
    }

    #[test]
    fn parse_errors_name_file_and_line_and_no_value() {
        for (text, line) in [
            ("[a]\nx = 1\nnot a setting\n", 3),
            ("x = 1\n", 1),
            ("[a\n", 1),
            ("[a]\n[a]\n", 2),
            (
                &*format!(
                    "[a]\naws_secret_access_key = {SECRET}\naws_secret_access_key = {SECRET}\n"
                ),
                3,
            ),
        ] {
            let err = IniFile::parse(Path::new("/f"), text, true).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(&format!("/f:{line}")), "{msg}");
            assert!(!msg.contains(SECRET), "{msg}");
            assert_eq!(err.class(), crate::ErrorClass::InvalidInput);
        }
    }

    #[test]
    fn bad_key_ids_are_refused_at_plan_time_naming_the_place() {
        let creds =
            format!("[x]\naws_access_key_id = not-a-key\naws_secret_access_key = {SECRET}\n");
        let (c, f) = files(&creds, "");
        let err = plan_from(c, f, "aws/").unwrap_err().to_string();
        assert!(err.contains("/h/.aws/credentials:3"), "{err}");
        assert!(!err.contains(SECRET), "{err}");
    }

    #[test]
    fn command_words_are_shell_quoted() {
        let c = credential_process(
            Path::new("/opt/my tools/coffer"),
            Some(Path::new("/v/it's.sqlite")),
            "aws/x",
        )
        .expect("cmd");
        assert_eq!(
            c,
            r"'/opt/my tools/coffer' --vault '/v/it'\''s.sqlite' aws credential-process aws/x"
        );
        assert!(credential_process(Path::new("/a\nb"), None, "x").is_err());
    }

    #[test]
    fn apply_backs_up_writes_atomically_and_keeps_modes() {
        let dir = tempfile::tempdir().expect("dir");
        let creds_path = dir.path().join("credentials");
        let conf_path = dir.path().join("sub").join("config");
        fs::write(
            &creds_path,
            format!("[default]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"),
        )
        .expect("write");
        fs::set_permissions(&creds_path, fs::Permissions::from_mode(0o640)).expect("chmod");
        let plan = plan(&creds_path, &conf_path, "aws/").expect("plan");
        let applied = apply(&plan, &cmd, Utc::now()).expect("apply");
        assert_eq!(applied.backups.len(), 1);
        let b = &applied.backups[0];
        assert_eq!(
            fs::metadata(b).expect("b").permissions().mode() & 0o777,
            0o600
        );
        assert!(fs::read_to_string(b).expect("read").contains(SECRET));
        assert_eq!(
            fs::metadata(&creds_path).expect("m").permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            fs::metadata(&conf_path).expect("m").permissions().mode() & 0o777,
            0o600
        );
        let now = fs::read_to_string(&creds_path).expect("read");
        assert_eq!(now, "[default]\n");
        // A second plan finds nothing left to migrate.
        let again = super::plan(&creds_path, &conf_path, "aws/").expect("plan");
        assert!(again.profiles.is_empty());
        shred(b).expect("shred");
        assert!(!b.exists());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    }

    #[test]
    fn a_symlinked_file_is_rewritten_through_the_link() {
        let dir = tempfile::tempdir().expect("dir");
        let real = dir.path().join("dotfiles-credentials");
        let link = dir.path().join("credentials");
        fs::write(
            &real,
            format!("[p]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"),
        )
        .expect("write");
        std::os::unix::fs::symlink(&real, &link).expect("link");
        let plan = plan(&link, &dir.path().join("config"), "").expect("plan");
        apply(&plan, &cmd, Utc::now()).expect("apply");
        assert!(fs::symlink_metadata(&link)
            .expect("m")
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).expect("read"), "[p]\n");
    }

    #[test]
    fn vault_store_is_idempotent_and_refuses_clashes() {
        let dir = tempfile::tempdir().expect("dir");
        let sealer = crate::seal::memory::MemorySealer::default();
        let mut v = Vault::create(
            &dir.path().join("vault.sqlite"),
            &crate::vault::CreateOptions {
                sealer: Some(&sealer),
                passphrase: None,
                kdf: crate::crypto::KdfParams::MIN,
            },
            Utc::now(),
        )
        .expect("create");
        let creds =
            format!("[a]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n[b]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n");
        let (c, f) = files(&creds, "[profile a]\nregion = eu-west-1\n");
        let plan = plan_from(c, f, "aws/").expect("plan");
        assert_eq!(
            v.migrate_aws_standing(&plan).expect("standing"),
            [Standing::New, Standing::New]
        );
        let s = v.migrate_aws(&plan, Utc::now()).expect("store");
        assert_eq!(s.added, ["aws/a", "aws/b"]);
        assert_eq!(
            v.get("aws/a")
                .expect("a")
                .meta
                .fields
                .get("region")
                .map(String::as_str),
            Some("eu-west-1")
        );
        let s = v.migrate_aws(&plan, Utc::now()).expect("again");
        assert!(s.added.is_empty());
        assert_eq!(s.present, ["aws/a", "aws/b"]);
        // Same names, other secret: refused, nothing written.
        let other = creds.replace(SECRET, "Z8Rk2mVb7Tz0Lw4Xn9Pa3Hc6Yd1Fe5Gj8Kl2Mn4B");
        let (c, f) = files(&other, "");
        let plan = plan_from(c, f, "aws/").expect("plan");
        let err = v.migrate_aws(&plan, Utc::now()).unwrap_err().to_string();
        assert!(err.contains("aws/a, aws/b"), "{err}");
        assert_eq!(v.count().expect("count"), 2);
    }
}
