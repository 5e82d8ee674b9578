//! `coffer remote` and `coffer sync`: the terminal side of the core's sync
//! (arguments, progress bar or JSON progress lines, tables, exit codes).

use std::io::{IsTerminal, Write};

use chrono::Utc;
use coffer_core::sync::{
    self, AwsSpec, Direction, Done, Keep, Options, Outcome, Plan, Progress, Remote, Report, Scope,
    Spec, State, VaultAuth, VaultSpec,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::cli::{
    KeepArg, RemoteAdd, RemoteCommand, ScopeArgs, SyncArgs, SyncCommand, VaultAuthArg,
};
use crate::exit::{usage, Exit};
use crate::output::print_json;
use crate::session::Context;

type Out<'a> = &'a mut dyn Write;

fn remote_json(r: &Remote) -> Value {
    let mut v = json!({
        "name": r.name,
        "type": r.type_name(),
        "prefix": r.prefix,
        "holds": r.scope().describe(),
        "scope": r.scope(),
        "created_at": crate::output::time(&r.created_at),
    });
    let settings = match &r.spec {
        Spec::Vault(s) => json!({
            "addr": s.addr,
            "mount": s.mount,
            "namespace": s.namespace,
            "ca_cert": s.ca_cert,
            "auth": match &s.auth { VaultAuth::Token { .. } => "token", VaultAuth::Approle { .. } => "approle" },
            "auth_credential": r.auth_credential(),
            "insecure_http": s.insecure_http,
        }),
        Spec::Aws(s) => json!({
            "region": s.region,
            "profile": s.profile,
            "auth_credential": s.credential,
            "endpoint_url": s.endpoint_url,
            "kms_key_id": s.kms_key_id,
            "insecure_http": s.insecure_http,
        }),
    };
    if let (Value::Object(a), Value::Object(b)) = (&mut v, settings) {
        a.extend(b);
    }
    v
}

fn remote_line(r: &Remote) -> String {
    let target = match &r.spec {
        Spec::Vault(s) => format!("{} {}/{}", s.addr, s.mount, r.prefix),
        Spec::Aws(s) => format!(
            "{}{}",
            s.endpoint_url
                .as_deref()
                .map(|u| format!("{u} "))
                .unwrap_or_default(),
            if r.prefix.is_empty() {
                "(no prefix)"
            } else {
                &r.prefix
            }
        ),
    };
    let auth = r
        .auth_credential()
        .map(|c| format!("auth: {c}"))
        .unwrap_or_else(|| match &r.spec {
            Spec::Vault(_) => "auth: $VAULT_TOKEN".into(),
            Spec::Aws(a) => a
                .profile
                .as_deref()
                .map(|p| format!("profile: {p}"))
                .unwrap_or_else(|| "auth: SDK default chain".into()),
        });
    format!(
        "{:<16} {:<6} {target}  ({auth}; holds {})",
        r.name,
        r.type_name(),
        r.scope().describe()
    )
}

impl From<&ScopeArgs> for Scope {
    fn from(a: &ScopeArgs) -> Scope {
        if a.holds_all {
            return Scope::everything();
        }
        Scope {
            names: a.holds.clone(),
            tags: a.holds_tag.clone(),
        }
    }
}

pub fn remote(ctx: &Context, command: &RemoteCommand, out: Out) -> anyhow::Result<Exit> {
    let mut session = ctx.unlock()?;
    let now = Utc::now();
    let exit = match command {
        RemoteCommand::Add(add) => {
            let (name, prefix, scope, spec) = match add {
                RemoteAdd::Vault(a) => {
                    let auth = match (a.auth, &a.auth_credential) {
                        (VaultAuthArg::Token, c) => VaultAuth::Token {
                            credential: c.clone(),
                        },
                        (VaultAuthArg::Approle, Some(c)) => VaultAuth::Approle {
                            credential: c.clone(),
                        },
                        (VaultAuthArg::Approle, None) => {
                            return Err(usage(
                                "--auth approle needs --auth-credential naming a vault-approle credential",
                            )
                            .into())
                        }
                    };
                    (
                        &a.name,
                        &a.prefix,
                        Scope::from(&a.scope),
                        Spec::Vault(VaultSpec {
                            addr: a.addr.clone(),
                            mount: a.mount.clone(),
                            namespace: a.namespace.clone(),
                            ca_cert: a.ca_cert.clone(),
                            auth,
                            insecure_http: a.insecure_http,
                        }),
                    )
                }
                RemoteAdd::Aws(a) => (
                    &a.name,
                    &a.prefix,
                    Scope::from(&a.scope),
                    Spec::Aws(AwsSpec {
                        region: a.region.clone(),
                        profile: a.profile.clone(),
                        credential: a.auth_credential.clone(),
                        endpoint_url: a.endpoint_url.clone(),
                        kms_key_id: a.kms_key_id.clone(),
                        insecure_http: a.insecure_http,
                    }),
                ),
            };
            let r = session.vault.add_remote(name, prefix, scope, spec, now)?;
            writeln!(out, "added remote {}", remote_line(&r))?;
            if r.scope().is_empty() {
                eprintln!(
                    "coffer: note: remote '{name}' holds nothing yet, so a sync sends and takes nothing; \
                     say what it holds with `coffer remote scope {name} --holds PREFIX | --holds-tag TAG | --holds-all`"
                );
            }
            Exit::Ok
        }
        RemoteCommand::List(a) => {
            let all = session.vault.remotes()?;
            if a.json {
                print_json(out, &Value::Array(all.iter().map(remote_json).collect()))?;
            } else if all.is_empty() {
                writeln!(
                    out,
                    "no remotes; add one with `coffer remote add vault|aws NAME ...`"
                )?;
            } else {
                for r in &all {
                    writeln!(out, "{}", remote_line(r))?;
                }
            }
            Exit::Ok
        }
        RemoteCommand::Show { name, json } => {
            let r = session.vault.remote(name)?;
            let v = remote_json(&r);
            if *json {
                print_json(out, &v)?;
            } else if let Value::Object(m) = v {
                for (k, v) in m {
                    if !v.is_null() {
                        let text = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        writeln!(out, "{k:<16} {text}")?;
                    }
                }
            }
            Exit::Ok
        }
        RemoteCommand::Scope { name, scope } => {
            let r = session
                .vault
                .set_remote_scope(name, Scope::from(scope), now)?;
            writeln!(out, "remote {name} now holds {}", r.scope().describe())?;
            Exit::Ok
        }
        RemoteCommand::Rm { name } => {
            session.vault.remove_remote(name, now)?;
            writeln!(
                out,
                "removed remote {name} (its secrets and your credentials are untouched)"
            )?;
            Exit::Ok
        }
        RemoteCommand::Test { name, json } => {
            let checks = sync::test_remote(&session.vault, name, now)?;
            let ok = checks.iter().all(|c| c.ok);
            if *json {
                print_json(out, &json!({ "remote": name, "ok": ok, "checks": checks }))?;
            } else {
                for c in &checks {
                    let mark = if c.ok { "ok  " } else { "FAIL" };
                    writeln!(out, "{mark} {:<28} {}", c.name, c.detail)?;
                }
            }
            if ok {
                Exit::Ok
            } else {
                Exit::Failure
            }
        }
    };
    session.finish()?;
    Ok(exit)
}

/// A progress bar on a terminal, JSON lines with `--json`, else nothing.
enum Shown {
    Bar(ProgressBar),
    Json { total: usize, done: usize },
    Quiet,
}

impl Progress for Shown {
    fn start(&mut self, n: usize) {
        match self {
            Shown::Bar(bar) => bar.set_length(n as u64),
            Shown::Json { total, .. } => *total = n,
            Shown::Quiet => {}
        }
    }

    fn done(&mut self, item: &Done) {
        match self {
            Shown::Bar(bar) => {
                bar.set_message(item.name.clone());
                bar.inc(1);
            }
            Shown::Json { total, done } => {
                *done += 1;
                eprintln!(
                    "{}",
                    json!({
                        "progress": { "done": *done, "total": *total },
                        "name": item.name,
                        "outcome": item.outcome,
                    })
                );
            }
            Shown::Quiet => {}
        }
    }
}

fn item_line(name: &str, what: &str, detail: Option<&str>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!("  {what:<18} {name}: {d}"),
        _ => format!("  {what:<18} {name}"),
    }
}

