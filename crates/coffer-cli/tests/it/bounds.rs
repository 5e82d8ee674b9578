//! Resource bounds: a vault of many credentials, a value at the 1 MiB limit,
//! one credential with a long history, a long audit trail. Every command
//! still works on them, and its peak resident memory (measured exactly,
//! from `wait4`) stays under the bound documented in `docs/RELIABILITY.md`.
//!
//! The big vaults are built through the core in a tmpfs (no fsync to wait
//! for), then used by the CLI there. Quick mode uses smaller sizes;
//! `COFFER_RELIABILITY=long` (or `COFFER_BOUNDS=full`) the full ones:
//! 100,000 credentials, 10,000 versions, 1,000,000 audit entries.

use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use coffer_core::audit::{Action, Event};
use coffer_core::crypto::KdfParams;
use coffer_core::{CreateOptions, Draft, Kind, Patch, SecretValue, Vault};
use serde_json::json;

use crate::harness::{long_mode, run_measured};
use crate::support::*;

fn full() -> bool {
    long_mode() || std::env::var("COFFER_BOUNDS").as_deref() == Ok("full")
}

/// A vault in a tmpfs when there is one (building big vaults is then not a
/// test of the disk's fsync), with a fast passphrase slot.
fn big_env() -> (Env, Vault, tempfile::TempDir) {
    let mut env = Env::new();
    env.no_dbus = true;
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("coffer-bounds-")
            .tempdir_in(shm)
            .expect("tmpfs dir")
    } else {
        tempfile::TempDir::new().expect("tempdir")
    };
    env.vault = dir.path().join("big.sqlite");
    let pw = SecretValue::from(PASSPHRASE);
    let vault = Vault::create(
        &env.vault,
        &CreateOptions {
            sealer: None,
            passphrase: Some(&pw),
            kdf: KdfParams::MIN,
        },
        Utc::now(),
    )
    .expect("create");
    (env, vault, dir)
}

fn key(name: &str, value: &str) -> Draft {
    let mut d = Draft::new(name, Kind::ApiKey);
    d.values.insert("key".into(), SecretValue::from(value));
    d.tags = vec!["bulk".into()];
    d
}

struct Measured {
    rows: Vec<(String, u64, f64)>,
}

impl Measured {
    /// Runs `coffer ARGS` and checks its exit code and its peak memory.
    fn run(
        &mut self,
        env: &Env,
        label: &str,
        args: &[&str],
        stdin: &str,
        code: i32,
        bound_mib: u64,
    ) -> Run {
        let file = env.passphrase_file.display().to_string();
        let mut all = vec!["--passphrase-file", file.as_str()];
        all.extend_from_slice(args);
        let t = Instant::now();
        let (run, peak_kib) = run_measured(&env.command(&all), stdin.as_bytes());
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(run.code, code, "{label}: {}", run.stderr);
        assert!(
            peak_kib <= bound_mib * 1024,
            "{label}: peak RSS {} MiB is over the documented bound of {bound_mib} MiB",
            peak_kib / 1024
        );
        self.rows.push((label.to_owned(), peak_kib, secs));
        run
    }

    fn print(&self, title: &str) {
        eprintln!("bounds: {title}");
        for (label, kib, secs) in &self.rows {
            eprintln!(
                "bounds:   {label:<44} peak {:>6.1} MiB  {secs:>6.2} s",
                *kib as f64 / 1024.0
            );
        }
    }
}

