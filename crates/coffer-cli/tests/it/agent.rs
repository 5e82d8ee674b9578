//! The agent: `get` through it gives what `get` gives without it (output,
//! errors, exit codes), with no unlock; each reveal names the asking
//! process; the socket's place is checked; another user, garbage, an
//! oversized frame and a stalled client are refused without disturbing
//! anyone else. Passphrase-only vaults: no keyring needed.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::{AgentGuard, Env, Run};

/// A vault with a plain and a secret field, and a private runtime dir.
fn env() -> (Env, PathBuf) {
    let mut env = Env::passphrase_vault().without_agent();
    let runtime = env.dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).expect("mkdir");
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    env.extra_env
        .push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));
    env.add_aws_key("aws/dev", "AKIAAGENTTEST0000001", "agent-canary-secret");
    env.run_pw(
        &["add", "vault-cli/default", "--kind", "vault-token"],
        r#"{"token":"s.agent-canary-token"}"#,
    )
    .ok();
    (env, runtime)
}

fn with_agent(env: &Env, mode: &str, args: &[&str]) -> Run {
    let mut cmd = env.command(args);
    // The token helper names its credential after VAULT_ADDR / BAO_ADDR
    // (which the full test run sets for OpenBao): these cases use the default.
    cmd.env("COFFER_AGENT", mode)
        .env_remove("VAULT_ADDR")
        .env_remove("BAO_ADDR");
    Run::from(cmd.output().expect("run"))
}

fn socket(runtime: &std::path::Path) -> PathBuf {
    let dir = runtime.join("coffer");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the agent's directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sock"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

/// Sends raw bytes to the socket as `as_user` (None: this user) with
/// python3, and prints what came back (or the error).
fn raw_client(socket: &std::path::Path, bytes_hex: &str, as_user: Option<&str>) -> String {
    let script = format!(
        "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.settimeout(10)\n\
         s.connect({:?})\ns.sendall(bytes.fromhex({bytes_hex:?}))\n\
         out=b''\nwhile True:\n  c=s.recv(65536)\n  if not c: break\n  out+=c\n\
         sys.stdout.write(out[5:].decode('utf-8','replace'))\n",
        socket.display().to_string()
    );
    let mut cmd = match as_user {
        Some(user) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={user}"),
                &format!("--regid={user}"),
                "--clear-groups",
                "/usr/bin/python3",
                "-c",
                &script,
            ]);
            c
        }
        None => {
            let mut c = Command::new("/usr/bin/python3");
            c.args(["-c", &script]);
            c
        }
    };
    let out = cmd.output().expect("python3");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn frame(json: &str) -> String {
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(&(json.len() as u32).to_be_bytes());
    bytes.extend_from_slice(json.as_bytes());
    hex::encode(bytes)
}

