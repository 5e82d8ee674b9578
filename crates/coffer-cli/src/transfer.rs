//! `coffer import` and `coffer export`: arguments in, one core call, the
//! report or the file out. Parsing, validation, duplicate handling and the
//! audit live in `coffer_core::transfer`.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use coffer_core::transfer::{
    self, DotenvMode, ExportFormat, Format, OnDuplicate, Outcome, Overrides, ParseOptions, Report,
};
use coffer_core::Kind;
use serde_json::{json, Value};

use crate::exit::{usage, CliError, Exit};
use crate::output::print_json;
use crate::session::Context;

type Out<'a> = &'a mut dyn Write;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The file to import (at most 64 MiB)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The file's format
    #[arg(long, value_parser = [
        "aws-credentials", "dotenv", "json", "csv", "keepassxc-csv",
        "bitwarden-json", "bitwarden-csv", "1password-csv",
    ])]
    pub format: String,
    /// dotenv: one credential holding every variable, or one credential per variable
    #[arg(long, value_parser = ["one", "per-variable"], default_value = "one")]
    pub dotenv_mode: String,
    /// dotenv (one credential): its name [default: the file name without leading dots and `.env`]
    #[arg(long, value_name = "NAME", conflicts_with = "prefix")]
    pub name: Option<String>,
    /// Put P before every imported name (AWS profiles default to `aws/`)
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// dotenv: the kind of the imported credentials [default: generic]
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Environment of every imported credential
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Tag every imported credential (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// What to do with a name that is taken; without it such an import is refused (exit 3)
    #[arg(long, value_parser = ["skip", "rename", "overwrite"], value_name = "POLICY")]
    pub on_duplicate: Option<String>,
    /// Show what would be imported; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn import(ctx: &Context, args: &ImportArgs, out: Out) -> anyhow::Result<Exit> {
    let format: Format = args.format.parse()?;
    let dotenv_mode = match args.dotenv_mode.as_str() {
        "per-variable" => DotenvMode::PerVariable,
        _ => DotenvMode::One,
    };
    if format != Format::Dotenv {
        for (given, flag) in [
            (args.kind.is_some(), "--kind"),
            (args.name.is_some(), "--name"),
            (args.dotenv_mode != "one", "--dotenv-mode"),
        ] {
            if given {
                return Err(usage(format!(
                    "{flag} applies to dotenv imports only; the {format} format says each credential's kind and name"
                ))
                .into());
            }
        }
    } else if dotenv_mode == DotenvMode::PerVariable && args.name.is_some() {
        return Err(usage(
            "--name names the one credential of --dotenv-mode one; with per-variable, use --prefix P/",
        )
        .into());
    }
    let options = ParseOptions {
        format,
        dotenv_mode,
        name: args.name.clone(),
        prefix: args.prefix.clone(),
    };
    let overrides = Overrides {
        kind: args.kind.as_deref().map(str::parse::<Kind>).transpose()?,
        env: args.env.clone(),
        tags: args.tags.clone(),
    };
    let policy = args
        .on_duplicate
        .as_deref()
        .map(str::parse::<OnDuplicate>)
        .transpose()?;
    // The whole file is read and validated before the vault is opened.
    let batch = transfer::read_import(&args.file, &options, &overrides)?;
    let session = ctx.unlock()?;
    let report = session
        .vault
        .import(&batch, policy, args.dry_run, Utc::now())?;
    session.finish()?;
    let duplicates = report.duplicates();
    if args.json {
        print_json(out, &report_json(&report))?;
    } else {
        print_report(out, &report)?;
    }
    if !duplicates.is_empty() {
        eprintln!(
            "coffer: {} name{} already taken ({}); nothing was imported. Choose what to do with --on-duplicate skip|rename|overwrite",
            duplicates.len(),
            if duplicates.len() == 1 { " is" } else { "s are" },
            duplicates.join(", ")
        );
        return Ok(Exit::Attention);
    }
    Ok(Exit::Ok)
}

fn names(report: &Report, want: impl Fn(&Outcome) -> bool) -> Vec<&str> {
    report
        .entries
        .iter()
        .filter(|e| want(&e.outcome))
        .map(|e| e.name.as_str())
        .collect()
}

