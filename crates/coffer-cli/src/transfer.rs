//! `coffer import` and `coffer export`: arguments in, one core call, the
//! report or the file out. Parsing, validation, duplicate handling and the
//! audit live in `coffer_core::transfer`.

use std::io::Write;
use std::path::Path;

use chrono::Utc;
use coffer_core::transfer::{
    self, DotenvMode, ExportFormat, Format, OnDuplicate, Outcome, Overrides, ParseOptions, Report,
};
use coffer_core::{fsx, Kind};
use serde_json::{json, Value};

use crate::cli::{ExportArgs, ImportArgs};
use crate::exit::{usage, CliError, Exit};
use crate::output::print_json;
use crate::session::Context;

type Out<'a> = &'a mut dyn Write;

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

/// Writes the export to `path` through the core's private-file writer
/// (0600, whole or not at all); an existing file is replaced only with `force`.
fn write_private(path: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    let replace = if force {
        fsx::Replace::Always
    } else {
        fsx::Replace::Never
    };
    match fsx::write_private(path, bytes, replace, "write the export") {
        Err(coffer_core::Error::FileExists { path }) => Err(anyhow::Error::new(CliError {
            exit: Exit::Failure,
            message: format!(
                "{} exists; refusing to overwrite it (pass --force to replace it)",
                path.display()
            ),
        })),
        other => Ok(other?),
    }
}
