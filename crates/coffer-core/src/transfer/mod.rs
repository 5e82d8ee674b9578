//! Import and export: other tools' files read into credentials (one
//! transaction, all or nothing, duplicates handled by an explicit policy),
//! and credentials written out in plaintext (audited in the transaction that
//! reads them).
//!
//! Parsers are pure functions of the file's text: `aws.rs` (the AWS shared
//! credentials file), `dotenv.rs`, `json.rs` (Coffer's JSON and Bitwarden's),
//! `csv_formats.rs` (Coffer's CSV, KeePassXC, Bitwarden, 1Password). Each
//! turns the text into [`ImportItem`]s, or a [`ParseError`] naming the line;
//! this module validates the items against their kinds, plans what to do with
//! each name and applies the plan.

mod aws;
mod csv_formats;
mod dotenv;
mod json;

#[cfg(test)]
mod fuzz_tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::{Action, Event};
use crate::credential::{self, Credential, CredentialMeta, Draft, Secrets};
use crate::error::{Error, Result};
use crate::kind::{looks_secret, Kind};
use crate::secret::SecretValue;
use crate::vault::Vault;

/// The largest file `import` reads (64 MiB): far above any real export, low
/// enough that a wrong file (a disk image, a log) is refused before it is read.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// A file format that `import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    AwsCredentials,
    Dotenv,
    Json,
    Csv,
    KeepassxcCsv,
    BitwardenJson,
    BitwardenCsv,
    OnepasswordCsv,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::AwsCredentials,
        Format::Dotenv,
        Format::Json,
        Format::Csv,
        Format::KeepassxcCsv,
        Format::BitwardenJson,
        Format::BitwardenCsv,
        Format::OnepasswordCsv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::AwsCredentials => "aws-credentials",
            Format::Dotenv => "dotenv",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::KeepassxcCsv => "keepassxc-csv",
            Format::BitwardenJson => "bitwarden-json",
            Format::BitwardenCsv => "bitwarden-csv",
            Format::OnepasswordCsv => "1password-csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                Error::invalid(
                    "format",
                    format!("unknown format '{s}' (known: {})", known.join(", ")),
                )
            })
    }
}

/// A format that `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
    Dotenv,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Dotenv => "dotenv",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "json" => Ok(ExportFormat::Json),
            "csv" => Ok(ExportFormat::Csv),
            "dotenv" => Ok(ExportFormat::Dotenv),
            _ => Err(Error::invalid(
                "export format",
                format!("unknown format '{s}' (known: json, csv, dotenv)"),
            )),
        }
    }
}

/// Whether a dotenv file becomes one credential or one per variable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DotenvMode {
    #[default]
    One,
    PerVariable,
}

/// What to do with a name that is already taken (in the vault, or earlier
/// in the same file). Without a policy the import is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Leave the existing credential as it is; the imported one is dropped.
    Skip,
    /// Import under the first free `name-2`, `name-3`, …
    Rename,
    /// Write the imported content as a new version (the old one stays in history).
    Overwrite,
}

impl FromStr for OnDuplicate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "skip" => Ok(OnDuplicate::Skip),
            "rename" => Ok(OnDuplicate::Rename),
            "overwrite" => Ok(OnDuplicate::Overwrite),
            _ => Err(Error::invalid(
                "duplicate policy",
                format!("unknown policy '{s}' (known: skip, rename, overwrite)"),
            )),
        }
    }
}

/// A problem in an import file, at a line (and column where it helps).
/// The reason never quotes the file's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: Option<usize>,
    pub reason: String,
}

