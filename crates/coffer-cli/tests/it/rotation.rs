//! `coffer rotate`: the manual flow, the AWS IAM flow against a real
//! moto_server, a `kill -9` (abort) at every step boundary of both, abort,
//! and the bad cases.

use serde_json::{json, Value};

use crate::moto::*;
use crate::support::*;

const STEPS: [&str; 6] = [
    "prepare",
    "new_value",
    "verify",
    "promote",
    "push",
    "revoke",
];

fn add_db(env: &Env) {
    env.run_pw(
        &["add", "db/main", "--kind", "db-password"],
        r#"{"host": "db.internal", "user": "app", "password": "old-password-1"}"#,
    )
    .ok();
}

fn password(env: &Env) -> String {
    env.run_pw(&["get", "db/main", "--field", "password"], "")
        .ok()
        .stdout
        .trim_end()
        .to_owned()
}

fn rotation_actions(env: &Env) -> Vec<String> {
    let all = env
        .run_pw(&["audit", "--credential", "db/main", "--json"], "")
        .ok()
        .json();
    let mut steps: Vec<String> = all
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("rotation"))
        })
        .map(|e| {
            format!(
                "{}:{}",
                e["action"].as_str().unwrap_or(""),
                e["details"]["step"].as_str().unwrap_or("")
            )
        })
        .collect();
    steps.reverse();
    steps
}

#[test]
fn a_manual_rotation_runs_every_step_and_is_audited() {
    let env = Env::passphrase_vault();
    add_db(&env);
    let run = env
        .run_pw(
            &[
                "rotate",
                "db/main",
                "--generate",
                "--length",
                "40",
                "--grace",
                "0",
                "--confirm-manual-steps",
            ],
            "",
        )
        .ok();
    assert!(
        run.stdout.contains("done: version 2 is current"),
        "{}",
        run.stdout
    );
    let new = password(&env);
    assert_eq!(new.len(), 40);
    assert_ne!(new, "old-password-1");
    let history = env
        .run_pw(&["history", "db/main", "--json"], "")
        .ok()
        .json();
    assert_eq!(history[1]["changes"], json!(["rotated", "field password"]));
    let status = env.run_pw(&["status", "--json"], "").ok().json();
    assert_eq!(status[0]["basis"], json!("rotated"));
    assert_eq!(
        rotation_actions(&env),
        vec![
            "rotation_step:prepare",
            "rotation_start:",
            "rotation_step:new_value",
            "rotation_step:verify",
            "rotation_step:promote",
            "rotation_step:push",
            "rotation_step:revoke",
            "rotation_step:done",
        ]
    );
    env.run_pw(&["audit", "verify"], "").ok();
}

#[test]
fn a_manual_rotation_waits_for_answers_and_resumes() {
    let env = Env::passphrase_vault();
    add_db(&env);
    // No terminal and no answer: it stops at verify, with the new value pending.
    let run = env
        .run_pw(&["rotate", "db/main", "--generate", "--grace", "1h"], "")
        .code(3);
    assert!(run.stdout.contains("waits at verify"), "{}", run.stdout);
    assert_eq!(password(&env), "old-password-1", "nothing promoted yet");
    // --yes does not vouch for work done at the provider: it still waits,
    // and says what would answer.
    let run = env.run_pw(&["rotate", "db/main", "--yes"], "").code(3);
    assert!(run.stdout.contains("waits at verify"), "{}", run.stdout);
    assert!(
        run.stderr.contains("--confirm-manual-steps"),
        "{}",
        run.stderr
    );
    assert_eq!(password(&env), "old-password-1", "--yes promoted nothing");
    // The flag that names the manual steps promotes and then waits for the
    // grace period; the audit entry says who answered.
    let run = env
        .run_pw(&["rotate", "db/main", "--confirm-manual-steps"], "")
        .ok();
    assert!(run.stdout.contains("stays valid until"), "{}", run.stdout);
    let trail = env
        .run_pw(&["audit", "--credential", "db/main", "--json"], "")
        .ok()
        .json();
    let answered: Vec<&str> = trail
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["details"]["answered_by"].as_str())
        .collect();
    assert_eq!(
        answered,
        vec!["the caller, by --confirm-manual-steps (not checked by Coffer)"],
        "{trail}"
    );
    assert_ne!(password(&env), "old-password-1");
    // Abort after promotion rolls the value back.
    env.run_pw(&["rotate", "db/main", "--abort"], "").ok();
    assert_eq!(password(&env), "old-password-1");
    env.run_pw(&["rotate", "db/main", "--abort"], "").code(2);
}

