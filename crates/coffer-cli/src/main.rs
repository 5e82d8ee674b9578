//! `coffer-full`: the command line over coffer-core, every command. The
//! `coffer` a user runs is the small front in `front.rs`, which answers the
//! per-use commands from a running agent and hands this program the rest.

mod access;
mod agent;
mod backup;
mod cli;
mod commands;
mod credserver;
mod migrate;
mod output;
mod rotate;
mod session;
mod sync;
mod terminal;
mod transfer;
mod trash;
mod workflow;

use std::io::Write;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

/// Every heap block is wiped when it is freed. Coffer's own secret types
/// wipe themselves, but secret values also pass through buffers it does not
/// own: std's copy of an `exec` child's environment, HTTP bodies inside
/// reqwest and the AWS SDK, serde's and the formatter's scratch space. A
/// core dump of a long-running `coffer exec` showed such copies.
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);
use coffer_cli::exit::{self, Exit};

fn init_logging() {
    // Logs go to stderr and never carry secret values. Crates that could
    // trace D-Bus or keyring payloads are held at `info` whatever RUST_LOG says.
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    for directive in [
        "zbus=info",
        "zbus_secret_service_keyring_store=info",
        "secret_service=info",
        "keyring_core=info",
    ] {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A closed stderr (a detached agent's) must not turn a log line into a panic.
        .log_internal_errors(false)
        .without_time()
        .try_init();
}

fn run(cli: &Cli) -> anyhow::Result<Exit> {
    let ctx = session::Context::new(cli.vault.clone(), cli.passphrase_file.clone())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let out: &mut dyn Write = &mut out;
    let exit = match &cli.command {
        Command::Init(a) => commands::init(&ctx, a, out),
        Command::Add(a) => commands::add(&ctx, a, out),
        Command::Get(a) => commands::get(&ctx, a, out),
        Command::Show(a) => commands::show(&ctx, a, out),
        Command::List(a) => commands::list(&ctx, a, out),
        Command::Search(a) => commands::search(&ctx, a, out),
        Command::Edit(a) => commands::edit(&ctx, a, out),
        Command::Rm(a) => trash::rm(&ctx, a, out),
        Command::Trash(c) => trash::trash(&ctx, c, out),
        Command::History(a) => commands::history(&ctx, a, out),
        Command::Rollback(a) => commands::rollback(&ctx, a, out),
        Command::Passphrase(c) => commands::passphrase(&ctx, c, out),
        Command::Rekey(a) => commands::rekey(&ctx, a, out),
        Command::Status(a) => commands::status(&ctx, a, out),
        Command::Rotate(a) => rotate::rotate(&ctx, a, out),
        Command::RevokeAll(a) => rotate::revoke_all(&ctx, a, out),
        Command::Policy(c) => commands::policy(&ctx, c, out),
        Command::Access(c) => access::access(&ctx, c, out),
        Command::Audit(a) => commands::audit(&ctx, a, out),
        Command::Remote(c) => sync::remote(&ctx, c, out),
        Command::Sync(c) => sync::sync(&ctx, c, out),
        Command::Exec(a) => workflow::exec(&ctx, a, out),
        Command::Env(a) => workflow::env(&ctx, a, out),
        Command::Inject(a) => workflow::inject(&ctx, a, out),
        Command::Aws(a) => workflow::aws(&ctx, a, out),
        Command::VaultTokenHelper(a) => workflow::token_helper(&ctx, a, out),
        Command::Import(a) => transfer::import(&ctx, a, out),
        Command::Export(a) => transfer::export(&ctx, a, out),
        Command::Backup(a) => backup::backup(&ctx, a, out),
        Command::Restore(a) => backup::restore(&ctx, a, out),
        Command::Migrate(a) => migrate::migrate(&ctx, a, out),
        Command::Scan(a) => migrate::scan(&ctx, a, out),
        Command::Doctor(a) => commands::doctor(&ctx, a, out),
        Command::Kinds(a) => commands::kinds(a, out),
        Command::Agent(a) => agent::agent(&ctx, a, out),
        Command::Lock(args) => agent::lock(&ctx, args, out),
    }?;
    out.flush()?;
    Ok(exit)
}

fn main() {
    coffer_cli::answer::harden();
    // Installed as `coffer-vault-token-helper` (a link), it is the Vault/OpenBao
    // CLI's token helper: those CLIs run a path with no arguments of its own.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name().map(|n| n.to_owned()));
    if invoked_as.as_deref() == Some(std::ffi::OsStr::new("coffer-vault-token-helper")) {
        args.insert(1, "vault-token-helper".into());
    }
    let cli = Cli::parse_from(args);
    init_logging();
    let code = match run(&cli) {
        Ok(exit) => exit as i32,
        Err(err) if exit::is_broken_pipe(&err) => 0,
        Err(err) => {
            eprintln!("{}", coffer_cli::answer::error_line(&err));
            exit::classify(&err) as i32
        }
    };
    std::process::exit(code);
}
