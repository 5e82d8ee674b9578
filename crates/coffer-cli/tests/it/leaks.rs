//! Leaks, CLI side. After a scenario that runs the commands a secret passes
//! through (add, get, edit, history, rollback, exec, env, inject, import,
//! backup, restore, rotate, audit export, sync when OpenBao is there) with
//! canary values: no canary in any file under the test's private HOME, XDG
//! dirs and vault dir, nor in its private TMPDIR, nor in the trace logs.
//! Then a core dump (gcore) of `coffer exec` while it waits for its child,
//! its vault closed: the secret values it handed over and the passphrase it
//! unlocked with are not in its memory.
//!
//! (`scenario.rs` covers the CRUD commands; the secret types' wiping is
//! proved in `fuzz/tests/zeroize.rs` through a counting allocator.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::fast_vault;
use crate::remotes::{bao, unique};
use crate::support::*;

const SECRET: &str = "leak-canary-secret-Vq7Jd2Kx";
const EDITED: &str = "leak-canary-edited-Hs4Wm9Pe";
const DB: &str = "leak-canary-dbpass-Ty6Nc3Rz";
const IMPORTED: &str = "leak-canary-import-Bf2Lq8Xu";
const BACKUP_PW: &str = "leak-canary-backup-pass-Kd5Gv1Sy";

#[test]
fn no_canary_in_files_temp_dir_or_logs_after_a_cli_scenario() {
    let mut env = fast_vault();
    let tmp = env.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    env.extra_env
        .push(("TMPDIR".into(), tmp.display().to_string()));
    env.extra_env.push(("RUST_LOG".into(), "trace".into()));
    // The person's own plaintext files live outside the scanned dirs.
    let outside = tempfile::TempDir::new().expect("outside");
    let mut logs = String::new();
    let mut run = |args: &[&str], stdin: &str| -> Run {
        let r = env.run_pw(args, stdin);
        for line in r.stderr.lines().filter(|l| !l.starts_with("coffer: ")) {
            logs.push_str(line);
            logs.push('\n');
        }
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r
    };
    run(
        &["add", "app/api", "--kind", "api-key", "--tag", "ci"],
        &json!({ "key": SECRET }).to_string(),
    );
    run(
        &[
            "add",
            "db/main",
            "--kind",
            "db-password",
            "--field",
            "host=db",
            "--field",
            "user=app",
        ],
        &json!({ "password": DB }).to_string(),
    );
    assert_eq!(
        run(&["get", "app/api", "--field", "key"], "").stdout.trim(),
        SECRET
    );
    run(&["show", "app/api", "--json"], "");
    run(&["edit", "app/api"], &json!({ "key": EDITED }).to_string());
    run(&["history", "app/api", "--json"], "");
    run(&["rollback", "app/api", "--to", "1"], "");
    let exec = run(
        &[
            "exec",
            "app/api",
            "--env",
            "TOKEN=key",
            "--",
            "sh",
            "-c",
            "test -n \"$TOKEN\" && echo ran",
        ],
        "",
    );
    assert!(exec.stdout.contains("ran"), "{}", exec.stdout);
    run(
        &[
            "exec",
            "db/main",
            "--mask",
            "--",
            "sh",
            "-c",
            "env >/dev/null",
        ],
        "",
    );
    run(&["env", "db/main"], "");
    let template = outside.path().join("tpl.txt");
    std::fs::write(&template, "k={{ coffer://app/api/key }}\n").expect("tpl");
    run(&["inject", "-i", &template.display().to_string()], "");
    let dotenv = outside.path().join("app.env");
    std::fs::write(&dotenv, format!("IMPORTED_TOKEN={IMPORTED}\n")).expect("dotenv");
    run(
        &[
            "import",
            &dotenv.display().to_string(),
            "--format",
            "dotenv",
            "--name",
            "imported/app",
        ],
        "",
    );
    run(
        &[
            "rotate",
            "db/main",
            "--generate",
            "--grace",
            "0",
            "--confirm-manual-steps",
        ],
        "",
    );
    run(&["audit", "export"], "");
    let backup_pw = outside.path().join("backup-pass.txt");
    std::fs::write(&backup_pw, format!("{BACKUP_PW}\n")).expect("pw");
    let backup = env.dir.path().join("backups").join("vault.cofferbak");
    std::fs::create_dir_all(backup.parent().expect("dir")).expect("mkdir");
    let (backup_s, pw_s) = (
        backup.display().to_string(),
        backup_pw.display().to_string(),
    );
    run(
        &["backup", &backup_s, "--backup-passphrase-file", &pw_s],
        "",
    );
    run(
        &[
            "backup",
            "verify",
            &backup_s,
            "--backup-passphrase-file",
            &pw_s,
        ],
        "",
    );
    let restored = env.dir.path().join("vaults").join("restored.sqlite");
    {
        let mut other = Env::new();
        other.no_dbus = true;
        other.vault = restored.clone();
        other.passphrase_file = env.passphrase_file.clone();
        other.extra_env = env.extra_env.clone();
        let r = other.run(
            &[
                "restore",
                &backup_s,
                "--backup-passphrase-file",
                &pw_s,
                "--no-keyring",
                "--passphrase-file",
                &env.passphrase_file.display().to_string(),
            ],
            "",
        );
        assert_eq!(r.code, 0, "restore: {}", r.stderr);
        let r = other.run_pw(&["get", "app/api", "--field", "key"], "");
        assert_eq!(r.stdout.trim(), SECRET, "{}", r.stderr);
        // `other` lives in its own temp dir; scan it too.
        assert_clean(other.dir.path(), &[other.dir.path().join("passphrase.txt")]);
    }
    if let Some((addr, root)) = bao("leaks: sync") {
        run(
            &["add", "bao-token", "--kind", "vault-token"],
            &json!({ "token": root }).to_string(),
        );
        let prefix = unique("leaks");
        run(
            &[
                "remote",
                "add",
                "vault",
                "--holds-all",
                "bao",
                "--addr",
                &addr,
                "--prefix",
                &prefix,
                "--auth-credential",
                "bao-token",
            ],
            "",
        );
        run(&["sync", "push", "bao"], "");
        run(&["sync", "pull", "bao"], "");
        run(&["sync", "plan", "bao"], "");
    }
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "no trace logs"
    );
    let tmp_files = files_below(&tmp);
    assert_clean(env.dir.path(), &[env.passphrase_file.clone()]);
    assert_no_canary("the trace logs", logs.as_bytes(), &canaries());
    eprintln!(
        "leaks: scanned {} files under the test's HOME/XDG/vault dirs ({} in its TMPDIR) and {} bytes of trace logs: no canary",
        files_below(env.dir.path()).len(),
        tmp_files.len(),
        logs.len()
    );
}

