//! Encrypted, self-contained, verifiable backups and restoring them into a new vault.
//! `backup`, `backup verify`, `restore`. The format and the work are the
//! core's (`coffer_core::backup`); this module reads passphrases and prints.

use std::io::Write;
use std::path::Path;

use chrono::Utc;
use coffer_core::audit::Actor;
use coffer_core::backup::{self, Backup, Summary};
use coffer_core::{CreateOptions, Error, KdfParams, SecretValue};
use serde_json::json;

use crate::cli::{BackupArgs, BackupCommand, BackupPassphrase, RestoreArgs, VerifyArgs};
use crate::exit::{cannot_unlock, usage, CliError, Exit};
use crate::output::print_json;
use crate::session::Context;
use crate::terminal;

type Out<'a> = &'a mut dyn Write;

/// The first line of `text`, without its line ending.
fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or_default();
    line.strip_suffix('\r').unwrap_or(line)
}

/// The backup passphrase: stdin, a file, or a hidden prompt (twice when `new`).
fn backup_passphrase(source: &BackupPassphrase, new: bool) -> anyhow::Result<SecretValue> {
    let value = if source.passphrase_stdin {
        let text = terminal::read_stdin()?;
        SecretValue::from(first_line(&text))
    } else if let Some(file) = &source.backup_passphrase_file {
        terminal::read_passphrase_file(file)?
    } else if terminal::interactive() {
        loop {
            let first = terminal::prompt_hidden("Backup passphrase: ")?;
            if first.is_empty() {
                eprintln!("The passphrase cannot be empty.");
                continue;
            }
            if !new {
                break first;
            }
            if let Err(e) = coffer_core::strength::require_recovery(&first) {
                eprintln!("{e}");
                continue;
            }
            if terminal::prompt_hidden("Repeat it: ")? == first {
                break first;
            }
            eprintln!("The two entries differ; try again.");
        }
    } else {
        return Err(usage(
            "the backup passphrase needs a terminal; in a script, pass --passphrase-stdin or --backup-passphrase-file FILE",
        )
        .into());
    };
    if value.is_empty() {
        return Err(usage("the backup passphrase is empty").into());
    }
    // A new backup is sealed only under a passphrase as strong as a
    // recovery passphrase (the same rule as the app's).
    if new {
        return terminal::strong(value);
    }
    Ok(value)
}

/// Opens a backup, telling a wrong passphrase (exit 5) in backup terms.
fn open(file: &Path, passphrase: &SecretValue) -> anyhow::Result<Backup> {
    Backup::open(file, passphrase).map_err(|e| match e {
        Error::WrongPassphrase => cannot_unlock(format!(
            "wrong passphrase for the backup {} (nothing was changed)",
            file.display()
        ))
        .into(),
        e => e.into(),
    })
}

fn kdf_text(kdf: KdfParams) -> String {
    format!(
        "Argon2id ({} MiB, {} passes, {} lanes) and AES-256-GCM",
        kdf.memory_kib / 1024,
        kdf.iterations,
        kdf.parallelism
    )
}

fn summary_json(s: &Summary) -> serde_json::Value {
    json!({
        "vault_id": s.vault_id,
        "vault_created_at": s.vault_created_at,
        "backup_at": s.backup_at,
        "coffer_version": s.coffer_version,
        "credentials": s.credentials,
        "versions": s.versions,
        "settings": s.settings,
        "remotes": s.remotes,
        "audit_entries": s.audit_entries,
    })
}

fn counts(s: &Summary) -> String {
    format!(
        "{} credentials, {} versions, {} remotes, {} settings, {} audit entries",
        s.credentials, s.versions, s.remotes, s.settings, s.audit_entries
    )
}

pub fn backup(ctx: &Context, args: &BackupArgs, out: Out) -> anyhow::Result<Exit> {
    if let Some(BackupCommand::Verify(v)) = &args.command {
        return verify(v, out);
    }
    let file = args
        .file
        .as_deref()
        .ok_or_else(|| usage("give the backup FILE to write"))?;
    if !args.force && std::fs::symlink_metadata(file).is_ok() {
        return Err(CliError {
            exit: Exit::Failure,
            message: format!(
                "{} exists; refusing to overwrite it (pass --force to replace it)",
                file.display()
            ),
        }
        .into());
    }
    let passphrase = backup_passphrase(&args.passphrase, true)?;
    let session = ctx.unlock()?;
    let written = backup::write(
        &session.vault,
        file,
        &passphrase,
        KdfParams::DEFAULT,
        args.force,
        Utc::now(),
    )?;
    session.finish()?;
    let s = &written.summary;
    if args.json {
        let mut v = summary_json(s);
        v["path"] = json!(file);
        v["skipped_rotations"] = json!(written.running_rotations);
        print_json(out, &v)?;
    } else {
        writeln!(out, "Wrote backup {} ({})", file.display(), counts(s))?;
        writeln!(
            out,
            "  sealed with {}; it opens only with the backup passphrase",
            kdf_text(written.kdf)
        )?;
    }
    if !written.running_rotations.is_empty() {
        eprintln!(
            "coffer: warning: the running rotations of {} are not in the backup; finish or abort them and back up again",
            written.running_rotations.join(", ")
        );
    }
    Ok(Exit::Ok)
}

