//! One function per subcommand: parse the arguments into core types, call
//! the core, print the result. No vault logic lives here.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use coffer_core::doctor::{self, Status};
use coffer_core::input::parse_secret_json;
use coffer_core::kind::FieldFormat;
use coffer_core::rotation::{Policy, Scope};
use coffer_core::{
    CreateOptions, Draft, KdfParams, Kind, Patch, SecretService, SecretValue, Vault,
};
use serde_json::{json, Value};

use crate::cli::*;
use crate::exit::{cannot_unlock, usage, CliError, Exit};
use crate::output::{self, credential_json, history_json, print_json};
use crate::session::{Context, FieldValue};
use crate::terminal;
use coffer_cli::answer;

type Out<'a> = &'a mut dyn Write;

pub fn init(ctx: &Context, args: &InitArgs, out: Out) -> anyhow::Result<Exit> {
    if ctx.vault_path.exists() {
        return Err(coffer_core::Error::VaultExists {
            path: ctx.vault_path.clone(),
        }
        .into());
    }
    let passphrase = if args.no_passphrase {
        None
    } else if args.passphrase_stdin {
        Some(terminal::strong(terminal::read_passphrase_stdin()?)?)
    } else if let Some(file) = &ctx.passphrase_file {
        Some(terminal::strong(terminal::read_passphrase_file(file)?)?)
    } else if terminal::interactive() {
        terminal::prompt_new_passphrase(!args.no_keyring)?
    } else {
        return Err(terminal::no_terminal("the recovery passphrase").into());
    };
    let service = crate::session::new_vault_sealer(args.no_keyring, passphrase.as_ref())?;
    let options = CreateOptions {
        sealer: service.as_ref().map(|s| s as &dyn coffer_core::Sealer),
        passphrase: passphrase.as_ref(),
        kdf: KdfParams::DEFAULT,
    };
    let vault = Vault::create(&ctx.vault_path, &options, Utc::now())?;
    if args.json {
        print_json(
            out,
            &json!({
                "path": ctx.vault_path,
                "vault_id": vault.vault_id(),
                "keyring": service.is_some(),
                "passphrase": passphrase.is_some(),
            }),
        )?;
    } else {
        writeln!(
            out,
            "Created vault {} at {}",
            vault.vault_id(),
            ctx.vault_path.display()
        )?;
        match &service {
            Some(s) => writeln!(
                out,
                "  keyring:             sealed to the {}",
                coffer_core::Sealer::backend(s)
            )?,
            None => writeln!(out, "  keyring:             not used (--no-keyring)")?,
        }
        if passphrase.is_some() {
            writeln!(
                out,
                "  recovery passphrase: set (Argon2id, 64 MiB, 3 passes, 4 lanes)"
            )?;
        } else {
            writeln!(
                out,
                "  recovery passphrase: NONE. If the keyring entry is lost (new machine, wiped keyring), this vault cannot be opened. Add one with `coffer passphrase set`."
            )?;
        }
    }
    Ok(Exit::Ok)
}

/// An optional date flag's value, parsed.
fn opt_date(what: &str, value: &Option<String>) -> Result<Option<DateTime<Utc>>, CliError> {
    value.as_deref().map(|s| parse_date(what, s)).transpose()
}

fn parse_date(what: &str, s: &str) -> Result<DateTime<Utc>, CliError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            usage(format!(
                "invalid {what} '{s}': use YYYY-MM-DD or an RFC 3339 time"
            ))
        })
}

fn parse_fields(pairs: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let mut fields = BTreeMap::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| usage("--field takes KEY=VALUE (the value after the first '=')"))?;
        if fields.insert(k.to_owned(), v.to_owned()).is_some() {
            return Err(usage(format!("--field {k} is given twice")));
        }
    }
    Ok(fields)
}