#[test]
fn get_through_the_agent_is_get_without_it_and_names_the_asker() {
    let (env, runtime) = env();
    let template = env.dir.path().join("template.txt");
    std::fs::write(
        &template,
        "key={{ coffer://aws/dev/access_key_id }} secret={{ coffer://aws/dev/secret_access_key }}\n",
    )
    .expect("template");
    let template = template.display().to_string();
    let cases: &[&[&str]] = &[
        &["get", "aws/dev", "--field", "secret_access_key"],
        &["get", "aws/dev", "--field", "access_key_id", "-n"],
        &["get", "aws/dev"],
        &["get", "aws/dev", "--field", "nope"],
        &["get", "aws/missing"],
        &["aws", "credential-process", "aws/dev", "--long-lived"],
        &["vault-token-helper", "get"],
        &["list"],
        &["list", "--json"],
        &["search", "aws"],
        &["search", "--json", "nothing-matches-this"],
        &["show", "aws/dev"],
        &["show", "aws/dev", "--json"],
        &["show", "aws/missing"],
        &["history", "aws/dev"],
        &["history", "aws/dev", "--json"],
        &["env", "aws/dev", "--long-lived"],
        &["env", "aws/dev", "--long-lived", "--format", "json"],
        &["env", "aws/missing"],
        &[
            "exec",
            "aws/dev",
            "--long-lived",
            "--",
            "sh",
            "-c",
            "echo \"$AWS_SECRET_ACCESS_KEY\"; exit 3",
        ],
        &["inject", "-i", &template],
        &["status"],
        &["status", "--json"],
        &["status", "--env", "nothing-here"],
        &["audit", "--action", "vault_create", "--json"],
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--action",
            "vault_create",
        ],
        &["audit", "--action", "nonsense"],
    ];
    let local: Vec<Run> = cases
        .iter()
        .map(|args| {
            let file = env.passphrase_file.display().to_string();
            let mut all = vec!["--passphrase-file", file.as_str()];
            all.extend_from_slice(args);
            with_agent(&env, "off", &all)
        })
        .collect();
    assert_eq!(local[0].stdout, "agent-canary-secret\n");
    assert_eq!(local[3].code, 4);
    assert_eq!(local[4].code, 4);
    assert!(local[5]
        .stdout
        .contains("\"SecretAccessKey\":\"agent-canary-secret\""));
    assert_eq!(local[6].stdout, "s.agent-canary-token");
    assert!(local[7].stdout.contains("aws/dev"), "{}", local[7].stdout);
    assert_eq!(local[13].code, 4);
    assert!(local[16].stdout.contains("agent-canary-secret"));
    assert_eq!(local[19].code, 3, "exec passes on its child's exit code");
    assert_eq!(local[19].stdout, "agent-canary-secret\n");
    assert!(local[20].stdout.contains("secret=agent-canary-secret"));
    assert!(local[22].stdout.contains("aws/dev"), "{}", local[22].stdout);
    assert!(
        local[24].stdout.contains("vault_create"),
        "{}",
        local[24].stdout
    );
    assert_eq!(local[26].code, 2);

    // No agent: `required` says so, `auto` unlocks here.
    let none = with_agent(&env, "required", &["get", "aws/dev"]).code(5);
    assert!(
        none.stderr.contains("coffer agent start"),
        "{}",
        none.stderr
    );
    env.run_pw(&["agent", "status"], "").code(4);

    let started = env.run_pw(&["agent", "start"], "").ok();
    let _stop = AgentGuard(&env);
    assert!(
        started.stdout.contains("coffer agent started"),
        "{}",
        started.stdout
    );
    let sock = socket(&runtime);
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&runtime.join("coffer")), 0o700);
    assert_eq!(mode(&sock), 0o600);

    // Through the agent, with no way to unlock here: the same bytes out
    // (but for `status`'s count of long-lived keys handed out, which the
    // first round of these cases has raised).
    let steady = |args: &[&str], out: &str| -> String {
        if args.first() != Some(&"status") {
            return out.to_owned();
        }
        let text = out
            .split("\nLong-lived AWS keys handed out")
            .next()
            .unwrap_or_default()
            .to_owned();
        without_lines(&text, "\"long_lived_uses_30d\": ")
    };
    for (args, want) in cases.iter().zip(&local) {
        let got = with_agent(&env, "required", args);
        assert_eq!(
            (got.code, steady(args, &got.stdout), &got.stderr),
            (want.code, steady(args, &want.stdout), &want.stderr),
            "{args:?}"
        );
    }
    let verified = with_agent(&env, "required", &["audit", "verify", "--json"])
        .ok()
        .json();
    assert_eq!(verified["ok"], true, "{verified}");
    let status = with_agent(&env, "required", &["agent", "status", "--json"])
        .ok()
        .json();
    assert_eq!(status["running"], true);
    assert!(
        status["requests"].as_u64().expect("requests") >= 7,
        "{status}"
    );

    // The reveals name the process that asked.
    env.run_pw(&["agent", "stop"], "").ok();
    assert!(!sock.exists(), "the socket is removed when the agent stops");
    with_agent(&env, "required", &["get", "aws/dev"]).code(5);
    let entries: Vec<Value> = env
        .run_pw(&["audit", "export", "--format", "jsonl"], "")
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    let by_agent: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "reveal" && !e["details"]["requester"].is_null())
        .collect();
    assert_eq!(
        by_agent.len(),
        2,
        "two reveals through the agent: {entries:?}"
    );
    let asker = &by_agent[0]["details"]["requester"];
    assert!(
        asker["exe"]
            .as_str()
            .is_some_and(|e| e.ends_with("/coffer")),
        "{asker}"
    );
    assert!(
        asker["cmdline"]
            .as_str()
            .is_some_and(|c| c.contains("get aws/dev --field secret_access_key")),
        "{asker}"
    );
    assert!(asker["pid"].as_u64().is_some_and(|p| p > 1), "{asker}");
    assert!(
        !asker["parents"].as_array().expect("parents").is_empty(),
        "{asker}"
    );
    for (action, asked) in [
        ("credential_process", "credential-process aws/dev"),
        ("token_helper", "vault-token-helper get"),
    ] {
        assert!(
            entries.iter().any(|e| e["action"] == action
                && e["details"]["requester"]["cmdline"]
                    .as_str()
                    .is_some_and(|c| c.contains(asked))),
            "{action} through the agent names the asker"
        );
    }
    assert!(!entries.iter().any(|e| {
        let text = e.to_string();
        text.contains("agent-canary-secret") || text.contains("agent-canary-token")
    }));
    // In words on the audit screen: the program that ran Coffer, where, and via what.
    let table = env
        .run_pw(&["audit", "--action", "credential_process"], "")
        .ok()
        .stdout;
    assert!(
        table.contains("to ") && table.contains(", via coffer aws credential-process aws/dev"),
        "{table}"
    );
    let verified = env.run_pw(&["audit", "verify", "--json"], "").ok().json();
    assert_eq!(verified["ok"], true, "{verified}");
}