impl ParseError {
    pub(crate) fn at(line: usize, reason: impl Into<String>) -> Self {
        ParseError {
            line,
            column: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn at_col(line: usize, column: usize, reason: impl Into<String>) -> Self {
        ParseError {
            line,
            column: Some(column),
            reason: reason.into(),
        }
    }

    /// The core error for this problem in `file`.
    pub fn in_file(&self, file: &str) -> Error {
        let place = match self.column {
            Some(c) => format!("import file {file}, line {}, column {c}", self.line),
            None => format!("import file {file}, line {}", self.line),
        };
        Error::invalid(place, self.reason.clone())
    }
}

pub(crate) type Parse<T> = std::result::Result<T, ParseError>;

/// How an imported field is classed as secret or plain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Secret whatever its name (a password column, a hidden field).
    Secret,
    /// Plain unless its kind's schema or its name says secret.
    Plain,
    /// The kind's schema decides; for fields it does not know, the name
    /// (`kind::looks_secret`).
    ByName,
}

/// One credential read from a file, before validation. `Debug` shows field
/// names only.
#[derive(Clone)]
pub struct ImportItem {
    /// The line the item starts on.
    pub line: usize,
    pub name: String,
    pub kind: Kind,
    pub env: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    fields: BTreeMap<String, (SecretValue, Class)>,
    /// One value taken from a single variable (dotenv per-variable mode):
    /// with `--kind` it moves to that kind's main secret field.
    single_value: bool,
}

impl fmt::Debug for ImportItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportItem")
            .field("line", &self.line)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ImportItem {
    pub(crate) fn new(line: usize, name: String, kind: Kind) -> Self {
        ImportItem {
            line,
            name,
            kind,
            env: None,
            tags: Vec::new(),
            notes: None,
            expires_at: None,
            rotated_at: None,
            fields: BTreeMap::new(),
            single_value: false,
        }
    }

    /// Adds a field; a field given twice is an error at `line`.
    pub(crate) fn set(
        &mut self,
        line: usize,
        name: &str,
        value: SecretValue,
        class: Class,
    ) -> Parse<()> {
        if self.fields.contains_key(name) {
            return Err(ParseError::at(
                line,
                format!(
                    "field '{}' of '{}' is given twice",
                    credential::printable(name),
                    credential::printable(&self.name)
                ),
            ));
        }
        self.fields.insert(name.to_owned(), (value, class));
        Ok(())
    }

    /// Adds a field unless its value is empty (other tools' exports leave
    /// unused columns empty; Coffer stores no empty value).
    pub(crate) fn set_nonempty(&mut self, line: usize, name: &str, value: &str, class: Class) {
        if value.is_empty() {
            return;
        }
        // A name already used gets a numbered twin rather than an error:
        // third-party items may repeat a custom field's label.
        let mut field = name.to_owned();
        let mut n = 2;
        while self.fields.contains_key(&field) {
            field = format!("{name}_{n}");
            n += 1;
        }
        let _ = self.set(line, &field, SecretValue::from(value), class);
    }

    #[cfg(test)]
    pub(crate) fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    pub(crate) fn has_fields(&self) -> bool {
        !self.fields.is_empty()
    }

    /// Validates the item into stored form, applying the overrides. Errors
    /// name the item's line.
    fn prepare(mut self, overrides: &Overrides) -> Parse<Prepared> {
        let line = self.line;
        if let Some(kind) = overrides.kind {
            if self.single_value && kind != Kind::Generic {
                if let Some(main) = kind.schema().iter().find(|f| f.secret && f.required) {
                    let values: Vec<(SecretValue, Class)> =
                        std::mem::take(&mut self.fields).into_values().collect();
                    for (value, _) in values {
                        self.fields
                            .insert(main.name.to_owned(), (value, Class::Secret));
                    }
                }
            }
            self.kind = kind;
        }
        if overrides.env.is_some() {
            self.env.clone_from(&overrides.env);
        }
        self.tags.extend(overrides.tags.iter().cloned());
        let mut draft = Draft::new(self.name.clone(), self.kind);
        draft.env = self.env;
        draft.tags = self.tags;
        draft.notes = self.notes;
        draft.expires_at = self.expires_at;
        draft.rotated_at = self.rotated_at;
        for (name, (value, class)) in self.fields {
            let secret = match self.kind.field(&name) {
                Some(spec) => spec.secret,
                None => match class {
                    Class::Secret => true,
                    Class::Plain | Class::ByName => looks_secret(&name),
                },
            };
            if secret {
                draft.values.insert(name, value);
            } else {
                draft.fields.insert(name, value.expose_secret().to_owned());
            }
        }
        let (meta, secrets) = draft.into_parts().map_err(|e| {
            ParseError::at(
                line,
                format!(
                    "credential '{}': {}",
                    credential::printable(&self.name),
                    plain_message(&e)
                ),
            )
        })?;
        Ok(Prepared {
            line,
            meta,
            secrets,
        })
    }
}

/// A core error's message without the "invalid " the CLI would print twice.
fn plain_message(e: &Error) -> String {
    match e {
        Error::Invalid { what, reason } => format!("{what}: {reason}"),
        other => other.to_string(),
    }
}

/// What a parser produced: items in file order and notes for the report.
#[derive(Debug, Default)]
pub struct Parsed {
    pub items: Vec<ImportItem>,
    pub warnings: Vec<String>,
}

/// How to read a file.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    pub format: Format,
    pub dotenv_mode: DotenvMode,
    /// The credential's name (dotenv, one credential).
    pub name: Option<String>,
    /// Put before every name (`aws/` by default for AWS profiles).
    pub prefix: Option<String>,
}

