//! `migrate aws` and `scan`: prompts, printing and exit codes over
//! `coffer_core::migrate` and `coffer_core::scan`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::Utc;
use coffer_core::audit::{Action, Event};
use coffer_core::migrate::{self, Plan, Standing};
use coffer_core::{paths, scan, Error};
use serde_json::json;

use crate::cli::{AwsMigrateArgs, MigrateArgs, MigrateCommand, ScanArgs};
use crate::exit::Exit;
use crate::output::print_json;
use crate::session::Context;
use crate::terminal;

type Out<'a> = &'a mut dyn Write;

pub fn migrate(ctx: &Context, args: &MigrateArgs, out: Out) -> anyhow::Result<Exit> {
    match &args.command {
        MigrateCommand::Aws(a) => migrate_aws(ctx, a, out),
    }
}

fn print_plan(plan: &Plan, out: Out) -> std::io::Result<()> {
    for (label, file) in [
        ("credentials file", &plan.credentials),
        ("config file", &plan.config),
    ] {
        let note = if file.exists { "" } else { " (does not exist)" };
        writeln!(out, "{label}: {}{note}", file.path.display())?;
    }
    for p in &plan.profiles {
        let mut extra = Vec::new();
        if let Some(r) = &p.region {
            extra.push(format!("region {r}"));
        }
        if p.has_session_token() {
            extra.push("session token".to_owned());
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {}", extra.join(", "))
        };
        writeln!(
            out,
            "  [{}] -> {} (key {}{extra}; from {})",
            p.profile,
            p.credential,
            scan::mask(&p.access_key_id),
            p.source
        )?;
    }
    for r in &plan.roles {
        writeln!(
            out,
            "  [{}] -> {} (role {}, assumed with {}; from {})",
            r.profile, r.credential, r.role_arn, r.source, r.at
        )?;
    }
    for (profile, why) in &plan.skipped {
        writeln!(out, "  [{profile}] left as is: {why}")?;
    }
    Ok(())
}

/// The vault to name in credential_process: none for the default vault,
/// else its absolute path (the AWS CLI may run from any directory).
fn vault_for_command(ctx: &Context) -> anyhow::Result<Option<PathBuf>> {
    let default = paths::default_vault_path().ok();
    if default.as_deref() == Some(ctx.vault_path.as_path()) {
        return Ok(None);
    }
    let abs = std::fs::canonicalize(&ctx.vault_path)
        .with_context(|| format!("cannot resolve the vault path {}", ctx.vault_path.display()))?;
    Ok(Some(abs))
}

