//! `coffer agent`: run, start, stop and ask the agent of this vault (the
//! serving itself is coffer_core::agent).

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use coffer_core::agent::approval::{Answer, Gate, Question};
use coffer_core::agent::client::{Client, Mode};
use coffer_core::agent::server::{self, Host, Listener, Options};
use coffer_core::agent::{self, Reply, Request, Status};
use coffer_core::{UnlockWith, Vault};

use crate::cli::{AgentAction, AgentArgs, LockArgs};
use crate::exit::{CliError, Exit};
use crate::session::Context;

pub fn agent(ctx: &Context, args: &AgentArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    match &args.action {
        None | Some(AgentAction::Run) => run(ctx, args, out),
        Some(AgentAction::Start) => start(ctx, args, out),
        Some(AgentAction::Stop) => stop(ctx, out),
        Some(AgentAction::Status(a)) => status(ctx, a.json, out),
        Some(AgentAction::Pending(a)) => pending(ctx, a.json, out),
        Some(AgentAction::Approve { id, minutes, once }) => {
            let answer = match (once, minutes) {
                (true, _) => None,
                (false, Some(m)) => Some(Answer::ForMinutes { minutes: *m }),
                (false, None) => Some(Answer::ForMinutes { minutes: 0 }),
            };
            decide(ctx, id, answer, out)
        }
        Some(AgentAction::Deny { id }) => decide(ctx, id, Some(Answer::Deny), out),
        Some(AgentAction::Mode { mode }) => choose_mode(mode.as_deref(), out),
        Some(AgentAction::Socket) => {
            writeln!(out, "{}", agent::socket_for(&ctx.vault_path)?.display())?;
            Ok(Exit::Ok)
        }
    }
}

/// Prints or writes the setting; says when COFFER_AGENT overrides it.
fn choose_mode(mode: Option<&str>, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let setting = match mode {
        Some(text) => {
            let mode = Mode::parse("the agent mode", text)?;
            mode.save()?;
            mode
        }
        None => Mode::setting()?,
    };
    writeln!(out, "{}", setting.as_str())?;
    if let Ok(over) = std::env::var("COFFER_AGENT") {
        if !over.is_empty() && over != setting.as_str() {
            eprintln!("coffer: note: COFFER_AGENT={over} overrides it in this environment");
        }
    }
    Ok(Exit::Ok)
}

/// The agent serving this vault, or the error saying none does.
fn serving(ctx: &Context) -> anyhow::Result<Client> {
    Client::find(&ctx.vault_path, Mode::Auto)?.ok_or_else(|| {
        CliError {
            exit: Exit::NotFound,
            message: format!("no agent serves the vault at {}", ctx.vault_path.display()),
        }
        .into()
    })
}

fn waiting(client: &Client) -> anyhow::Result<Vec<Question>> {
    match client.call(&Request::Pending)? {
        Reply::Pending { questions } => Ok(questions),
        other => anyhow::bail!("the agent answered a pending request with {other:?}"),
    }
}

/// "aws (pid 4121) in /home/me/src/infra asks for 'prod-db' (credential_process; rule ask, set on env 'prod')".
fn describe(q: &Question) -> String {
    let names: Vec<String> = q.names.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "{} asks for {} ({}; rule {}, {})\n    command line: {}",
        q.requester.summary(),
        names.join(", "),
        q.action.as_str(),
        q.rule,
        q.why,
        q.requester.cmdline
    )
}

fn pending(ctx: &Context, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let questions = waiting(&serving(ctx)?)?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&questions)?)?;
    } else if questions.is_empty() {
        writeln!(out, "no request waits for your approval")?;
    } else {
        for q in &questions {
            writeln!(out, "{}  {}", q.id, describe(q))?;
        }
    }
    Ok(Exit::Ok)
}