#[test]
fn the_agent_refuses_a_socket_place_others_could_reach() {
    let (env, runtime) = env();
    let dir = runtime.join("coffer");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let refused = env.run_pw(&["agent", "start"], "").code(1);
    assert!(
        refused.stderr.contains("has mode 755"),
        "{}",
        refused.stderr
    );
    std::fs::remove_dir(&dir).expect("rmdir");

    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::os::unix::fs::symlink(&elsewhere, &dir).expect("symlink");
    let refused = env.run_pw(&["agent", "start"], "").code(1);
    assert!(
        refused.stderr.contains("is not a directory"),
        "{}",
        refused.stderr
    );
    std::fs::remove_file(&dir).expect("rm link");

    // A file where the socket goes.
    env.run_pw(&["agent", "start"], "").ok();
    let sock = socket(&runtime);
    env.run_pw(&["agent", "stop"], "").ok();
    std::fs::write(&sock, "not a socket").expect("write");
    let refused = env.run_pw(&["agent", "start"], "").code(1);
    assert!(
        refused.stderr.contains("is not a socket"),
        "{}",
        refused.stderr
    );
}

#[test]
fn strangers_garbage_and_stalls_are_dropped_and_others_are_served() {
    let (env, runtime) = env();
    env.run_pw(&["agent", "start"], "").ok();
    let _stop = AgentGuard(&env);
    let sock = socket(&runtime);
    let get = || {
        with_agent(
            &env,
            "required",
            &["get", "aws/dev", "--field", "secret_access_key"],
        )
        .ok()
        .stdout
    };

    // A stalled client (half a head) does not hold up anyone else.
    let script = format!(
        "import socket,time\ns=socket.socket(socket.AF_UNIX)\ns.connect({:?})\ns.sendall(b'\\x01\\x00')\ntime.sleep(8)\n",
        sock.display().to_string()
    );
    let mut staller = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .spawn()
        .expect("python3");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(), "agent-canary-secret\n");

    let version = raw_client(&sock, &hex::encode([9u8, 0, 0, 0, 2, b'{', b'}']), None);
    assert!(version.contains("version 9"), "{version}");
    let oversized = raw_client(&sock, &hex::encode([1u8, 0x7f, 0xff, 0xff, 0xff]), None);
    assert!(oversized.contains("over the agent's limit"), "{oversized}");
    let garbage = raw_client(&sock, &frame("{\"op\":\"reveal\",\"name\":"), None);
    assert!(garbage.contains("could not read the request"), "{garbage}");
    assert_eq!(get(), "agent-canary-secret\n");

    // Another user: the socket and its directory keep them out; opened up
    // on purpose, the agent itself still refuses them by the kernel's word.
    let dir = runtime.join("coffer");
    let stranger = raw_client(&sock, &frame("{\"op\":\"status\"}"), Some("65534"));
    assert!(stranger.contains("PermissionError"), "{stranger}");
    let top = env.dir.path().to_owned();
    for (path, mode) in [
        (&top, 0o711),
        (&runtime, 0o711),
        (&dir, 0o711),
        (&sock, 0o666),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let reveal = frame("{\"op\":\"reveal\",\"name\":\"aws/dev\",\"fields\":null}");
    let stranger = raw_client(&sock, &reveal, Some("65534"));
    assert!(
        stranger.contains("serves only the user who started it") && !stranger.contains("canary"),
        "{stranger}; the agent's log: {}",
        std::fs::read_to_string(sock.with_extension("log")).unwrap_or_default()
    );
    let me = raw_client(&sock, &reveal, None);
    assert!(
        me.contains("agent-canary-secret"),
        "the same request from its user is served"
    );

    let _ = staller.wait();
    env.run_pw(&["agent", "stop"], "").ok();
    let verified = env.run_pw(&["audit", "verify", "--json"], "").ok().json();
    assert_eq!(verified["ok"], true, "{verified}");
}

