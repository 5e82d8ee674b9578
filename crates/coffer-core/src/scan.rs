//! Finding plaintext credentials in files (`coffer scan`).
//!
//! Two kinds of rules run over each line: token formats that are secret
//! wherever they appear (AWS key ids, private key blocks, GitHub, Slack,
//! Stripe and Google API tokens, JWTs), and, in configuration files
//! (`.env`, ini, toml, yaml, json, …), values assigned to secret-looking
//! names that look random (length and Shannon entropy). A finding keeps its
//! value in a [`SecretValue`] (for `--import`); what is shown is masked to
//! at most its first four characters. The regex crate runs in linear time,
//! so no input makes a scan slow.
//!
//! AWS's documented example keys (`AKIAIOSFODNN7EXAMPLE`,
//! `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`) and any AWS key ending in
//! `EXAMPLE`/`EXAMPLEKEY` are not reported: they fill documentation and
//! tests, and reporting them would teach people to ignore the scanner.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::WalkBuilder;
use regex::Regex;
use zeroize::Zeroizing;

use crate::credential::Draft;
use crate::error::{Error, Result};
use crate::kind::{looks_secret, Kind};
use crate::secret::SecretValue;

/// Files larger than this are skipped.
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// Directories never entered.
pub const SKIP_DIRS: [&str; 3] = [".git", "node_modules", "target"];
/// The shortest value the entropy rule considers.
pub const MIN_SECRET_LEN: usize = 12;
/// Shannon entropy (bits per character) a value needs for the entropy rule.
pub const MIN_ENTROPY: f64 = 3.0;

/// What a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    AwsAccessKeyId,
    AwsSecretAccessKey,
    PrivateKey,
    GithubToken,
    SlackToken,
    StripeKey,
    GoogleApiKey,
    Jwt,
    /// A random-looking value assigned to a secret-looking name.
    SecretAssignment,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::AwsAccessKeyId => "aws-access-key-id",
            FindingKind::AwsSecretAccessKey => "aws-secret-access-key",
            FindingKind::PrivateKey => "private-key",
            FindingKind::GithubToken => "github-token",
            FindingKind::SlackToken => "slack-token",
            FindingKind::StripeKey => "stripe-key",
            FindingKind::GoogleApiKey => "google-api-key",
            FindingKind::Jwt => "jwt",
            FindingKind::SecretAssignment => "secret-assignment",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One plaintext credential in a file. `Debug` never shows the value.
#[derive(Clone)]
pub struct Finding {
    /// The file, as reached from the path given to the scan.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    pub kind: FindingKind,
    /// The variable or setting it is assigned to, when there is one.
    pub name: Option<String>,
    /// At most the first four characters, then `*`s.
    pub masked: String,
    value: SecretValue,
}

impl fmt::Debug for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finding")
            .field("file", &self.file)
            .field("line", &self.line)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("masked", &self.masked)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

/// A file the scan did not read, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// The result of a scan.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub files_scanned: usize,
    pub skipped: Vec<Skipped>,
}

/// How to scan.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Glob patterns (`*`, `?`, `**`) of paths to leave out. A pattern
    /// without `/` matches any single path component (like .gitignore);
    /// one with `/` matches the path relative to the scanned root.
    pub exclude: Vec<String>,
    /// Also leave out what `.gitignore` files exclude (as git would).
    pub gitignore: bool,
}

/// `value` masked: at most its first four characters (fewer for a short
/// value), then twelve `*` whatever its length.
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    let shown = if n >= 16 { 4 } else { n / 4 };
    let mut out: String = value.chars().take(shown).collect();
    out.push_str(&"*".repeat(12));
    out
}

/// Shannon entropy of `s` in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

