//! `coffer rotate`: the terminal side of a rotation run (prompts, answers,
//! progress); the run itself is the core's state machine.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{Duration, Utc};
use coffer_core::input::parse_secret_json;
use coffer_core::rotation::run::{self, Charset, Generate, Guide, Options, Outcome, Step};
use coffer_core::{Kind, SecretValue};

use crate::cli::{RevokeAllArgs, RotateArgs};
use crate::exit::{usage, CliError, Exit};
use crate::output;
use crate::session::Context;
use crate::terminal;

/// A duration: `0`, `90s`, `30m`, `24h`, `2d`.
fn parse_duration(value: &str) -> Result<Duration, CliError> {
    coffer_core::time::parse_span(value).ok_or_else(|| {
        usage(format!(
            "invalid --grace '{value}': use e.g. 0, 90s, 30m, 24h or 2d"
        ))
    })
}

struct TerminalGuide {
    /// Only to say it answers nothing (old scripts).
    yes: bool,
    /// `--confirm-manual-steps`: the caller vouches for the work done at
    /// the provider.
    confirm_manual: bool,
    /// `COFFER_FAULT_AFTER_STEP=<step>`: abort the process right after that
    /// step is saved, as a `kill -9` there would (crash tests).
    fault_after: Option<String>,
}

impl Guide for TerminalGuide {
    fn say(&mut self, text: &str) {
        eprintln!("{text}");
    }

