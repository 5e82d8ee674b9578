//! Running the real `coffer` binary against a private vault, with an isolated
//! HOME and XDG dirs, and helpers to look at what it left on disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

pub const PASSPHRASE: &str = "correct horse battery staple";

/// Whether the real Secret Service is expected. The README's test command
/// sets COFFER_TEST_KEYRING=1 inside its gnome-keyring session; then every
/// keyring test must run and pass. Without it they are reported as skipped.
pub fn keyring_expected() -> bool {
    std::env::var("COFFER_TEST_KEYRING").as_deref() == Ok("1")
}

pub fn skip(test: &str, why: &str) {
    eprintln!("SKIP {test}: {why}");
}

pub struct Env {
    pub dir: TempDir,
    pub vault: PathBuf,
    pub passphrase_file: PathBuf,
    /// Extra environment for every command (e.g. RUST_LOG).
    pub extra_env: Vec<(String, String)>,
    /// Run without any D-Bus session bus.
    pub no_dbus: bool,
    /// In the agent pass, whether this environment's agent was started
    /// (or could not be); see [`agent_pass`].
    agent: std::sync::Mutex<AgentState>,
}

/// The suite runs twice in the README's test command: without an agent,
/// and with `COFFER_TEST_AGENT=1`, where every environment starts `coffer
/// agent` as soon as its vault exists and keeps it running, so each command
/// runs as it would for a user with an agent (`COFFER_AGENT=auto`, the
/// default). The same assertions hold in both passes: that is the promise
/// that outputs, errors and exit codes do not depend on the agent. Tests
/// about unlocking itself, or about the agent, opt out with
/// [`Env::without_agent`].
pub fn agent_pass() -> bool {
    std::env::var("COFFER_TEST_AGENT").as_deref() == Ok("1")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AgentState {
    NotYet,
    Running,
    /// Not started (not the agent pass, opted out, or it could not unlock).
    Never,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl Env {
    /// Adds the AWS Secrets Manager remote `sm` at `endpoint` (moto), with
    /// moto's static credentials in the environment.
    pub fn with_aws_remote(mut self, endpoint: &str, prefix: &str) -> Env {
        self.extra_env
            .push(("AWS_ACCESS_KEY_ID".into(), "testing".into()));
        self.extra_env
            .push(("AWS_SECRET_ACCESS_KEY".into(), "testing".into()));
        self.run_pw(
            &[
                "remote",
                "add",
                "aws",
                "--holds-all",
                "sm",
                "--endpoint-url",
                endpoint,
                "--prefix",
                prefix,
                "--region",
                "us-east-1",
            ],
            "",
        )
        .ok();
        self
    }

    /// Adds a vault-token credential `bao-token` holding `token` and the
    /// Vault remote `bao` at `addr` that logs in with it.
    pub fn with_bao_remote(self, addr: &str, token: &str, prefix: &str) -> Env {
        self.run_pw(
            &["add", "bao-token", "--kind", "vault-token"],
            &serde_json::json!({ "token": token }).to_string(),
        )
        .ok();
        self.add_bao_remote("bao", addr, prefix);
        self
    }

    /// Adds the Vault remote `name` at `addr` that logs in with `bao-token`.
    pub fn add_bao_remote(&self, name: &str, addr: &str, prefix: &str) {
        self.add_vault_remote(name, addr, prefix, "bao-token");
    }

    /// Adds the Vault remote `name` at `addr`, holding every credential,
    /// that logs in with the credential `auth`.
    pub fn add_vault_remote(&self, name: &str, addr: &str, prefix: &str, auth: &str) {
        self.run_pw(
            &[
                "remote",
                "add",
                "vault",
                "--holds-all",
                name,
                "--addr",
                addr,
                "--prefix",
                prefix,
                "--auth-credential",
                auth,
            ],
            "",
        )
        .ok();
    }

    pub fn new() -> Env {
        let dir = TempDir::new().expect("tempdir");
        for sub in ["home", "data", "config", "cache"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        let passphrase_file = dir.path().join("passphrase.txt");
        std::fs::write(&passphrase_file, format!("{PASSPHRASE}\n")).expect("write");
        Env {
            vault: dir.path().join("vaults").join("test.sqlite"),
            passphrase_file,
            dir,
            extra_env: Vec::new(),
            no_dbus: false,
            agent: std::sync::Mutex::new(if agent_pass() {
                AgentState::NotYet
            } else {
                AgentState::Never
            }),
        }
    }

    /// This environment runs without a harness-started agent in the agent
    /// pass too (its test is about unlocking, or manages agents itself).
    pub fn without_agent(self) -> Env {
        self.stop_agent();
        *self.agent_state() = AgentState::Never;
        self
    }

    fn agent_state(&self) -> std::sync::MutexGuard<'_, AgentState> {
        self.agent.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.ensure_agent();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
        cmd.args(args);
        self.environment(&mut cmd);
        cmd
    }

    /// The agent pass: starts this environment's agent once its vault
    /// exists (unlocked by the keyring, else the passphrase file).
    fn ensure_agent(&self) {
        let mut state = self.agent_state();
        if *state != AgentState::NotYet || !self.vault.exists() {
            return;
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
        cmd.arg("--passphrase-file")
            .arg(&self.passphrase_file)
            .args(["agent", "start", "--idle-lock", "0"]);
        self.environment(&mut cmd);
        let started = cmd
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success());
        *state = if started {
            AgentState::Running
        } else {
            AgentState::Never
        };
    }

    /// Stops the agent the agent pass started, if it runs (the next command
    /// starts it again); for tests that replace or rekey the vault file.
    pub fn stop_agent(&self) {
        let mut state = self.agent_state();
        if *state == AgentState::Running {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
            cmd.args(["agent", "stop"]);
            self.environment(&mut cmd);
            let _ = cmd.stdin(Stdio::null()).output();
            *state = AgentState::NotYet;
        }
    }

    /// Runs `coffer ARGS` on a terminal of its own (a new session with a
    /// pseudo-terminal, by util-linux's `script`), as a person would in
    /// another terminal. Its output comes back as the terminal showed it.
    pub fn run_in_terminal(&self, args: &[&str]) -> Run {
        let line = std::iter::once(env!("CARGO_BIN_EXE_coffer"))
            .chain(args.iter().copied())
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"]);
        self.environment(&mut cmd);
        let mut run = Run::from(cmd.output().expect("run script"));
        run.stdout = run.stdout.replace("\r\n", "\n");
        run
    }

    fn environment(&self, cmd: &mut Command) {
        cmd.env("COFFER_VAULT", &self.vault)
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env_remove("RUST_LOG")
            // No test reaches out to real AWS; the moto tests set their endpoint.
            .env("COFFER_OFFLINE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.no_dbus {
            let runtime = self.dir.path().join("no-bus-runtime");
            std::fs::create_dir_all(&runtime).expect("mkdir");
            cmd.env_remove("DBUS_SESSION_BUS_ADDRESS")
                .env("XDG_RUNTIME_DIR", runtime);
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
    }

    /// Runs `coffer ARGS` with `stdin` piped in (closed when empty).
    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self.command(args).spawn().expect("spawn coffer");
        {
            let mut input = child.stdin.take().expect("stdin");
            if !stdin.is_empty() {
                // A command may refuse its arguments before reading stdin.
                match input.write_all(stdin.as_bytes()) {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    other => other.expect("write stdin"),
                }
            }
        }
        Run::from(child.wait_with_output().expect("wait"))
    }

    /// Like [`Env::run`], unlocking with the passphrase file.
    pub fn run_pw(&self, args: &[&str], stdin: &str) -> Run {
        let file = self.passphrase_file.display().to_string();
        let mut all = vec!["--passphrase-file", file.as_str()];
        all.extend_from_slice(args);
        self.run(&all, stdin)
    }

    /// Adds the aws-access-key credential `name` (key id `key_id`, secret
    /// `secret` on stdin).
    pub fn add_aws_key(&self, name: &str, key_id: &str, secret: &str) {
        self.run_pw(
            &[
                "add",
                name,
                "--kind",
                "aws-access-key",
                "--field",
                &format!("access_key_id={key_id}"),
            ],
            &serde_json::json!({ "secret_access_key": secret }).to_string(),
        )
        .ok();
    }

    /// A vault that opens only with the passphrase (no keyring needed).
    pub fn init_passphrase_only(&self) {
        self.run(&["init", "--no-keyring", "--passphrase-stdin"], PASSPHRASE)
            .ok();
    }

    /// A new environment with a passphrase-only vault and no D-Bus at all:
    /// what most tests need, and it runs anywhere.
    pub fn passphrase_vault() -> Env {
        let mut env = Env::new();
        env.no_dbus = true;
        env.init_passphrase_only();
        env
    }

    /// A vault sealed to the real keyring, with a recovery passphrase.
    pub fn init_keyring(&self) {
        self.run(&["init", "--passphrase-stdin"], PASSPHRASE).ok();
    }

    pub fn vault_id(&self) -> String {
        let conn = rusqlite::Connection::open(&self.vault).expect("open");
        let id: Vec<u8> = conn
            .query_row("SELECT vault_id FROM vault", [], |r| r.get(0))
            .expect("vault id");
        hex::encode(id)
    }

    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.vault).expect("open")
    }

    /// A fingerprint of everything stored (all rows of all tables), to show
    /// that a failed command changed nothing.
    pub fn fingerprint(&self) -> Vec<Vec<u8>> {
        let conn = self.sql();
        let mut out = Vec::new();
        for table in ["vault", "slots", "credentials", "history"] {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .expect("prepare");
            let cols = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut row = Vec::new();
                    for i in 0..cols {
                        match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Blob(b) => row.extend_from_slice(b),
                            rusqlite::types::ValueRef::Integer(n) => {
                                row.extend_from_slice(&n.to_be_bytes())
                            }
                            rusqlite::types::ValueRef::Text(t) => row.extend_from_slice(t),
                            _ => {}
                        }
                    }
                    Ok(row)
                })
                .expect("query")
                .collect::<rusqlite::Result<Vec<_>>>()
                .expect("rows");
            out.extend(rows);
        }
        out
    }
}

