//! `coffer access`: the access rules the agent applies (see
//! coffer_core::access), listed and changed.

use std::io::Write;

use coffer_core::access::{Rule, Rules, Scope, DEFAULT_REMEMBER_MINUTES};

use crate::cli::{AccessCommand, AccessScope, JsonArg};
use crate::exit::{usage, Exit};
use crate::output::print_json;
use crate::session::Context;

pub fn access(ctx: &Context, command: &AccessCommand, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let mut session = ctx.source()?;
    let rules = match command {
        AccessCommand::List(_) => session.access_rules()?,
        AccessCommand::Set { rule, scope } => {
            session.set_access_rule(scope_of(scope)?, Some(Rule::parse(rule)?))?
        }
        AccessCommand::Unset { scope } => session.set_access_rule(scope_of(scope)?, None)?,
        AccessCommand::Remember { minutes } => session.set_access_remember(*minutes)?,
    };
    session.finish()?;
    if matches!(command, AccessCommand::List(JsonArg { json: true })) {
        print_json(out, &serde_json::to_value(&rules)?)?;
    } else {
        print_rules(out, &rules)?;
    }
    Ok(Exit::Ok)
}

fn scope_of(scope: &AccessScope) -> anyhow::Result<Scope> {
    Ok(match (&scope.credential, &scope.tag, &scope.env) {
        (Some(n), _, _) => Scope::Credential(n.clone()),
        (_, Some(t), _) => Scope::Tag(t.clone()),
        (_, _, Some(e)) => Scope::Env(e.clone()),
        _ => return Err(usage("give one of --credential, --tag or --env").into()),
    })
}

fn print_rules(out: &mut dyn Write, rules: &Rules) -> std::io::Result<()> {
    writeln!(
        out,
        "Default: env prod asks{}, everything else is allowed",
        if rules.by_env.contains_key("prod") {
            " (overridden below)"
        } else {
            ""
        }
    )?;
    for (title, map) in [
        ("Credentials", &rules.by_credential),
        ("Tags", &rules.by_tag),
        ("Environments", &rules.by_env),
    ] {
        if !map.is_empty() {
            writeln!(out, "{title}:")?;
            for (name, rule) in map {
                writeln!(out, "  {name:24} {rule}")?;
            }
        }
    }
    let default = if rules.remember_minutes == DEFAULT_REMEMBER_MINUTES {
        " (the default)"
    } else {
        ""
    };
    writeln!(
        out,
        "A yes for a terminal lasts {} min{default}",
        rules.remember_minutes
    )
}