fn print_plan(out: Out, plan: &Plan) -> std::io::Result<()> {
    let mut changes = 0;
    for i in plan.items.iter().filter(|i| i.state != State::InSync) {
        changes += 1;
        writeln!(
            out,
            "{}",
            item_line(&i.name, i.state.as_str(), i.detail.as_deref())
        )?;
    }
    let in_sync = plan.count(State::InSync);
    writeln!(out, "{} holds {}", plan.remote, plan.scope)?;
    if changes == 0 {
        writeln!(
            out,
            "{}: everything in sync ({in_sync} credentials)",
            plan.remote
        )?;
    } else {
        writeln!(
            out,
            "{}: {changes} to act on, {in_sync} in sync",
            plan.remote
        )?;
    }
    Ok(())
}

const RESOLVE_HINT: &str =
    "settle each conflict with `coffer sync resolve NAME --keep local|remote`";

fn print_report(out: Out, r: &Report) -> std::io::Result<()> {
    for d in &r.done {
        let what = if r.dry_run
            && !matches!(
                d.outcome,
                Outcome::Conflict | Outcome::Failed | Outcome::Kept
            ) {
            format!("would be {}", d.outcome.as_str())
        } else {
            d.outcome.as_str().to_owned()
        };
        writeln!(out, "{}", item_line(&d.name, &what, d.detail.as_deref()))?;
    }
    let mut parts = Vec::new();
    for o in [
        Outcome::Pulled,
        Outcome::Pushed,
        Outcome::DeletedLocal,
        Outcome::DeletedRemote,
        Outcome::Kept,
        Outcome::Conflict,
        Outcome::Failed,
    ] {
        let n = r.count(o);
        if n > 0 {
            parts.push(format!(
                "{n} {}",
                o.as_str().split(' ').next().unwrap_or("")
            ));
        }
    }
    parts.push(format!("{} in sync", r.in_sync));
    let prefix = if r.dry_run { "dry run: " } else { "" };
    writeln!(out, "{prefix}{}: {}", r.remote, parts.join(", "))?;
    if r.count(Outcome::Conflict) > 0 {
        writeln!(out, "{RESOLVE_HINT}")?;
    }
    Ok(())
}

