//! `coffer`: the program a user and their tools run. It answers the
//! commands tools run on every use, `get` and `aws credential-process` (an
//! STS session, which the agent makes and keeps),
//! straight from a running agent, and hands everything else (and these,
//! when no unlocked agent answers) to `coffer-full` beside it by `execve`,
//! with the same arguments and environment.
//!
//! Why a front at all: most of a call through an agent was starting a
//! 30 MB program: the dynamic loader relocating ~56,000 pointers (the AWS
//! SDK's, SQLite's, D-Bus's and clap's tables) and faulting in ~500 pages
//! before `main`. This program links only the agent's client, so it starts
//! about as quickly as `sqlite3` (docs/BENCHMARKS.md).
//!
//! It reads its arguments by hand, not with clap (which would bring much of
//! that weight back), and only the plain forms below; anything else (help,
//! an unknown flag, `--`) goes to `coffer-full`, whose clap grammar is the
//! contract. Outputs, errors and exit codes come from `coffer_cli::answer`,
//! the same code `coffer-full` prints them with.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use coffer_cli::answer;
use coffer_cli::exit::Exit;
use coffer_core::agent::client::{Client, Mode};
use coffer_core::agent::{Reply, Request};
use coffer_core::{Error, ErrorClass};

/// Every heap block is wiped when it is freed: secret values pass through
/// serde's buffers here too (see `main.rs`).
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

/// The program that runs every command, installed beside this one.
const FULL: &str = "coffer-full";

/// A command this program answers itself.
#[derive(Debug, PartialEq, Eq)]
enum Quick {
    /// `get NAME [--field F [-n]]`.
    Get {
        name: String,
        field: Option<String>,
        no_newline: bool,
    },
    /// `aws credential-process NAME`.
    CredentialProcess { name: String },
}