struct Rules {
    aws_id: Regex,
    aws_secret: Regex,
    private_begin: Regex,
    tokens: Vec<(FindingKind, Regex)>,
    assignment: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        // The patterns are constants; a typo is caught by the unit tests.
        let re = |s: &str| Regex::new(s).unwrap_or_else(|e| panic!("bad built-in pattern: {e}"));
        Rules {
            aws_id: re(r"(?:^|[^A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?:$|[^A-Za-z0-9])"),
            aws_secret: re(
                r#"(?i)(aws_?secret_?access_?key|secret_?access_?key|aws_?secret_?key)["']?\s*(?:=|:|=>)\s*["']?([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])"#,
            ),
            private_begin: re(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"),
            tokens: vec![
                (
                    FindingKind::GithubToken,
                    re(r"(?:^|[^A-Za-z0-9_])((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,255})(?:$|[^A-Za-z0-9_])"),
                ),
                (
                    FindingKind::SlackToken,
                    re(r"(?:^|[^A-Za-z0-9_])(xox[abposr]-[A-Za-z0-9-]{10,200})(?:$|[^A-Za-z0-9_-])"),
                ),
                (
                    FindingKind::StripeKey,
                    re(r"(?:^|[^A-Za-z0-9_])((?:sk|rk)_live_[A-Za-z0-9]{20,200})(?:$|[^A-Za-z0-9_])"),
                ),
                (
                    FindingKind::GoogleApiKey,
                    re(r"(?:^|[^A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})(?:$|[^A-Za-z0-9_-])"),
                ),
                (
                    FindingKind::Jwt,
                    re(r"(?:^|[^A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})(?:$|[^A-Za-z0-9_.-])"),
                ),
            ],
            assignment: re(
                r#"^\s*(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.\-]{0,127})["']?\s*(?:=|:)\s*(.*)$"#,
            ),
        }
    })
}

fn is_aws_example(value: &str) -> bool {
    value.ends_with("EXAMPLE") || value.ends_with("EXAMPLEKEY")
}

/// Whether the file is configuration, where the entropy rule applies.
fn config_like(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.starts_with(".env") || name.ends_with(".env") {
        return true;
    }
    if matches!(
        name.as_str(),
        "credentials" | "config" | ".npmrc" | ".pypirc" | ".netrc" | ".dockercfg"
    ) {
        return true;
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "env"
            | "ini"
            | "cfg"
            | "conf"
            | "config"
            | "cnf"
            | "toml"
            | "yaml"
            | "yml"
            | "json"
            | "properties"
            | "tfvars"
            | "secrets"
    )
}

/// A value assigned in a config line, unquoted; `None` for something that
/// is not a single literal (empty, an interpolation, text with spaces).
fn literal(raw: &str) -> Option<&str> {
    let mut v = raw.trim();
    v = v.strip_suffix(',').unwrap_or(v).trim_end();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q) {
            let end = inner.find(q)?;
            return Some(&inner[..end]);
        }
    }
    // An unquoted value ends at an inline comment.
    if let Some(i) = v.find(" #") {
        v = v[..i].trim_end();
    }
    Some(v)
}

const PLACEHOLDERS: [&str; 16] = [
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "your_",
    "your-",
    "xxxx",
    "****",
    "dummy",
    "redacted",
    "replace",
    "sample",
    "todo",
    "fixme",
    "notasecret",
];

/// Whether an assigned value looks like a real, random secret.
fn random_looking(v: &str) -> bool {
    let n = v.chars().count();
    if !(MIN_SECRET_LEN..=4096).contains(&n) || v.chars().any(char::is_whitespace) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p))
        || ["${", "{{", "<", "%(", "$("].iter().any(|p| v.contains(p))
        || v.starts_with(['/', '~', '$', '.'])
        || lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("file:")
        || lower == "true"
        || lower == "false"
        || lower == "null"
    {
        return false;
    }
    if entropy(v) < MIN_ENTROPY {
        return false;
    }
    // Identifiers (`prod-db-credentials`, `MyAppSecret`) are words; a
    // generated secret mixes letters and digits within a run, or is long
    // and very random.
    let mixed_run = v.split(|c: char| !c.is_ascii_alphanumeric()).any(|run| {
        run.len() >= 8
            && run.chars().any(|c| c.is_ascii_digit())
            && run.chars().any(|c| c.is_ascii_alphabetic())
    });
    mixed_run || (n >= 20 && entropy(v) >= 4.0)
}