fn run_sync(ctx: &Context, direction: Direction, a: &SyncArgs, out: Out) -> anyhow::Result<Exit> {
    let mut session = ctx.unlock()?;
    let options = Options {
        direction,
        only: a.only.clone(),
        dry_run: a.dry_run,
        prune: a.prune,
        concurrency: a.concurrency as usize,
    };
    let mut shown = if a.json {
        Shown::Json { total: 0, done: 0 }
    } else if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Shown::Bar(bar)
    } else {
        Shown::Quiet
    };
    let result = sync::sync(
        &mut session.vault,
        &a.remote,
        &options,
        &mut shown,
        Utc::now,
    );
    if let Shown::Bar(bar) = &shown {
        bar.finish_and_clear();
    }
    session.finish()?;
    let report = result?;
    if a.json {
        print_json(out, &serde_json::to_value(&report)?)?;
    } else {
        print_report(out, &report)?;
    }
    Ok(if report.count(Outcome::Failed) > 0 {
        Exit::Failure
    } else if report.count(Outcome::Conflict) > 0 {
        Exit::Attention
    } else {
        Exit::Ok
    })
}

pub fn sync(ctx: &Context, command: &SyncCommand, out: Out) -> anyhow::Result<Exit> {
    match command {
        SyncCommand::Plan(a) => {
            let session = ctx.unlock()?;
            let result = sync::plan(
                &session.vault,
                &a.remote,
                &a.only,
                sync::DEFAULT_CONCURRENCY,
                Utc::now(),
            );
            session.finish()?;
            let plan = result?;
            if a.json {
                print_json(out, &serde_json::to_value(&plan)?)?;
            } else {
                print_plan(out, &plan)?;
                if plan.count(State::Conflict) > 0 {
                    writeln!(out, "{RESOLVE_HINT}")?;
                }
            }
            Ok(if plan.count(State::Error) > 0 {
                Exit::Failure
            } else if plan.count(State::Conflict) > 0 {
                Exit::Attention
            } else {
                Exit::Ok
            })
        }
        SyncCommand::Pull(a) => run_sync(ctx, Direction::Pull, a, out),
        SyncCommand::Push(a) => run_sync(ctx, Direction::Push, a, out),
        SyncCommand::Run(a) => run_sync(ctx, Direction::Both, a, out),
        SyncCommand::Resolve(a) => {
            let mut session = ctx.unlock()?;
            let keep = match a.keep {
                KeepArg::Local => Keep::Local,
                KeepArg::Remote => Keep::Remote,
            };
            let result = sync::resolve(
                &mut session.vault,
                a.remote.as_deref(),
                &a.name,
                keep,
                Utc::now,
            );
            session.finish()?;
            let done = result?;
            if a.json {
                print_json(out, &serde_json::to_value(&done)?)?;
            } else {
                writeln!(
                    out,
                    "{} ({}): {}",
                    done.name,
                    done.state.as_str(),
                    done.outcome.as_str()
                )?;
            }
            Ok(Exit::Ok)
        }
    }
}