/// Properties set on every imported credential.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub kind: Option<Kind>,
    pub env: Option<String>,
    pub tags: Vec<String>,
}

/// A validated credential ready to be written.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub line: usize,
    pub meta: CredentialMeta,
    pub secrets: Secrets,
}

/// Everything read from one file, validated.
#[derive(Debug)]
pub struct Batch {
    pub file: String,
    pub format: Format,
    pub items: Vec<Prepared>,
    pub warnings: Vec<String>,
}

/// Reads a file for import: at most [`MAX_INPUT_BYTES`], into a buffer that
/// is wiped when dropped.
pub fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let io = |source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(Error::invalid(
            format!("import file {}", path.display()),
            "it is a directory",
        ));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_big(path));
    }
    // Sized up front so the buffer is never reallocated (a reallocation
    // would leave an unwiped copy of the secrets behind).
    let capacity = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity.max(4096)));
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_big(path));
    }
    Ok(bytes)
}

fn too_big(path: &Path) -> Error {
    Error::invalid(
        format!("import file {}", path.display()),
        format!(
            "it is over the limit of {} MiB; no export of credentials is that large",
            MAX_INPUT_BYTES / 1024 / 1024
        ),
    )
}

/// The file's text: UTF-8 (a byte-order mark is dropped), no NUL bytes.
pub fn decode(bytes: &[u8]) -> Parse<&str> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(ParseError::at(
            1,
            "the file is UTF-16 text; save it as UTF-8 and import it again",
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (l, c) = line_col(bytes, e.valid_up_to());
        ParseError::at_col(
            l,
            c,
            "not valid UTF-8 text (a binary file, or another encoding such as Latin-1); save it as UTF-8",
        )
    })?;
    if let Some(at) = text.find('\0') {
        let (l, c) = line_col(bytes, at);
        return Err(ParseError::at_col(
            l,
            c,
            "binary data (a NUL byte); this is not a text export",
        ));
    }
    Ok(text)
}