/// Scans one file's text. `file` is used for the findings' paths and to
/// decide whether the entropy rule applies.
pub fn scan_text(file: &Path, text: &str) -> Vec<Finding> {
    let r = rules();
    let config = config_like(file);
    let mut out: Vec<Finding> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        let n = i + 1;
        let assigned = r.assignment.captures(line).and_then(|c| {
            let name = c.get(1)?.as_str().to_owned();
            Some((name, c.get(2)?.as_str()))
        });
        let name = assigned.as_ref().map(|(name, _)| name.clone());
        let mut seen: Vec<String> = Vec::new();
        let mut push = |kind, name: Option<String>, value: &str, out: &mut Vec<Finding>| {
            if seen.iter().any(|s| s == value) {
                return;
            }
            seen.push(value.to_owned());
            out.push(Finding {
                file: file.to_owned(),
                line: n,
                kind,
                name,
                masked: mask(value),
                value: SecretValue::from(value),
            });
        };
        // A private key block: reported once, at its BEGIN line; its value
        // is the whole block (for import).
        if let Some(c) = r.private_begin.captures(line) {
            let label = c.get(1).map(|m| m.as_str()).unwrap_or("PRIVATE KEY");
            let end = format!("-----END {label}-----");
            let mut block = Zeroizing::new(String::new());
            block.push_str(line.trim());
            let mut j = i + 1;
            let mut closed = false;
            while j < lines.len() && j - i < 2000 {
                let l = lines[j].trim();
                block.push('\n');
                block.push_str(l);
                if l.contains(&end) {
                    closed = true;
                    break;
                }
                j += 1;
            }
            // Masked from the key body, not the header everyone knows.
            let body = lines
                .get(i + 1)
                .map(|l| l.trim())
                .filter(|l| !l.contains(':') && !l.starts_with("-----"))
                .unwrap_or("");
            if closed || !body.is_empty() {
                out.push(Finding {
                    file: file.to_owned(),
                    line: n,
                    kind: FindingKind::PrivateKey,
                    name: name.clone().or_else(|| Some(label.to_owned())),
                    masked: mask(if body.is_empty() { "----" } else { body }),
                    value: SecretValue::from(block.as_str()),
                });
            }
            if closed {
                i = j + 1;
                continue;
            }
        }
        for c in r.aws_id.captures_iter(line) {
            if let Some(m) = c.get(1) {
                if !is_aws_example(m.as_str()) {
                    push(
                        FindingKind::AwsAccessKeyId,
                        name.clone(),
                        m.as_str(),
                        &mut out,
                    );
                }
            }
        }
        for c in r.aws_secret.captures_iter(line) {
            if let Some(m) = c.get(2) {
                if !is_aws_example(m.as_str()) {
                    push(
                        FindingKind::AwsSecretAccessKey,
                        name.clone()
                            .or_else(|| c.get(1).map(|k| k.as_str().to_owned())),
                        m.as_str(),
                        &mut out,
                    );
                }
            }
        }
        for (kind, re) in &r.tokens {
            for c in re.captures_iter(line) {
                if let Some(m) = c.get(1) {
                    push(*kind, name.clone(), m.as_str(), &mut out);
                }
            }
        }
        if config {
            if let Some((var, raw)) = &assigned {
                if looks_secret(var) {
                    if let Some(v) = literal(raw) {
                        let covered = out
                            .iter()
                            .any(|f| f.line == n && v.contains(f.value.expose_secret()));
                        if !covered && random_looking(v) {
                            push(
                                FindingKind::SecretAssignment,
                                Some(var.clone()),
                                v,
                                &mut out,
                            );
                        }
                    }
                }
            }
        }
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Walking.

/// The `--exclude` patterns, matched with globset (`*` and `?` stay within
/// a path component, `**` crosses them, `**/` also matches no directory).
/// A pattern with `/` matches the path relative to the root (or a directory
/// above it); one without matches any single component.
struct Excludes {
    anchored: GlobSet,
    component: GlobSet,
}

impl Excludes {
    fn new(opts: &Options) -> Result<Excludes> {
        let mut anchored = GlobSetBuilder::new();
        let mut component = GlobSetBuilder::new();
        for pat in &opts.exclude {
            let p = pat.trim_start_matches("./").trim_end_matches('/');
            let glob = GlobBuilder::new(p)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|_| {
                    Error::invalid(format!("exclude pattern '{pat}'"), "not a usable glob")
                })?;
            if p.contains('/') {
                anchored.add(glob);
            } else {
                component.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| Error::invalid("exclude patterns", e.to_string()))
        };
        Ok(Excludes {
            anchored: build(anchored)?,
            component: build(component)?,
        })
    }

    fn matches(&self, rel: &Path) -> bool {
        rel.components()
            .any(|c| self.component.is_match(Path::new(c.as_os_str())))
            || rel
                .ancestors()
                .any(|a| !a.as_os_str().is_empty() && self.anchored.is_match(a))
    }
}

