//! `coffer rotate` of PostgreSQL passwords against the real server: the
//! throwaway cluster the README's test command starts (initdb in its temp
//! dir, loopback, SCRAM, every statement logged), checked from outside with
//! `psql`. As the role itself and with an admin; a role without the right;
//! two-role mode with a client that keeps working through the switch; a
//! `kill -9` at every step boundary, then resume or abort; a server stopped
//! mid-rotation; no password in the server's log or Coffer's output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

const STEPS: [&str; 6] = [
    "prepare",
    "new_value",
    "verify",
    "promote",
    "push",
    "revoke",
];

/// The cluster the test command started.
#[derive(Clone)]
pub struct Pg {
    pub port: u16,
    pub superpass: String,
    pub psql: PathBuf,
    pub log: PathBuf,
}

pub fn pg(test: &str) -> Option<Pg> {
    let Ok(port) = std::env::var("PG_PORT") else {
        assert!(
            std::env::var("COFFER_TEST_PG").as_deref() != Ok("1"),
            "COFFER_TEST_PG=1 needs PG_PORT, PG_SUPERPASS, PSQL_BIN and PG_LOG"
        );
        skip(test, "no PostgreSQL (PG_PORT unset)");
        return None;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} unset"));
    Some(Pg {
        port: port.parse().expect("PG_PORT"),
        superpass: var("PG_SUPERPASS"),
        psql: PathBuf::from(var("PSQL_BIN")),
        log: PathBuf::from(var("PG_LOG")),
    })
}