/// The agent killed with SIGKILL at random moments while four clients read
/// through it: no value ever reached a client without its audit entry
/// (entries naming a requester ≥ values served), every failed read says
/// what happened, a new agent starts over the dead one's socket, and the
/// chain verifies. Quick mode: 100 kills; `COFFER_RELIABILITY=long` 1000.
#[test]
fn kill_9_of_the_agent_returns_no_value_without_its_audit_entry() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    let kills = crate::harness::knob("COFFER_AGENT_KILLS", 100, 1000);
    let env = Arc::new(crate::harness::fast_vault());
    env.add_aws_key("aws/dev", "AKIAAGENTKILL0000001", "agent-kill-secret");
    let mut rng = crate::harness::Rng::new(crate::harness::seed("agent-kill"));
    let served = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    for round in 0..kills {
        env.run_pw(&["agent", "start", "--idle-lock", "0"], "").ok();
        let pid = with_agent(&env, "required", &["agent", "status", "--json"])
            .ok()
            .json()["pid"]
            .as_u64()
            .expect("pid");
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|_| {
                let (env, stop, served, failed) = (
                    Arc::clone(&env),
                    Arc::clone(&stop),
                    Arc::clone(&served),
                    Arc::clone(&failed),
                );
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let got = with_agent(
                            &env,
                            "required",
                            &["get", "aws/dev", "--field", "secret_access_key"],
                        );
                        if got.code == 0 {
                            assert_eq!(got.stdout, "agent-kill-secret\n");
                            served.fetch_add(1, Ordering::SeqCst);
                        } else {
                            assert!(
                                got.stderr.contains("agent") && got.stdout.is_empty(),
                                "a failed read says what happened: {}",
                                got.stderr
                            );
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(rng.duration_up_to(Duration::from_millis(40)));
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "round {round}: kill -9 {pid}");
        stop.store(true, Ordering::SeqCst);
        for c in clients {
            c.join().expect("client");
        }
    }
    let entries = env
        .run_pw(&["audit", "export", "--format", "jsonl"], "")
        .ok()
        .stdout
        .lines()
        .filter(|l| l.contains("\"requester\""))
        .count() as u64;
    let (served, failed) = (served.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    eprintln!(
        "agent kill -9: {kills} kills, {served} values served, {failed} reads refused, {entries} reveal entries naming the asker"
    );
    assert!(served > 0, "some reads were served between kills");
    assert!(
        entries >= served,
        "{served} values served but only {entries} audit entries"
    );
    let verified = env.run_pw(&["audit", "verify", "--json"], "").ok().json();
    assert_eq!(verified["ok"], true, "{verified}");
}

/// A screen lock (the screen saver's `ActiveChanged(true)`, sent with
/// `dbus-send` on the session bus) locks the agent: it writes its audit
/// entries, removes its socket and exits; the next command unlocks itself.
#[test]
fn a_locked_agent_keeps_serving_and_a_command_hands_it_the_way_in() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            !crate::support::keyring_expected(),
            "the full run has a session bus"
        );
        return crate::support::skip(
            "a_locked_agent_keeps_serving_and_a_command_hands_it_the_way_in",
            "no session bus",
        );
    }
    // A bus of its own: a screen-lock signal on the shared one would lock
    // the agents of the tests running beside this one.
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("dbus-daemon (package dbus)");
    let mut address = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(bus.stdout.take().expect("stdout")),
        &mut address,
    )
    .expect("the bus address");
    let address = address.trim().to_owned();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _bus = Kill(bus);
    let (mut env, runtime) = env();
    env.extra_env
        .push(("DBUS_SESSION_BUS_ADDRESS".into(), address.clone()));
    env.run_pw(&["agent", "start", "--idle-lock", "0"], "").ok();
    let _stop = AgentGuard(&env);
    let sock = socket(&runtime);
    let unlocked = || {
        with_agent(&env, "auto", &["agent", "status", "--json"])
            .ok()
            .json()["unlocked"]
            .as_bool()
            .expect("unlocked")
    };
    // The agent subscribes as it starts: the signal is sent until it locks.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while unlocked() {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent did not lock"
        );
        let sent = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .args([
                "--session",
                "--type=signal",
                "/org/freedesktop/ScreenSaver",
                "org.freedesktop.ScreenSaver.ActiveChanged",
                "boolean:true",
            ])
            .status()
            .expect("dbus-send (package dbus)");
        assert!(sent.success());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(sock.exists(), "a locked agent keeps serving");

    // Locked, and no way in here (a passphrase-only vault, no terminal):
    // the command fails as it would without an agent.
    let refused = with_agent(&env, "required", &["get", "aws/dev"]).code(5);
    assert!(
        refused.stderr.contains("--passphrase-file"),
        "{}",
        refused.stderr
    );
    // With the passphrase, the command hands it over: the agent unlocks and
    // serves this command and the next.
    let file = env.passphrase_file.display().to_string();
    let handed = with_agent(
        &env,
        "required",
        &[
            "--passphrase-file",
            &file,
            "get",
            "aws/dev",
            "--field",
            "secret_access_key",
        ],
    )
    .ok();
    assert_eq!(handed.stdout, "agent-canary-secret\n");
    assert!(unlocked());
    with_agent(
        &env,
        "required",
        &["get", "aws/dev", "--field", "secret_access_key"],
    )
    .ok();

    // `coffer lock`; a wrong passphrase is refused as here (exit 5) and
    // leaves it locked.
    let said = with_agent(&env, "auto", &["lock"]).ok();
    assert!(said.stdout.contains("is locked"), "{}", said.stdout);
    assert!(!unlocked());
    let wrong = env.dir.path().join("wrong.txt");
    std::fs::write(&wrong, "not the passphrase\n").expect("write");
    let bad = with_agent(
        &env,
        "required",
        &[
            "--passphrase-file",
            &wrong.display().to_string(),
            "get",
            "aws/dev",
        ],
    )
    .code(5);
    assert!(bad.stderr.contains("wrong passphrase"), "{}", bad.stderr);
    assert!(!unlocked());

    // Each lock is in the trail, and each unlock.
    env.run_pw(&["agent", "stop"], "").ok();
    let entries = env
        .run_pw(&["audit", "--json", "--limit", "200"], "")
        .ok()
        .json();
    let count = |action: &str| {
        entries
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["action"] == action)
            .count()
    };
    assert!(count("lock") >= 2, "{entries}");
    assert!(count("unlock_failed") >= 1, "{entries}");
}