/// Scans files and directories. Directories are walked (with the `ignore`
/// crate) without following symbolic links (a link inside the tree points
/// either into the tree, which is scanned anyway, or out of it); a path given
/// explicitly is followed. `.git`, `node_modules` and `target` are not
/// entered; with `gitignore`, what `.gitignore` files exclude is left out too;
/// binary files (a NUL byte in the first 8 KiB) and files over 5 MiB are
/// skipped. In each directory its files come first, then its subdirectories,
/// each in name order.
pub fn scan_paths(paths: &[PathBuf], opts: &Options) -> Result<Report> {
    let mut report = Report::default();
    // The walk's filter must own what it uses.
    let excludes = std::sync::Arc::new(Excludes::new(opts)?);
    for root in paths {
        let meta = fs::metadata(root).map_err(|e| {
            Error::invalid(
                format!("path {}", root.display()),
                format!("cannot read it ({e})"),
            )
        })?;
        if !meta.is_dir() {
            scan_file(root, &mut report);
            continue;
        }
        let base = root.clone();
        let excludes = std::sync::Arc::clone(&excludes);
        let walk = WalkBuilder::new(root)
            .standard_filters(false)
            .git_ignore(opts.gitignore)
            .require_git(false)
            .follow_links(false)
            .sort_by_file_path(|a, b| (a.is_dir(), a).cmp(&(b.is_dir(), b)))
            .filter_entry(move |e| {
                if e.depth() == 0 {
                    return true;
                }
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                let skipped_dir = is_dir && SKIP_DIRS.iter().any(|d| e.file_name() == *d);
                let rel = e.path().strip_prefix(&base).unwrap_or(e.path());
                !(e.path_is_symlink() || skipped_dir || excludes.matches(rel))
            })
            .build();
        for entry in walk {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                    scan_file(e.path(), &mut report)
                }
                Ok(_) => {}
                Err(e) => report.skipped.push(Skipped {
                    path: walk_error_path(&e).unwrap_or_else(|| root.clone()),
                    reason: format!("cannot read it ({e})"),
                }),
            }
        }
    }
    // Files in walk order; within a file, by line.
    Ok(report)
}

/// The path an error of the walk is about.
fn walk_error_path(e: &ignore::Error) -> Option<PathBuf> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        _ => None,
    }
}

fn scan_file(path: &Path, report: &mut Report) {
    let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_SIZE {
        report.skipped.push(Skipped {
            path: path.to_owned(),
            reason: format!("larger than {} MiB", MAX_FILE_SIZE / (1024 * 1024)),
        });
        return;
    }
    let bytes = match fs::read(path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) => {
            report.skipped.push(Skipped {
                path: path.to_owned(),
                reason: format!("cannot read it ({e})"),
            });
            return;
        }
    };
    if bytes[..bytes.len().min(8192)].contains(&0) {
        report.skipped.push(Skipped {
            path: path.to_owned(),
            reason: "binary".into(),
        });
        return;
    }
    let text = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
    report.files_scanned += 1;
    report.findings.extend(scan_text(path, &text));
}