/// STS sessions (a key's, a role's above it, with an MFA code) made,
/// kept, listed, handed to `exec`/`env`, forgotten and made again, with
/// trace logs on: neither the long-lived key, nor any session's secret or
/// token, nor the MFA code is in a file under the test's dirs or its
/// TMPDIR, nor in the logs.
#[test]
fn no_session_secret_or_mfa_code_in_files_or_logs() {
    let Some(endpoint) = crate::remotes::moto("no_session_secret_or_mfa_code…") else {
        return;
    };
    let (_user, key_id, secret) = crate::moto::iam_user(&endpoint, "leak");
    let mut env = Env::passphrase_vault();
    let tmp = env.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    for (k, v) in [
        ("TMPDIR", tmp.display().to_string()),
        ("RUST_LOG", "trace".into()),
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        ("COFFER_OFFLINE", "0".into()),
    ] {
        env.extra_env.push((k.into(), v));
    }
    // The code comes from a file outside the scanned dirs (the command
    // that prints it is a plain field; the code itself must go nowhere).
    let outside = tempfile::TempDir::new().expect("outside");
    let code = "731946";
    let code_file = outside.path().join("code");
    std::fs::write(&code_file, code).expect("code");
    let mut logs = String::new();
    let mut outputs: Vec<String> = Vec::new();
    let mut run = |args: &[&str], stdin: &str| -> Run {
        let r = env.run_pw(args, stdin);
        for line in r.stderr.lines().filter(|l| !l.starts_with("coffer: ")) {
            logs.push_str(line);
            logs.push('\n');
        }
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        outputs.push(r.stdout.clone());
        r
    };
    run(
        &[
            "add",
            "aws/base",
            "--kind",
            "aws-access-key",
            "--field",
            &format!("access_key_id={key_id}"),
        ],
        &json!({ "secret_access_key": secret }).to_string(),
    );
    run(
        &[
            "add",
            "aws/ops",
            "--kind",
            "aws-role",
            "--field",
            &format!(
                "role_arn=arn:aws:iam::123456789012:role/{}",
                unique("leak").trim_end_matches('/')
            ),
            "--field",
            "source=aws/base",
            "--field",
            "mfa_serial=arn:aws:iam::123456789012:mfa/leak",
            "--field",
            &format!("mfa_process=cat {}", code_file.display()),
        ],
        "",
    );
    // A role whose codes come from a TOTP seed kept in the vault.
    let seed = "LEAKCANARYSEEDQ7LEAKCANARYSEEDQ7";
    run(
        &["add", "mfa/leak", "--kind", "totp-seed"],
        &json!({ "seed": seed }).to_string(),
    );
    run(
        &[
            "add",
            "aws/seeded",
            "--kind",
            "aws-role",
            "--field",
            &format!(
                "role_arn=arn:aws:iam::123456789012:role/{}",
                unique("leak-seeded").trim_end_matches('/')
            ),
            "--field",
            "source=aws/base",
            "--field",
            "mfa_serial=arn:aws:iam::123456789012:mfa/leak-seeded",
            "--field",
            "mfa_totp=mfa/leak",
        ],
        "",
    );
    let mut sessions: Vec<serde_json::Value> = Vec::new();
    for name in ["aws/ops", "aws/base", "aws/ops", "aws/seeded"] {
        sessions.push(run(&["aws", "credential-process", name], "").json());
    }
    run(
        &[
            "exec",
            "aws/ops",
            "--",
            "sh",
            "-c",
            "test -n \"$AWS_SESSION_TOKEN\"",
        ],
        "",
    );
    run(&["env", "aws/ops", "--format", "json"], "");
    run(&["aws", "sessions", "--json"], "");
    run(&["lock", "--forget-sessions"], "");
    sessions.push(run(&["aws", "credential-process", "aws/ops"], "").json());
    run(&["audit", "--json"], "");
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "no trace logs"
    );
    let mut canaries: Vec<String> =
        vec![secret.clone(), code.into(), PASSPHRASE.into(), seed.into()];
    for s in &sessions {
        for field in ["SecretAccessKey", "SessionToken"] {
            canaries.push(s[field].as_str().expect("value").to_owned());
        }
    }
    canaries.dedup();
    let canaries: Vec<&str> = canaries.iter().map(String::as_str).collect();
    for file in files_below(env.dir.path()) {
        if file == env.passphrase_file {
            continue;
        }
        let bytes = std::fs::read(&file).expect("read");
        assert_no_canary(&file.display().to_string(), &bytes, &canaries);
    }
    assert_no_canary("the trace logs", logs.as_bytes(), &canaries);
    // Nothing printed the code or the long-lived key either (sessions, by
    // design, are printed by credential-process and env).
    for out in &outputs {
        assert_no_canary("a command's output", out.as_bytes(), &[&secret, code, seed]);
    }
    eprintln!(
        "leaks: {} sessions' secrets and tokens, the key, the MFA code and a TOTP seed: none in {} files or {} bytes of trace logs",
        sessions.len(),
        files_below(env.dir.path()).len(),
        logs.len()
    );
}

