//! `exec`, `env`, `inject`, `aws credential-process`, `vault-token-helper`:
//! credentials into tools, never through argv, shell history or a plaintext
//! file. The core reveals (audited) and maps; this module runs processes,
//! forwards signals and writes output.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use chrono::SecondsFormat;
use coffer_core::audit::Action;
use coffer_core::envmap::{self, EnvVar};
use coffer_core::leases::{Renewal, Renewing};
use coffer_core::sessions::AwsSession;
use coffer_core::{Credential, Draft, Kind, Patch, SecretValue, Secrets};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::cli::{
    AwsArgs, AwsCommand, EnvArgs, EnvFormat, ExecArgs, InjectArgs, TokenHelperArgs, TokenOp,
};
use crate::exit::{usage, Exit};
use crate::session::Context;
use coffer_cli::answer;

type Out<'a> = &'a mut dyn Write;

fn parse_mappings(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|m| {
            m.split_once('=')
                .map(|(v, f)| (v.to_owned(), f.to_owned()))
                .ok_or_else(|| {
                    usage(format!("--env '{m}': write VAR=FIELD or VAR=NAME/FIELD")).into()
                })
        })
        .collect()
}

/// A credential as its values would be mapped, with every secret value
/// empty: what the variables will be can be worked out (and checked and
/// recorded) before anything is revealed.
fn shape(c: &Credential) -> (Credential, Secrets) {
    let s = Secrets(
        c.meta
            .secret_fields
            .iter()
            .map(|f| (f.clone(), SecretValue::from("")))
            .collect(),
    );
    (c.clone(), s)
}

/// Whether `c` is handed out as an STS session (unless --long-lived).
fn yields_session(c: &Credential) -> bool {
    matches!(c.meta.kind, Kind::AwsAccessKey | Kind::AwsRole)
}