/// Secret values for `add`: stdin JSON when piped, hidden prompts on a terminal.
fn read_values_for_add(
    kind: Kind,
    plain: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, SecretValue>> {
    // A kind with no secret of its own (aws-role) takes all with --field.
    if kind != Kind::Generic && !kind.schema().iter().any(|f| f.secret) {
        return Ok(BTreeMap::new());
    }
    if !terminal::stdin_is_terminal() {
        let parsed = parse_secret_json(&terminal::read_stdin()?)?;
        let mut values = BTreeMap::new();
        for (name, value) in parsed {
            let value = value.ok_or_else(|| {
                usage(format!(
                    "field '{name}' is null on stdin; null only removes a field in `coffer edit`"
                ))
            })?;
            values.insert(name, value);
        }
        return Ok(values);
    }
    let mut values = BTreeMap::new();
    if kind == Kind::Generic {
        eprintln!("Enter secret fields; an empty name ends the list.");
        loop {
            let mut name = String::new();
            eprint!("Field name: ");
            std::io::stdin()
                .read_line(&mut name)
                .context("cannot read from the terminal")?;
            let name = name.trim().to_owned();
            if name.is_empty() {
                break;
            }
            let value = terminal::prompt_hidden(&format!("{name} (hidden): "))?;
            values.insert(name, value);
        }
        return Ok(values);
    }
    for spec in kind
        .schema()
        .iter()
        .filter(|f| f.secret && !plain.contains_key(f.name))
    {
        loop {
            let suffix = if spec.required { "" } else { ", empty to skip" };
            let hint = if spec.format == FieldFormat::JsonObject {
                ", one line of JSON"
            } else {
                ""
            };
            let value =
                terminal::prompt_hidden(&format!("{} (hidden{hint}{suffix}): ", spec.name))?;
            if value.is_empty() {
                if spec.required {
                    eprintln!("{} is required.", spec.name);
                    continue;
                }
                break;
            }
            values.insert(spec.name.to_owned(), value);
            break;
        }
    }
    Ok(values)
}

pub fn add(ctx: &Context, args: &AddArgs, out: Out) -> anyhow::Result<Exit> {
    let kind: Kind = args.kind.parse()?;
    let common = &args.common;
    let fields = parse_fields(&common.fields)?;
    let mut draft = Draft::new(args.name.clone(), kind);
    draft.env = common.env.clone();
    draft.tags = common.tags.clone();
    draft.notes = common.note.clone();
    draft.expires_at = opt_date("--expires", &common.expires)?;
    draft.rotated_at = opt_date("--rotated-at", &common.rotated_at)?;
    draft.policy = own_policy(common)?;
    draft.fields = fields;
    // Refuse bad argv (a secret field, a bad name) before asking for secrets.
    draft.check_plain_input()?;
    draft.values = read_values_for_add(kind, &draft.fields)?;
    // A key brought in from elsewhere has an age: IAM knows it.
    if let Err(e) = coffer_core::rotation::aws::learn_key_age(&mut draft, Utc::now()) {
        eprintln!(
            "coffer: note: could not ask IAM when this key was created ({e}); pass --rotated-at DATE if it is old (COFFER_OFFLINE=1 skips this)"
        );
    }
    let mut session = ctx.source_to_write(&draft)?;
    let credential = session.add(draft)?;
    if args.json {
        print_json(out, &credential_json(&credential))?;
    } else {
        writeln!(
            out,
            "Added {} ({}, version {})",
            credential.meta.name, credential.meta.kind, credential.version
        )?;
    }
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn get(ctx: &Context, args: &GetArgs, out: Out) -> anyhow::Result<Exit> {
    // Through the agent when one serves this vault, else unlocked here.
    let source = ctx.source()?;
    match &args.field {
        Some(field) => {
            // A plain field needs no reveal; a secret one reveals only itself.
            let found = source.field(&args.name, field)?;
            let value: &str = match &found {
                FieldValue::Plain(v) => v,
                FieldValue::Secret(v) => v.expose_secret(),
                FieldValue::Missing(known) => {
                    return Err(answer::missing_field(&args.name, field, known).into())
                }
            };
            answer::write_field(out, value, args.no_newline)?;
        }
        None => {
            let (plain, secrets) = source.reveal(&args.name, None)?;
            answer::write_all_fields(
                out,
                &plain,
                secrets.iter().map(|(k, v)| (k.as_str(), v.expose_secret())),
            )?;
        }
    }
    out.flush()?;
    source.finish()?;
    Ok(Exit::Ok)
}

pub fn show(ctx: &Context, args: &ShowArgs, out: Out) -> anyhow::Result<Exit> {
    let mut session = ctx.source()?;
    let credential = session.get(&args.name)?;
    let unreviewed = session.unreviewed(&credential)?;
    if args.json {
        let mut v = credential_json(&credential);
        v["reviewed"] = json!(unreviewed.is_none());
        print_json(out, &v)?;
    } else {
        output::print_detail(out, &credential)?;
        // A person has now seen this version's fields.
        if let Some(a) = unreviewed {
            writeln!(
                out,
                "  arrived:  by {} on {}; its fields were not written here: check them above \
                 (marked reviewed now)",
                a.via,
                output::time(&a.at)
            )?;
            session.mark_reviewed(&args.name)?;
        }
    }
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn list(ctx: &Context, args: &JsonArg, out: Out) -> anyhow::Result<Exit> {
    let session = ctx.source()?;
    let all = session.list()?;
    session.finish()?;
    print_list(out, &all, args.json)
}

pub fn search(ctx: &Context, args: &SearchArgs, out: Out) -> anyhow::Result<Exit> {
    let session = ctx.source()?;
    let hits = session.search(&args.query)?;
    session.finish()?;
    print_list(out, &hits, args.json)
}

fn print_list(out: Out, list: &[coffer_core::Credential], json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(
            out,
            &Value::Array(list.iter().map(credential_json).collect()),
        )?;
    } else {
        output::print_table(out, list)?;
    }
    Ok(Exit::Ok)
}

pub fn edit(ctx: &Context, args: &EditArgs, out: Out) -> anyhow::Result<Exit> {
    let common = &args.common;
    let mut patch = Patch {
        rename: args.rename.clone(),
        env: if args.clear_env {
            Some(None)
        } else {
            common.env.clone().map(Some)
        },
        add_tags: common.tags.clone(),
        remove_tags: args.untags.clone(),
        notes: if args.clear_note {
            Some(None)
        } else {
            common.note.clone().map(Some)
        },
        fields: parse_fields(&common.fields)?,
        unset: args.unset.clone(),
        expires_at: opt_date("--expires", &common.expires)?.map(Some),
        rotated_at: opt_date("--rotated-at", &common.rotated_at)?.map(Some),
        policy: if args.clear_policy {
            Some(None)
        } else {
            own_policy(common)?.map(Some)
        },
        expected_version: args.if_version,
        ..Patch::default()
    };
    if terminal::stdin_is_terminal() {
        for field in &args.prompt {
            patch.values.insert(
                field.clone(),
                terminal::prompt_hidden(&format!("{field} (hidden): "))?,
            );
        }
    } else {
        if !args.prompt.is_empty() {
            return Err(terminal::no_terminal("--prompt").into());
        }
        for (name, value) in parse_secret_json(&terminal::read_stdin()?)? {
            match value {
                Some(v) => {
                    patch.values.insert(name, v);
                }
                None => patch.unset.push(name),
            }
        }
    }
    let mut session = ctx.source_to_write(&patch)?;
    let updated = session.update(&args.name, patch)?;
    let credential = &updated.credential;
    if args.json {
        print_json(out, &credential_json(credential))?;
    } else if !updated.changed {
        writeln!(
            out,
            "No change to {} (still version {})",
            credential.meta.name, credential.version
        )?;
    } else {
        writeln!(
            out,
            "Updated {} (version {})",
            credential.meta.name, credential.version
        )?;
    }
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn history(ctx: &Context, args: &ShowArgs, out: Out) -> anyhow::Result<Exit> {
    let session = ctx.source()?;
    let versions = session.history(&args.name)?;
    if args.json {
        print_json(out, &history_json(&versions))?;
    } else {
        writeln!(out, "VERSION  WRITTEN               CHANGES")?;
        for v in versions.iter().rev() {
            let mark = if v.current { "*" } else { " " };
            writeln!(
                out,
                "{:>6}{mark}  {:20}  {}",
                v.version,
                output::time(&v.written_at),
                v.changes.join(", ")
            )?;
        }
    }
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn rollback(ctx: &Context, args: &RollbackArgs, out: Out) -> anyhow::Result<Exit> {
    let mut session = ctx.source()?;
    let credential = session.rollback(&args.name, args.version)?;
    writeln!(
        out,
        "Rolled {} back to version {} (now version {})",
        credential.meta.name, args.version, credential.version
    )?;
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn passphrase(ctx: &Context, command: &PassphraseCommand, out: Out) -> anyhow::Result<Exit> {
    let (args, replace) = match command {
        PassphraseCommand::Set(a) => (a, false),
        PassphraseCommand::Change(a) => (a, true),
    };
    let new = if args.new_passphrase_stdin {
        terminal::strong(terminal::read_passphrase_stdin()?)?
    } else if terminal::interactive() {
        terminal::prompt_new_passphrase(false)?
            .ok_or_else(|| usage("the passphrase cannot be empty"))?
    } else {
        return Err(usage(
            "the new passphrase needs a terminal; in a script, pass --new-passphrase-stdin",
        )
        .into());
    };
    let mut session = ctx.unlock()?;
    session
        .vault
        .set_passphrase(&new, KdfParams::DEFAULT, replace, Utc::now())?;
    writeln!(
        out,
        "Recovery passphrase {}.",
        if replace { "changed" } else { "set" }
    )?;
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn rekey(ctx: &Context, args: &RekeyArgs, out: Out) -> anyhow::Result<Exit> {
    // The new passphrase is asked for before anything is unlocked.
    let new_passphrase = if args.new_passphrase_stdin {
        Some(terminal::strong(terminal::read_passphrase_stdin()?)?)
    } else if !args.keep_passphrase
        && terminal::interactive()
        && terminal::confirm("Set a new recovery passphrase too (advised after a leak)?")?
    {
        terminal::prompt_new_passphrase(false)?
    } else {
        None
    };
    let mut session = ctx.unlock()?;
    let info = session.vault.info()?;
    let needs_passphrase = info
        .slots
        .iter()
        .any(|s| s.kind == coffer_core::slot::SlotKind::Passphrase);
    let needs_keyring = info
        .slots
        .iter()
        .any(|s| s.kind == coffer_core::slot::SlotKind::Keyring);
    let passphrase = if needs_passphrase {
        Some(ctx.passphrase("Recovery passphrase (to rewrap its slot): ")?.ok_or_else(|| {
            usage("rekey rewraps the recovery passphrase slot and needs the passphrase: pass --passphrase-file FILE or run on a terminal")
        })?)
    } else {
        None
    };
    if needs_keyring && session.sealer.is_none() {
        session.sealer = Some(
            SecretService::connect()
                .map_err(|e| cannot_unlock(format!("rekey must rewrap the keyring slot: {e}")))?,
        );
    }
    let sealer = session
        .sealer
        .as_ref()
        .map(|s| s as &dyn coffer_core::Sealer);
    match &new_passphrase {
        Some(new) => {
            session
                .vault
                .rekey_with_new_passphrase(sealer, passphrase.as_ref(), new, Utc::now())?
        }
        None => session
            .vault
            .rekey(sealer, passphrase.as_ref(), Utc::now())?,
    }
    writeln!(
        out,
        "Rekeyed the vault: a new vault key now encrypts every record{}{}.",
        if needs_keyring {
            ", and the OS keyring holds a new key for it"
        } else {
            ""
        },
        if new_passphrase.is_some() {
            "; the recovery passphrase changed"
        } else {
            ""
        }
    )?;
    session.finish()?;
    Ok(Exit::Ok)
}

pub fn doctor(ctx: &Context, args: &JsonArg, out: Out) -> anyhow::Result<Exit> {
    let mut checks = doctor::session_checks();
    let (keyring, service) = doctor::keyring_checks();
    checks.extend(keyring);
    checks.extend(doctor::vault_checks(&ctx.vault_path, service.as_ref()));
    let worst = checks
        .iter()
        .map(|c| c.status)
        .fold(Status::Ok, |acc, s| match (acc, s) {
            (Status::Fail, _) | (_, Status::Fail) => Status::Fail,
            (Status::Warn, _) | (_, Status::Warn) => Status::Warn,
            _ => Status::Ok,
        });
    if args.json {
        print_json(out, &json!({ "ok": worst == Status::Ok, "checks": checks }))?;
    } else {
        for c in &checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            writeln!(out, "[{mark}] {}: {}", c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(out, "       fix: {fix}")?;
            }
        }
    }
    Ok(if worst == Status::Ok {
        Exit::Ok
    } else {
        Exit::Attention
    })
}

pub fn kinds(args: &JsonArg, out: Out) -> anyhow::Result<Exit> {
    if args.json {
        let list: Vec<Value> = Kind::ALL
            .iter()
            .map(|k| {
                json!({
                    "kind": k.as_str(),
                    "fields": k.schema().iter().map(|f| json!({"name": f.name, "secret": f.secret, "required": f.required})).collect::<Vec<_>>(),
                })
            })
            .collect();
        print_json(out, &Value::Array(list))?;
    } else {
        for k in Kind::ALL {
            let fields: Vec<String> = k
                .schema()
                .iter()
                .map(|f| {
                    let mut s = f.name.to_owned();
                    if f.secret {
                        s.push_str(" (secret)");
                    }
                    if !f.required {
                        s.push_str(" [optional]");
                    }
                    s
                })
                .collect();
            let fields = if fields.is_empty() {
                "any fields: secret ones on stdin, plain ones with --field".to_owned()
            } else {
                fields.join(", ")
            };
            writeln!(out, "{:24} {fields}", k.as_str())?;
        }
    }
    Ok(Exit::Ok)
}

fn audit_query(filter: &AuditFilter) -> anyhow::Result<coffer_core::audit::Query> {
    Ok(coffer_core::audit::Query {
        since: opt_date("--since", &filter.since)?,
        until: opt_date("--until", &filter.until)?,
        credential: filter.credential.clone(),
        action: filter
            .action
            .as_deref()
            .map(coffer_core::audit::Action::parse)
            .transpose()?,
        limit: filter.limit,
    })
}

pub fn audit(ctx: &Context, args: &AuditArgs, out: Out) -> anyhow::Result<Exit> {
    match &args.command {
        None => {
            let query = audit_query(&args.filter)?;
            let session = ctx.source()?;
            let entries = session.audit_entries(query)?;
            session.finish()?;
            if args.json {
                print_json(
                    out,
                    &Value::Array(entries.iter().map(output::audit_json).collect()),
                )?;
            } else {
                output::print_audit_table(out, &entries)?;
            }
            Ok(Exit::Ok)
        }
        Some(AuditCommand::Export(export)) => {
            let query = audit_query(&export.filter)?;
            let session = ctx.source()?;
            let entries = session.audit_entries(query)?;
            session.finish()?;
            for entry in entries.iter().rev() {
                serde_json::to_writer(&mut *out, &output::audit_json(entry))?;
                writeln!(out)?;
            }
            Ok(Exit::Ok)
        }
        Some(AuditCommand::AcceptAnchor(args)) => {
            let mut session = ctx.unlock_accepting_anchor()?;
            let Some(problem) = session.vault.anchor_problem().map(str::to_owned) else {
                writeln!(
                    out,
                    "The vault matches its audit anchor; nothing to accept."
                )?;
                session.finish()?;
                return Ok(Exit::Ok);
            };
            eprintln!("coffer: {problem}");
            let go = if args.yes {
                true
            } else if terminal::interactive() {
                terminal::confirm(
                    "Accept the vault as it is now, and record that in its audit trail?",
                )?
            } else {
                eprintln!("coffer: nothing accepted: rerun with --yes to accept it");
                // Dropped unwritten: the file stays exactly as it was found.
                return Ok(Exit::Attention);
            };
            if !go {
                writeln!(out, "Nothing accepted.")?;
                return Ok(Exit::Attention);
            }
            session.vault.accept_anchor(Utc::now())?;
            session.finish()?;
            writeln!(
                out,
                "Accepted: the anchor now vouches for the vault as it is, and the trail records what was accepted."
            )?;
            Ok(Exit::Ok)
        }
        Some(AuditCommand::Verify(json)) => {
            let session = ctx.source()?;
            let result = session.verify_audit()?;
            session.finish()?;
            match result {
                Ok(verified) => {
                    if json.json {
                        print_json(
                            out,
                            &json!({ "ok": true, "entries": verified.entries, "anchored": verified.anchored }),
                        )?;
                    } else {
                        let anchored = verified
                            .anchored
                            .map(|a| format!(", anchored at entry {a}"))
                            .unwrap_or_default();
                        writeln!(
                            out,
                            "verified {} audit entries: the chain is intact{anchored}",
                            verified.entries
                        )?;
                    }
                    Ok(Exit::Ok)
                }
                Err(broken) => {
                    if json.json {
                        print_json(
                            out,
                            &json!({ "ok": false, "seq": broken.seq(), "problem": broken.kind(), "message": broken.to_string() }),
                        )?;
                    }
                    Err(coffer_core::Error::Integrity {
                        what: format!("audit verify failed: {broken}"),
                    }
                    .into())
                }
            }
        }
    }
}

/// A number of days: `90` or `90d`.
fn parse_days(flag: &str, value: &str) -> Result<u32, CliError> {
    value
        .strip_suffix('d')
        .unwrap_or(value)
        .parse::<u32>()
        .map_err(|_| {
            usage(format!(
                "invalid {flag} '{value}': give a number of days, e.g. 90 or 90d"
            ))
        })
}

fn policy_from(max_age: &str, warn: Option<&str>) -> anyhow::Result<Policy> {
    let max = parse_days("--max-age", max_age)?;
    let warn = warn
        .map(|w| parse_days("--warn", w))
        .transpose()?
        .unwrap_or_else(|| coffer_core::rotation::DEFAULT_WARN_DAYS.min(max.saturating_sub(1)));
    Ok(Policy::new(max, warn)?)
}

fn own_policy(common: &CommonFields) -> anyhow::Result<Option<Policy>> {
    common
        .max_age
        .as_deref()
        .map(|m| policy_from(m, common.warn.as_deref()))
        .transpose()
}

pub fn status(ctx: &Context, args: &StatusArgs, out: Out) -> anyhow::Result<Exit> {
    let session = ctx.source()?;
    let filter = coffer_core::rotation::Filter {
        env: args.env.clone(),
        tag: args.tag.clone(),
    };
    let coffer_core::agent::Statuses {
        statuses: all,
        running,
    } = session.statuses(filter)?;
    // A finding: AWS keys still handed out long-lived to tools.
    let since = Utc::now() - coffer_core::sessions::LONG_LIVED_WINDOW;
    let entries = session.audit_entries(coffer_core::audit::Query {
        since: Some(since),
        ..Default::default()
    })?;
    let long_lived = coffer_core::sessions::long_lived_uses(&entries);
    let leases = session.leases()?;
    session.finish()?;
    if args.json {
        let items = all
            .iter()
            .map(|(c, s)| {
                let mut item = output::status_json(c, s, running.get(&c.meta.name));
                if let Some(n) = long_lived.get(&c.meta.name) {
                    item["long_lived_uses_30d"] = (*n).into();
                }
                item
            })
            .collect();
        print_json(out, &Value::Array(items))?;
    } else {
        output::print_status_table(out, &all)?;
        output::print_running_rotations(out, &running)?;
        let shown: Vec<(&String, &usize)> = long_lived
            .iter()
            .filter(|(n, _)| all.iter().any(|(c, _)| &c.meta.name == *n))
            .collect();
        if !shown.is_empty() {
            writeln!(out, "\nLong-lived AWS keys handed out to tools in the last 30 days (--long-lived; a session keeps the key in the vault):")?;
            for (name, n) in shown {
                writeln!(out, "  {name}: {n} time{}", if *n == 1 { "" } else { "s" })?;
            }
        }
        print_leases(out, &leases)?;
    }
    let left = leases.iter().filter(|l| !l.held()).count();
    if left > 0
        && (args.revoke_leases
            || (!args.json
                && crate::terminal::interactive()
                && crate::terminal::confirm(&format!(
                    "Revoke the {left} lease{} left behind now?",
                    if left == 1 { "" } else { "s" }
                ))?))
    {
        let session = ctx.unlock()?;
        let done = coffer_core::leases::revoke_recorded(
            &session.vault,
            |l| !l.held(),
            "revoked (left behind)",
            Utc::now(),
        )?;
        session.finish()?;
        let mut failed = false;
        for (lease, result) in done {
            match result {
                Ok(()) => eprintln!(
                    "Revoked the lease of {} ({}).",
                    lease.credential, lease.path
                ),
                Err(e) => {
                    failed = true;
                    eprintln!(
                        "Could not revoke the lease of {} ({}): {e}",
                        lease.credential, lease.path
                    );
                }
            }
        }
        if failed {
            return Ok(Exit::Attention);
        }
    } else if left > 0 {
        return Ok(Exit::Attention);
    }
    let attention = all.iter().any(|(_, s)| s.state.needs_action());
    Ok(if attention { Exit::Attention } else { Exit::Ok })
}

/// The Vault leases recorded: the ones a running `coffer exec` holds (it
/// renews and revokes them) and the ones left behind.
fn print_leases(out: Out, leases: &[coffer_core::leases::LeaseInfo]) -> anyhow::Result<()> {
    if leases.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    writeln!(out, "\nVault leases:")?;
    for l in leases {
        let left = (l.expires_at - now).num_seconds();
        let when = if left > 0 {
            format!("ends in {}", coffer_core::time::span_text(left as u64))
        } else {
            "ended".to_owned()
        };
        if l.held() {
            writeln!(
                out,
                "  {} ({}): held by coffer exec (pid {}), renewed while it runs",
                l.credential, l.path, l.pid
            )?;
        } else {
            writeln!(
                out,
                "  {} ({}): LEFT BEHIND by a Coffer that ended without revoking it; {when} unless \
                 revoked (`coffer status --revoke-leases`)",
                l.credential, l.path
            )?;
        }
    }
    Ok(())
}

fn scope_of(scope: &PolicyScope) -> anyhow::Result<Scope> {
    Ok(match (&scope.kind, &scope.tag, &scope.env) {
        (Some(k), _, _) => Scope::Kind(k.parse()?),
        (_, Some(t), _) => Scope::Tag(t.clone()),
        (_, _, Some(e)) => Scope::Env(e.clone()),
        _ => return Err(usage("give one of --kind, --tag or --env").into()),
    })
}

pub fn policy(ctx: &Context, command: &PolicyCommand, out: Out) -> anyhow::Result<Exit> {
    let mut session = ctx.source()?;
    let policies = match command {
        PolicyCommand::List(_) => session.policies()?,
        PolicyCommand::Set {
            scope,
            max_age,
            warn,
        } => {
            let policy = policy_from(max_age, warn.as_deref())?;
            session.set_policy(scope_of(scope)?, Some(policy))?
        }
        PolicyCommand::Unset { scope } => session.set_policy(scope_of(scope)?, None)?,
    };
    session.finish()?;
    if matches!(command, PolicyCommand::List(JsonArg { json: true })) {
        print_json(out, &output::policies_json(&policies))?;
    } else {
        output::print_policies(out, &policies)?;
    }
    Ok(Exit::Ok)
}