fn report_json(report: &Report) -> Value {
    let renamed: Vec<Value> = report
        .entries
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Renamed { to } => Some(json!({"from": e.name, "to": to})),
            _ => None,
        })
        .collect();
    let imported = names(report, |o| *o == Outcome::Imported);
    let overwritten = names(report, |o| *o == Outcome::Overwritten);
    let skipped = names(report, |o| *o == Outcome::Skipped);
    let unchanged = names(report, |o| *o == Outcome::Unchanged);
    let duplicates = report.duplicates();
    json!({
        "file": report.file,
        "format": report.format.as_str(),
        "dry_run": report.dry_run,
        "written": report.written,
        "counts": {
            "imported": imported.len(),
            "overwritten": overwritten.len(),
            "renamed": renamed.len(),
            "skipped": skipped.len(),
            "unchanged": unchanged.len(),
            "duplicates": duplicates.len(),
        },
        "imported": imported,
        "overwritten": overwritten,
        "renamed": renamed,
        "skipped": skipped,
        "unchanged": unchanged,
        "duplicates": duplicates,
        "warnings": report.warnings,
    })
}

fn print_report(out: Out, report: &Report) -> std::io::Result<()> {
    let verb = if report.written {
        "Imported"
    } else if report.dry_run {
        "Dry run (nothing written): would import"
    } else {
        "Refused (nothing written): would import"
    };
    let count = |o: fn(&Outcome) -> bool| report.count(o);
    writeln!(
        out,
        "{verb} from {} ({}): {} new, {} overwritten, {} renamed, {} skipped, {} unchanged",
        report.file,
        report.format,
        count(|o| *o == Outcome::Imported),
        count(|o| *o == Outcome::Overwritten),
        count(|o| matches!(o, Outcome::Renamed { .. })),
        count(|o| *o == Outcome::Skipped),
        count(|o| *o == Outcome::Unchanged),
    )?;
    for e in &report.entries {
        match &e.outcome {
            Outcome::Imported => writeln!(out, "  + {}", e.name)?,
            Outcome::Overwritten => writeln!(out, "  ~ {} (overwritten: a new version)", e.name)?,
            Outcome::Renamed { to } => writeln!(out, "  + {to} (renamed: {} is taken)", e.name)?,
            Outcome::Skipped => writeln!(out, "  - {} (skipped: the name is taken)", e.name)?,
            Outcome::Unchanged => writeln!(out, "  = {} (unchanged)", e.name)?,
            Outcome::Duplicate => writeln!(out, "  ! {} (duplicate: the name is taken)", e.name)?,
        }
    }
    for w in &report.warnings {
        writeln!(out, "  note: {w}")?;
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_parser = ["json", "csv", "dotenv"], default_value = "json")]
    pub format: String,
    /// Confirm that the output holds every secret value in plaintext
    #[arg(long)]
    pub plaintext: bool,
    /// Write to FILE (created 0600) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Credentials to export [default: all]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

pub fn export(ctx: &Context, args: &ExportArgs, out: Out) -> anyhow::Result<Exit> {
    if !args.plaintext {
        return Err(usage(
            "export writes every secret value in plaintext, readable by anyone who can read the output; pass --plaintext to confirm",
        )
        .into());
    }
    let format: ExportFormat = args.format.parse()?;
    if let Some(path) = &args.output {
        if !args.force && path.symlink_metadata().is_ok() {
            return Err(CliError {
                exit: Exit::Failure,
                message: format!(
                    "{} exists; refusing to overwrite it (pass --force to replace it)",
                    path.display()
                ),
            }
            .into());
        }
    }
    let destination = args
        .output
        .as_ref()
        .map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    let session = ctx.unlock()?;
    let items = session
        .vault
        .export_plaintext(&args.names, format, &destination, Utc::now())?;
    session.finish()?;
    let text = transfer::render(format, &items)?;
    eprintln!(
        "coffer: warning: {} credential{} written in plaintext to {destination}; anyone who can read it has every secret in it. Delete it when done.",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    match &args.output {
        Some(path) => write_private(path, &text, args.force)?,
        None => {
            out.write_all(&text)?;
            out.flush()?;
        }
    }
    Ok(Exit::Ok)
}

/// Writes `bytes` to `path` with mode 0600: into a new temporary file beside
/// it, then linked into place (refused if it exists) or, with `force`,
/// renamed over it. A failure leaves no partial file at `path`.
fn write_private(path: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| usage(format!("{} is not a file name", path.display())))?;
    let temp = dir.join(format!(
        ".{}.coffer-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> anyhow::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .with_context(|| format!("cannot create {}", temp.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        if force {
            std::fs::rename(&temp, path)
                .with_context(|| format!("cannot replace {}", path.display()))?;
        } else {
            std::fs::hard_link(&temp, path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::Error::new(CliError {
                        exit: Exit::Failure,
                        message: format!(
                            "{} exists; refusing to overwrite it (pass --force to replace it)",
                            path.display()
                        ),
                    })
                } else {
                    anyhow::Error::new(e).context(format!("cannot create {}", path.display()))
                }
            })?;
            std::fs::remove_file(&temp).ok();
        }
        Ok(())
    })();
    if result.is_err() {
        std::fs::remove_file(&temp).ok();
    }
    result
}