/// An AWS credential as its session is mapped: the session's key id,
/// secret and token and its expiry in place of the stored key (the rest of
/// its plain fields, the region among them, as they are). Without a
/// session, its shape.
fn as_session(c: &Credential, session: Option<&AwsSession>) -> (Credential, Secrets) {
    let mut c = c.clone();
    let fields = &mut c.meta.fields;
    fields.insert(
        "access_key_id".into(),
        session.map(|s| s.access_key_id.clone()).unwrap_or_default(),
    );
    fields.insert(
        "expiration".into(),
        session
            .map(|s| s.expiration.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default(),
    );
    if let Some(region) = session.and_then(|s| s.region.clone()) {
        fields.entry("region".into()).or_insert(region);
    }
    c.meta.secret_fields = vec!["secret_access_key".into(), "session_token".into()];
    let value = |v: Option<&str>| SecretValue::from(v.unwrap_or(""));
    let secrets = Secrets(BTreeMap::from([
        (
            "secret_access_key".to_owned(),
            value(session.map(|s| s.secret_access_key.as_str())),
        ),
        (
            "session_token".to_owned(),
            value(session.map(|s| s.session_token.as_str())),
        ),
    ]));
    (c, secrets)
}

/// Reveals the credentials for `action` (audited with the variable names)
/// and maps them to variables. AWS credentials are handed out as STS
/// sessions (see coffer_core::sessions) unless `long_lived`.
#[allow(clippy::too_many_arguments)]
fn reveal_vars(
    ctx: &Context,
    names: &[String],
    mappings: &[(String, String)],
    no_defaults: bool,
    action: Action,
    extra: Value,
    check_env: bool,
    long_lived: bool,
) -> anyhow::Result<Vec<EnvVar>> {
    let session = ctx.source()?;
    let metas = names
        .iter()
        .map(|n| session.get(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if long_lived {
        if let Some(role) = metas.iter().find(|c| c.meta.kind == Kind::AwsRole) {
            return Err(usage(format!(
                "'{}' is an aws-role: it has no key of its own, only sessions (drop --long-lived)",
                role.meta.name
            ))
            .into());
        }
    }
    let by_session = |c: &Credential| !long_lived && yields_session(c);
    let shapes: Vec<(Credential, Secrets)> = metas
        .iter()
        .map(|c| {
            if by_session(c) {
                as_session(c, None)
            } else {
                shape(c)
            }
        })
        .collect();
    let planned: Vec<String> = envmap::variables(&shapes, mappings, no_defaults)?
        .into_iter()
        .map(|v| v.name)
        .collect();
    for c in &metas {
        if let Some(a) = session.unreviewed(c)? {
            eprintln!(
                "coffer: note: the fields of '{}' arrived by {} and nobody has reviewed them yet (`coffer show {}`)",
                c.meta.name, a.via, c.meta.name
            );
        }
    }
    if check_env {
        let taken: Vec<&String> = planned
            .iter()
            .filter(|v| std::env::var_os(v).is_some())
            .collect();
        if !taken.is_empty() {
            let list: Vec<&str> = taken.iter().map(|s| s.as_str()).collect();
            return Err(usage(format!(
                "{} already set in this environment; pass --override to replace {}",
                if list.len() == 1 {
                    format!("{} is", list[0])
                } else {
                    format!("{} are", list.join(", "))
                },
                if list.len() == 1 { "it" } else { "them" }
            ))
            .into());
        }
    }
    let mut details = json!({ "variables": planned });
    if let (Value::Object(d), Value::Object(e)) = (&mut details, extra) {
        d.extend(e);
    }
    if long_lived && metas.iter().any(yields_session) {
        // `coffer status` counts these.
        details["long_lived"] = true.into();
    }
    let revealed: Vec<&str> = metas
        .iter()
        .filter(|c| !by_session(c))
        .map(|c| c.meta.name.as_str())
        .collect();
    let mut plain = if revealed.is_empty() {
        Vec::new()
    } else {
        session.reveal_for(&revealed, action, details.clone())?
    }
    .into_iter();
    let mut creds = Vec::with_capacity(metas.len());
    for c in &metas {
        if by_session(c) {
            let s = session.aws_session(&c.meta.name, action, details.clone())?;
            creds.push(as_session(c, Some(&s)));
        } else {
            creds.push(plain.next().expect("one per name revealed"));
        }
    }
    session.finish()?;
    let vars = envmap::variables(&creds, mappings, no_defaults)?;
    for v in vars.iter().filter(|v| v.steers) {
        eprintln!(
            "coffer: warning: {} changes how programs load code, run or connect; it is set from {}/{} because you mapped it",
            v.name, v.source.0, v.source.1
        );
    }
    Ok(vars)
}

/// The variables that would make an AWS SDK use other credentials than
/// the `--server` endpoint (they come first in every SDK's chain), taken
/// out of the child's environment.
const AHEAD_OF_THE_ENDPOINT: [&str; 6] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

fn plain_var(name: &str, value: &str, from: &str, secret: bool) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: SecretValue::from(value),
        source: (from.into(), String::new()),
        secret,
        steers: false,
    }
}

pub fn exec(ctx: &Context, args: &ExecArgs, _out: Out) -> anyhow::Result<Exit> {
    let mappings = parse_mappings(&args.env)?;
    let program = Path::new(&args.command[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut served: Option<(String, Option<String>)> = None;
    let mut names = args.names.clone();
    if args.server {
        let probe = ctx.source()?;
        let aws: Vec<Credential> = args
            .names
            .iter()
            .map(|n| probe.get(n))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .filter(yields_session)
            .collect();
        probe.finish()?;
        let [one] = aws.as_slice() else {
            return Err(usage(format!(
                "--server serves one AWS credential (an aws-access-key or aws-role); {} given",
                aws.len()
            ))
            .into());
        };
        names.retain(|n| *n != one.meta.name);
        served = Some((
            one.meta.name.clone(),
            one.meta.fields.get("region").cloned(),
        ));
    }
    let lease_names = take_leases(ctx, &mut names)?;
    let mut vars = if names.is_empty() {
        Vec::new()
    } else {
        reveal_vars(
            ctx,
            &names,
            &mappings,
            args.no_defaults,
            Action::Exec,
            json!({ "program": program, "mask": args.mask }),
            !args.override_env,
            args.long_lived,
        )?
    };
    let mut remove: &[&str] = &[];
    let mut endpoint = None;
    if let Some((name, region)) = served {
        // The first session is made before the command starts, so an MFA
        // prompt or an error comes now, not inside the command's first call.
        let source = ctx.source()?;
        let details = json!({ "program": program, "server": true });
        source.aws_session(&name, Action::Exec, details.clone())?;
        let shared = std::sync::Arc::new(std::sync::Mutex::new(Some(source)));
        let serving = shared.clone();
        let serve: crate::credserver::Serve = Box::new(move || {
            let source = serving.lock().unwrap_or_else(|p| p.into_inner());
            match source.as_ref() {
                Some(s) => s.aws_session(&name, Action::Exec, details.clone()),
                None => anyhow::bail!("the command has ended"),
            }
        });
        let server = crate::credserver::CredServer::start(serve)?;
        vars.push(plain_var(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &server.uri,
            "server",
            false,
        ));
        vars.push(plain_var(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            &server.token,
            "server",
            true,
        ));
        if let Some(r) = region {
            for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
                if !vars.iter().any(|v| v.name == var) {
                    vars.push(plain_var(var, &r, "server", false));
                }
            }
        }
        remove = &AHEAD_OF_THE_ENDPOINT;
        endpoint = Some((server, shared));
    }
    // Leased credentials: issued now, renewed while the command runs,
    // revoked when it ends.
    let leases = issue_leases(ctx, &lease_names, &mut vars, &program)?;
    let masks: Vec<Zeroizing<Vec<u8>>> = if args.mask {
        vars.iter()
            .filter(|v| v.secret && v.value.len() >= 4)
            .map(|v| Zeroizing::new(v.value.expose_secret().as_bytes().to_vec()))
            .collect()
    } else {
        Vec::new()
    };
    let status = run_child(&args.command, vars, masks, remove);
    let ended = end_leases(ctx, leases);
    let status = status?;
    ended?;
    if let Some((server, shared)) = endpoint {
        // Gone with the child: a request now finds no port.
        server.stop();
        let source = shared.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(source) = source {
            source.finish()?;
        }
    }
    std::io::stdout().flush().ok();
    // The child's exit code is ours; a child killed by a signal gives 128 + signal.
    let code = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => 1,
    };
    std::process::exit(code);
}

/// Takes the vault-lease credentials out of `names` (they are issued, not
/// revealed).
fn take_leases(ctx: &Context, names: &mut Vec<String>) -> anyhow::Result<Vec<String>> {
    let probe = ctx.source()?;
    let mut leased = Vec::new();
    for name in names.iter() {
        if probe.get(name)?.meta.kind == Kind::VaultLease {
            leased.push(name.clone());
        }
    }
    probe.finish()?;
    names.retain(|n| !leased.contains(n));
    Ok(leased)
}

/// Renews `lease` until the command ends (coffer_core::leases), saying on
/// stderr when it reaches its max TTL or a renewal fails.
fn keep_renewed(lease: coffer_core::leases::Lease) -> Renewing {
    lease.keep_renewed(|name, said| match said {
        Renewal::AtMaxTtl(ttl) => eprintln!(
            "coffer: the lease of {name} reached its max TTL: it ends in {} s",
            ttl.as_secs()
        ),
        Renewal::Failed { error, again } => eprintln!(
            "coffer: renewing the lease of {name} failed ({error}); trying again in {} s",
            again.as_secs_f32().ceil()
        ),
    })
}

/// Issues a lease for each of `names` and adds its values to `vars`; on a
/// failure the ones already issued are revoked.
fn issue_leases(
    ctx: &Context,
    names: &[String],
    vars: &mut Vec<EnvVar>,
    program: &str,
) -> anyhow::Result<Vec<Renewing>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let session = ctx.unlock()?;
    let mut issued = Vec::new();
    let mut failed = None;
    for name in names {
        let result = (|| -> anyhow::Result<()> {
            let credential = session.vault.get(name)?;
            let now = chrono::Utc::now();
            let lease = coffer_core::leases::issue(
                &session.vault,
                name,
                json!({ "program": program }),
                now,
            )?;
            issued.push(lease.lease);
            for (var, key) in coffer_core::leases::variables(&credential, &lease.values)? {
                if vars.iter().any(|v| v.name == var) {
                    anyhow::bail!(usage(format!(
                        "{var} would be set by both {name}'s lease and another credential"
                    )));
                }
                let value = lease.values[&key].expose_secret();
                vars.push(plain_var(&var, value, name, true));
            }
            Ok(())
        })();
        if let Err(e) = result {
            failed = Some(e);
            break;
        }
    }
    if let Some(e) = failed {
        let now = chrono::Utc::now();
        for lease in issued {
            if lease.revoke().is_ok() {
                coffer_core::leases::ended(&session.vault, &lease.info, "revoked", 0, now)?;
            }
        }
        session.finish()?;
        return Err(e);
    }
    session.finish()?;
    Ok(issued.into_iter().map(keep_renewed).collect())
}