#[test]
fn a_manual_rotation_survives_a_kill_at_every_step_boundary() {
    for step in STEPS {
        let mut env = Env::passphrase_vault();
        add_db(&env);
        env.extra_env
            .push(("COFFER_FAULT_AFTER_STEP".into(), step.into()));
        let killed = env.run_pw(
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
        assert!(killed.code != 0, "{step}: the process was killed");
        env.extra_env.clear();
        let running = env.run_pw(&["status", "--json"], "").ok().json()[0]["rotation"].clone();
        if step == "revoke" {
            // Killed after the last step was saved: the run is complete.
            assert_eq!(running, Value::Null, "{step}");
        } else {
            assert!(
                running["step"].is_string(),
                "{step}: the run is still there to resume"
            );
            let resumed = env.run_pw(
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
            assert_eq!(resumed.code, 0, "{step}: {}", resumed.stderr);
        }
        let shown = env.run_pw(&["show", "db/main", "--json"], "").ok().json();
        assert_eq!(
            shown["version"],
            json!(2),
            "{step}: exactly one new version"
        );
        assert_ne!(password(&env), "old-password-1", "{step}");
        env.run_pw(&["audit", "verify"], "").ok();
        let again = env
            .run_pw(
                &[
                    "rotate",
                    "db/main",
                    "--generate",
                    "--grace",
                    "0",
                    "--confirm-manual-steps",
                ],
                "",
            )
            .ok();
        assert!(
            again.stdout.contains("version 3"),
            "{step}: a new rotation starts after a finished one"
        );
    }
}

#[test]
fn bad_rotation_requests_are_refused() {
    let env = Env::passphrase_vault();
    env.run_pw(&["add", "api/x", "--kind", "api-key"], r#"{"key": "k"}"#)
        .ok();
    let r = env.run_pw(&["rotate", "api/x", "--automate"], "").code(2);
    assert!(
        r.stderr.contains("has no automated rotation"),
        "{}",
        r.stderr
    );
    let r = env
        .run_pw(&["rotate", "api/x", "--grace", "soon"], "")
        .code(2);
    assert!(r.stderr.contains("invalid --grace"), "{}", r.stderr);
    env.run_pw(
        &["add", "ssh/x", "--kind", "ssh-key"],
        r#"{"private_key": "k"}"#,
    )
    .ok();
    let r = env.run_pw(&["rotate", "ssh/x", "--generate"], "").code(2);
    assert!(
        r.stderr.contains("does not choose the value"),
        "{}",
        r.stderr
    );
    // A running manual rotation cannot be switched to the automated flow.
    env.run_pw(&["rotate", "api/x"], "").code(3);
    let r = env.run_pw(&["rotate", "api/x", "--automate"], "").code(2);
    assert!(r.stderr.contains("started as a manual one"), "{}", r.stderr);
    env.run_pw(&["rotate", "nope"], "").code(4);
}

// ---- AWS IAM against moto_server ----

fn moto() -> Option<String> {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("COFFER_TEST_MOTO").as_deref() != Ok("1"),
                "COFFER_TEST_MOTO=1 needs MOTO_ENDPOINT"
            );
            None
        }
    }
}

fn aws_env(endpoint: &str) -> Env {
    let mut env = Env::passphrase_vault();
    env.extra_env
        .push(("AWS_ENDPOINT_URL".into(), endpoint.into()));
    env.extra_env
        .push(("AWS_REGION".into(), "us-east-1".into()));
    env
}

fn set_endpoint(env: &mut Env, url: &str) {
    env.extra_env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.extra_env.push(("AWS_ENDPOINT_URL".into(), url.into()));
}

fn add_aws(env: &Env, key_id: &str, secret: &str) -> Run {
    let field = format!("access_key_id={key_id}");
    // Asking IAM for the key's age is what --rotated-at would otherwise say.
    let file = env.passphrase_file.display().to_string();
    let mut cmd = env.command(&[
        "--passphrase-file",
        &file,
        "add",
        "aws/deploy",
        "--kind",
        "aws-access-key",
        "--field",
        &field,
    ]);
    cmd.env_remove("COFFER_OFFLINE");
    let mut child = cmd.spawn().expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!(r#"{{"secret_access_key": "{secret}"}}"#).as_bytes())
            .expect("stdin");
    }
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
    .ok()
}

fn current_key(env: &Env) -> (String, String) {
    let all = env.run_pw(&["get", "aws/deploy"], "").ok().json();
    (
        all["access_key_id"].as_str().expect("id").to_owned(),
        all["secret_access_key"]
            .as_str()
            .expect("secret")
            .to_owned(),
    )
}