/// Answers request `id`: `None` allows once; a `ForMinutes` of 0 takes the
/// rules' remember time (once, for an ask-every-time rule).
fn decide(
    ctx: &Context,
    id: &str,
    answer: Option<Answer>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let client = serving(ctx)?;
    let question = waiting(&client)?
        .into_iter()
        .find(|q| q.id == id)
        .ok_or_else(|| coffer_core::Error::RequestNotFound { id: id.to_owned() })?;
    let answer = match answer {
        None => Answer::Once,
        Some(Answer::ForMinutes { minutes: 0 }) if question.remember_minutes == 0 => Answer::Once,
        Some(Answer::ForMinutes { minutes: 0 }) => Answer::ForMinutes {
            minutes: question.remember_minutes,
        },
        Some(a) => a,
    };
    let request = Request::Approve {
        id: id.to_owned(),
        answer,
    };
    match client.call(&request)? {
        Reply::Approved { question } => {
            let what = match answer {
                Answer::Once => "allowed once".to_owned(),
                Answer::ForMinutes { minutes } => {
                    format!("allowed for that terminal session for {minutes} min")
                }
                Answer::Deny => "denied".to_owned(),
            };
            writeln!(out, "{what}: {}", describe(&question))?;
            if answer != Answer::Deny {
                writeln!(out, "run the command again in that terminal")?;
            }
            Ok(Exit::Ok)
        }
        other => anyhow::bail!("the agent answered an approval with {other:?}"),
    }
}