fn canaries() -> Vec<&'static str> {
    vec![SECRET, EDITED, DB, IMPORTED, BACKUP_PW, PASSPHRASE]
}

fn assert_clean(dir: &Path, except: &[PathBuf]) {
    for file in files_below(dir) {
        if except.contains(&file) {
            continue;
        }
        let bytes = std::fs::read(&file).expect("read");
        assert_no_canary(&file.display().to_string(), &bytes, &canaries());
    }
}

fn gcore() -> Option<PathBuf> {
    ["/usr/bin/gcore", "/usr/local/bin/gcore"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The children of `pid` (from /proc).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

#[test]
fn a_core_dump_of_coffer_exec_waiting_for_its_child_holds_no_secret() {
    let Some(gcore) = gcore() else {
        assert!(
            std::env::var("COFFER_TEST_KEYRING").as_deref() != Ok("1"),
            "the full test run installs gdb (gcore)"
        );
        return skip(
            "a_core_dump_of_coffer_exec…",
            "gcore (gdb) is not installed",
        );
    };
    let env = fast_vault();
    env.run_pw(
        &["add", "app/api", "--kind", "api-key"],
        &json!({ "key": SECRET }).to_string(),
    )
    .ok();
    env.run_pw(
        &[
            "add",
            "db/main",
            "--kind",
            "db-password",
            "--field",
            "host=db",
            "--field",
            "user=app",
        ],
        &json!({ "password": DB }).to_string(),
    )
    .ok();
    for mask in [false, true] {
        let file = env.passphrase_file.display().to_string();
        let mut args = vec![
            "--passphrase-file",
            file.as_str(),
            "exec",
            "app/api",
            "db/main",
        ];
        if mask {
            args.push("--mask");
        }
        args.extend(["--", "sleep", "60"]);
        let mut cmd = env.command(&args);
        cmd.stdin(Stdio::null());
        let mut coffer = cmd.spawn().expect("spawn exec");
        let pid = coffer.id();
        let started = Instant::now();
        let child = loop {
            if let Some(c) = children(pid).first() {
                break *c;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "exec did not start its child"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let exec settle into waiting.
        std::thread::sleep(Duration::from_millis(300));
        let dir = tempfile::TempDir::new().expect("tempdir");
        let out = Command::new(&gcore)
            .arg("-o")
            .arg(dir.path().join("core"))
            .arg(pid.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("gcore");
        let core = dir.path().join(format!("core.{pid}"));
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(child as i32).expect("pid"),
            rustix::process::Signal::KILL,
        );
        let _ = coffer.wait();
        assert!(
            core.exists(),
            "gcore made no dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&core).expect("core");
        assert!(bytes.len() > 1 << 20, "a real dump");
        // The secrets were handed to the child's environment; `--mask` keeps
        // them (to filter the child's output) by design, the plain form must
        // not hold them at all.
        let mut wanted = vec![PASSPHRASE];
        if !mask {
            wanted.extend([SECRET, DB]);
        }
        let found: Vec<String> = wanted
            .iter()
            .flat_map(|c| encodings(c).into_iter().map(move |(e, n)| (*c, e, n)))
            .filter(|(_, _, n)| contains(&bytes, n))
            .map(|(c, e, _)| format!("{c} ({e})"))
            .collect();
        eprintln!(
            "leaks: gcore of `coffer exec{}` waiting for its child: {} MiB dump, canaries found: {found:?}",
            if mask { " --mask" } else { "" },
            bytes.len() >> 20
        );
        assert!(found.is_empty(), "the dump holds {found:?}");
    }
}
