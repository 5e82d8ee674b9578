//! The audit trail through the CLI: the exact events a scripted session
//! produces, no secret in any view of it, verification, and an access that
//! cannot be audited not happening.

use serde_json::{json, Value};

use crate::support::*;

const CANARY: &str = "canary-audit-Vb6m2Qx9";

fn summary(entries: &Value) -> Vec<(String, Option<String>, String)> {
    entries
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["target"].as_str().map(str::to_owned),
                e["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_scripted_session_produces_exactly_the_expected_events() {
    // Counts each command's unlock entry, and a wrong passphrase: without an agent.
    let env = Env::passphrase_vault().without_agent();
    env.run_pw(
        &["add", "svc/a", "--kind", "api-key"],
        &format!(r#"{{"key": "{CANARY}"}}"#),
    )
    .ok();
    env.run_pw(&["get", "svc/a", "--field", "key"], "").ok();
    env.run_pw(&["get", "svc/a"], "").ok();
    env.run_pw(&["edit", "svc/a", "--tag", "x"], "").ok();
    env.run_pw(&["rollback", "svc/a", "--to", "1"], "").ok();
    env.run_pw(&["list"], "").ok();
    env.run_pw(&["rm", "svc/a"], "").ok();
    std::fs::write(&env.passphrase_file, "wrong\n").expect("write");
    env.run_pw(&["list"], "").code(5);
    std::fs::write(&env.passphrase_file, format!("{PASSPHRASE}\n")).expect("write");
    let noted = env.run_pw(&["list"], "").ok();
    assert!(
        noted.stderr.contains("1 failed unlock attempt since"),
        "{}",
        noted.stderr
    );

    let export = env
        .run_pw(&["audit", "export", "--format", "jsonl"], "")
        .ok();
    let entries: Vec<Value> = export
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    let a = Some("svc/a".to_owned());
    let ok = |s: &str, t: Option<String>| (s.to_owned(), t, "ok".to_owned());
    assert_eq!(
        summary(&Value::Array(entries.clone())),
        vec![
            ok("vault_create", None),
            ok("unlock", None),
            ok("create", a.clone()),
            ok("unlock", None),
            ok("reveal", a.clone()),
            ok("unlock", None),
            ok("reveal", a.clone()),
            ok("unlock", None),
            ok("update", a.clone()),
            ok("unlock", None),
            ok("rollback", a.clone()),
            ok("unlock", None),
            ok("unlock", None),
            ok("trash", a.clone()),
            ("unlock_failed".into(), None, "denied".into()),
            ok("unlock", None),
            ok("unlock", None),
        ]
    );
    let seqs: Vec<u64> = entries
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=entries.len() as u64).collect::<Vec<_>>());
    assert_eq!(entries[4]["details"]["fields"], json!(["key"]));
    assert_eq!(entries[0]["actor"]["interface"], json!("core"));
    assert_eq!(entries[2]["actor"]["interface"], json!("cli"));
    assert_eq!(entries[14]["details"]["reason"], json!("wrong passphrase"));

    // Filters, newest first.
    let reveals = env
        .run_pw(
            &[
                "audit",
                "--credential",
                "svc/a",
                "--action",
                "reveal",
                "--json",
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(reveals.as_array().expect("array").len(), 2);
    assert!(reveals[0]["seq"].as_u64() > reveals[1]["seq"].as_u64());
    let last = env
        .run_pw(&["audit", "--limit", "1", "--json"], "")
        .ok()
        .json();
    assert_eq!(last.as_array().expect("array").len(), 1);
    let table = env.run_pw(&["audit"], "").ok();
    assert!(table.stdout.starts_with("   SEQ"), "{}", table.stdout);
    env.run_pw(&["audit", "--action", "peek"], "").code(2);

    let verified = env.run_pw(&["audit", "verify", "--json"], "").ok().json();
    assert_eq!(verified["ok"], json!(true));

    // No canary in the database, the export, the table or the anchor.
    for file in files_below(env.dir.path()) {
        assert_no_canary(
            &file.display().to_string(),
            &std::fs::read(&file).expect("read"),
            &[CANARY, "svc/a"],
        );
    }
    assert_no_canary("the export", export.stdout.as_bytes(), &[CANARY]);
    assert_no_canary("the table", table.stdout.as_bytes(), &[CANARY]);
}

#[test]
fn verify_names_the_first_bad_entry() {
    // Counts each command's unlock entry: without an agent.
    let env = Env::passphrase_vault().without_agent();
    for name in ["a", "b", "c"] {
        env.run_pw(&["add", name, "--kind", "api-key"], r#"{"key": "k"}"#)
            .ok();
    }
    let ok = env.run_pw(&["audit", "verify"], "").ok();
    assert!(
        ok.stdout
            .contains("verified 8 audit entries: the chain is intact"),
        "{}",
        ok.stdout
    );

    env.sql()
        .execute("UPDATE audit SET at = at + 1000 WHERE seq = 3", [])
        .expect("tamper");
    let bad = env.run_pw(&["audit", "verify", "--json"], "").code(6);
    assert_eq!(bad.json()["seq"], json!(3));
    assert_eq!(bad.json()["problem"], json!("modified"));
    assert!(
        bad.stderr.contains("audit entry 3 was modified"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_cut_off_tail_is_detected_through_the_anchor() {
    let env = Env::passphrase_vault();
    for name in ["a", "b"] {
        env.run_pw(&["add", name, "--kind", "api-key"], r#"{"key": "k"}"#)
            .ok();
    }
    let head: i64 = env
        .sql()
        .query_row("SELECT MAX(seq) FROM audit", [], |r| r.get(0))
        .expect("head");
    env.sql()
        .execute("DELETE FROM audit WHERE seq >= ?1", [head - 1])
        .expect("truncate");
    let bad = env.run_pw(&["audit", "verify"], "").code(6);
    assert!(bad.stderr.contains("truncated"), "{}", bad.stderr);
}

#[test]
fn an_access_that_cannot_be_audited_prints_no_secret() {
    let env = Env::passphrase_vault();
    env.run_pw(
        &["add", "a", "--kind", "api-key"],
        &format!(r#"{{"key": "{CANARY}"}}"#),
    )
    .ok();
    env.sql()
        .execute_batch("CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;")
        .expect("trigger");
    // The planted trigger is itself refused at open (issue 16); the core's
    // unit test `a_failing_audit_write_reveals_nothing` plants one after
    // open, where the write fails with "cannot write the audit trail".
    let run = env.run_pw(&["get", "a", "--field", "key"], "").code(6);
    assert!(run.stdout.is_empty(), "no secret printed: {}", run.stdout);
    assert!(run.stderr.contains("trigger 'no_audit'"), "{}", run.stderr);
    assert!(!run.stderr.contains(CANARY));
    // Non-root: a read-only vault file fails the same way.
    if rustix::process::getuid().as_raw() != 0 {
        env.sql()
            .execute_batch("DROP TRIGGER no_audit")
            .expect("drop");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&env.vault, std::fs::Permissions::from_mode(0o400))
            .expect("chmod");
        let run = env.run_pw(&["get", "a", "--field", "key"], "");
        assert_ne!(run.code, 0);
        assert!(run.stdout.is_empty());
    }
}