/// Stops renewing and revokes each lease, then forgets it in the vault; a
/// lease that could not be revoked stays recorded (`coffer status` lists
/// it as left behind).
fn end_leases(ctx: &Context, leases: Vec<Renewing>) -> anyhow::Result<()> {
    if leases.is_empty() {
        return Ok(());
    }
    let mut ended = Vec::new();
    for renewing in leases {
        let Some(lease) = renewing.stop() else {
            continue;
        };
        match lease.revoke() {
            Ok(()) => ended.push((lease.info.clone(), lease.renewals())),
            Err(e) => eprintln!(
                "coffer: the lease of {} could not be revoked ({e}); it ends at its TTL, and \
                 `coffer status` lists it",
                lease.info.credential
            ),
        }
    }
    let session = ctx.unlock()?;
    let now = chrono::Utc::now();
    for (info, renewals) in &ended {
        coffer_core::leases::ended(&session.vault, info, "revoked", *renewals, now)?;
    }
    session.finish()
}

/// Runs the command with `vars` added to its environment, forwarding
/// signals, and (with masks) filtering its output.
fn run_child(
    command: &[String],
    vars: Vec<EnvVar>,
    masks: Vec<Zeroizing<Vec<u8>>>,
    remove: &[&str],
) -> anyhow::Result<ExitStatus> {
    use signal_hook::consts::signal::{
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
    };
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    for name in remove {
        cmd.env_remove(name);
    }
    for v in &vars {
        cmd.env(&v.name, v.value.expose_secret());
    }
    drop(vars);
    let masking = !masks.is_empty();
    if masking {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    // Handlers go in before the child starts, so no signal is lost between.
    let mut signals = signal_hook::iterator::Signals::new([
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
    ])?;
    // The child gets the core-file limit the user had; Coffer keeps 0 and
    // stays not dumpable.
    coffer_core::process::for_children();
    let mut child = cmd
        .spawn()
        .map_err(|e| usage(format!("cannot run '{}': {e}", command[0])))?;
    // The environment given to the child is not kept around here.
    drop(cmd);
    let pid = rustix::process::Pid::from_child(&child);
    let handle = signals.handle();
    // On a terminal, Ctrl-C already reaches the child (same process group);
    // forwarding it too would deliver it twice.
    let tty = std::io::stdin().is_terminal();
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            if sig == SIGINT && tty {
                continue;
            }
            if let Some(s) = rustix::process::Signal::from_named_raw(sig) {
                let _ = rustix::process::kill_process(pid, s);
            }
        }
    });
    let mut pumps = Vec::new();
    if masking {
        let masks = std::sync::Arc::new(masks);
        // Our own stdout is locked by the command runner: the pumps write to
        // duplicates of the descriptors instead.
        let own_out = std::fs::File::from(rustix::io::dup(std::io::stdout())?);
        let own_err = std::fs::File::from(rustix::io::dup(std::io::stderr())?);
        if let Some(o) = child.stdout.take() {
            let m = masks.clone();
            pumps.push(std::thread::spawn(move || mask_stream(o, own_out, &m)));
        }
        if let Some(e) = child.stderr.take() {
            let m = masks.clone();
            pumps.push(std::thread::spawn(move || mask_stream(e, own_err, &m)));
        }
    }
    let status = child.wait()?;
    for p in pumps {
        let _ = p.join();
    }
    handle.close();
    let _ = forwarder.join();
    Ok(status)
}