/// Line and column (1-based, in characters) of byte offset `at`.
pub(crate) fn line_col(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

/// Parses `text` in `options.format`; `stem` names a dotenv credential when
/// no name is given.
pub fn parse(text: &str, options: &ParseOptions, stem: &str) -> Parse<Parsed> {
    let prefix = options.prefix.as_deref();
    let mut parsed = Parsed::default();
    match options.format {
        Format::AwsCredentials => aws::parse(text, prefix.unwrap_or("aws/"), &mut parsed)?,
        Format::Dotenv => {
            let name = options.name.clone().unwrap_or_else(|| {
                format!("{}{}", prefix.unwrap_or(""), default_dotenv_name(stem))
            });
            dotenv::parse(
                text,
                options.dotenv_mode,
                &name,
                prefix.unwrap_or(""),
                &mut parsed,
            )?
        }
        Format::Json => json::parse_coffer(text, prefix.unwrap_or(""), &mut parsed)?,
        Format::BitwardenJson => json::parse_bitwarden(text, prefix.unwrap_or(""), &mut parsed)?,
        Format::Csv => csv_formats::parse_coffer(text, prefix.unwrap_or(""), &mut parsed)?,
        Format::KeepassxcCsv => {
            csv_formats::parse_keepassxc(text, prefix.unwrap_or(""), &mut parsed)?
        }
        Format::BitwardenCsv => {
            csv_formats::parse_bitwarden(text, prefix.unwrap_or(""), &mut parsed)?
        }
        Format::OnepasswordCsv => {
            csv_formats::parse_onepassword(text, prefix.unwrap_or(""), &mut parsed)?
        }
    }
    Ok(parsed)
}

/// A dotenv file's default credential name: the file name without leading
/// dots and without a trailing `.env` (`.env` → `env`, `prod.env` → `prod`).
fn default_dotenv_name(file_name: &str) -> String {
    let trimmed = file_name.trim_start_matches('.');
    let base = match trimmed.strip_suffix(".env") {
        Some(b) if !b.is_empty() => b,
        _ => trimmed,
    };
    if base.is_empty() {
        "env".to_owned()
    } else {
        base.to_owned()
    }
}

/// Reads, parses and validates an import file: nothing is written, and any
/// problem is an error naming the file and line.
pub fn read_import(path: &Path, options: &ParseOptions, overrides: &Overrides) -> Result<Batch> {
    let file = path.display().to_string();
    let bytes = read_file(path)?;
    let text = decode(&bytes).map_err(|e| e.in_file(&file))?;
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = parse(text, options, &stem).map_err(|e| e.in_file(&file))?;
    let batch = prepare(parsed, overrides).map_err(|e| e.in_file(&file))?;
    Ok(Batch {
        file,
        format: options.format,
        items: batch.0,
        warnings: batch.1,
    })
}

/// Validates parsed items.
pub fn prepare(parsed: Parsed, overrides: &Overrides) -> Parse<(Vec<Prepared>, Vec<String>)> {
    // Validation is independent per item: on all cores for a big file (the
    // error reported is still the first in the file).
    let items = crate::par::map_owned(parsed.items, |i| i.prepare(overrides))?;
    Ok((items, parsed.warnings))
}

// ---- names, tags and field names from other tools ----

/// A credential name from another tool's title: each `/`-separated part
/// trimmed, empty parts dropped, control characters made spaces, at most
/// 256 bytes; "untitled" when nothing is left.
pub(crate) fn clean_name(prefix: &str, raw: &str) -> String {
    let no_controls: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut name = no_controls
        .split('/')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    if name.is_empty() {
        name = "untitled".to_owned();
    }
    let mut full = format!("{prefix}{name}");
    let limit = credential::MAX_NAME_LEN.saturating_sub(8);
    if full.len() > limit {
        let mut cut = limit;
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        full.truncate(cut);
        full = full.trim_end_matches(['/', ' ']).to_owned();
    }
    full
}

/// A tag from a group or folder path: characters a tag cannot hold become
/// `-`; `None` when nothing is left.
pub(crate) fn clean_tag(raw: &str) -> Option<String> {
    let mut tag = String::new();
    for c in raw.trim().chars() {
        let ok = c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '=');
        let c = if ok { c } else { '-' };
        if c == '-' && tag.ends_with('-') {
            continue;
        }
        tag.push(c);
    }
    let tag = tag.trim_matches('-');
    let mut tag = tag.to_owned();
    while tag.len() > credential::MAX_TAG_LEN {
        tag.pop();
    }
    (!tag.is_empty()).then_some(tag)
}

/// A field name from another tool's label: letters, digits, `_ - .`; other
/// characters become `_`; at most 64 characters.
pub(crate) fn clean_field_name(raw: &str) -> String {
    let mut name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(credential::MAX_FIELD_NAME_LEN - 3)
        .collect();
    if name.is_empty() {
        name = "field".to_owned();
    }
    name
}

// ---- planning and applying an import ----

/// What happened (or, in a dry run, would happen) to one imported item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new credential.
    Imported,
    /// A new version of an existing credential.
    Overwritten,
    /// Imported under another name (`to`), the original being taken.
    Renamed { to: String },
    /// Not imported: the name is taken.
    Skipped,
    /// The name is taken by a credential with the same content: nothing to write.
    Unchanged,
    /// The name is taken and no policy was given.
    Duplicate,
}

#[derive(Clone, Debug)]
pub struct ReportEntry {
    pub name: String,
    pub line: usize,
    pub outcome: Outcome,
    /// The credential's version after the import (none for skipped, duplicate
    /// and dry-run entries).
    pub version: Option<u64>,
}

/// The result of an import.
#[derive(Clone, Debug)]
pub struct Report {
    pub file: String,
    pub format: Format,
    pub dry_run: bool,
    /// Whether anything was written (false in a dry run and when refused).
    pub written: bool,
    pub entries: Vec<ReportEntry>,
    pub warnings: Vec<String>,
}