fn verify(args: &VerifyArgs, out: Out) -> anyhow::Result<Exit> {
    let passphrase = backup_passphrase(&args.passphrase, false)?;
    let backup = open(&args.file, &passphrase)?;
    let s = backup.summary();
    if args.json {
        let mut v = summary_json(s);
        v["ok"] = json!(true);
        v["path"] = json!(args.file);
        let kdf = backup.kdf();
        v["kdf"] = json!({ "m_kib": kdf.memory_kib, "t": kdf.iterations, "p": kdf.parallelism });
        print_json(out, &v)?;
    } else {
        writeln!(out, "Backup {} is intact", args.file.display())?;
        writeln!(
            out,
            "  vault:    {} (created {})",
            s.vault_id,
            crate::output::time(&s.vault_created_at)
        )?;
        writeln!(
            out,
            "  taken:    {} by Coffer {}",
            crate::output::time(&s.backup_at),
            s.coffer_version
        )?;
        writeln!(out, "  contents: {}", counts(s))?;
        writeln!(out, "  sealed:   {}", kdf_text(backup.kdf()))?;
    }
    Ok(Exit::Ok)
}

pub fn restore(ctx: &Context, args: &RestoreArgs, out: Out) -> anyhow::Result<Exit> {
    if std::fs::symlink_metadata(&ctx.vault_path).is_ok() {
        return Err(Error::VaultExists {
            path: ctx.vault_path.clone(),
        }
        .into());
    }
    let backup_passphrase = backup_passphrase(&args.passphrase, false)?;
    let backup = open(&args.file, &backup_passphrase)?;
    drop(backup_passphrase);
    // The new vault is sealed like `coffer init` seals one.
    let recovery = if args.no_passphrase {
        None
    } else if let Some(file) = &ctx.passphrase_file {
        Some(terminal::strong(terminal::read_passphrase_file(file)?)?)
    } else if terminal::interactive() {
        terminal::prompt_new_passphrase(!args.no_keyring)?
    } else {
        return Err(usage(
            "the new vault's recovery passphrase needs a terminal; in a script, pass --passphrase-file FILE or --no-passphrase",
        )
        .into());
    };
    let service = crate::session::new_vault_sealer(args.no_keyring, recovery.as_ref())?;
    let options = CreateOptions {
        sealer: service.as_ref().map(|s| s as &dyn coffer_core::Sealer),
        passphrase: recovery.as_ref(),
        kdf: KdfParams::DEFAULT,
    };
    let file_label = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let restored = backup::restore(
        &backup,
        &ctx.vault_path,
        &options,
        Actor::current("cli"),
        &file_label,
        Utc::now(),
    )?;
    let s = &restored.summary;
    if args.json {
        print_json(
            out,
            &json!({
                "path": restored.path,
                "vault_id": restored.vault_id,
                "keyring": service.is_some(),
                "passphrase": recovery.is_some(),
                "source": summary_json(s),
            }),
        )?;
    } else {
        writeln!(
            out,
            "Restored {} into new vault {} at {}",
            args.file.display(),
            restored.vault_id,
            restored.path.display()
        )?;
        writeln!(
            out,
            "  from vault {} as of {}: {}",
            s.vault_id,
            crate::output::time(&s.backup_at),
            counts(s)
        )?;
        match &service {
            Some(s) => writeln!(
                out,
                "  keyring:             sealed to the {}",
                coffer_core::Sealer::backend(s)
            )?,
            None => writeln!(out, "  keyring:             not used (--no-keyring)")?,
        }
        if recovery.is_some() {
            writeln!(
                out,
                "  recovery passphrase: set (Argon2id, 64 MiB, 3 passes, 4 lanes)"
            )?;
        } else {
            writeln!(
                out,
                "  recovery passphrase: NONE. Add one with `coffer passphrase set`."
            )?;
        }
    }
    Ok(Exit::Ok)
}