const CONCEALED: &[u8] = b"<concealed by coffer>";

/// Copies `input` to `output`, replacing every occurrence of a mask, also
/// across read boundaries (the longest mask minus one byte is held back).
fn mask_stream(mut input: impl Read, mut output: impl Write, masks: &[Zeroizing<Vec<u8>>]) {
    let longest = masks.iter().map(|m| m.len()).max().unwrap_or(1);
    let mut buf = Zeroizing::new(Vec::<u8>::with_capacity(16 * 1024 + longest));
    let mut chunk = Zeroizing::new(vec![0u8; 8192]);
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        let eof = n == 0;
        buf.extend_from_slice(&chunk[..n]);
        let mut emitted = Zeroizing::new(Vec::with_capacity(buf.len()));
        let mut i = 0;
        // Everything before `safe` can be decided now.
        let safe = if eof {
            buf.len()
        } else {
            buf.len().saturating_sub(longest - 1)
        };
        while i < safe {
            if let Some(m) = masks.iter().find(|m| buf[i..].starts_with(m)) {
                emitted.extend_from_slice(CONCEALED);
                i += m.len();
            } else {
                emitted.push(buf[i]);
                i += 1;
            }
        }
        if output
            .write_all(&emitted)
            .and_then(|()| output.flush())
            .is_err()
        {
            return;
        }
        let rest = buf[i.min(buf.len())..].to_vec();
        buf.clear();
        buf.extend_from_slice(&rest);
        if eof {
            return;
        }
    }
}

fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

fn fish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'"))
}

fn dotenv_quote(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '$' => out.push_str(r"\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn env(ctx: &Context, args: &EnvArgs, out: Out) -> anyhow::Result<Exit> {
    let mappings = parse_mappings(&args.env)?;
    let format = format!("{:?}", args.format).to_lowercase();
    let vars = reveal_vars(
        ctx,
        &args.names,
        &mappings,
        args.no_defaults,
        Action::EnvExport,
        json!({ "format": format }),
        false,
        args.long_lived,
    )?;
    if std::io::stdout().is_terminal() {
        eprintln!(
            "coffer: warning: printing secret values to a terminal (they stay in its scrollback); prefer `coffer exec` or `eval \"$(coffer env ...)\"`"
        );
    }
    let mut text = Zeroizing::new(String::new());
    match args.format {
        EnvFormat::Json => {
            let map: BTreeMap<&str, &str> = vars
                .iter()
                .map(|v| (v.name.as_str(), v.value.expose_secret()))
                .collect();
            text.push_str(&serde_json::to_string_pretty(&map)?);
            text.push('\n');
        }
        _ => {
            for v in &vars {
                let value = v.value.expose_secret();
                let line = Zeroizing::new(match args.format {
                    EnvFormat::Sh => format!("export {}={}\n", v.name, sh_quote(value)),
                    EnvFormat::Fish => format!("set -gx {} {}\n", v.name, fish_quote(value)),
                    _ => format!("{}={}\n", v.name, dotenv_quote(value)),
                });
                text.push_str(&line);
            }
        }
    }
    out.write_all(text.as_bytes())?;
    Ok(Exit::Ok)
}

pub fn inject(ctx: &Context, args: &InjectArgs, out: Out) -> anyhow::Result<Exit> {
    let template = if args.input.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(&args.input).map_err(|e| {
            usage(format!(
                "cannot read template {}: {e}",
                args.input.display()
            ))
        })?
    };
    let refs = envmap::references(&template)
        .map_err(|e| usage(format!("{}: {e}", args.input.display())))?;
    let mut names: Vec<String> = refs.iter().map(|r| r.name.clone()).collect();
    names.sort();
    names.dedup();
    let session = ctx.source()?;
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let fields: Vec<String> = refs
        .iter()
        .map(|r| format!("{}/{}", r.name, r.field))
        .collect();
    let details = json!({
        "template": args.input.display().to_string(),
        "output": args.output.as_ref().map(|o| o.display().to_string()),
        "references": fields,
    });
    let creds = session.reveal_for(&name_refs, Action::Inject, details)?;
    session.finish()?;
    let rendered = envmap::render(&template, &refs, &creds)
        .map_err(|e| usage(format!("{}: {e}", args.input.display())))?;
    match &args.output {
        Some(path) => {
            coffer_core::fsx::write_private(
                path,
                rendered.as_bytes(),
                coffer_core::fsx::Replace::Always,
                "write",
            )?;
            eprintln!(
                "coffer: wrote {} ({} reference{} filled, mode 0600)",
                path.display(),
                refs.len(),
                if refs.len() == 1 { "" } else { "s" }
            );
        }
        None => out.write_all(rendered.as_bytes())?,
    }
    Ok(Exit::Ok)
}