fn migrate_aws(ctx: &Context, a: &AwsMigrateArgs, out: Out) -> anyhow::Result<Exit> {
    let (credentials_file, config_file) = match (&a.credentials_file, &a.config_file) {
        (Some(c), Some(f)) => (c.clone(), f.clone()),
        (c, f) => {
            let (dc, df) = migrate::default_paths()?;
            (c.clone().unwrap_or(dc), f.clone().unwrap_or(df))
        }
    };
    let plan = migrate::plan(&credentials_file, &config_file, &a.prefix)?;
    print_plan(&plan, out)?;
    if plan.profiles.is_empty() && plan.roles.is_empty() {
        writeln!(
            out,
            "nothing to migrate: no profile holds plaintext keys or assumes a role from one (already migrated profiles use credential_process)"
        )?;
        return Ok(Exit::Ok);
    }
    // The `coffer` front beside this program: it answers credential_process
    // from a running agent without starting all of Coffer.
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("cannot find the path of the running coffer executable")?
        .with_file_name("coffer");
    let vault = vault_for_command(ctx)?;
    let command = |name: &str| migrate::credential_process(&exe, vault.as_deref(), name);
    if a.dry_run {
        let session = ctx.unlock()?;
        let standing = session.vault.migrate_aws_standing(&plan)?;
        session.finish()?;
        writeln!(out, "dry run; nothing was changed. Would:")?;
        let names = plan
            .profiles
            .iter()
            .map(|p| &p.credential)
            .chain(plan.roles.iter().map(|r| &r.credential));
        for (name, s) in names.zip(&standing) {
            let what = match s {
                Standing::New => format!("store {name}"),
                Standing::Present => format!("keep {name} (already in the vault)"),
                Standing::Clash(why) => format!("REFUSE: {why}"),
            };
            writeln!(out, "  {what}")?;
            writeln!(out, "    credential_process = {}", command(name)?)?;
        }
        writeln!(
            out,
            "  back up the files, remove the key lines of these profiles from them and set credential_process in the config file"
        )?;
        return Ok(Exit::Ok);
    }
    if !a.yes {
        if !terminal::interactive() {
            writeln!(
                out,
                "not migrated: rerun with --yes to store these profiles and rewrite the files (or --dry-run to see the plan)"
            )?;
            return Ok(Exit::Attention);
        }
        let n = plan.profiles.len() + plan.roles.len();
        if !terminal::confirm(&format!(
            "Store {n} profile(s) in the vault and rewrite the AWS files to use coffer?"
        ))? {
            writeln!(out, "not migrated")?;
            return Ok(Exit::Attention);
        }
    }
    let mut session = ctx.unlock()?;
    let stored = session.vault.migrate_aws(&plan, Utc::now())?;
    for name in &stored.added {
        writeln!(out, "stored {name}")?;
    }
    for name in &stored.present {
        writeln!(out, "kept {name} (already in the vault with the same keys)")?;
    }
    let applied = migrate::apply(&plan, &command, Utc::now()).map_err(|e| {
        anyhow::Error::new(e).context(
            "the keys are stored in the vault, but the AWS files could not be rewritten; they are unchanged or still hold the keys, and a rerun finishes the job",
        )
    })?;
    let now = Utc::now();
    session.vault.record_events(
        &[Event::new(Action::Migrate).details(json!({
            "source": "aws",
            "step": "rewrite",
            "profiles": plan
                .profiles
                .iter()
                .map(|p| &p.profile)
                .chain(plan.roles.iter().map(|r| &r.profile))
                .collect::<Vec<_>>(),
            "written": applied.written,
            "backups": applied.backups,
        }))],
        now,
    )?;
    for path in &applied.written {
        writeln!(out, "rewrote {}", path.display())?;
    }
    if !applied.backups.is_empty() {
        let shred = a.shred_backup
            || (terminal::interactive()
                && terminal::confirm(
                    "Shred the backup of the original files (it holds the plaintext keys)?",
                )?);
        if shred {
            for b in &applied.backups {
                migrate::shred(b)?;
                writeln!(out, "shredded the backup {}", b.display())?;
            }
            session.vault.record_events(
                &[Event::new(Action::Migrate).details(json!({
                    "source": "aws", "step": "shred_backup", "backups": applied.backups,
                }))],
                Utc::now(),
            )?;
        } else {
            for b in &applied.backups {
                writeln!(
                    out,
                    "backup: {} (0600) still holds the plaintext keys; delete it once the AWS CLI works (e.g. shred -u)",
                    b.display()
                )?;
            }
        }
    }
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn scan(ctx: &Context, args: &ScanArgs, out: Out) -> anyhow::Result<Exit> {
    let options = scan::Options {
        exclude: args.exclude.clone(),
        gitignore: args.gitignore,
    };
    let report = scan::scan_paths(&args.paths, &options)?;
    if args.json {
        let items: Vec<_> = report
            .findings
            .iter()
            .map(|f| {
                json!({
                    "file": f.file.display().to_string(),
                    "line": f.line,
                    "kind": f.kind.as_str(),
                    "name": f.name,
                    "masked": f.masked,
                })
            })
            .collect();
        print_json(out, &serde_json::Value::Array(items))?;
    } else {
        for f in &report.findings {
            let name = f
                .name
                .as_deref()
                .map(|n| format!("{n} = "))
                .unwrap_or_default();
            writeln!(
                out,
                "{}:{}: {}: {name}{}",
                f.file.display(),
                f.line,
                f.kind,
                f.masked
            )?;
        }
    }
    for s in &report.skipped {
        tracing::info!(reason = %s.reason, "skipped a file");
    }
    eprintln!(
        "coffer: scanned {} file(s), {} finding(s), {} file(s) skipped",
        report.files_scanned,
        report.findings.len(),
        report.skipped.len()
    );
    if args.import && !report.findings.is_empty() {
        let base: PathBuf = match args.paths.as_slice() {
            [one] if one.is_dir() => one.clone(),
            _ => PathBuf::new(),
        };
        let drafts = scan::import_drafts(&report.findings, &base, &args.prefix);
        let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
        let mut session = ctx.unlock()?;
        match session.vault.add_many(drafts, Utc::now()) {
            Ok(n) => eprintln!("coffer: imported {n} credential(s)"),
            Err(Error::AlreadyExists { name }) => {
                return Err(anyhow::Error::new(Error::AlreadyExists { name })
                    .context("nothing was imported; choose another --prefix"))
            }
            Err(e) => return Err(e.into()),
        }
        for n in &names {
            if args.json {
                eprintln!("coffer: imported {n}");
            } else {
                writeln!(out, "imported {n}")?;
            }
        }
        session.finish()?;
    }
    Ok(if report.findings.is_empty() {
        Exit::Ok
    } else {
        Exit::Attention
    })
}