/// The command and `--vault`, when `args` (without the program name) is one
/// of the plain forms; `None` sends it to `coffer-full`.
fn parse(args: &[OsString]) -> Option<(Quick, Option<PathBuf>)> {
    let mut vault = None;
    let mut words: Vec<&str> = Vec::new();
    let mut field = None;
    let mut no_newline = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let arg = arg.to_str()?;
        match arg {
            "--vault" => vault = Some(PathBuf::from(it.next()?)),
            // Only unlocking reads it, which `coffer-full` does.
            "--passphrase-file" => {
                it.next()?;
            }
            "--field" => field = Some(it.next()?.to_str()?.to_owned()),
            "-n" | "--no-newline" => no_newline = true,
            _ if arg.starts_with("--vault=") => vault = Some(PathBuf::from(&arg[8..])),
            _ if arg.starts_with("--passphrase-file=") => {}
            _ if arg.starts_with("--field=") => field = Some(arg[8..].to_owned()),
            _ if arg.starts_with('-') || arg.is_empty() => return None,
            _ => words.push(arg),
        }
    }
    let quick = match words[..] {
        ["get", name] if !(no_newline && field.is_none()) => Quick::Get {
            name: name.to_owned(),
            field,
            no_newline,
        },
        ["aws", "credential-process", name] if field.is_none() && !no_newline => {
            Quick::CredentialProcess {
                name: name.to_owned(),
            }
        }
        _ => return None,
    };
    // `--vault` is global: clap also reads COFFER_VAULT, and an empty one as none.
    let vault = vault.or_else(|| {
        std::env::var_os("COFFER_VAULT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    Some((quick, vault))
}

/// What came of asking the agent.
enum Outcome {
    /// Answered (printed, or an error printed): exit with this code.
    Done(Exit),
    /// No unlocked agent answered before anything was revealed:
    /// `coffer-full` runs the command.
    HandOver,
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    // Installed as `coffer-vault-token-helper`, it is coffer-full's work.
    let as_coffer = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n != OsStr::new("coffer-vault-token-helper"));
    if as_coffer {
        if let Some((quick, vault)) = parse(&args[1..]) {
            if let Outcome::Done(exit) = run(&quick, vault) {
                std::process::exit(exit as i32);
            }
        }
    }
    hand_over(&args)
}

/// Runs `coffer-full` in this process, with the same arguments.
fn hand_over(args: &[OsString]) -> ! {
    let full = std::env::current_exe()
        .map(|exe| exe.with_file_name(FULL))
        .unwrap_or_else(|_| PathBuf::from(FULL));
    let mut command = std::process::Command::new(&full);
    command.args(args.iter().skip(1));
    if let Some(arg0) = args.first() {
        command.arg0(arg0);
    }
    let e = command.exec();
    eprintln!(
        "coffer: cannot run {} (installed beside coffer, it runs every command): {e}",
        full.display()
    );
    std::process::exit(Exit::Failure as i32)
}

fn run(quick: &Quick, vault: Option<PathBuf>) -> Outcome {
    // An agent only in `auto` and `required` (where `coffer-full` says why
    // none answers).
    if Mode::from_env().map_or(true, |m| m == Mode::Off) {
        return Outcome::HandOver;
    }
    let vault = match vault.map_or_else(coffer_core::paths::default_vault_path, Ok) {
        Ok(v) => v,
        Err(_) => return Outcome::HandOver,
    };
    let Ok(agent) = Client::for_vault(&vault) else {
        return Outcome::HandOver;
    };
    // Values are about to arrive: the same protections as coffer-full's.
    answer::harden();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let answered = match quick {
        Quick::Get {
            name,
            field,
            no_newline,
        } => get(&agent, &mut out, name, field.as_deref(), *no_newline),
        Quick::CredentialProcess { name } => credential_process(&agent, &mut out, name),
    };
    match answered {
        Ok(outcome) => outcome,
        // Locked, or gone: coffer-full unlocks it (or the vault) the usual way.
        Err(AskError::Agent(
            Error::Relayed {
                class: ErrorClass::CannotUnlock,
                ..
            }
            | Error::Failure { .. },
        )) => Outcome::HandOver,
        Err(AskError::Agent(e)) => {
            let class = e.class();
            eprintln!("{}", answer::error_line(&e.into()));
            Outcome::Done(class.into())
        }
        Err(AskError::Cli(e)) => {
            let exit = e.exit;
            eprintln!("{}", answer::error_line(&e.into()));
            Outcome::Done(exit)
        }
        // A closed stdout (`coffer get … | head -c0`) is not a failure.
        Err(AskError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Outcome::Done(Exit::Ok)
        }
        Err(AskError::Output(e)) => {
            eprintln!("coffer: {e}");
            Outcome::Done(Exit::Failure)
        }
    }
}

enum AskError {
    Agent(Error),
    Cli(coffer_cli::exit::CliError),
    Output(std::io::Error),
}

impl From<Error> for AskError {
    fn from(e: Error) -> Self {
        AskError::Agent(e)
    }
}

impl From<coffer_cli::exit::CliError> for AskError {
    fn from(e: coffer_cli::exit::CliError) -> Self {
        AskError::Cli(e)
    }
}

impl From<std::io::Error> for AskError {
    fn from(e: std::io::Error) -> Self {
        AskError::Output(e)
    }
}

/// Tells the person, while the command waits, that the agent asks them.
fn tell(question: &coffer_core::agent::approval::Question) {
    eprintln!("{}", answer::asking(question));
}

fn get(
    agent: &Client,
    out: &mut dyn Write,
    name: &str,
    field: Option<&str>,
    no_newline: bool,
) -> Result<Outcome, AskError> {
    let request = match field {
        Some(field) => Request::Field {
            name: name.into(),
            field: field.into(),
        },
        None => Request::Reveal {
            name: name.into(),
            fields: None,
        },
    };
    match agent.call_asking(&request, &mut tell)? {
        Reply::Revealed { fields, secrets } => match field {
            Some(f) => {
                let value = secrets.get(f).map(|v| v.as_str());
                let value = value.or(fields.get(f).map(String::as_str)).unwrap_or("");
                answer::write_field(out, value, no_newline)?;
            }
            None => answer::write_all_fields(
                out,
                &fields,
                secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )?,
        },
        Reply::NoField { known } => {
            return Err(answer::missing_field(name, field.unwrap_or(""), &known).into())
        }
        _ => return Ok(Outcome::HandOver),
    }
    Ok(Outcome::Done(Exit::Ok))
}

/// An STS session made and kept by the agent (the key stays in it).
fn credential_process(
    agent: &Client,
    out: &mut dyn Write,
    name: &str,
) -> Result<Outcome, AskError> {
    let request = Request::AwsSession {
        name: name.into(),
        action: coffer_core::audit::Action::CredentialProcess,
        details: serde_json::json!({}),
        mfa_code: None,
    };
    // Anything else (an MFA code to ask for among them) is the whole CLI's.
    let Reply::AwsSession { session } = agent.call_asking(&request, &mut tell)? else {
        return Ok(Outcome::HandOver);
    };
    out.write_all(answer::session_process(&session).as_bytes())?;
    out.flush()?;
    Ok(Outcome::Done(Exit::Ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn reads_only_the_plain_forms() {
        let get = |name: &str, field: Option<&str>, no_newline| Quick::Get {
            name: name.into(),
            field: field.map(Into::into),
            no_newline,
        };
        let quick =
            |line: &str| parse(&args(line)).map(|(q, v)| (q, v.map(|p| p.display().to_string())));
        assert_eq!(
            quick("get a/b").map(|(q, _)| q),
            Some(get("a/b", None, false))
        );
        assert_eq!(
            quick("--vault v get a --field key -n"),
            Some((get("a", Some("key"), true), Some("v".into())))
        );
        assert_eq!(
            quick("get a --field=key --vault=w"),
            Some((get("a", Some("key"), false), Some("w".into())))
        );
        assert_eq!(
            quick("aws credential-process dev --vault v").map(|(q, _)| q),
            Some(Quick::CredentialProcess { name: "dev".into() })
        );
        // Everything else is coffer-full's: help, flags it alone knows, other
        // commands, `-n` without a field, missing or extra words, `--`.
        for line in [
            "get",
            "get a --help",
            "get a -n",
            "get a b",
            "get -- -a",
            "get a --json",
            "get a --field",
            "--version",
            "list",
            "aws credential-process",
            "aws credential-process dev --field x",
            "show a",
        ] {
            assert_eq!(quick(line), None, "{line}");
        }
    }
}
