//! Concurrency, bounded in time: several CLI processes at once write the same
//! vault (each its own credential, all of them one shared credential, some
//! with `--if-version`), while others read. Every acknowledged write is
//! counted: the shared credential's version is one plus the number of
//! acknowledged edits (no lost update), each writer's own credential ends at
//! its last acknowledged value, no command fails with "database is locked"
//! or any other error it should not have, and the audit trail verifies.
//!
//! Quick mode: 25 s with 4 writers and 1 reader. `COFFER_RELIABILITY=long`
//! or `COFFER_STRESS_SECS=60` (and `COFFER_STRESS_WRITERS`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{fast_vault, knob};

#[derive(Default)]
struct Counts {
    shared_edits: AtomicU64,
    own_edits: AtomicU64,
    stale_refused: AtomicU64,
    reads: AtomicU64,
    commands: AtomicU64,
}

#[test]
fn several_cli_processes_writing_one_vault_lose_no_update() {
    let secs = knob("COFFER_STRESS_SECS", 25, 60);
    let writers = knob("COFFER_STRESS_WRITERS", 4, 6) as usize;
    let env = Arc::new(fast_vault());
    env.run_pw(&["add", "shared", "--kind", "api-key"], r#"{"key": "s0"}"#)
        .ok();
    for w in 0..writers {
        env.run_pw(
            &["add", &format!("own/w{w}"), "--kind", "api-key"],
            r#"{"key": "start"}"#,
        )
        .ok();
    }
    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut threads = Vec::new();
    for w in 0..writers {
        let (env, counts) = (env.clone(), counts.clone());
        threads.push(std::thread::spawn(move || {
            let own = format!("own/w{w}");
            let mut last = "start".to_owned();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let run = match n % 4 {
                    0 | 1 => {
                        let note = format!("w{w}-{n}");
                        let r = env.run_pw(&["edit", "shared", "--note", &note], "");
                        if r.code == 0 {
                            counts.shared_edits.fetch_add(1, Ordering::SeqCst);
                        }
                        r
                    }
                    2 => {
                        let value = format!("w{w}-v{n}");
                        let r = env.run_pw(&["edit", &own], &json!({ "key": value }).to_string());
                        if r.code == 0 {
                            counts.own_edits.fetch_add(1, Ordering::SeqCst);
                            last = value;
                        }
                        r
                    }
                    _ => {
                        // Read the version, then edit against it: another
                        // writer may have moved on (exit 3), never lost.
                        let shown = env.run_pw(&["show", "shared", "--json"], "");
                        counts.commands.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(shown.code, 0, "{}", shown.stderr);
                        let version = shown.json()["version"].as_u64().expect("version");
                        let note = format!("w{w}-checked-{n}");
                        let r = env.run_pw(
                            &[
                                "edit",
                                "shared",
                                "--if-version",
                                &version.to_string(),
                                "--note",
                                &note,
                            ],
                            "",
                        );
                        match r.code {
                            0 => {
                                counts.shared_edits.fetch_add(1, Ordering::SeqCst);
                            }
                            3 => {
                                assert!(r.stderr.contains("changed since version"), "{}", r.stderr);
                                counts.stale_refused.fetch_add(1, Ordering::SeqCst);
                                counts.commands.fetch_add(1, Ordering::SeqCst);
                                continue;
                            }
                            _ => {}
                        }
                        r
                    }
                };
                counts.commands.fetch_add(1, Ordering::SeqCst);
                assert!(
                    !run.stderr.contains("database is locked") && !run.stderr.contains("busy"),
                    "writer {w}: {}",
                    run.stderr
                );
                assert_eq!(run.code, 0, "writer {w}: {}", run.stderr);
            }
            (own, last)
        }));
    }
    let reader = {
        let (env, counts) = (env.clone(), counts.clone());
        std::thread::spawn(move || {
            while Instant::now() < deadline {
                let r = env.run_pw(&["get", "shared", "--field", "key"], "");
                assert_eq!(r.code, 0, "reader: {}", r.stderr);
                let r = env.run_pw(&["list", "--json"], "");
                assert_eq!(r.code, 0, "reader: {}", r.stderr);
                counts.reads.fetch_add(2, Ordering::SeqCst);
                counts.commands.fetch_add(2, Ordering::SeqCst);
            }
        })
    };
    let finals: Vec<(String, String)> = threads
        .into_iter()
        .map(|t| t.join().expect("writer"))
        .collect();
    reader.join().expect("reader");
    let shared = env.run_pw(&["show", "shared", "--json"], "").ok().json();
    let edits = counts.shared_edits.load(Ordering::SeqCst);
    assert_eq!(
        shared["version"].as_u64(),
        Some(1 + edits),
        "every acknowledged edit of the shared credential is a version"
    );
    let history = env.run_pw(&["history", "shared", "--json"], "").ok().json();
    assert_eq!(history.as_array().map(Vec::len), Some(1 + edits as usize));
    for (own, last) in &finals {
        let got = env.run_pw(&["get", own, "--field", "key"], "").ok();
        assert_eq!(got.stdout.trim(), last, "{own}");
    }
    let verified = env.run_pw(&["audit", "verify", "--json"], "").ok().json();
    assert_eq!(verified["ok"], true);
    eprintln!(
        "stress: {secs} s, {writers} writers + 1 reader: {} commands, {edits} shared edits (version {}), {} own edits, {} stale edits refused (exit 3), {} reads, {} audit entries verified; no lost update, no lock error",
        counts.commands.load(Ordering::SeqCst),
        shared["version"],
        counts.own_edits.load(Ordering::SeqCst),
        counts.stale_refused.load(Ordering::SeqCst),
        counts.reads.load(Ordering::SeqCst),
        verified["entries"]
    );
}