/// Every regular file below `dir`.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

/// The encodings a leaked string could take: UTF-8, UTF-16 (LE and BE) and base64.
pub fn encodings(canary: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let utf16le: Vec<u8> = canary.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let utf16be: Vec<u8> = canary.encode_utf16().flat_map(u16::to_be_bytes).collect();
    // Inside a longer base64 text the canary may start at any of three byte
    // alignments; for each, the middle of its encoding is fixed.
    let b64: Vec<(String, Vec<u8>)> = (0..3)
        .map(|pad| {
            let mut input = vec![0u8; pad];
            input.extend_from_slice(canary.as_bytes());
            let text = base64::engine::general_purpose::STANDARD.encode(&input);
            (
                format!("base64+{pad}"),
                text.as_bytes()[4..text.len() - 4].to_vec(),
            )
        })
        .collect();
    vec![
        ("utf-8".into(), canary.as_bytes().to_vec()),
        ("utf-16le".into(), utf16le),
        ("utf-16be".into(), utf16be),
    ]
    .into_iter()
    .chain(b64)
    .collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts that no canary, in any encoding, is in `bytes`.
pub fn assert_no_canary(label: &str, bytes: &[u8], canaries: &[&str]) {
    for canary in canaries {
        for (encoding, needle) in encodings(canary) {
            assert!(
                !contains(bytes, &needle),
                "{label} contains canary {canary:?} ({encoding})"
            );
        }
    }
}

/// Stops the agent of `env`'s vault when dropped, so a failing test leaves
/// no agent running behind it.
impl Drop for Env {
    fn drop(&mut self) {
        self.stop_agent();
    }
}

pub struct AgentGuard<'a>(pub &'a Env);

impl Drop for AgentGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.run_pw(&["agent", "stop"], "");
    }
}