impl Report {
    /// Names that are taken while no duplicate policy was given: the import
    /// was refused and nothing was written.
    pub fn duplicates(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.outcome == Outcome::Duplicate)
            .map(|e| e.name.as_str())
            .collect()
    }

    pub fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.entries.iter().filter(|e| pred(&e.outcome)).count()
    }
}

impl Vault {
    /// Imports a validated batch in one transaction: every credential is
    /// written, or none. Names taken in the vault or earlier in the batch
    /// follow `policy`; without one, the report lists them as duplicates and
    /// nothing is written. A dry run decides everything and writes nothing.
    #[tracing::instrument(skip_all, fields(count = batch.items.len()))]
    pub fn import(
        &self,
        batch: &Batch,
        policy: Option<OnDuplicate>,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<Report> {
        // Sealing is most of an import's work: every item is sealed up front,
        // on all cores, as the new credential it usually becomes. A renamed
        // or overwriting item is sealed again when it is written.
        // Every imported version says where it came from until reviewed.
        let arrival = credential::Arrival {
            via: format!("import from {}", batch.file),
            at: now,
        };
        let arrived = |meta: &CredentialMeta| {
            let mut meta = meta.clone();
            meta.arrived = Some(arrival.clone());
            meta
        };
        // Each item's metadata as it is stored, sealed once, on all cores.
        let mut sealed = if dry_run {
            Vec::new()
        } else {
            let cipher = self.cipher()?;
            crate::par::map(&batch.items, |item| {
                let meta = arrived(&item.meta);
                let sealed = cipher.seal_new(&meta, &item.secrets)?;
                Ok::<_, Error>(Some((meta, sealed)))
            })?
        };
        let _cache = self.wide_page_cache()?;
        let tx = self.begin()?;
        // Names known to be taken: in the vault, or by an earlier item.
        let mut planned: BTreeSet<String> = BTreeSet::new();
        let taken = |planned: &BTreeSet<String>, name: &str| -> Result<bool> {
            if planned.contains(name) {
                return Ok(true);
            }
            // Not `find_required`: a free name is the common case here, and
            // telling a missing record from a misfiled one reads them all.
            Ok(self.lookup(&tx, name)?.is_some())
        };
        let mut entries = Vec::with_capacity(batch.items.len());
        let mut events = Vec::new();
        let write = !dry_run;
        for (i, item) in batch.items.iter().enumerate() {
            let name = item.meta.name.clone();
            let mut entry = ReportEntry {
                name: name.clone(),
                line: item.line,
                outcome: Outcome::Imported,
                version: None,
            };
            if !taken(&planned, &name)? {
                if write {
                    let (meta, s) = sealed[i].take().ok_or_else(|| Error::Failure {
                        what: "an import item was written twice".into(),
                    })?;
                    let c = self.insert_sealed(&tx, &s, meta, now)?;
                    entry.version = Some(c.version);
                    events.push((c, "imported"));
                }
                planned.insert(name);
                entries.push(entry);
                continue;
            }
            match policy {
                None => entry.outcome = Outcome::Duplicate,
                Some(OnDuplicate::Skip) => entry.outcome = Outcome::Skipped,
                Some(OnDuplicate::Rename) => {
                    let mut n = 2u32;
                    let to = loop {
                        let candidate = format!("{name}-{n}");
                        if !taken(&planned, &candidate)? {
                            break candidate;
                        }
                        n += 1;
                    };
                    let mut meta = arrived(&item.meta);
                    meta.name.clone_from(&to);
                    credential::validate(&meta, &item.secrets).map_err(|e| {
                        ParseError::at(
                            item.line,
                            format!("renamed credential '{to}': {}", plain_message(&e)),
                        )
                        .in_file(&batch.file)
                    })?;
                    if write {
                        let c = self.insert(&tx, meta, &item.secrets, now)?;
                        entry.version = Some(c.version);
                        events.push((c, "renamed"));
                    }
                    planned.insert(to.clone());
                    entry.outcome = Outcome::Renamed { to };
                }
                Some(OnDuplicate::Overwrite) => {
                    entry.outcome = Outcome::Overwritten;
                    // In a dry run an item overwriting an earlier item of
                    // the same file has nothing stored to compare with.
                    let stored = match self.current_with_secrets(&tx, &name) {
                        Ok(found) => Some(found),
                        Err(Error::NotFound { .. }) if dry_run => None,
                        Err(e) => return Err(e),
                    };
                    if let Some((row, current, current_secrets)) = stored {
                        let mut meta = item.meta.clone();
                        // What the file cannot say stays as it was.
                        meta.policy = current.policy;
                        meta.compromised_at = current.compromised_at;
                        meta.arrived.clone_from(&current.arrived);
                        if meta == current && item.secrets == current_secrets {
                            entry.outcome = Outcome::Unchanged;
                            entry.version = Some(row.version);
                        } else if write {
                            let meta = arrived(&meta);
                            let c = self.write_version(&tx, &row, &meta, &item.secrets, now)?;
                            entry.version = Some(c.version);
                            events.push((c, "overwritten"));
                        }
                    }
                }
            }
            planned.insert(name);
            entries.push(entry);
        }
        let mut report = Report {
            file: batch.file.clone(),
            format: batch.format,
            dry_run,
            written: false,
            entries,
            warnings: batch.warnings.clone(),
        };
        if dry_run || !report.duplicates().is_empty() {
            // Dropping the transaction rolls back anything written in it.
            drop(tx);
            return Ok(report);
        }
        let entries: Vec<Event> = events
            .iter()
            .map(|(c, outcome)| {
                Event::new(Action::Import)
                    .target(c.id, &c.meta.name)
                    .details(json!({
                        "format": batch.format.as_str(),
                        "outcome": outcome,
                        "version": c.version,
                        "kind": c.meta.kind.as_str(),
                    }))
            })
            .collect();
        tx.record_all(&entries, now)?;
        let summary = Event::new(Action::Import).details(json!({
            "format": batch.format.as_str(),
            "file": batch.file,
            "imported": report.count(|o| *o == Outcome::Imported),
            "overwritten": report.count(|o| *o == Outcome::Overwritten),
            "renamed": report.count(|o| matches!(o, Outcome::Renamed { .. })),
            "skipped": report.count(|o| *o == Outcome::Skipped),
            "unchanged": report.count(|o| *o == Outcome::Unchanged),
        }));
        tx.record(summary, now)?;
        tx.commit()?;
        report.written = true;
        tracing::debug!(written = events.len(), "import committed");
        Ok(report)
    }

    /// Reads credentials with their secret values for a plaintext export,
    /// recording the export (names and count, never values) in the same
    /// transaction. No names means every credential.
    #[tracing::instrument(skip_all)]
    pub fn export_plaintext(
        &self,
        names: &[String],
        format: ExportFormat,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Credential, Secrets)>> {
        let mut wanted: Vec<String> = if names.is_empty() {
            self.list()?.into_iter().map(|c| c.meta.name).collect()
        } else {
            names.to_vec()
        };
        let mut seen = BTreeSet::new();
        wanted.retain(|n| seen.insert(n.clone()));
        let tx = self.begin()?;
        let mut out = Vec::with_capacity(wanted.len());
        for name in &wanted {
            let (row, meta, secrets) = self.current_with_secrets(&tx, name)?;
            out.push((row.credential(meta), secrets));
        }
        let event = Event::new(Action::Export).details(json!({
            "format": format.as_str(),
            "destination": destination,
            "count": out.len(),
            "names": wanted,
        }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Renders exported credentials. The text is built in a buffer sized up
/// front and wiped on drop.
pub fn render(format: ExportFormat, items: &[(Credential, Secrets)]) -> Result<Zeroizing<Vec<u8>>> {
    match format {
        ExportFormat::Json => json::render_coffer(items),
        ExportFormat::Csv => Ok(csv_formats::render_coffer(items)),
        ExportFormat::Dotenv => dotenv::render(items),
    }
}

/// A buffer for `n` bytes of output that will not be reallocated while the
/// estimate holds.
pub(crate) fn output_buffer(items: &[(Credential, Secrets)]) -> Zeroizing<Vec<u8>> {
    let mut size = 256usize;
    for (c, s) in items {
        // Worst case every character is escaped as \u00XX (6 bytes).
        let text = c.meta.name.len()
            + c.meta.notes.as_deref().map_or(0, str::len)
            + c.meta.tags.iter().map(|t| t.len() + 4).sum::<usize>()
            + c.meta
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.len() + 8)
                .sum::<usize>()
            + s.0
                .iter()
                .map(|(k, v)| k.len() + v.len() + 8)
                .sum::<usize>();
        // CSV repeats the credential's properties on each field's row.
        let rows = c.meta.fields.len() + s.0.len() + 1;
        size += 6 * text
            + rows * (512 + 6 * (c.meta.name.len() + c.meta.notes.as_deref().map_or(0, str::len)));
    }
    Zeroizing::new(Vec::with_capacity(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(format: Format) -> ParseOptions {
        ParseOptions {
            format,
            dotenv_mode: DotenvMode::One,
            name: None,
            prefix: None,
        }
    }

    #[test]
    fn decode_refuses_bad_text_with_a_position() {
        assert_eq!(decode(b"\xEF\xBB\xBFa=b").unwrap(), "a=b");
        let e = decode(b"A=1\nB=caf\xE9\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, Some(6)));
        let e = decode(b"\xFF\xFEa\0").unwrap_err();
        assert!(e.reason.contains("UTF-16"), "{e:?}");
        let e = decode(b"x\ny\0").unwrap_err();
        assert_eq!((e.line, e.column), (2, Some(2)));
    }

    #[test]
    fn names_tags_and_fields_are_cleaned() {
        assert_eq!(clean_name("", " My Bank / Savings "), "My Bank/Savings");
        assert_eq!(clean_name("p/", "//"), "p/untitled");
        assert_eq!(clean_name("", "a\tb"), "a b");
        assert!(clean_name("", &"x".repeat(400)).len() <= credential::MAX_NAME_LEN);
        assert_eq!(
            clean_tag("Root/Work Stuff!").as_deref(),
            Some("Root/Work-Stuff")
        );
        assert_eq!(clean_tag("  "), None);
        assert_eq!(clean_field_name("Security Q #1"), "Security_Q__1");
    }

    #[test]
    fn dotenv_default_names() {
        assert_eq!(default_dotenv_name(".env"), "env");
        assert_eq!(default_dotenv_name("prod.env"), "prod");
        assert_eq!(default_dotenv_name(".env.local"), "env.local");
        assert_eq!(default_dotenv_name("..."), "env");
    }

    #[test]
    fn item_debug_hides_values() {
        let mut item = ImportItem::new(1, "x".into(), Kind::Generic);
        item.set(1, "password", "canary-hunter2".into(), Class::Secret)
            .unwrap();
        let text = format!("{item:?}");
        assert!(
            text.contains("password") && !text.contains("canary"),
            "{text}"
        );
        let prepared = item.prepare(&Overrides::default()).unwrap();
        assert!(!format!("{prepared:?}").contains("canary"));
    }

    #[test]
    fn schema_and_names_decide_secret_fields() {
        let parsed = parse(
            "PASSWORD=p\nREGION=eu\nDATABASE_URL=postgres://u:pw@h/db\n",
            &opts(Format::Dotenv),
            ".env",
        )
        .unwrap();
        let (items, _) = prepare(parsed, &Overrides::default()).unwrap();
        let p = &items[0];
        assert_eq!(p.meta.name, "env");
        assert!(p.secrets.0.contains_key("PASSWORD"));
        assert!(p.secrets.0.contains_key("DATABASE_URL"));
        assert!(
            p.secrets.0.contains_key("REGION"),
            "dotenv values are secret"
        );
        let mut per = opts(Format::Dotenv);
        per.dotenv_mode = DotenvMode::PerVariable;
        let parsed = parse("STRIPE=sk_live_1\n", &per, ".env").unwrap();
        let over = Overrides {
            kind: Some(Kind::ApiKey),
            ..Overrides::default()
        };
        let (items, _) = prepare(parsed, &over).unwrap();
        assert_eq!(items[0].meta.kind, Kind::ApiKey);
        assert_eq!(items[0].secrets.0["key"].expose_secret(), "sk_live_1");
    }

    #[test]
    fn schema_failures_name_the_line() {
        let text =
            "[default]\naws_access_key_id = lower-case\naws_secret_access_key = aws_secret\n";
        let parsed = parse(text, &opts(Format::AwsCredentials), "credentials").unwrap();
        let e = prepare(parsed, &Overrides::default()).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(
            e.reason.contains("aws/default") && e.reason.contains("access_key_id"),
            "{e:?}"
        );
        // The schema may quote a plain value (an access key id is not secret); never a secret one.
        assert!(!e.reason.contains("aws_secret"), "{e:?}");
    }
}