impl Pg {
    /// Runs `sql` with psql as `role` (the password in the environment,
    /// never on argv) on port `port`.
    pub fn psql_at(&self, port: u16, role: &str, password: &str, sql: &str) -> Output {
        Command::new(&self.psql)
            .args(["-X", "-w", "-tA", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", role])
            .args(["-d", "postgres", "-c", sql])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .expect("psql")
    }

    fn logs_in(&self, role: &str, password: &str) -> bool {
        self.psql_at(self.port, role, password, "SELECT 1")
            .status
            .success()
    }

    pub fn admin(&self, sql: &str) -> String {
        let out = self.psql_at(self.port, "postgres", &self.superpass, sql);
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A role of its own for one test: `prefix` and a random suffix.
    fn role(&self, prefix: &str, attrs: &str, password: &str) -> String {
        let name = format!("{prefix}_{:08x}", fastrand::u32(..));
        self.admin(&format!("CREATE ROLE {name} {attrs} PASSWORD '{password}'"));
        name
    }
}

fn add_pg(env: &Env, name: &str, port: u16, role: &str, password: &str, extra: serde_json::Value) {
    let mut fields = json!({
        "host": "127.0.0.1",
        "port": port.to_string(),
        "user": role,
        "password": password,
        "database": "postgres",
        "engine": "postgres",
    });
    for (k, v) in extra.as_object().expect("object") {
        fields[k] = v.clone();
    }
    env.run_pw(&["add", name, "--kind", "db-password"], &fields.to_string())
        .ok();
}

/// `coffer --passphrase-file … ARGS`, not yet run.
fn coffer(env: &Env, args: &[&str]) -> Command {
    let file = env.passphrase_file.display().to_string();
    let mut all = vec!["--passphrase-file", file.as_str()];
    all.extend_from_slice(args);
    env.command(&all)
}

/// The credential's user and password, read in one go (as `coffer exec`
/// hands them to a program).
fn login_of(cmd: &mut Command) -> Option<(String, String)> {
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (user, password) = text.split_once('\n')?;
    Some((user.to_owned(), password.to_owned()))
}

fn exec_login(env: &Env, name: &str) -> Command {
    coffer(
        env,
        &[
            "exec",
            name,
            "--",
            "sh",
            "-c",
            r#"printf '%s\n%s' "$PGUSER" "$PGPASSWORD""#,
        ],
    )
}

fn field(env: &Env, name: &str, field: &str) -> String {
    env.run_pw(&["get", name, "--field", field], "")
        .ok()
        .stdout
        .trim_end()
        .to_owned()
}

fn steps_audited(env: &Env, name: &str) -> Vec<String> {
    let all = env
        .run_pw(&["audit", "--credential", name, "--json"], "")
        .ok()
        .json();
    let mut steps: Vec<String> = all
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["action"] == "rotation_step")
        .filter_map(|e| e["details"]["step"].as_str().map(str::to_owned))
        .collect();
    steps.reverse();
    steps
}

#[test]
fn a_postgres_password_changes_in_the_database_as_the_role_itself() {
    let Some(pg) = pg("a_postgres_password_changes_in_the_database_as_the_role_itself") else {
        return;
    };
    let env = Env::passphrase_vault();
    let old = "old-Pg-password-1";
    let role = pg.role("app", "LOGIN", old);
    add_pg(&env, "db/app", pg.port, &role, old, json!({}));

    // What the issue saw: `--yes --generate` recorded a rotation that never
    // reached the database. Now the database is changed and checked.
    let run = env
        .run_pw(
            &["rotate", "db/app", "--yes", "--generate", "--length", "40"],
            "",
        )
        .ok();
    assert!(
        run.stdout.contains("done: version 2 is current"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("no grace period"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("ALTER ROLE \"{role}\" PASSWORD '••••••'")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Logged in afresh"), "{}", run.stderr);
    let new = field(&env, "db/app", "password");
    assert_eq!(new.len(), 40);
    assert!(pg.logs_in(&role, &new), "the new password logs in (psql)");
    assert!(!pg.logs_in(&role, old), "the old one no longer does");
    assert!(
        pg.admin(&format!(
            "SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'"
        ))
        .starts_with("SCRAM-SHA-256$4096:"),
        "stored as a SCRAM verifier"
    );
    assert_eq!(
        steps_audited(&env, "db/app"),
        vec![
            "prepare",
            "new_value",
            "verify",
            "verify",
            "promote",
            "push",
            "revoke",
            "done"
        ]
    );
    let trail = env
        .run_pw(&["audit", "--credential", "db/app", "--json"], "")
        .ok()
        .json();
    assert!(
        trail
            .as_array()
            .expect("array")
            .iter()
            .any(|e| e["details"]["flow"] == "postgres"),
        "{trail}"
    );
    // The server logged the statement (log_statement = all), with the
    // verifier, never the password; nor did Coffer print it.
    let log = std::fs::read(&pg.log).expect("server log");
    let statement = format!("ALTER ROLE \"{role}\" PASSWORD 'SCRAM-SHA-256$4096:");
    assert!(
        contains(&log, statement.as_bytes()),
        "the statement is in the log"
    );
    assert_no_canary("the PostgreSQL server log", &log, &[&new]);
    assert_no_canary(
        "rotate's output",
        format!("{}{}", run.stdout, run.stderr).as_bytes(),
        &[&new],
    );

    // Rotating again starts from the new value; at trace level, Coffer's
    // log (stderr) holds neither password.
    let mut env = env;
    env.extra_env.push(("RUST_LOG".into(), "trace".into()));
    let traced = env.run_pw(&["rotate", "db/app"], "").ok();
    let newer = field(&env, "db/app", "password");
    assert_ne!(newer, new);
    assert!(pg.logs_in(&role, &newer) && !pg.logs_in(&role, &new));
    assert!(traced.stderr.len() > 1000, "a trace log was written");
    assert_no_canary(
        "rotate's trace log",
        format!("{}{}", traced.stdout, traced.stderr).as_bytes(),
        &[&new, &newer],
    );
    assert_no_canary(
        "the PostgreSQL server log",
        &std::fs::read(&pg.log).expect("server log"),
        &[&newer],
    );
    env.run_pw(&["audit", "verify"], "").ok();
}

#[test]
fn an_admin_changes_the_password_and_a_role_without_the_right_is_named() {
    let Some(pg) = pg("an_admin_changes_the_password_and_a_role_without_the_right_is_named") else {
        return;
    };
    let env = Env::passphrase_vault();
    let old = "old-Pg-password-2";
    let role = pg.role("svc", "LOGIN", old);
    let admin = pg.role("rotator", "LOGIN CREATEROLE", "admin-Pg-password");
    let weak = pg.role("weak", "LOGIN", "weak-Pg-password");
    add_pg(&env, "db/svc", pg.port, &role, old, json!({}));
    add_pg(
        &env,
        "db/rotator",
        pg.port,
        &admin,
        "admin-Pg-password",
        json!({}),
    );
    add_pg(
        &env,
        "db/weak",
        pg.port,
        &weak,
        "weak-Pg-password",
        json!({}),
    );

    // An admin without CREATEROLE: refused before anything changes, naming
    // the missing attribute.
    let run = env
        .run_pw(&["rotate", "db/svc", "--admin", "db/weak"], "")
        .code(7);
    assert!(run.stderr.contains("CREATEROLE"), "{}", run.stderr);
    assert!(run.stderr.contains(&weak), "{}", run.stderr);
    assert!(pg.logs_in(&role, old), "nothing was changed");
    assert_eq!(field(&env, "db/svc", "password"), old);
    env.run_pw(&["rotate", "db/svc", "--abort"], "").ok();

    // An admin that is not a PostgreSQL credential, or for another server.
    env.run_pw(
        &["add", "api/other", "--kind", "api-key"],
        r#"{"key": "not-a-db-key"}"#,
    )
    .ok();
    let run = env
        .run_pw(&["rotate", "db/svc", "--admin", "api/other"], "")
        .code(2);
    assert!(run.stderr.contains("not a db-password"), "{}", run.stderr);
    env.run_pw(&["rotate", "db/svc", "--abort"], "").ok();

    // With the admin: done, and the admin's own password is untouched.
    let run = env
        .run_pw(&["rotate", "db/svc", "--admin", "db/rotator"], "")
        .ok();
    assert!(
        run.stderr.contains(&format!("as '{admin}'")),
        "{}",
        run.stderr
    );
    let new = field(&env, "db/svc", "password");
    assert!(pg.logs_in(&role, &new) && !pg.logs_in(&role, old));
    assert!(pg.logs_in(&admin, "admin-Pg-password"));
}

#[test]
fn bad_postgres_credentials_are_refused_with_what_is_wrong() {
    let Some(pg) = pg("bad_postgres_credentials_are_refused_with_what_is_wrong") else {
        return;
    };
    let env = Env::passphrase_vault();
    let role = pg.role("bad", "LOGIN", "right-Pg-password");
    // The vault holds a password the server refuses.
    add_pg(
        &env,
        "db/wrong",
        pg.port,
        &role,
        "wrong-Pg-password",
        json!({}),
    );
    let run = env.run_pw(&["rotate", "db/wrong"], "").code(7);
    assert!(
        run.stderr.contains("refused the password Coffer holds"),
        "{}",
        run.stderr
    );
    assert!(pg.logs_in(&role, "right-Pg-password"));
    env.run_pw(&["rotate", "db/wrong", "--abort"], "").ok();
    // A TLS mode that would not check who answers.
    add_pg(
        &env,
        "db/tls",
        pg.port,
        &role,
        "right-Pg-password",
        json!({"sslmode": "require"}),
    );
    let run = env.run_pw(&["rotate", "db/tls"], "").code(2);
    assert!(run.stderr.contains("sslmode 'require'"), "{}", run.stderr);
    env.run_pw(&["rotate", "db/tls", "--abort"], "").ok();
    // verify-full against a server without TLS: a clear connection error.
    env.run_pw(&["edit", "db/tls", "--field", "sslmode=verify-full"], "")
        .ok();
    let run = env.run_pw(&["rotate", "db/tls"], "");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("cannot connect to PostgreSQL"),
        "{}",
        run.stderr
    );
    env.run_pw(&["rotate", "db/tls", "--abort"], "").ok();
    // Two-role mode: the alternate must exist and differ from the role in use.
    add_pg(
        &env,
        "db/pair",
        pg.port,
        &role,
        "right-Pg-password",
        json!({}),
    );
    let run = env
        .run_pw(&["rotate", "db/pair", "--alternate", &role], "")
        .code(2);
    assert!(run.stderr.contains("the role in use"), "{}", run.stderr);
    env.run_pw(&["rotate", "db/pair", "--abort"], "").ok();
    let run = env
        .run_pw(&["rotate", "db/pair", "--alternate", "no_such_role_x"], "")
        .code(2);
    assert!(
        run.stderr.contains("has no role 'no_such_role_x'"),
        "{}",
        run.stderr
    );
    env.run_pw(&["rotate", "db/pair", "--abort"], "").ok();
    // An imported credential names its server: not rotated (its password,
    // or an admin's, sent there) before the person has looked at it.
    let file = env.dir.path().join("import.json");
    std::fs::write(
        &file,
        json!([{
            "name": "db/imported",
            "kind": "db-password",
            "fields": {"host": "127.0.0.1", "port": pg.port.to_string(), "user": role,
                       "database": "postgres", "engine": "postgres"},
            "secrets": {"password": "right-Pg-password"},
        }])
        .to_string(),
    )
    .expect("write");
    env.run_pw(
        &["import", &file.display().to_string(), "--format", "json"],
        "",
    )
    .ok();
    let run = env.run_pw(&["rotate", "db/imported"], "").code(7);
    assert!(
        run.stderr.contains("nobody has reviewed it"),
        "{}",
        run.stderr
    );
    assert!(
        pg.logs_in(&role, "right-Pg-password"),
        "nothing sent or changed"
    );
    env.run_pw(&["show", "db/imported"], "").ok();
    env.run_pw(&["rotate", "db/imported"], "").ok();
    assert!(
        !pg.logs_in(&role, "right-Pg-password"),
        "rotated once reviewed"
    );
    // --automate on a db-password without an engine says what to set.
    env.run_pw(
        &["add", "db/plain", "--kind", "db-password"],
        r#"{"host": "db.internal", "user": "x", "password": "plain-password-1"}"#,
    )
    .ok();
    let run = env
        .run_pw(&["rotate", "db/plain", "--automate"], "")
        .code(2);
    assert!(run.stderr.contains("engine=postgres"), "{}", run.stderr);
    let held = field(&env, "db/imported", "password");
    assert!(pg.logs_in(&role, &held), "nothing changed anywhere else");
}

/// After a kill at each step boundary, a resumed run finishes with exactly
/// the vault's password working; an abort instead leaves the old one
/// working and in the vault.
#[test]
fn a_postgres_rotation_survives_a_kill_at_every_step_boundary() {
    let Some(pg) = pg("a_postgres_rotation_survives_a_kill_at_every_step_boundary") else {
        return;
    };
    for (i, step) in STEPS.iter().enumerate() {
        for abort in [false, true] {
            let env = Env::passphrase_vault();
            let old = format!("old-Pg-kill-{i}");
            let role = pg.role("kill", "LOGIN", &old);
            add_pg(&env, "db/k", pg.port, &role, &old, json!({}));
            let killed = coffer(&env, &["rotate", "db/k"])
                .env("COFFER_FAULT_AFTER_STEP", step)
                .output()
                .expect("run");
            assert!(!killed.status.success(), "{step}: the run was cut");
            if abort {
                let run = env.run_pw(&["rotate", "db/k", "--abort"], "");
                // After revoke the run is done: nothing to abort.
                assert!(
                    run.code == 0 || (*step == "revoke" && run.code == 2),
                    "{step}: {}",
                    run.stderr
                );
            } else {
                let run = env.run_pw(&["rotate", "db/k"], "");
                assert!(
                    run.code == 0 || (*step == "revoke" && run.code == 2),
                    "{step}: {}",
                    run.stderr
                );
            }
            let held = field(&env, "db/k", "password");
            assert!(
                pg.logs_in(&role, &held),
                "{step} abort={abort}: the vault's password works"
            );
            if abort && *step != "revoke" {
                assert_eq!(held, old, "{step}: the abort left the old password");
            } else {
                assert_ne!(held, old, "{step}: the resumed run finished");
                assert!(!pg.logs_in(&role, &old), "{step}: the old one is dead");
            }
        }
    }
}

/// A cluster of the test's own (initdb in a temp dir, as the postgres user
/// under root), for a test that stops its server.
struct OwnCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    superpass: String,
}

fn as_postgres(bin: &Path, tool: &str) -> Command {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

impl OwnCluster {
    fn new(pg: &Pg) -> OwnCluster {
        let bin = pg.psql.parent().expect("bin dir").to_owned();
        let dir = tempfile::Builder::new()
            .prefix("coffer-pg-")
            .tempdir()
            .expect("tempdir");
        let root = as_postgres(&bin, "initdb").get_program() == "runuser";
        if root {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
                .expect("chmod");
        }
        let superpass = format!("own-{:016x}", fastrand::u64(..));
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, format!("{superpass}\n")).expect("pwfile");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
        let out = as_postgres(&bin, "initdb")
            .arg("-D")
            .arg(dir.path().join("data"))
            .args([
                "-U",
                "postgres",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("--no-instructions")
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(&pwfile).expect("rm pwfile");
        let port = 17000 + fastrand::u16(..1000);
        let cluster = OwnCluster {
            dir,
            bin,
            port,
            superpass,
        };
        cluster.start();
        cluster
    }

    fn ctl(&self, args: &[&str]) {
        let out = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories='{}'",
            self.port,
            self.dir.path().display()
        );
        self.ctl(&[
            "-w",
            "-s",
            "-l",
            &self.dir.path().join("log").display().to_string(),
            "-o",
            &options,
            "start",
        ]);
    }

    fn stop(&self) {
        self.ctl(&["-w", "-s", "-m", "fast", "stop"]);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-s", "stop"])
            .output();
    }
}

#[test]
fn a_server_stopped_mid_rotation_leaves_the_old_password_working_and_in_the_vault() {
    let Some(pg) =
        pg("a_server_stopped_mid_rotation_leaves_the_old_password_working_and_in_the_vault")
    else {
        return;
    };
    let own = OwnCluster::new(&pg);
    let admin = |sql: &str| {
        let out = pg.psql_at(own.port, "postgres", &own.superpass, sql);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    admin("CREATE ROLE stopped LOGIN PASSWORD 'old-Pg-stopped'");
    let env = Env::passphrase_vault();
    add_pg(
        &env,
        "db/s",
        own.port,
        "stopped",
        "old-Pg-stopped",
        json!({}),
    );
    // Cut after the new value is generated, then the server goes away.
    let killed = coffer(&env, &["rotate", "db/s"])
        .env("COFFER_FAULT_AFTER_STEP", "new_value")
        .output()
        .expect("run");
    assert!(!killed.status.success());
    own.stop();
    let run = env.run_pw(&["rotate", "db/s"], "");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{}",
            own.port
        )),
        "{}",
        run.stderr
    );
    assert_eq!(field(&env, "db/s", "password"), "old-Pg-stopped");
    own.start();
    assert!(pg
        .psql_at(own.port, "stopped", "old-Pg-stopped", "SELECT 1")
        .status
        .success());
    // Back up: the run resumes and finishes.
    env.run_pw(&["rotate", "db/s"], "").ok();
    let new = field(&env, "db/s", "password");
    assert!(pg
        .psql_at(own.port, "stopped", &new, "SELECT 1")
        .status
        .success());
    assert!(!pg
        .psql_at(own.port, "stopped", "old-Pg-stopped", "SELECT 1")
        .status
        .success());
}

/// A client that reads its credential from Coffer now and then (as a pool
/// refreshing its settings would), opens a connection per query with what
/// it last read, and keeps one connection open throughout.
struct Client {
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Client {
    fn start(pg: &Pg, env: &Env, name: &str) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let (user, password) = login_of(&mut exec_login(env, name)).expect("first read");
        // The connection held open: a psql session fed a query a second.
        let mut held = Command::new(&pg.psql)
            .args([
                "-X",
                "-w",
                "-tA",
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
            ])
            .args(["-U", &user, "-d", "postgres"])
            .env("PGPASSWORD", &password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("psql");
        let mut threads = Vec::new();
        {
            let stop = stop.clone();
            let mut stdin = held.stdin.take().expect("stdin");
            threads.push(std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let _ = writeln!(stdin, "SELECT 'held-{n}';");
                    std::thread::sleep(Duration::from_millis(500));
                }
                drop(stdin);
                let out = held.wait_with_output().expect("psql");
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(
                    (1..=n).all(|i| text.contains(&format!("held-{i}\n"))),
                    "the held connection answered every query: {text} {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }));
        }
        {
            let stop = stop.clone();
            let queries = queries.clone();
            let failures = failures.clone();
            let pg = pg.clone();
            let current = Arc::new(Mutex::new((user, password)));
            let refresh = {
                let current = current.clone();
                let stop = stop.clone();
                let mut read = exec_login(env, name);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(300));
                        if let Some(login) = login_of(&mut read) {
                            *current.lock().expect("lock") = login;
                        }
                    }
                })
            };
            threads.push(refresh);
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (user, password) = current.lock().expect("lock").clone();
                    let out = pg.psql_at(pg.port, &user, &password, "SELECT 1");
                    queries.fetch_add(1, Ordering::Relaxed);
                    if !out.status.success() {
                        failures.lock().expect("lock").push(format!(
                            "as {user}: {}",
                            String::from_utf8_lossy(&out.stderr).trim()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }));
        }
        Client {
            stop,
            queries,
            failures,
            threads,
        }
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().expect("client thread");
        }
        let failures = self.failures.lock().expect("lock").clone();
        (self.queries.load(Ordering::Relaxed), failures)
    }
}

