//! Rendering for people (tables, masked detail) and for scripts (`--json`,
//! whose shapes are documented in the README and stable).

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use coffer_core::agent::peer::Requester;
use coffer_core::audit::Entry;
use coffer_core::rotation::run::{Running, Step};
use coffer_core::rotation::{self, Policies, Status};
use coffer_core::Kind;
use coffer_core::{Credential, VersionInfo};
use serde_json::{json, Value};

pub const MASK: &str = "••••••••";

pub fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_time(t: &Option<DateTime<Utc>>) -> Value {
    t.as_ref()
        .map(|t| Value::String(time(t)))
        .unwrap_or(Value::Null)
}

/// The JSON shape of a credential without secret values.
pub fn credential_json(c: &Credential) -> Value {
    json!({
        "id": c.id.to_string(),
        "name": c.meta.name,
        "kind": c.meta.kind.as_str(),
        "env": c.meta.env,
        "tags": c.meta.tags,
        "notes": c.meta.notes,
        "fields": c.meta.fields,
        "secret_fields": c.meta.secret_fields,
        "version": c.version,
        "created_at": time(&c.created_at),
        "updated_at": time(&c.updated_at),
        "expires_at": opt_time(&c.meta.expires_at),
        "rotated_at": opt_time(&c.meta.rotated_at),
        "arrived": c.meta.arrived.as_ref().map(|a| json!({ "via": a.via, "at": time(&a.at) })),
    })
}

pub fn history_json(versions: &[VersionInfo]) -> Value {
    Value::Array(
        versions
            .iter()
            .map(|v| {
                json!({
                    "version": v.version,
                    "written_at": time(&v.written_at),
                    "current": v.current,
                    "changes": v.changes,
                })
            })
            .collect(),
    )
}

pub fn print_json(out: &mut dyn Write, value: &Value) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// The masked, human view of one credential.
pub fn print_detail(out: &mut dyn Write, c: &Credential) -> std::io::Result<()> {
    let m = &c.meta;
    writeln!(out, "{}", m.name)?;
    writeln!(out, "  kind:     {}", m.kind)?;
    if let Some(env) = &m.env {
        writeln!(out, "  env:      {env}")?;
    }
    if !m.tags.is_empty() {
        writeln!(out, "  tags:     {}", m.tags.join(", "))?;
    }
    writeln!(out, "  version:  {}", c.version)?;
    writeln!(out, "  created:  {}", time(&c.created_at))?;
    writeln!(out, "  updated:  {}", time(&c.updated_at))?;
    if let Some(t) = &m.rotated_at {
        writeln!(out, "  rotated:  {}", time(t))?;
    }
    if let Some(t) = &m.expires_at {
        writeln!(out, "  expires:  {}", time(t))?;
    }
    writeln!(out, "  fields:")?;
    let mut names: Vec<&String> = m.fields.keys().chain(m.secret_fields.iter()).collect();
    names.sort();
    for name in names {
        match m.fields.get(name) {
            Some(value) => writeln!(out, "    {name} = {value}")?,
            None => writeln!(out, "    {name} = {MASK}  (secret)")?,
        }
    }
    if let Some(notes) = &m.notes {
        writeln!(out, "  notes:")?;
        for line in notes.lines() {
            writeln!(out, "    {line}")?;
        }
    }
    Ok(())
}

/// One line per credential, columns aligned.
pub fn print_table(out: &mut dyn Write, list: &[Credential]) -> std::io::Result<()> {
    if list.is_empty() {
        return writeln!(out, "(no credentials)");
    }
    let width = |f: &dyn Fn(&Credential) -> usize, min: usize| {
        list.iter().map(f).max().unwrap_or(0).max(min)
    };
    let wn = width(&|c| c.meta.name.chars().count(), 4);
    let wk = width(&|c| c.meta.kind.as_str().len(), 4);
    let we = width(
        &|c| c.meta.env.as_deref().map_or(1, |e| e.chars().count()),
        3,
    );
    writeln!(
        out,
        "{:wn$}  {:wk$}  {:we$}  {:20}  TAGS",
        "NAME", "KIND", "ENV", "UPDATED"
    )?;
    for c in list {
        writeln!(
            out,
            "{:wn$}  {:wk$}  {:we$}  {:20}  {}",
            c.meta.name,
            c.meta.kind.as_str(),
            c.meta.env.as_deref().unwrap_or("-"),
            time(&c.updated_at),
            c.meta.tags.join(",")
        )?;
    }
    Ok(())
}