pub fn aws(ctx: &Context, args: &AwsArgs, out: Out) -> anyhow::Result<Exit> {
    match &args.command {
        AwsCommand::CredentialProcess { name, long_lived } => {
            credential_process(ctx, name, *long_lived, out)
        }
        AwsCommand::Sessions(json) => aws_sessions(ctx, json.json, out),
    }
}

fn credential_process(
    ctx: &Context,
    name: &str,
    long_lived: bool,
    out: Out,
) -> anyhow::Result<Exit> {
    // Through the agent when one serves this vault (the AWS SDKs run this
    // on every credential refresh), else unlocked here.
    let source = ctx.source()?;
    let text = if long_lived {
        let c = source.get(name)?;
        if c.meta.kind != Kind::AwsAccessKey {
            coffer_core::sessions::check_kind(name, &c)?;
            return Err(usage(format!(
                "'{name}' is an aws-role: it has no key of its own, only sessions (drop --long-lived)"
            ))
            .into());
        }
        let details = json!({ "long_lived": true });
        let creds = source.reveal_for(&[name], Action::CredentialProcess, details)?;
        let (c, s) = &creds[0];
        answer::credential_process(name, c, &|f| s.0.get(f).map(|v| v.expose_secret()))?
    } else {
        let session = source.aws_session(name, Action::CredentialProcess, json!({}))?;
        answer::session_process(&session)
    };
    source.finish()?;
    out.write_all(text.as_bytes())?;
    Ok(Exit::Ok)
}