#[test]
fn two_role_mode_switches_roles_without_a_failed_query_and_locks_the_old_one() {
    let Some(pg) = pg("two_role_mode_switches_roles_without_a_failed_query_and_locks_the_old_one")
    else {
        return;
    };
    let env = Env::passphrase_vault();
    let a = pg.role("pair_a", "LOGIN", "old-Pg-pair-a");
    let b = pg.role("pair_b", "NOLOGIN", "unknown-Pg-pair-b");
    let admin = pg.role("pair_admin", "LOGIN CREATEROLE", "admin-Pg-pair");
    add_pg(&env, "db/pair", pg.port, &a, "old-Pg-pair-a", json!({}));
    add_pg(
        &env,
        "db/pair-admin",
        pg.port,
        &admin,
        "admin-Pg-pair",
        json!({}),
    );
    let client = Client::start(&pg, &env, "db/pair");
    std::thread::sleep(Duration::from_millis(700));

    // First switch: b gets a password and LOGIN, the credential moves to b;
    // a keeps working through the grace period.
    let run = env
        .run_pw(
            &[
                "rotate",
                "db/pair",
                "--alternate",
                &b,
                "--admin",
                "db/pair-admin",
                "--grace",
                "3s",
            ],
            "",
        )
        .ok();
    assert!(run.stdout.contains("stays valid until"), "{}", run.stdout);
    assert_eq!(field(&env, "db/pair", "user"), b);
    assert_eq!(field(&env, "db/pair", "alternate_user"), a);
    let b_password = field(&env, "db/pair", "password");
    assert!(pg.logs_in(&b, &b_password));
    assert!(pg.logs_in(&a, "old-Pg-pair-a"), "a works through the grace");
    let started = Instant::now();
    std::thread::sleep(
        Duration::from_secs(3).saturating_sub(started.elapsed()) + Duration::from_millis(800),
    );
    // The grace is over: a is locked, not dropped.
    let run = env.run_pw(&["rotate", "db/pair"], "").ok();
    assert!(run.stdout.contains("done"), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!("Locked role '{a}'")),
        "{}",
        run.stderr
    );
    assert!(!pg.logs_in(&a, "old-Pg-pair-a"));
    assert_eq!(
        pg.admin(&format!(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = '{a}'"
        )),
        "f"
    );
    std::thread::sleep(Duration::from_millis(700));

    // The next rotation switches back (the pair is remembered), with no
    // flags but the admin.
    env.run_pw(
        &[
            "rotate",
            "db/pair",
            "--admin",
            "db/pair-admin",
            "--grace",
            "2s",
        ],
        "",
    )
    .ok();
    assert_eq!(field(&env, "db/pair", "user"), a);
    let a_password = field(&env, "db/pair", "password");
    assert!(pg.logs_in(&a, &a_password));
    assert!(pg.logs_in(&b, &b_password), "b works through the grace");
    std::thread::sleep(Duration::from_millis(2800));
    env.run_pw(&["rotate", "db/pair", "--admin", "db/pair-admin"], "")
        .ok();
    assert!(!pg.logs_in(&b, &b_password), "b is locked");
    std::thread::sleep(Duration::from_millis(700));

    let (queries, failures) = client.finish();
    assert!(queries > 20, "the client ran ({queries} queries)");
    assert!(
        failures.is_empty(),
        "{} of {queries} queries failed: {failures:?}",
        failures.len()
    );
}