#[test]
fn a_vault_of_many_credentials() {
    let n = if full() { 100_000 } else { 20_000 };
    let (env, mut vault, _dir) = big_env();
    let t = Instant::now();
    for chunk in 0..(n / 10_000).max(1) {
        let drafts = (0..10_000.min(n))
            .map(|i| {
                let i = chunk * 10_000 + i;
                key(
                    &format!("bulk/team{}/c{i:06}", i % 50),
                    &format!("value-{i}"),
                )
            })
            .collect();
        vault.add_many(drafts, Utc::now()).expect("add_many");
    }
    vault.close().expect("close");
    let built = t.elapsed();
    let mut m = Measured { rows: Vec::new() };
    let last = format!("bulk/team{}/c{:06}", (n - 1) % 50, n - 1);
    let list = m.run(&env, "list --json", &["list", "--json"], "", 0, 1024);
    assert_eq!(list.json().as_array().map(Vec::len), Some(n));
    m.run(&env, "search", &["search", "team7 c0001"], "", 0, 1024);
    let got = m.run(
        &env,
        "get (last)",
        &["get", &last, "--field", "key"],
        "",
        0,
        512,
    );
    assert_eq!(got.stdout.trim(), format!("value-{}", n - 1));
    m.run(&env, "show", &["show", &last], "", 0, 512);
    m.run(
        &env,
        "add",
        &["add", "extra/one", "--kind", "api-key"],
        r#"{"key": "x"}"#,
        0,
        512,
    );
    m.run(&env, "edit", &["edit", &last], r#"{"key": "y"}"#, 0, 512);
    m.run(&env, "history", &["history", &last], "", 0, 512);
    m.run(&env, "rm", &["rm", "extra/one", "--yes"], "", 0, 512);
    m.run(&env, "status", &["status"], "", 0, 1024);
    m.run(&env, "audit verify", &["audit", "verify"], "", 0, 1024);
    let backup = env.vault.with_extension("cofferbak");
    let pw = env.passphrase_file.display().to_string();
    m.run(
        &env,
        "backup",
        &[
            "backup",
            &backup.display().to_string(),
            "--backup-passphrase-file",
            &pw,
        ],
        "",
        0,
        2048,
    );
    m.print(&format!(
        "{n} credentials (built through the core in {built:?})"
    ));
}

#[test]
fn a_value_at_the_1_mib_limit() {
    let env = crate::harness::fast_vault();
    let mut m = Measured { rows: Vec::new() };
    let limit = coffer_core::credential::MAX_VALUE_LEN;
    let big = "v".repeat(limit);
    m.run(
        &env,
        "add (1 MiB value)",
        &["add", "big", "--kind", "api-key"],
        &json!({ "key": big }).to_string(),
        0,
        256,
    );
    let over = "v".repeat(limit + 1);
    let refused = m.run(
        &env,
        "add (1 MiB + 1 byte: refused)",
        &["add", "bigger", "--kind", "api-key"],
        &json!({ "key": over }).to_string(),
        2,
        256,
    );
    assert!(
        refused.stderr.contains("too long")
            || refused.stderr.contains("limit")
            || refused.stderr.contains("at most"),
        "{}",
        refused.stderr
    );
    let got = m.run(
        &env,
        "get",
        &["get", "big", "--field", "key", "-n"],
        "",
        0,
        256,
    );
    assert_eq!(got.stdout.len(), limit);
    let mut other = big.clone();
    other.replace_range(0..1, "w");
    m.run(
        &env,
        "edit (another 1 MiB value)",
        &["edit", "big"],
        &json!({ "key": other }).to_string(),
        0,
        256,
    );
    m.run(&env, "history", &["history", "big", "--json"], "", 0, 256);
    m.run(
        &env,
        "rollback",
        &["rollback", "big", "--to", "1"],
        "",
        0,
        256,
    );
    m.run(&env, "env", &["env", "big"], "", 0, 256);
    // The kernel caps one environment string at 128 KiB: exec cannot hand
    // over a 1 MiB value, and says so.
    let exec = m.run(
        &env,
        "exec (refused by the kernel: E2BIG)",
        &["exec", "big", "--", "true"],
        "",
        2,
        256,
    );
    assert!(exec.stderr.contains("cannot run"), "{}", exec.stderr);
    let backup = env.dir.path().join("big.cofferbak");
    let pw = env.passphrase_file.display().to_string();
    m.run(
        &env,
        "backup",
        &[
            "backup",
            &backup.display().to_string(),
            "--backup-passphrase-file",
            &pw,
        ],
        "",
        0,
        256,
    );
    m.run(&env, "audit verify", &["audit", "verify"], "", 0, 256);
    m.print("a value at the 1 MiB limit");
}

#[test]
fn a_credential_with_a_long_history() {
    let versions = if full() { 10_000 } else { 2_000 };
    let (env, mut vault, _dir) = big_env();
    vault
        .add(key("long/history", "v1"), Utc::now())
        .expect("add");
    let t = Instant::now();
    for v in 2..=versions {
        let mut patch = Patch::default();
        patch
            .values
            .insert("key".into(), SecretValue::new(format!("v{v}")));
        vault
            .update("long/history", &patch, Utc::now())
            .expect("update");
    }
    vault.close().expect("close");
    let built = t.elapsed();
    let mut m = Measured { rows: Vec::new() };
    let history = m.run(
        &env,
        "history --json",
        &["history", "long/history", "--json"],
        "",
        0,
        512,
    );
    assert_eq!(history.json().as_array().map(Vec::len), Some(versions));
    let got = m.run(
        &env,
        "get",
        &["get", "long/history", "--field", "key"],
        "",
        0,
        256,
    );
    assert_eq!(got.stdout.trim(), format!("v{versions}"));
    m.run(
        &env,
        "edit",
        &["edit", "long/history"],
        r#"{"key": "next"}"#,
        0,
        256,
    );
    m.run(
        &env,
        "rollback --to 1",
        &["rollback", "long/history", "--to", "1"],
        "",
        0,
        512,
    );
    m.run(&env, "audit verify", &["audit", "verify"], "", 0, 512);
    let backup = env.vault.with_extension("cofferbak");
    let pw = env.passphrase_file.display().to_string();
    m.run(
        &env,
        "backup",
        &[
            "backup",
            &backup.display().to_string(),
            "--backup-passphrase-file",
            &pw,
        ],
        "",
        0,
        1024,
    );
    m.run(&env, "rm", &["rm", "long/history", "--yes"], "", 0, 256);
    m.print(&format!(
        "{versions} versions of one credential (built in {built:?})"
    ));
}

#[test]
fn a_long_audit_trail() {
    let entries = if full() { 1_000_000 } else { 100_000 };
    let (env, mut vault, _dir) = big_env();
    let c = vault.add(key("audited", "v"), Utc::now()).expect("add");
    let t = Instant::now();
    let batch = 20_000;
    let mut written = 2; // vault_create and create
    while written < entries {
        let n = batch.min(entries - written);
        let events: Vec<Event> = (0..n)
            .map(|i| {
                Event::new(if i % 10 == 0 {
                    Action::Exec
                } else {
                    Action::Reveal
                })
                .target(c.id, "audited")
                .details(json!({ "fields": ["key"], "version": 1 }))
            })
            .collect();
        vault.record_events(&events, Utc::now()).expect("record");
        written += n;
    }
    vault.close().expect("close");
    let built = t.elapsed();
    let mut m = Measured { rows: Vec::new() };
    let got = m.run(
        &env,
        "get",
        &["get", "audited", "--field", "key"],
        "",
        0,
        256,
    );
    assert_eq!(got.stdout.trim(), "v");
    m.run(
        &env,
        "edit",
        &["edit", "audited"],
        r#"{"key": "w"}"#,
        0,
        256,
    );
    let verified = m.run(
        &env,
        "audit verify",
        &["audit", "verify", "--json"],
        "",
        0,
        2048,
    );
    assert!(verified.json()["entries"].as_u64().expect("entries") >= entries as u64);
    m.run(
        &env,
        "audit --limit 20",
        &["audit", "--limit", "20"],
        "",
        0,
        2048,
    );
    m.run(
        &env,
        "audit --action update",
        &["audit", "--action", "update"],
        "",
        0,
        2048,
    );
    m.run(&env, "audit export", &["audit", "export"], "", 0, 4096);
    m.print(&format!(
        "{entries} audit entries (built through the core in {built:?})"
    ));
}