fn aws_sessions(ctx: &Context, json: bool, out: Out) -> anyhow::Result<Exit> {
    let source = ctx.source()?;
    let sessions = source.aws_sessions()?;
    source.finish()?;
    let now = chrono::Utc::now();
    if json {
        let list: Vec<Value> = sessions
            .iter()
            .map(|s| {
                json!({
                    "credential": s.credential,
                    "session_key_id": s.session_key_id,
                    "source_key_id": s.source_key_id,
                    "role_arn": s.role_arn,
                    "assumed_arn": s.assumed_arn,
                    "issued_at": s.issued_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "expires": s.expiration.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "live": s.expiration > now,
                    "mfa": s.mfa,
                    "served": s.served,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(Exit::Ok);
    }
    if sessions.is_empty() {
        writeln!(out, "no AWS sessions are kept")?;
        return Ok(Exit::Ok);
    }
    for s in &sessions {
        let left = s.expiration - now;
        let when = if left > chrono::Duration::zero() {
            format!("ends in {} min", left.num_minutes())
        } else {
            "ended".to_owned()
        };
        let what = match &s.role_arn {
            Some(role) => format!("role {role}"),
            None => format!("key {}", s.source_key_id),
        };
        writeln!(
            out,
            "{}  {what}  {when} ({})  served {}{}",
            s.credential,
            s.expiration.to_rfc3339_opts(SecondsFormat::Secs, true),
            s.served,
            if s.mfa { "  mfa" } else { "" }
        )?;
    }
    Ok(Exit::Ok)
}

/// `vault-cli/<host:port>` of the address the Vault/OpenBao CLI talks to.
fn helper_name(explicit: &Option<String>) -> (String, Option<String>) {
    let addr = std::env::var("VAULT_ADDR")
        .or_else(|_| std::env::var("BAO_ADDR"))
        .ok();
    if let Some(n) = explicit {
        return (n.clone(), addr);
    }
    let host = addr
        .as_deref()
        .map(|a| {
            a.split("://")
                .nth(1)
                .unwrap_or(a)
                .split('/')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "default".into());
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (format!("vault-cli/{host}"), addr)
}

pub fn token_helper(ctx: &Context, args: &TokenHelperArgs, out: Out) -> anyhow::Result<Exit> {
    let (name, addr) = helper_name(&args.name);
    if let TokenOp::Get = args.op {
        // The Vault/OpenBao CLI asks on every command: through the agent
        // when one serves this vault, else unlocked here.
        let source = ctx.source()?;
        let exists = match source.get(&name) {
            Ok(_) => true,
            Err(e) if crate::exit::classify(&e) == Exit::NotFound => false,
            Err(e) => return Err(e),
        };
        // No stored token: print nothing, as the protocol expects.
        if exists {
            let creds = source.reveal_for(
                &[name.as_str()],
                Action::TokenHelper,
                json!({ "op": "get" }),
            )?;
            if let Some(t) = creds[0].1 .0.get("token") {
                out.write_all(t.expose_secret().as_bytes())?;
            }
        }
        source.finish()?;
        return Ok(Exit::Ok);
    }
    let mut session = ctx.source()?;
    let exists = match session.get(&name) {
        Ok(_) => true,
        Err(e) if crate::exit::classify(&e) == Exit::NotFound => false,
        Err(e) => return Err(e),
    };
    match args.op {
        TokenOp::Get => {}
        TokenOp::Store => {
            let mut raw = Zeroizing::new(String::new());
            std::io::stdin().read_to_string(&mut raw)?;
            let token = raw.trim_end_matches(['\r', '\n']);
            if token.is_empty() {
                return Err(usage("vault-token-helper store: no token on stdin").into());
            }
            let value = SecretValue::from(token);
            if exists {
                let mut patch = Patch::default();
                patch.values.insert("token".into(), value);
                if let Some(a) = &addr {
                    patch.fields.insert("addr".into(), a.clone());
                }
                session.update(&name, patch)?;
            } else {
                let mut draft = Draft::new(name.clone(), Kind::VaultToken);
                draft.values.insert("token".into(), value);
                if let Some(a) = &addr {
                    draft.fields.insert("addr".into(), a.clone());
                }
                draft.tags.push("vault-cli".into());
                session.add(draft)?;
            }
        }
        TokenOp::Erase => {
            if exists {
                // The vault CLI forgets its token: for good, not to the trash.
                session.remove(&name, true)?;
            }
        }
    }
    session.finish()?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(input: &[u8], masks: &[&str], chunk: usize) -> Vec<u8> {
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let masks: Vec<Zeroizing<Vec<u8>>> = masks
            .iter()
            .map(|m| Zeroizing::new(m.as_bytes().to_vec()))
            .collect();
        let mut out = Vec::new();
        mask_stream(Slow(input, chunk), &mut out, &masks);
        out
    }

    #[test]
    fn masking_catches_values_split_across_reads() {
        let text = b"key=hunter2-secret and again hunter2-secret.\nother=pass-word\n";
        for chunk in 1..12 {
            let out = masked(text, &["hunter2-secret", "pass-word"], chunk);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "key=<concealed by coffer> and again <concealed by coffer>.\nother=<concealed by coffer>\n",
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn quoting_survives_hostile_values() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
        assert_eq!(fish_quote(r"a\'b"), r"'a\\\'b'");
        assert_eq!(dotenv_quote("a\"$b\n"), r#""a\"\$b\n""#);
    }
}