#[test]
fn an_aws_key_rotates_end_to_end_on_iam() {
    let Some(endpoint) = moto() else {
        return skip(
            "an_aws_key_rotates_end_to_end_on_iam",
            "MOTO_ENDPOINT is not set",
        );
    };
    let (user, old_id, old_secret) = iam_user(&endpoint, "e2e");
    let env = aws_env(&endpoint);
    add_aws(&env, &old_id, &old_secret);
    let status = env.run_pw(&["status", "--json"], "").ok().json();
    assert_eq!(
        status[0]["basis"],
        json!("rotated"),
        "the key's IAM CreateDate was recorded"
    );

    // With a grace period: promoted, old key Inactive but still there.
    let run = env
        .run_pw(&["rotate", "aws/deploy", "--grace", "1h"], "")
        .ok();
    assert!(run.stdout.contains("stays valid until"), "{}", run.stdout);
    let (new_id, new_secret) = current_key(&env);
    assert_ne!(new_id, old_id);
    let mut listed = keys(&endpoint, &user);
    listed.sort();
    let mut expected = vec![(old_id.clone(), false), (new_id.clone(), true)];
    expected.sort();
    assert_eq!(listed, expected, "old key inactive, new key active");
    assert!(caller(&endpoint, &new_id, &new_secret).ends_with(&format!(":user/{user}")));
    let waiting = env.run_pw(&["status"], "").stdout;
    assert!(
        waiting.contains("Rotations running:\n  aws/deploy: revoke the old value after"),
        "{waiting}"
    );
    let json = env.run_pw(&["status", "--json"], "").json();
    assert_eq!(json[0]["rotation"]["step"], json!("revoke"));

    // Abort now: the old key is active and current again, the new one gone.
    env.run_pw(&["rotate", "aws/deploy", "--abort"], "").ok();
    assert_eq!(current_key(&env).0, old_id);
    assert_eq!(keys(&endpoint, &user), vec![(old_id.clone(), true)]);

    // A full run with no grace: the old key is deleted on IAM.
    env.run_pw(&["rotate", "aws/deploy", "--grace", "0"], "")
        .ok();
    let (new_id, new_secret) = current_key(&env);
    assert_eq!(keys(&endpoint, &user), vec![(new_id.clone(), true)]);
    assert!(caller(&endpoint, &new_id, &new_secret).ends_with(&format!(":user/{user}")));
    assert!(
        !caller(&endpoint, &old_id, &old_secret).ends_with(&format!(":user/{user}")),
        "the old key is dead"
    );
    let history = env
        .run_pw(&["history", "aws/deploy", "--json"], "")
        .ok()
        .json();
    assert!(
        history.as_array().expect("array").len() >= 3,
        "the old key is kept in history"
    );
    let steps: Vec<Value> = env
        .run_pw(
            &[
                "audit",
                "--credential",
                "aws/deploy",
                "--action",
                "rotation_step",
                "--json",
            ],
            "",
        )
        .ok()
        .json()
        .as_array()
        .expect("array")
        .clone();
    assert!(
        steps
            .iter()
            .any(|e| e["details"]["step"] == json!("done")
                && e["details"]["flow"] == json!("aws_iam"))
    );
    env.run_pw(&["audit", "verify"], "").ok();
}

#[test]
fn an_aws_rotation_survives_a_kill_at_every_step_boundary() {
    let Some(endpoint) = moto() else {
        return skip("an_aws_rotation_survives_…", "MOTO_ENDPOINT is not set");
    };
    for step in STEPS {
        let (user, old_id, old_secret) = iam_user(&endpoint, step);
        let mut env = aws_env(&endpoint);
        add_aws(&env, &old_id, &old_secret);
        env.extra_env
            .push(("COFFER_FAULT_AFTER_STEP".into(), step.into()));
        let killed = env.run_pw(&["rotate", "aws/deploy", "--grace", "0"], "");
        assert!(killed.code != 0, "{step}: killed");
        env.extra_env
            .retain(|(k, _)| k != "COFFER_FAULT_AFTER_STEP");
        let resumed = env.run_pw(&["rotate", "aws/deploy", "--grace", "0"], "");
        assert_eq!(resumed.code, 0, "{step}: {}", resumed.stderr);
        let (new_id, new_secret) = current_key(&env);
        assert_ne!(new_id, old_id, "{step}");
        assert_eq!(
            keys(&endpoint, &user),
            vec![(new_id.clone(), true)],
            "{step}: exactly the stored key remains"
        );
        assert!(
            caller(&endpoint, &new_id, &new_secret).ends_with(&format!(":user/{user}")),
            "{step}"
        );
    }
}