/// The JSON shape of one audit entry (`audit --json`, `audit export`).
pub fn audit_json(e: &Entry) -> Value {
    json!({
        "seq": e.seq,
        "at": time(&e.at),
        "actor": { "user": e.body.actor.user, "interface": e.body.actor.interface },
        "action": e.body.action.as_str(),
        "target_id": e.target.map(|id| id.to_string()),
        "target": e.body.target_name,
        "outcome": e.body.outcome.as_str(),
        "details": e.body.details,
        "mac": hex_lower(&e.mac),
    })
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The audit trail as a table, newest first.
pub fn print_audit_table(out: &mut dyn Write, entries: &[Entry]) -> std::io::Result<()> {
    if entries.is_empty() {
        return writeln!(out, "(no audit entries)");
    }
    writeln!(
        out,
        "{:>6}  {:20}  {:14}  {:17}  {:7}  TARGET  DETAILS",
        "SEQ", "TIME", "ACTOR", "ACTION", "OUTCOME"
    )?;
    for e in entries {
        let actor = format!("{}/{}", e.body.actor.user, e.body.actor.interface);
        // The process that asked the agent, in words; the rest as JSON.
        let mut details = e.body.details.clone();
        let asked = details
            .as_object_mut()
            .and_then(|d| d.remove("requester"))
            .and_then(|r| serde_json::from_value::<Requester>(r).ok())
            .map(|r| format!("to {}", r.shown()));
        let rest = match &details {
            Value::Null => String::new(),
            Value::Object(d) if d.is_empty() => String::new(),
            d => d.to_string(),
        };
        let details = match (asked, rest.is_empty()) {
            (Some(a), true) => a,
            (Some(a), false) => format!("{a} {rest}"),
            (None, _) => rest,
        };
        writeln!(
            out,
            "{:>6}  {:20}  {:14}  {:17}  {:7}  {}  {}",
            e.seq,
            time(&e.at),
            actor,
            e.body.action.as_str(),
            e.body.outcome.as_str(),
            e.body.target_name.as_deref().unwrap_or("-"),
            details
        )?;
    }
    Ok(())
}

/// The JSON shape of one credential's rotation status (`status --json`).
pub fn status_json(c: &Credential, s: &Status, run: Option<&Running>) -> Value {
    json!({
        "rotation": run.map(|r| json!({
            "step": r.step.as_str(),
            "started_at": time(&r.started_at),
            "revoke_by": r.revoke_by.as_ref().map(time),
        })),
        "name": c.meta.name,
        "kind": c.meta.kind.as_str(),
        "env": c.meta.env,
        "tags": c.meta.tags,
        "state": s.state.as_str(),
        "since": time(&s.since),
        "basis": if s.rotated { "rotated" } else { "created" },
        "age_days": s.age_days,
        "due": s.due.as_ref().map(time),
        "days_left": s.days_left,
        "expires_at": opt_time(&c.meta.expires_at),
        "policy": s.policy.as_ref().map(|(p, source)| json!({
            "max_age_days": p.max_age_days,
            "warn_days": p.warn_days,
            "source": source.to_string(),
        })),
    })
}

pub fn print_status_table(
    out: &mut dyn Write,
    all: &[(Credential, Status)],
) -> std::io::Result<()> {
    if all.is_empty() {
        return writeln!(out, "(no credentials)");
    }
    let wn = all
        .iter()
        .map(|(c, _)| c.meta.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:11}  {:wn$}  {:>5}  {:10}  {:>9}  POLICY",
        "STATE", "NAME", "AGE", "DUE", "DAYS LEFT"
    )?;
    for (c, s) in all {
        let state = match s.state {
            rotation::State::Compromised => "COMPROMISED",
            rotation::State::Expired => "EXPIRED",
            rotation::State::Overdue => "OVERDUE",
            rotation::State::DueSoon => "due soon",
            rotation::State::Ok => "ok",
            rotation::State::NoPolicy => "no policy",
        };
        let due = s
            .due
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "-".into());
        let left = s
            .days_left
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into());
        let policy = s
            .policy
            .as_ref()
            .map(|(p, source)| format!("{}d, warn {}d ({source})", p.max_age_days, p.warn_days))
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{state:11}  {:wn$}  {:>4}d  {due:10}  {left:>9}  {policy}",
            c.meta.name, s.age_days
        )?;
    }
    Ok(())
}

pub fn policies_json(p: &Policies) -> Value {
    let defaults: serde_json::Map<String, Value> = Kind::ALL
        .iter()
        .filter_map(|k| rotation::default_policy(*k).map(|p| (k.as_str().to_owned(), json!(p))))
        .collect();
    json!({ "defaults": defaults, "by_kind": p.by_kind, "by_tag": p.by_tag, "by_env": p.by_env })
}

pub fn print_policies(out: &mut dyn Write, p: &Policies) -> std::io::Result<()> {
    writeln!(out, "Kind defaults:")?;
    for k in Kind::ALL {
        if let Some(d) = rotation::default_policy(k) {
            writeln!(
                out,
                "  {:24} {}d, warn {}d",
                k.as_str(),
                d.max_age_days,
                d.warn_days
            )?;
        }
    }
    for (title, map) in [
        ("Kinds", &p.by_kind),
        ("Tags", &p.by_tag),
        ("Environments", &p.by_env),
    ] {
        if !map.is_empty() {
            writeln!(out, "{title}:")?;
            for (name, policy) in map {
                writeln!(
                    out,
                    "  {name:24} {}d, warn {}d",
                    policy.max_age_days, policy.warn_days
                )?;
            }
        }
    }
    writeln!(
        out,
        "Precedence: credential, then the strictest tag, then environment, then kind."
    )
}

/// Rotations that are running, and what each waits for.
pub fn print_running_rotations(
    out: &mut dyn Write,
    running: &std::collections::BTreeMap<String, Running>,
) -> std::io::Result<()> {
    if running.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nRotations running:")?;
    for (name, run) in running {
        let waits = match (run.step, run.revoke_by) {
            (Step::Revoke | Step::Push, Some(t)) => {
                format!("revoke the old value after {}", time(&t))
            }
            (step, _) => format!("at step {}", step.as_str()),
        };
        writeln!(
            out,
            "  {name}: {waits} (continue with `coffer rotate {name}`)"
        )?;
    }
    Ok(())
}