// ---------------------------------------------------------------------------
// Import.

/// A credential-name segment from a path or variable: path-like, no empty
/// or padded segment.
fn segment(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    cleaned
        .split('/')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .collect::<Vec<_>>()
        .join("/")
}

/// The credentials `--import` stores: an AWS key id and secret key in the
/// same file (paired in order of appearance) become one `aws-access-key`;
/// everything else a `generic` credential with a secret `value` field (a
/// lone key id is not a secret and is not imported). Named
/// `<prefix><file>/<variable>` (the file relative to `base` when below it,
/// `<kind>-<line>` when no variable), made unique with `-2`, `-3`, ….
pub fn import_drafts(findings: &[Finding], base: &Path, prefix: &str) -> Vec<Draft> {
    let mut by_file: BTreeMap<&Path, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_file.entry(f.file.as_path()).or_default().push(f);
    }
    let mut drafts: Vec<Draft> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut unique = |wanted: String| {
        let mut name = wanted.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{wanted}-{k}");
            k += 1;
        }
        names.push(name.clone());
        name
    };
    for (file, list) in by_file {
        let rel = file.strip_prefix(base).unwrap_or(file);
        let file_part = segment(&rel.to_string_lossy());
        let file_part = if file_part.is_empty() {
            "file".to_owned()
        } else {
            file_part
        };
        let label = |f: &Finding| {
            f.name
                .as_deref()
                .map(segment)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("{}-{}", f.kind, f.line))
        };
        let mut ids: Vec<&Finding> = list
            .iter()
            .copied()
            .filter(|f| f.kind == FindingKind::AwsAccessKeyId)
            .collect();
        ids.reverse();
        for f in list {
            match f.kind {
                FindingKind::AwsAccessKeyId => {}
                FindingKind::AwsSecretAccessKey => {
                    let name = unique(format!("{prefix}{file_part}/{}", label(f)));
                    if let Some(id) = ids.pop() {
                        let mut d = Draft::new(name, Kind::AwsAccessKey);
                        d.fields
                            .insert("access_key_id".into(), id.value.expose_secret().to_owned());
                        d.values.insert("secret_access_key".into(), f.value.clone());
                        drafts.push(d);
                    } else {
                        drafts.push(generic(name, f));
                    }
                }
                _ => {
                    let name = unique(format!("{prefix}{file_part}/{}", label(f)));
                    drafts.push(generic(name, f));
                }
            }
        }
    }
    drafts
}