/// `coffer ARGS` (with no ARGS: the program given next) in a new session
/// with no terminal, with the agent required.
fn in_new_session(env: &Env, args: &[&str]) -> Command {
    let mut cmd = Command::new("setsid");
    cmd.arg("--wait");
    if !args.is_empty() {
        cmd.arg(env!("CARGO_BIN_EXE_coffer")).args(args);
    }
    for (k, v) in env.command(&[]).get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.env("COFFER_AGENT", "required")
        .stdin(std::process::Stdio::null());
    cmd
}

/// The request id a refused command printed ("coffer agent approve ID").
fn request_id(stderr: &str) -> String {
    let at = stderr
        .find("coffer agent approve ")
        .unwrap_or_else(|| panic!("no way to approve in: {stderr}"));
    stderr[at + "coffer agent approve ".len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

/// The `access` entries of the audit trail, oldest first.
fn decisions(env: &Env) -> Vec<Value> {
    let mut found: Vec<Value> = env
        .run_pw(
            &["audit", "--action", "access", "--json", "--limit", "100"],
            "",
        )
        .ok()
        .json()
        .as_array()
        .expect("entries")
        .clone();
    found.reverse();
    found
}

#[test]
fn ask_rules_wait_for_another_terminal_and_every_decision_is_audited() {
    let (env, _runtime) = env();
    env.run_pw(
        &[
            "add",
            "aws/prod",
            "--kind",
            "aws-access-key",
            "--env",
            "prod",
            "--field",
            "access_key_id=AKIAAGENTPROD0000001",
        ],
        r#"{"secret_access_key":"agent-prod-canary"}"#,
    )
    .ok();
    env.run_pw(&["agent", "start"], "").ok();
    let _stop = AgentGuard(&env);
    // Each in a session of its own, so the test's terminal (if any) is
    // neither the asker's nor the approver's.
    let get = |name: &str| {
        Run::from(
            in_new_session(&env, &["get", name, "--field", "secret_access_key"])
                .output()
                .expect("run"),
        )
    };

    // No rule: allowed. env prod: asks by default; a headless agent refuses
    // with the way to approve (exit 8) and keeps the question.
    assert_eq!(get("aws/dev").ok().stdout, "agent-canary-secret\n");
    let asked = get("aws/prod").code(8);
    assert!(
        asked.stderr.contains("needs your approval") && asked.stderr.contains("env"),
        "{}",
        asked.stderr
    );
    assert!(!asked.stdout.contains("canary"));
    let id = request_id(&asked.stderr);
    let pending = env.run(&["agent", "pending", "--json"], "").ok().json();
    assert_eq!(pending[0]["id"], id.as_str(), "{pending}");
    assert_eq!(pending[0]["names"][0], "aws/prod");

    // An answer comes only from a terminal: a process without one is refused.
    let refused = in_new_session(&env, &["agent", "approve", &id])
        .output()
        .expect("run");
    assert_eq!(refused.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only from a terminal"));

    // From another terminal: allowed for that session (the default 10 min).
    let approved = env.run_in_terminal(&["agent", "approve", &id]);
    assert_eq!(approved.code, 0, "{}", approved.stdout);
    assert!(
        approved.stdout.contains("for 10 min") && approved.stdout.contains("aws/prod"),
        "{}",
        approved.stdout
    );
    // ... but `get` above ran in a session of its own each time (setsid):
    // the yes was for the session that asked, which has ended. A command in
    // one session: ask, approve, then served twice from the remembered yes.
    let script = format!(
        "{bin} get aws/prod --field secret_access_key 2>&1; echo; \
         while [ ! -e {flag} ]; do sleep 0.05; done; \
         {bin} get aws/prod --field secret_access_key; {bin} get aws/prod --field secret_access_key",
        bin = env!("CARGO_BIN_EXE_coffer"),
        flag = env.dir.path().join("approved").display(),
    );
    let mut session = in_new_session(&env, &[]);
    session.args(["sh", "-c", &script]);
    session.stdout(std::process::Stdio::piped());
    let mut child = session.spawn().expect("spawn");
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    std::io::BufRead::read_line(&mut reader, &mut first).expect("read");
    let id2 = request_id(&first);
    assert_ne!(id2, id);
    env.run_in_terminal(&["agent", "approve", &id2, "--for", "5"]);
    std::fs::write(env.dir.path().join("approved"), "").expect("flag");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).expect("read");
    assert!(child.wait().expect("wait").success());
    assert_eq!(rest.trim_start(), "agent-prod-canary\nagent-prod-canary\n");

    // ask-every-time: a yes is for one request.
    env.run_pw(
        &["access", "set", "ask-every-time", "--credential", "aws/dev"],
        "",
    )
    .ok();
    let id3 = request_id(&get("aws/dev").code(8).stderr);
    let e = env.run_in_terminal(&["agent", "approve", &id3, "--for", "5"]);
    assert_eq!(e.code, 2, "{}", e.stdout);
    assert!(e.stdout.contains("asks every time"), "{}", e.stdout);
    env.run_in_terminal(&["agent", "deny", &id3]);
    assert!(env.run(&["agent", "pending", "--json"], "").ok().json()[0].is_null());
    let gone = env.run_in_terminal(&["agent", "approve", &id3]);
    assert_eq!(gone.code, 4, "{}", gone.stdout);

    // Every decision is in the trail, with the asking process, and who
    // decided; the values are not.
    let list = decisions(&env);
    let said: Vec<(&str, &str)> = list
        .iter()
        .map(|e| {
            (
                e["details"]["request"].as_str().unwrap_or(""),
                e["details"]["decision"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        said,
        [
            (id.as_str(), "waiting for approval"),
            (id.as_str(), "allowed for the terminal session"),
            (id2.as_str(), "waiting for approval"),
            (id2.as_str(), "allowed for the terminal session"),
            (id3.as_str(), "waiting for approval"),
            (id3.as_str(), "denied"),
        ],
        "{list:?}"
    );
    for e in &list {
        assert!(
            e["details"]["requester"]["cmdline"]
                .as_str()
                .is_some_and(|c| c.contains(" get aws/")),
            "{e}"
        );
        assert!(!e.to_string().contains("canary"));
    }
    assert!(list[1]["details"]["by"]
        .as_str()
        .is_some_and(|b| b.contains("coffer agent approve")));
    assert_eq!(list[3]["details"]["minutes"], 5);
    let rules = env.run_pw(&["access", "list", "--json"], "").ok().json();
    assert_eq!(rules["by_credential"]["aws/dev"], "ask-every-time");
    let verified = env.run_pw(&["audit", "verify", "--json"], "").ok().json();
    assert_eq!(verified["ok"], true, "{verified}");
}

#[test]
fn the_mode_setting_chooses_and_coffer_agent_overrides_it() {
    let (env, _runtime) = env();
    let mode = |args: &[&str]| {
        let mut all = vec!["agent", "mode"];
        all.extend_from_slice(args);
        let mut cmd = env.command(&all);
        cmd.env_remove("COFFER_AGENT");
        Run::from(cmd.output().expect("run"))
    };
    assert_eq!(mode(&[]).ok().stdout, "auto\n");
    assert_eq!(mode(&["required"]).ok().stdout, "required\n");
    assert_eq!(mode(&[]).ok().stdout, "required\n");
    // No agent runs, and the setting requires one.
    let mut get = env.command(&[
        "--passphrase-file",
        &env.passphrase_file.display().to_string(),
        "get",
        "aws/dev",
    ]);
    get.env_remove("COFFER_AGENT");
    let refused = Run::from(get.output().expect("run")).code(5);
    assert!(
        refused.stderr.contains("coffer agent mode"),
        "{}",
        refused.stderr
    );
    // The variable overrides it.
    let file = env.passphrase_file.display().to_string();
    with_agent(&env, "off", &["--passphrase-file", &file, "get", "aws/dev"]).ok();
    let bad = mode(&["sometimes"]).code(2);
    assert!(bad.stderr.contains("auto, off, required"), "{}", bad.stderr);
    assert_eq!(mode(&["auto"]).ok().stdout, "auto\n");
}

#[test]
fn systemd_socket_activation_starts_the_agent_at_the_first_command() {
    let (env, runtime) = env();
    let sock = PathBuf::from(env.run(&["agent", "socket"], "").ok().stdout.trim());
    assert_eq!(sock.parent(), Some(runtime.join("coffer").as_path()));
    std::fs::create_dir_all(sock.parent().expect("dir")).expect("mkdir");
    std::fs::set_permissions(
        sock.parent().expect("dir"),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod");
    // systemd-socket-activate binds `listen` and, at the first connection,
    // runs the agent with it (as a .socket unit would).
    let activate = |listen: &std::path::Path| {
        let mut cmd = Command::new("systemd-socket-activate");
        cmd.arg("-l").arg(listen);
        for (k, v) in env.command(&[]).get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
                cmd.arg("-E").arg(k);
            }
        }
        cmd.arg(env!("CARGO_BIN_EXE_coffer"))
            .arg("--passphrase-file")
            .arg(&env.passphrase_file)
            .args(["agent", "run", "--idle-lock", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let child = cmd
            .spawn()
            .expect("systemd-socket-activate (package systemd)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !listen.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "no socket at {listen:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    };

    // A socket open to others is refused (SocketMode=0600 in the unit).
    let open = activate(&sock);
    let _ = std::os::unix::net::UnixStream::connect(&sock);
    let out = open.wait_with_output().expect("wait");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("SocketMode=0600"), "{said}");
    std::fs::remove_file(&sock).expect("rm");

    // A socket bound at another name would be another vault's: refused.
    let elsewhere = runtime.join("coffer").join("agent-0000000000000000.sock");
    let wrong = activate(&elsewhere);
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let _ = std::os::unix::net::UnixStream::connect(&elsewhere);
    let out = wrong.wait_with_output().expect("wait");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("coffer agent socket"), "{said}");

    // The right one: the first command starts the agent, which serves it.
    let started = activate(&sock);
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Reap(started);
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let _stop = AgentGuard(&env);
    let got = with_agent(
        &env,
        "required",
        &["get", "aws/dev", "--field", "secret_access_key"],
    )
    .ok();
    assert_eq!(got.stdout, "agent-canary-secret\n");
    // Stopped, it leaves systemd's socket in place.
    env.run(&["agent", "stop"], "").ok();
    assert!(sock.exists());
}

#[test]
fn writes_through_the_agent_are_writes_without_it() {
    let (env, _runtime) = env();
    // `coffer ARGS` with `stdin`, in `mode` (off: unlocked here with the
    // passphrase; required: through the agent, with no way to unlock here).
    let run = |mode: &str, args: &[String], stdin: &str| {
        let file = env.passphrase_file.display().to_string();
        let mut all: Vec<&str> = Vec::new();
        if mode == "off" {
            all.extend(["--passphrase-file", file.as_str()]);
        }
        all.extend(args.iter().map(String::as_str));
        let mut cmd = env.command(&all);
        cmd.env("COFFER_AGENT", mode);
        let mut child = cmd.spawn().expect("spawn");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin.as_bytes())
            .expect("stdin");
        Run::from(child.wait_with_output().expect("wait"))
    };
    let steps = |name: &str| -> Vec<(Vec<String>, &'static str)> {
        let args = |a: &[&str]| a.iter().map(|s| s.replace("NAME", name)).collect();
        vec![
            (
                args(&["add", "NAME", "--kind", "vault-token", "--tag", "w"]),
                r#"{"token":"s.w1"}"#,
            ),
            (
                args(&["add", "NAME", "--kind", "vault-token"]),
                r#"{"token":"s.w1"}"#,
            ),
            (
                args(&["edit", "NAME", "--env", "dev", "--note", "n"]),
                r#"{"token":"s.w2"}"#,
            ),
            (
                args(&["edit", "NAME", "--if-version", "1", "--env", "qa"]),
                "{}",
            ),
            (args(&["edit", "NAME", "--clear-env"]), "{}"),
            (args(&["get", "NAME", "--field", "token"]), ""),
            (args(&["rollback", "NAME", "--to", "1"]), ""),
            (args(&["get", "NAME", "--field", "token"]), ""),
            (args(&["edit", "NAME", "--json", "--env", "prod"]), "{}"),
            (args(&["rm", "NAME", "--yes"]), ""),
            (args(&["rm", "NAME", "--yes"]), ""),
            (args(&["rollback", "NAME", "--to", "1"]), ""),
            (args(&["trash", "restore", "NAME"]), ""),
            (args(&["rm", "NAME", "--purge", "--yes"]), ""),
            (args(&["trash", "restore", "NAME"]), ""),
            // Settings: each run leaves them as it found them.
            (
                args(&["policy", "set", "--tag", "wt", "--max-age", "30"]),
                "",
            ),
            (args(&["policy", "list", "--json"]), ""),
            (args(&["policy", "unset", "--tag", "wt"]), ""),
            (args(&["access", "set", "ask", "--tag", "wt"]), ""),
            (args(&["access", "remember", "15"]), ""),
            (args(&["access", "list", "--json"]), ""),
            (args(&["access", "set", "maybe", "--tag", "wt"]), ""),
            (args(&["access", "unset", "--tag", "wt"]), ""),
            (args(&["access", "remember", "10"]), ""),
            // The Vault CLI's token helper stores and erases.
            (
                args(&["vault-token-helper", "store", "--name", "NAME/t"]),
                "s.tok\n",
            ),
            (args(&["vault-token-helper", "get", "--name", "NAME/t"]), ""),
            (
                args(&["vault-token-helper", "erase", "--name", "NAME/t"]),
                "",
            ),
            (args(&["vault-token-helper", "get", "--name", "NAME/t"]), ""),
        ]
    };
    let local: Vec<Run> = steps("w/local")
        .iter()
        .map(|(a, stdin)| run("off", a, stdin))
        .collect();
    assert_eq!(
        local[1].code, 1,
        "a second add of one name: {}",
        local[1].stderr
    );
    assert_eq!(local[3].code, 3, "a stale edit: {}", local[3].stderr);
    assert_eq!(local[5].stdout, "s.w2\n");
    assert_eq!(local[7].stdout, "s.w1\n");
    assert_eq!(local[10].code, 4);
    assert!(
        local[12]
            .stdout
            .contains("Restored w/local (now version 7)"),
        "{}",
        local[12].stdout
    );
    assert_eq!(local[14].code, 4, "purged: {}", local[14].stderr);
    assert!(local[16].stdout.contains("\"wt\""), "{}", local[16].stdout);
    assert!(
        local[20].stdout.contains("\"remember_minutes\": 15"),
        "{}",
        local[20].stdout
    );
    assert_eq!(local[21].code, 2);
    assert_eq!(local[25].stdout, "s.tok");
    assert_eq!(local[27].stdout, "");

    env.run_pw(&["agent", "start", "--idle-lock", "0"], "").ok();
    let _stop = AgentGuard(&env);
    for ((args, stdin), want) in steps("w/agent").iter().zip(&local) {
        let got = run("required", args, stdin);
        let same = |s: &str| s.replace("w/agent", "w/local");
        // Times differ between the two runs; the JSON's are normalised.
        let json = |s: &str| -> String {
            match serde_json::from_str::<Value>(s) {
                Ok(mut v) => {
                    for k in ["created_at", "updated_at", "id"] {
                        v[k] = Value::Null;
                    }
                    v.to_string()
                }
                Err(_) => s.to_owned(),
            }
        };
        assert_eq!(
            (got.code, json(&same(&got.stdout)), same(&got.stderr)),
            (want.code, json(&want.stdout), want.stderr.clone()),
            "{args:?}"
        );
    }
    // The agent's writes are in the trail like any, and it verifies.
    env.run_pw(&["agent", "stop"], "").ok();
    let history = env
        .run_pw(&["audit", "--credential", "w/agent", "--json"], "")
        .ok()
        .json();
    let actions: Vec<&str> = history
        .as_array()
        .expect("entries")
        .iter()
        .rev()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "create", "update", "reveal", "rollback", "trash", "untrash", "delete",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let verified = env.run_pw(&["audit", "verify", "--json"], "").ok().json();
    assert_eq!(verified["ok"], true, "{verified}");
}

#[test]
fn a_reply_larger_than_a_request_may_be_is_served_whole() {
    let (env, _runtime) = env();
    // 3,000 credentials: `list --json` is over 1 MiB, the cap on a request.
    let items: Vec<Value> = (0..3000)
        .map(|i| {
            serde_json::json!({
                "name": format!("bulk/team-{}/service-{i:05}", i % 40),
                "kind": "generic",
                "env": "dev",
                "tags": ["bulk", format!("team-{}", i % 40)],
                "fields": { "url": format!("https://service-{i:05}.internal.example/api") },
                "secrets": { "value": format!("bulk-secret-{i:05}") },
            })
        })
        .collect();
    let file = env.dir.path().join("bulk.json");
    std::fs::write(&file, serde_json::to_vec(&items).expect("json")).expect("write");
    env.run_pw(
        &["import", &file.display().to_string(), "--format", "json"],
        "",
    )
    .ok();
    let local = env.run_pw(&["list", "--json"], "").ok();
    assert!(local.stdout.len() > 1 << 20, "{} bytes", local.stdout.len());
    env.run_pw(&["agent", "start", "--idle-lock", "0"], "").ok();
    let _stop = AgentGuard(&env);
    let through = with_agent(&env, "required", &["list", "--json"]).ok();
    assert_eq!(through.stdout, local.stdout);
}

/// Another process rekeys the vault, or puts another file in its place
/// (a restore), while the agent serves it: the agent notices before it
/// answers, locks without writing, and the next command unlocks it again
/// with the new key or file, with no tamper alarm and no write lost.
#[test]
fn a_vault_rekeyed_or_replaced_under_the_agent_is_opened_again() {
    let (env, _runtime) = env();
    env.run_pw(&["agent", "start", "--idle-lock", "0"], "").ok();
    let _stop = AgentGuard(&env);
    let secret = ["get", "aws/dev", "--field", "secret_access_key"];
    let get = |args: &[&str]| {
        let file = env.passphrase_file.display().to_string();
        let mut all = vec!["--passphrase-file", file.as_str()];
        all.extend_from_slice(args);
        with_agent(&env, "required", &all)
    };
    assert_eq!(get(&secret).ok().stdout, "agent-canary-secret\n");

    env.run_pw(&["rekey", "--keep-passphrase"], "").ok();
    let again = get(&secret).ok();
    assert_eq!(again.stdout, "agent-canary-secret\n", "{}", again.stderr);
    // A write through the agent lands under the new key.
    get(&["edit", "aws/dev", "--note", "after the rekey"]).ok();
    let before = with_agent(&env, "required", &["agent", "status", "--json"])
        .ok()
        .json();

    // Another vault moved into its place (with its anchor; the old side
    // files removed, as someone moving vaults by hand would).
    let other = Env::passphrase_vault().without_agent();
    other.add_aws_key("aws/dev", "AKIAAGENTTEST0000002", "the-other-vault");
    for suffix in ["-wal", "-shm"] {
        let mut side = env.vault.clone().into_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    for suffix in ["", ".anchor"] {
        let (mut from, mut to) = (
            other.vault.clone().into_os_string(),
            env.vault.clone().into_os_string(),
        );
        from.push(suffix);
        to.push(suffix);
        std::fs::rename(from, to).expect("move the other vault in");
    }
    let moved = get(&secret).ok();
    assert_eq!(moved.stdout, "the-other-vault\n", "{}", moved.stderr);
    let after = with_agent(&env, "required", &["agent", "status", "--json"])
        .ok()
        .json();
    assert_ne!(after["vault_id"], before["vault_id"], "{after}");
    assert_eq!(after["unlocked"], true);
    env.run_pw(&["audit", "verify"], "").ok();
}

/// `text` without the lines that hold `marker` (a count that moves).
fn without_lines(text: &str, marker: &str) -> String {
    text.lines()
        .filter(|l| !l.contains(marker))
        .collect::<Vec<_>>()
        .join("\n")
}