/// In the foreground: bind, unlock, serve until stopped, SIGTERM or SIGINT.
/// Locked (idle, suspend, screen lock, `coffer lock`) it keeps serving
/// "locked" until a command hands it the way in.
fn run(ctx: &Context, args: &AgentArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let socket = agent::socket_for(&ctx.vault_path)?;
    // Bound before the unlock: a second agent fails at once, not after a
    // prompt. Under socket activation systemd has bound it already.
    let listener = match Listener::inherited(&socket)? {
        Some(passed) => passed,
        None => Listener::bind(&socket)?,
    };
    let session = match ctx.unlock() {
        Ok(s) => Some(s),
        // In the foreground (systemd at login, before the keyring opens)
        // it may start locked; `agent start` reports why it could not.
        Err(e) if !args.detached && crate::exit::classify(&e) == Exit::CannotUnlock => {
            eprintln!(
                "coffer: the agent starts locked ({e}); the next command hands it the way in"
            );
            None
        }
        Err(e) => return Err(e),
    };
    let minutes = match (args.idle_lock, &session) {
        (Some(m), _) => m,
        (None, Some(s)) => u64::from(s.vault.preferences()?.auto_lock_minutes),
        (None, None) => {
            u64::from(coffer_core::preferences::Preferences::default().auto_lock_minutes)
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    // A suspend or a screen lock locks the agent.
    let lock_now = Arc::new(AtomicBool::new(false));
    let away = Arc::clone(&lock_now);
    coffer_core::away::watch(move |reason| {
        tracing::info!("agent: locking on {reason}");
        away.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    writeln!(
        out,
        "coffer agent (pid {}) serves {} on {}",
        std::process::id(),
        ctx.vault_path.display(),
        listener.socket().display()
    )?;
    out.flush()?;
    if args.detached {
        // `agent start` has stopped reading this process's stderr: later
        // warnings go to a private log beside the socket (the directory is
        // 0700, checked at bind; the umask makes the file 0600).
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(listener.socket().with_extension("log"))?;
        rustix::stdio::dup2_stderr(&log)?;
    }
    let path = ctx.vault_path.clone();
    let options = Options {
        idle_lock: (minutes > 0).then(|| Duration::from_secs(minutes * 60)),
        host: Host::Cli {
            unlock: Box::new(move |passphrase| {
                let mut given = passphrase;
                let mut ask = || Ok(given.take());
                Vault::open_unlocked(
                    &path,
                    "cli",
                    UnlockWith::KeyringThenPassphrase { ask: &mut ask },
                    Utc::now(),
                )
                .map(|u| u.vault)
            }),
        },
        // No window to ask in: an `ask` rule refuses with the way to approve.
        gate: Arc::new(Gate::new(None)),
        lock_now,
    };
    let vault = Arc::new(Mutex::new(session.map(|s| s.vault)));
    server::serve(listener, Arc::clone(&vault), &ctx.vault_path, options, stop)?;
    // Requests still running hold the lock; taking the vault waits for them.
    let taken = vault.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(mut v) = taken {
        v.lock(Utc::now())?;
    }
    Ok(Exit::Ok)
}

/// In the background: the same binary runs `agent run`; this waits until it
/// answers (or says why it could not start).
fn start(ctx: &Context, args: &AgentArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if let Some(client) = Client::find(&ctx.vault_path, Mode::Auto)? {
        let s = status_of(&client)?;
        writeln!(out, "an agent (pid {}) already serves this vault", s.pid)?;
        return Ok(Exit::Ok);
    }
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--vault").arg(&ctx.vault_path);
    if let Some(file) = &ctx.passphrase_file {
        command.arg("--passphrase-file").arg(file);
    }
    command.args(["agent", "run", "--detached"]);
    if let Some(m) = args.idle_lock {
        command.arg("--idle-lock").arg(m.to_string());
    }
    // Its own process group: a Ctrl-C at this terminal does not stop it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(client) = Client::find(&ctx.vault_path, Mode::Auto)? {
            let s = status_of(&client)?;
            writeln!(
                out,
                "coffer agent started (pid {}) on {}",
                s.pid,
                s.socket.display()
            )?;
            return Ok(Exit::Ok);
        }
        if let Some(exit) = child.try_wait()? {
            let mut why = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut why);
            }
            let why = why.trim().trim_start_matches("coffer: ");
            return Err(CliError {
                exit: match exit.code() {
                    Some(5) => Exit::CannotUnlock,
                    Some(6) => Exit::Integrity,
                    _ => Exit::Failure,
                },
                message: format!("the agent did not start: {why}"),
            }
            .into());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!("the agent did not answer within 30 s; run `coffer agent` in the foreground to see why");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `coffer lock`: the agent locks and keeps serving "locked".
pub fn lock(ctx: &Context, args: &LockArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if args.forget_sessions {
        // Through the agent when one serves the vault, else unlocked here.
        let source = ctx.source()?;
        let count = source.forget_sessions()?;
        source.finish()?;
        writeln!(
            out,
            "forgot {count} kept AWS session{}",
            if count == 1 { "" } else { "s" }
        )?;
    }
    match Client::find(&ctx.vault_path, Mode::Auto)? {
        Some(client) => {
            let pid = status_of(&client)?.pid;
            client.call(&Request::Lock)?;
            writeln!(out, "the agent (pid {pid}) is locked")?;
        }
        None => writeln!(out, "no agent serves this vault: nothing is unlocked")?,
    }
    Ok(Exit::Ok)
}

fn stop(ctx: &Context, out: &mut dyn Write) -> anyhow::Result<Exit> {
    match Client::find_with_status(&ctx.vault_path, Mode::Auto)? {
        Some((client, status)) => {
            // The agent has locked (its audit entries written) when it
            // answers; the app's then keeps serving, locked. `coffer
            // agent`'s exits: stopped means its process has ended (its
            // socket removed, unless systemd passed it).
            client.call(&Request::Stop)?;
            if status.takes_unlock {
                let deadline = Instant::now() + Duration::from_secs(10);
                while running(status.pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            writeln!(
                out,
                "coffer agent (pid {}) stopped; the vault is locked",
                status.pid
            )?;
        }
        None => writeln!(out, "no agent serves this vault")?,
    }
    Ok(Exit::Ok)
}

/// Whether process `pid` still runs (not ended, not a zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

fn status(ctx: &Context, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let Some(client) = Client::find(&ctx.vault_path, Mode::Auto)? else {
        if json {
            writeln!(out, "{}", serde_json::json!({ "running": false }))?;
        } else {
            writeln!(
                out,
                "no agent serves the vault at {}",
                ctx.vault_path.display()
            )?;
        }
        return Ok(Exit::NotFound);
    };
    let s = status_of(&client)?;
    if json {
        let mut v = serde_json::to_value(&s)?;
        v["running"] = true.into();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            out,
            "coffer agent (pid {}) serves {}{}\n  socket: {}\n  up {} s, {} requests, locks after {}",
            s.pid,
            s.vault.display(),
            if s.unlocked { "" } else { " (locked)" },
            s.socket.display(),
            s.up_seconds,
            s.requests,
            match s.idle_lock_seconds {
                0 => "no idle time (never)".to_owned(),
                secs => format!("{} min idle", secs / 60),
            }
        )?;
    }
    Ok(Exit::Ok)
}

fn status_of(client: &Client) -> anyhow::Result<Status> {
    match client.call(&Request::Status)? {
        Reply::Status(s) => Ok(s),
        other => anyhow::bail!("the agent answered a status request with {other:?}"),
    }
}