    fn new_value(
        &mut self,
        _kind: Kind,
        fields: &[&'static str],
    ) -> coffer_core::Result<Option<BTreeMap<String, SecretValue>>> {
        if !terminal::stdin_is_terminal() {
            let text = terminal::read_stdin().map_err(|e| coffer_core::Error::Failure {
                what: e.to_string(),
            })?;
            let values: BTreeMap<String, SecretValue> = parse_secret_json(&text)?
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            return Ok((!values.is_empty()).then_some(values));
        }
        let mut values = BTreeMap::new();
        for field in fields {
            let value =
                terminal::prompt_hidden(&format!("New {field} (hidden): ")).map_err(|e| {
                    coffer_core::Error::Failure {
                        what: e.to_string(),
                    }
                })?;
            if value.is_empty() {
                return Ok(None);
            }
            values.insert((*field).to_owned(), value);
        }
        Ok(Some(values))
    }

    fn confirm(&mut self, question: &str) -> coffer_core::Result<Option<String>> {
        if self.confirm_manual {
            eprintln!("{question} yes (--confirm-manual-steps)");
            return Ok(Some(
                "the caller, by --confirm-manual-steps (not checked by Coffer)".into(),
            ));
        }
        if terminal::interactive() {
            let yes = terminal::confirm(question).map_err(|e| coffer_core::Error::Failure {
                what: e.to_string(),
            })?;
            return Ok(yes.then(|| "the person at the terminal".to_owned()));
        }
        if self.yes {
            eprintln!(
                "--yes does not answer \"{question}\": that is work done at the provider, which \
                 only you can vouch for. Answer at a terminal, or run again with \
                 --confirm-manual-steps to say you did it."
            );
        }
        Ok(None)
    }

    fn step_saved(&mut self, step: Step) {
        eprintln!("  done: {}", step.as_str());
        if self.fault_after.as_deref() == Some(step.as_str()) {
            std::process::abort();
        }
    }
}

pub fn rotate(ctx: &Context, args: &RotateArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let grace = parse_duration(&args.grace)?;
    let mut session = ctx.unlock()?;
    let now = Utc::now();
    if args.abort {
        run::abort(&mut session.vault, &args.name, now)?;
        session.finish()?;
        writeln!(
            out,
            "Rotation of {} aborted; the previous value is current.",
            args.name
        )?;
        return Ok(Exit::Ok);
    }
    let options = Options {
        grace,
        automate: match (args.automate, args.manual) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        generate: args.generate.then_some(Generate {
            length: args.length,
            charset: match args.charset.as_str() {
                "symbols" => Charset::AlphanumericSymbols,
                "hex" => Charset::Hex,
                _ => Charset::Alphanumeric,
            },
        }),
        delete_inactive: args.delete_inactive,
        admin: args.admin.clone(),
        alternate: args.alternate.clone(),
    };
    let mut guide = TerminalGuide {
        yes: args.yes,
        confirm_manual: args.confirm_manual_steps,
        fault_after: std::env::var("COFFER_FAULT_AFTER_STEP").ok(),
    };
    let outcome = run::rotate(&mut session.vault, &args.name, &options, &mut guide, now)?;
    let version = session.vault.get(&args.name)?.version;
    session.finish()?;
    match outcome {
        Outcome::Done => {
            writeln!(
                out,
                "Rotation of {} done: version {version} is current and the old value is revoked.",
                args.name
            )?;
            Ok(Exit::Ok)
        }
        Outcome::Waiting {
            step: Step::Revoke,
            until: Some(until),
            ..
        } => {
            writeln!(
                out,
                "Rotation of {}: version {version} is current; the old value stays valid until {}. Run `coffer rotate {}` after that to revoke it.",
                args.name,
                output::time(&until),
                args.name
            )?;
            Ok(Exit::Ok)
        }
        Outcome::Waiting { step, reason, .. } => {
            writeln!(
                out,
                "Rotation of {} waits at {}: {reason}.",
                args.name,
                step.as_str()
            )?;
            Ok(Exit::Attention)
        }
        Outcome::Aborted => {
            writeln!(out, "Rotation of {} was aborted.", args.name)?;
            Ok(Exit::Ok)
        }
    }
}

pub fn revoke_all(
    ctx: &Context,
    args: &RevokeAllArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    use coffer_core::revoke::{self, Selector};
    let selector = match (&args.selector.env, &args.selector.tag, args.selector.all) {
        (Some(e), _, _) => Selector::Env(e.clone()),
        (_, Some(t), _) => Selector::Tag(t.clone()),
        _ => Selector::All,
    };
    let mut session = ctx.unlock()?;
    let planned = revoke::plan(&session.vault, &selector)?;
    if planned.is_empty() {
        session.finish()?;
        return Err(CliError {
            exit: Exit::NotFound,
            message: "no credential matches; nothing was revoked".into(),
        }
        .into());
    }
    let go = args.yes
        || (!args.dry_run && terminal::interactive() && {
            for p in &planned {
                eprintln!(
                    "  {} ({}): {}",
                    p.name,
                    p.kind,
                    p.provider.unwrap_or("mark compromised only")
                );
            }
            terminal::confirm(&format!(
                "Revoke these {} credentials and mark them compromised?",
                planned.len()
            ))?
        });
    if !go {
        session.finish()?;
        if args.json {
            let items: Vec<serde_json::Value> = planned
                .iter()
                .map(|p| serde_json::json!({ "name": p.name, "kind": p.kind.as_str(), "provider": p.provider }))
                .collect();
            output::print_json(out, &serde_json::Value::Array(items))?;
        } else {
            writeln!(
                out,
                "Would revoke {} credentials (nothing done; add --yes to do it):",
                planned.len()
            )?;
            for p in &planned {
                writeln!(
                    out,
                    "  {} ({}): {}; mark compromised",
                    p.name,
                    p.kind,
                    p.provider.unwrap_or("no provider API")
                )?;
            }
        }
        return Ok(if args.dry_run {
            Exit::Ok
        } else {
            Exit::Attention
        });
    }
    let done = revoke::revoke_all(&mut session.vault, &selector, Utc::now())?;
    session.finish()?;
    if args.json {
        let items: Vec<serde_json::Value> = done
            .iter()
            .map(|d| match &d.provider {
                Ok(what) => serde_json::json!({ "name": d.name, "revoked": true, "detail": what }),
                Err(why) => serde_json::json!({ "name": d.name, "revoked": false, "detail": why }),
            })
            .collect();
        output::print_json(out, &serde_json::Value::Array(items))?;
    } else {
        for d in &done {
            match &d.provider {
                Ok(what) => writeln!(out, "revoked  {}: {what}; marked compromised", d.name)?,
                Err(why) => writeln!(out, "MARKED   {}: {why}; marked compromised", d.name)?,
            }
        }
        writeln!(
            out,
            "Rotate each one (`coffer rotate NAME`); `coffer status` lists them first."
        )?;
    }
    // A provider call that failed leaves a live key behind: that is a failure.
    let failed = done
        .iter()
        .zip(&planned)
        .any(|(d, p)| d.provider.is_err() && p.provider.is_some());
    Ok(if failed { Exit::Failure } else { Exit::Ok })
}
