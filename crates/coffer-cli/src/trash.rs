//! `coffer rm` and `coffer trash`: deleting into the trash, and what the
//! trash holds (listed, restored, purged). The core keeps the trash
//! (`coffer_core::vault::trash`); this only asks and says.

use std::io::Write;

use coffer_core::{Trashed, TRASH_DAYS};
use serde_json::json;

use crate::cli::{RmArgs, TrashCommand};
use crate::exit::Exit;
use crate::output::{self, print_json};
use crate::session::Context;
use crate::terminal;

type Out<'a> = &'a mut dyn Write;

pub fn rm(ctx: &Context, args: &RmArgs, out: Out) -> anyhow::Result<Exit> {
    let mut session = ctx.source()?;
    if args.purge && !args.yes && terminal::interactive() {
        let versions = session.history(&args.name)?.len();
        if !terminal::confirm(&format!(
            "Delete {} and its {versions} version(s) for good (no trash, no undo)?",
            args.name
        ))? {
            writeln!(out, "Nothing deleted.")?;
            session.finish()?;
            return Ok(Exit::Ok);
        }
    }
    let removed = session.remove(&args.name, args.purge)?;
    if args.purge {
        writeln!(out, "Deleted {} for good", removed.meta.name)?;
    } else {
        writeln!(
            out,
            "Moved {} to the trash for {TRASH_DAYS} days; `coffer trash restore {}` brings it back",
            removed.meta.name,
            shell_word(&removed.meta.name)
        )?;
    }
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn trash(ctx: &Context, command: &TrashCommand, out: Out) -> anyhow::Result<Exit> {
    let mut session = ctx.source()?;
    match command {
        TrashCommand::List(args) => {
            let trash = session.trash()?;
            if args.json {
                print_json(
                    out,
                    &json!(trash.iter().map(trashed_json).collect::<Vec<_>>()),
                )?;
            } else if trash.is_empty() {
                writeln!(out, "The trash is empty.")?;
            } else {
                writeln!(
                    out,
                    "{:32}  {:20}  {:20}  NAME",
                    "ID", "DELETED", "PURGED AFTER"
                )?;
                for t in &trash {
                    writeln!(
                        out,
                        "{:32}  {:20}  {:20}  {}",
                        t.id,
                        output::time(&t.trashed_at),
                        output::time(&t.purge_after),
                        t.name
                    )?;
                }
            }
        }
        TrashCommand::Restore { which, rename } => {
            let back = match session.restore(which, rename.as_deref()) {
                Ok(back) => back,
                Err(e) => return Err(name_taken_hint(e, &session, which, rename)),
            };
            writeln!(
                out,
                "Restored {} (now version {})",
                back.meta.name, back.version
            )?;
        }
        TrashCommand::Purge { which, all, yes } => {
            let what = match (which, all) {
                (_, true) => "everything in the trash".to_owned(),
                (Some(which), false) => format!("{which} from the trash"),
                (None, false) => unreachable!("clap requires a name or --all"),
            };
            if !yes
                && terminal::interactive()
                && !terminal::confirm(&format!("Delete {what} for good?"))?
            {
                writeln!(out, "Nothing deleted.")?;
                session.finish()?;
                return Ok(Exit::Ok);
            }
            let gone = session.purge_trashed(if *all { None } else { which.as_deref() })?;
            match gone.as_slice() {
                [one] => writeln!(out, "Deleted {} for good", one.name)?,
                many => writeln!(out, "Deleted {} credential(s) for good", many.len())?,
            }
        }
    }
    session.finish()?;
    Ok(Exit::Ok)
}

fn trashed_json(t: &Trashed) -> serde_json::Value {
    json!({
        "id": t.id.to_string(),
        "name": t.name,
        "kind": t.kind.as_str(),
        "env": t.env,
        "version": t.version,
        "deleted_at": output::time(&t.trashed_at),
        "purge_after": output::time(&t.purge_after),
    })
}

/// A restore refused because a live credential holds the name it would
/// take says how to restore it anyway (asked of the vault, so it reads the
/// same through an agent, whose errors arrive as text).
fn name_taken_hint(
    error: anyhow::Error,
    session: &crate::session::Source,
    which: &str,
    rename: &Option<String>,
) -> anyhow::Error {
    // Read only when a restore failed: the trash names the record `which` picked.
    let wanted = rename.clone().or_else(|| {
        session
            .trash()
            .ok()?
            .into_iter()
            .find(|t| t.id.to_string() == which || t.name == which)
            .map(|t| t.name)
    });
    match wanted {
        Some(name) if session.get(&name).is_ok() => error.context(format!(
            "a credential named '{name}' exists; restore this one under another name: \
             coffer trash restore {} --as NEW-NAME",
            shell_word(which)
        )),
        _ => error,
    }
}

/// `name` as one shell word, for a command line the person may paste.
fn shell_word(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-@+=:,".contains(c))
    {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', r"'\''"))
    }
}