#[test]
fn aws_rotation_bad_cases_are_clear() {
    let Some(endpoint) = moto() else {
        return skip(
            "aws_rotation_bad_cases_are_clear",
            "MOTO_ENDPOINT is not set",
        );
    };
    let (user, old_id, old_secret) = iam_user(&endpoint, "two");
    let mut env = aws_env(&endpoint);
    add_aws(&env, &old_id, &old_secret);
    // A second key already on the user.
    let other = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&conf(&endpoint, "testing", "testing").await);
        let k = iam
            .create_access_key()
            .user_name(&user)
            .send()
            .await
            .expect("key");
        let id = k.access_key().expect("key").access_key_id().to_owned();
        iam.update_access_key()
            .user_name(&user)
            .access_key_id(&id)
            .status(aws_sdk_iam::types::StatusType::Inactive)
            .send()
            .await
            .expect("deactivate");
        id
    });
    let r = env
        .run_pw(&["rotate", "aws/deploy", "--grace", "0"], "")
        .code(2);
    assert!(
        r.stderr.contains("already has two access keys") && r.stderr.contains("--delete-inactive"),
        "{}",
        r.stderr
    );
    env.run_pw(&["rotate", "aws/deploy", "--abort"], "").ok();
    env.run_pw(
        &["rotate", "aws/deploy", "--grace", "0", "--delete-inactive"],
        "",
    )
    .ok();
    assert!(!keys(&endpoint, &user).iter().any(|(id, _)| *id == other));

    // The network down mid-flow: a clear error, the run waits, a rerun completes.
    set_endpoint(&mut env, "http://127.0.0.1:9");
    let r = env
        .run_pw(&["rotate", "aws/deploy", "--grace", "0"], "")
        .code(1);
    assert!(
        r.stderr.contains("failed") && r.stderr.contains("endpoint"),
        "{}",
        r.stderr
    );
    set_endpoint(&mut env, &endpoint);
    env.run_pw(&["rotate", "aws/deploy", "--grace", "0"], "")
        .ok();
    let (new_id, _) = current_key(&env);
    assert_eq!(keys(&endpoint, &user), vec![(new_id, true)]);
}

#[test]
fn an_admin_credential_can_make_the_iam_calls() {
    let Some(endpoint) = moto() else {
        return skip(
            "an_admin_credential_can_make_the_iam_calls",
            "MOTO_ENDPOINT is not set",
        );
    };
    let (user, old_id, old_secret) = iam_user(&endpoint, "target");
    let (_, admin_id, admin_secret) = iam_user(&endpoint, "admin");
    let env = aws_env(&endpoint);
    add_aws(&env, &old_id, &old_secret);
    let field = format!("access_key_id={admin_id}");
    env.run_pw(
        &[
            "add",
            "aws/admin",
            "--kind",
            "aws-access-key",
            "--rotated-at",
            "2026-01-01",
            "--field",
            &field,
        ],
        &format!(r#"{{"secret_access_key": "{admin_secret}"}}"#),
    )
    .ok();
    env.run_pw(
        &["add", "api/not-aws", "--kind", "api-key"],
        r#"{"key": "k"}"#,
    )
    .ok();
    let r = env
        .run_pw(
            &[
                "rotate",
                "aws/deploy",
                "--grace",
                "0",
                "--admin",
                "api/not-aws",
            ],
            "",
        )
        .code(2);
    assert!(r.stderr.contains("not an aws-access-key"), "{}", r.stderr);
    env.run_pw(&["rotate", "aws/deploy", "--abort"], "").ok();
    env.run_pw(
        &[
            "rotate",
            "aws/deploy",
            "--grace",
            "0",
            "--admin",
            "aws/admin",
        ],
        "",
    )
    .ok();
    let (new_id, _) = current_key(&env);
    assert_eq!(keys(&endpoint, &user), vec![(new_id, true)]);
    let steps = env
        .run_pw(
            &[
                "audit",
                "--credential",
                "aws/admin",
                "--action",
                "reveal",
                "--json",
            ],
            "",
        )
        .ok()
        .json();
    assert!(
        !steps.as_array().expect("array").is_empty(),
        "the admin key's use is audited"
    );
}

#[test]
fn a_running_rotation_survives_a_rekey() {
    let env = Env::passphrase_vault();
    add_db(&env);
    env.run_pw(&["rotate", "db/main", "--generate", "--grace", "1h"], "")
        .code(3);
    env.run_pw(&["rekey"], "").ok();
    // The saved step and the pending value still open under the new key.
    let run = env
        .run_pw(&["rotate", "db/main", "--confirm-manual-steps"], "")
        .ok();
    assert!(run.stdout.contains("stays valid until"), "{}", run.stdout);
    assert_ne!(password(&env), "old-password-1");
}
