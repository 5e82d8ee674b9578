//! `exec`, `env`, `inject`, `aws credential-process`, `vault-token-helper`:
//! credentials into tools, never through argv, shell history or a plaintext
//! file. The core reveals (audited) and maps; this module runs processes,
//! forwards signals and writes output.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use coffer_core::audit::Action;
use coffer_core::envmap::{self, EnvVar};
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

/// The variables the credentials would set, worked out from metadata
/// alone (secret field names, no values), so they can be checked and
/// recorded before anything is revealed.
fn planned_names(
    creds: &[Credential],
    mappings: &[(String, String)],
    no_defaults: bool,
) -> anyhow::Result<Vec<String>> {
    let shapes: Vec<(Credential, Secrets)> = creds
        .iter()
        .map(|c| {
            let s = Secrets(
                c.meta
                    .secret_fields
                    .iter()
                    .map(|f| (f.clone(), SecretValue::from("")))
                    .collect(),
            );
            (c.clone(), s)
        })
        .collect();
    Ok(envmap::variables(&shapes, mappings, no_defaults)?
        .into_iter()
        .map(|v| v.name)
        .collect())
}

/// Reveals the credentials for `action` (audited with the variable names)
/// and maps them to variables.
fn reveal_vars(
    ctx: &Context,
    names: &[String],
    mappings: &[(String, String)],
    no_defaults: bool,
    action: Action,
    extra: Value,
    check_env: bool,
) -> anyhow::Result<Vec<EnvVar>> {
    let session = ctx.source()?;
    let metas = names
        .iter()
        .map(|n| session.get(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let planned = planned_names(&metas, mappings, no_defaults)?;
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
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let creds = session.reveal_for(&refs, action, details)?;
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

pub fn exec(ctx: &Context, args: &ExecArgs, _out: Out) -> anyhow::Result<Exit> {
    let mappings = parse_mappings(&args.env)?;
    let program = Path::new(&args.command[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let vars = reveal_vars(
        ctx,
        &args.names,
        &mappings,
        args.no_defaults,
        Action::Exec,
        json!({ "program": program, "mask": args.mask }),
        !args.override_env,
    )?;
    let masks: Vec<Zeroizing<Vec<u8>>> = if args.mask {
        vars.iter()
            .filter(|v| v.secret && v.value.len() >= 4)
            .map(|v| Zeroizing::new(v.value.expose_secret().as_bytes().to_vec()))
            .collect()
    } else {
        Vec::new()
    };
    let status = run_child(&args.command, vars, masks)?;
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

/// Runs the command with `vars` added to its environment, forwarding
/// signals, and (with masks) filtering its output.
fn run_child(
    command: &[String],
    vars: Vec<EnvVar>,
    masks: Vec<Zeroizing<Vec<u8>>>,
) -> anyhow::Result<ExitStatus> {
    use signal_hook::consts::signal::{
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
    };
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
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
    let AwsCommand::CredentialProcess { name, long_lived } = &args.command;
    // Through the agent when one serves this vault (the AWS SDKs run this
    // on every credential refresh), else unlocked here.
    let source = ctx.source()?;
    let text = if *long_lived {
        coffer_core::sessions::check_kind(name, &source.get(name)?)?;
        let details = json!({ "long_lived": true });
        let creds = source.reveal_for(&[name.as_str()], Action::CredentialProcess, details)?;
        let (c, s) = &creds[0];
        answer::credential_process(name, c, &|f| s.0.get(f).map(|v| v.expose_secret()))?
    } else {
        answer::session_process(&source.aws_session(name)?)
    };
    source.finish()?;
    out.write_all(text.as_bytes())?;
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
                session.remove(&name)?;
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
