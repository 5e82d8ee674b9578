//! What the reliability suites share: quick or long mode, a seeded random
//! source whose seed is printed, a vault made fast to unlock, opening a vault
//! in this process to check it, and measuring a child's peak memory.
//!
//! `COFFER_RELIABILITY=long` switches every suite to its long mode;
//! `COFFER_SEED=<n>|random` replays or varies the random choices.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use coffer_core::crypto::KdfParams;
use coffer_core::{CreateOptions, SecretValue, Vault};

use crate::support::{Env, PASSPHRASE};

/// Whether the long mode was asked for.
pub fn long_mode() -> bool {
    std::env::var("COFFER_RELIABILITY").as_deref() == Ok("long")
}

/// A number from the environment, or the quick/long default.
pub fn knob(var: &str, quick: u64, long: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if long_mode() { long } else { quick })
}

/// The seed for `suite`: `COFFER_SEED`, or a fixed one. Printed, so a
/// failure can be replayed with `COFFER_SEED=<it>`.
pub fn seed(suite: &str) -> u64 {
    let seed = match std::env::var("COFFER_SEED").as_deref() {
        Ok("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        Ok(s) => s.parse().unwrap_or(1),
        Err(_) => 0x5EED_C0FF,
    };
    eprintln!("{suite}: seed {seed} (replay with COFFER_SEED={seed})");
    seed
}

/// A seeded generator (fastrand's wyrand: the same sequence for a seed on
/// every machine, so a failing seed replays).
pub struct Rng(fastrand::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.u64(..)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n.max(1))
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn duration_up_to(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.next_u64() % (max.as_micros().max(1) as u64))
    }

    /// A value no other write produces: `<tag>-<16 hex>`.
    pub fn value(&mut self, tag: &str) -> String {
        format!("{tag}-{:016x}", self.next_u64())
    }
}

/// A passphrase-only vault at `env.vault` whose slot uses the lowest
/// Argon2id parameters Coffer accepts (OWASP's minimum), so that the
/// hundreds of unlocks a suite makes stay cheap. The CLI uses the slot's
/// parameters, so it unlocks at the same cost.
pub fn fast_vault() -> Env {
    let mut env = Env::new();
    env.no_dbus = true;
    let pw = SecretValue::from(PASSPHRASE);
    Vault::create(
        &env.vault,
        &CreateOptions {
            sealer: None,
            passphrase: Some(&pw),
            kdf: KdfParams::MIN,
        },
        Utc::now(),
    )
    .expect("create the vault")
    .close()
    .expect("close");
    env
}

/// Opens and unlocks the vault at `path` in this process.
pub fn unlock(path: &Path) -> coffer_core::Result<Vault> {
    let mut vault = Vault::open(path)?;
    vault.unlock_with_passphrase(&SecretValue::from(PASSPHRASE), Utc::now())?;
    Ok(vault)
}

/// `PRAGMA integrity_check` and `foreign_key_check` of the file at `path`.
pub fn sqlite_ok(path: &Path) -> Result<(), String> {
    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(format!("integrity_check: {check}"));
    }
    let bad: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .map_err(|e| e.to_string())?;
    if bad != 0 {
        return Err(format!("{bad} rows fail foreign_key_check"));
    }
    Ok(())
}

/// Every credential's `(version, value of field `key`)` and its history
/// length, read through the core; any integrity error is returned as text.
pub type Snapshot = std::collections::BTreeMap<String, (u64, String, usize)>;

pub fn snapshot(vault: &Vault) -> Result<Snapshot, String> {
    let mut out = Snapshot::new();
    let now = Utc::now();
    for c in vault.list().map_err(|e| e.to_string())? {
        let name = c.meta.name.clone();
        let (c, secrets) = vault
            .reveal(&name, None, now)
            .map_err(|e| format!("{name}: {e}"))?;
        let value = secrets
            .0
            .values()
            .next()
            .map(|v| v.expose_secret().to_owned())
            .unwrap_or_default();
        let history = vault.history(&name).map_err(|e| format!("{name}: {e}"))?;
        out.insert(name, (c.version, value, history.len()));
    }
    match vault.verify_audit().map_err(|e| e.to_string())? {
        Ok(_) => Ok(out),
        Err(broken) => Err(format!("audit: {broken}")),
    }
}

/// Runs `cmd` (stdin from `stdin`) and measures its peak resident memory
/// exactly: through a Python wrapper whose only child it is, which reports
/// `ru_maxrss` of that child from `wait4` (Rust's std has no rusage, and the
/// workspace forbids `unsafe`). Returns the run and the peak in KiB.
pub fn run_measured(cmd: &std::process::Command, stdin: &[u8]) -> (crate::support::Run, u64) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const WRAPPER: &str = "import resource, subprocess, sys\n\
        r = subprocess.run(sys.argv[2:])\n\
        open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
        sys.exit(r.returncode if r.returncode >= 0 else 128 - r.returncode)\n";
    let dir = tempfile::TempDir::new().expect("tempdir");
    let report = dir.path().join("peak");
    let mut wrapped = Command::new(python());
    wrapped
        .arg("-c")
        .arg(WRAPPER)
        .arg(&report)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        wrapped.current_dir(d);
    }
    wrapped
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = wrapped.spawn().expect("spawn the measuring wrapper");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    let peak = std::fs::read_to_string(&report)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak reported: {}", String::from_utf8_lossy(&out.stderr)));
    let run = crate::support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, peak)
}

fn python() -> std::path::PathBuf {
    let cache = std::env::var("COFFER_CACHE").unwrap_or_else(|_| "/var/tmp/coffer-cache".into());
    let venv = Path::new(&cache).join("venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}