fn generic(name: String, f: &Finding) -> Draft {
    let mut d = Draft::new(name, Kind::Generic);
    d.values.insert("value".into(), f.value.clone());
    d.fields
        .insert("source".into(), format!("{}:{}", f.file.display(), f.line));
    d.fields.insert("found".into(), f.kind.as_str().into());
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scan(file: &str, text: &str) -> Vec<(usize, &'static str, Option<String>, String)> {
        scan_text(Path::new(file), text)
            .into_iter()
            .map(|f| (f.line, f.kind.as_str(), f.name.clone(), f.masked.clone()))
            .collect()
    }

    #[test]
    fn masks_show_at_most_four_characters() {
        assert_eq!(mask("AKIAZQ3DT5Y7MOCKKEY1"), "AKIA************");
        assert_eq!(mask("short"), "s************");
        assert_eq!(mask("abc"), "************");
        assert_eq!(mask("ééééééééééééééééé"), "éééé************");
    }

    #[test]
    fn finds_each_token_format() {
        let text = [
            "AWS_ACCESS_KEY_ID=AKIAZQ3DT5Y7MOCKKEY1",
            "aws_secret_access_key = q8Rk2mVb7Tz0Lw4Xn9Pa3Hc6Yd1Fe5Gj8Kl2Mn4B",
            "token: ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
            "SLACK=xoxb-2048-1234567890-AbCdEfGhIjKlMnOp",
            "const s = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';",
            "maps: AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2Yb0",
            "-----END RSA PRIVATE KEY-----",
        ]
        .join("\n");
        let found = scan("src/app.txt", &text);
        let kinds: Vec<(usize, &str)> = found.iter().map(|f| (f.0, f.1)).collect();
        assert_eq!(
            kinds,
            [
                (1, "aws-access-key-id"),
                (2, "aws-secret-access-key"),
                (3, "github-token"),
                (4, "slack-token"),
                (5, "stripe-key"),
                (6, "google-api-key"),
                (7, "jwt"),
                (8, "private-key"),
            ]
        );
        assert_eq!(found[0].2.as_deref(), Some("AWS_ACCESS_KEY_ID"));
        assert_eq!(found[0].3, "AKIA************");
        assert_eq!(found[7].3, "MIIE************");
        assert_eq!(found[7].2.as_deref(), Some("RSA PRIVATE KEY"));
    }

    #[test]
    fn entropy_rule_only_in_config_files_and_only_for_random_values() {
        let text = "DB_PASSWORD=s3cr3tP4ssw0rd!x\nAPI_TOKEN=\"Zx81kLmq0PwR7tYv\"\nSECRET_NAME=prod-db-credentials-2\nPASSWORD=changeme123456789\nTOKEN_URL=https://auth.example.com/token\nREQUEST_ID=123e4567-e89b-12d3-a456-426614174000\nsecret_key = ${SECRET_KEY}\n";
        let found = scan("app/.env", text);
        let got: Vec<(usize, Option<String>)> = found.iter().map(|f| (f.0, f.2.clone())).collect();
        assert_eq!(
            got,
            [
                (1, Some("DB_PASSWORD".into())),
                (2, Some("API_TOKEN".into()))
            ]
        );
        assert!(scan("src/main.rs", text).is_empty());
        // JSON and YAML forms.
        let json = "{\n  \"client_secret\": \"a9F3kQ7zL1mN5pR8tV2x\",\n  \"name\": \"x\"\n}";
        assert_eq!(scan("c.json", json).len(), 1);
        let yaml = "db:\n  password: 'Hq7wN2xK9pL4mZ8r'\n  user: admin\n";
        assert_eq!(scan("c.yaml", yaml)[0].0, 2);
    }

    #[test]
    fn aws_documented_example_keys_are_not_reported() {
        let text = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
        assert!(scan("credentials", text).is_empty());
    }

    #[test]
    fn debug_of_a_finding_hides_the_value() {
        let f = scan_text(Path::new("x"), "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        let d = format!("{f:?}");
        assert!(!d.contains("a1B2c3"), "{d}");
    }

    #[test]
    fn globs() {
        let ex = |pats: &[&str]| {
            Excludes::new(&Options {
                exclude: pats.iter().map(|p| (*p).to_owned()).collect(),
                gitignore: false,
            })
            .expect("globs")
        };
        let m = |pats: &[&str], rel: &str| ex(pats).matches(Path::new(rel));
        assert!(m(&["*.lock"], "Cargo.lock"));
        assert!(
            m(&["*.lock"], "a/Cargo.lock"),
            "a pattern without / matches any component"
        );
        assert!(m(&["**/*.lock"], "a/b/Cargo.lock"));
        assert!(m(&["**/*.lock"], "Cargo.lock"));
        assert!(m(&["vendor/**"], "vendor/x/y"));
        assert!(m(&["te?t"], "test"));
        assert!(!m(&["a/te?t"], "a/te/t"), "? stays within a component");
        assert!(
            m(&["a/*"], "a/b/c"),
            "an anchored pattern matches a directory above"
        );
        assert!(m(&["fixtures", "docs/*.md"], "a/fixtures/b.env"));
        assert!(m(&["fixtures", "docs/*.md"], "docs/x.md"));
        assert!(!m(&["fixtures", "docs/*.md"], "src/docs/x.md"));
        assert!(Excludes::new(&Options {
            exclude: vec!["a[".into()],
            gitignore: false,
        })
        .is_err());
    }

    #[test]
    fn gitignore_is_honoured_only_when_asked() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let root = dir.path();
        std::fs::write(root.join(".gitignore"), "ignored/\n*.local\n").expect("write");
        let token = "TOKEN=ghp_Sk1pped0nesAbCdEfGhIjKlMnOpQrStUvWxY\n";
        std::fs::create_dir_all(root.join("ignored")).expect("mkdir");
        std::fs::write(root.join("ignored/a.env"), token).expect("write");
        std::fs::write(root.join("b.local"), token).expect("write");
        std::fs::write(root.join("c.env"), token).expect("write");
        let found = |gitignore| {
            let report = scan_paths(
                &[root.to_owned()],
                &Options {
                    exclude: Vec::new(),
                    gitignore,
                },
            )
            .expect("scan");
            let mut files: Vec<String> = report
                .findings
                .iter()
                .map(|f| {
                    f.file
                        .strip_prefix(root)
                        .expect("below")
                        .display()
                        .to_string()
                })
                .collect();
            files.dedup();
            files
        };
        assert_eq!(found(false), ["b.local", "c.env", "ignored/a.env"]);
        assert_eq!(found(true), ["c.env"]);
    }

    #[test]
    fn import_pairs_aws_keys_per_file() {
        let text = "[default]\naws_access_key_id = AKIAZQ3DT5Y7MOCKKEY1\naws_secret_access_key = q8Rk2mVb7Tz0Lw4Xn9Pa3Hc6Yd1Fe5Gj8Kl2Mn4B\nGITHUB_TOKEN=ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8\n";
        let findings = scan_text(Path::new("/r/home/.aws/credentials"), text);
        let drafts = import_drafts(&findings, Path::new("/r"), "scan/");
        let names: Vec<(&str, Kind)> = drafts.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        assert_eq!(
            names,
            [
                (
                    "scan/home/.aws/credentials/aws_secret_access_key",
                    Kind::AwsAccessKey
                ),
                ("scan/home/.aws/credentials/GITHUB_TOKEN", Kind::Generic),
            ]
        );
        for d in drafts {
            d.into_parts().expect("valid");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_scans_quickly_without_panicking(text in ".{0,4000}", config in any::<bool>()) {
            let file = if config { "x/.env" } else { "x/a.rs" };
            let start = std::time::Instant::now();
            let found = scan_text(Path::new(file), &text);
            prop_assert!(start.elapsed() < std::time::Duration::from_secs(2));
            for f in found {
                prop_assert!(f.masked.trim_end_matches('*').chars().count() <= 4);
            }
        }

        #[test]
        fn line_noise_and_planted_tokens(
            parts in proptest::collection::vec(
                prop_oneof![
                    "[ -~]{0,80}",
                    Just("\n".to_owned()),
                    Just("-----BEGIN PRIVATE KEY-----\n".to_owned()),
                    Just("KEY=AKIAZQ3DT5Y7MOCKKEY1\n".to_owned()),
                    Just("secret_key: \"".to_owned()),
                    Just("eyJ".to_owned()),
                ],
                0..200,
            )
        ) {
            let text = parts.concat();
            let start = std::time::Instant::now();
            let found = scan_text(Path::new("c.yaml"), &text);
            prop_assert!(start.elapsed() < std::time::Duration::from_secs(2));
            let planted = text.lines().filter(|l| *l == "KEY=AKIAZQ3DT5Y7MOCKKEY1").count();
            let ids = found.iter().filter(|f| f.kind == FindingKind::AwsAccessKeyId).count();
            prop_assert!(planted == 0 || ids >= 1, "a planted key id was missed");
        }
    }
}
