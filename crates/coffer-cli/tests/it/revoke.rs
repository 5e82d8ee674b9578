//! `coffer revoke-all`: a dry run first, then keys revoked at their
//! providers (IAM on moto_server, a token on OpenBao), every credential
//! marked compromised, audited, and shown first by `coffer status`.

use serde_json::json;

use crate::moto::*;
use crate::support::*;

#[test]
fn revoke_all_marks_compromised_after_a_dry_run() {
    let env = Env::passphrase_vault();
    env.run_pw(
        &["add", "api/a", "--kind", "api-key", "--tag", "laptop"],
        r#"{"key": "k1"}"#,
    )
    .ok();
    env.run_pw(
        &["add", "db/b", "--kind", "db-password", "--tag", "laptop"],
        r#"{"host": "h", "user": "u", "password": "p"}"#,
    )
    .ok();
    env.run_pw(
        &["add", "api/other", "--kind", "api-key"],
        r#"{"key": "k2"}"#,
    )
    .ok();
    let dry = env
        .run_pw(&["revoke-all", "--tag", "laptop", "--dry-run"], "")
        .ok();
    assert!(
        dry.stdout.contains("Would revoke 2 credentials"),
        "{}",
        dry.stdout
    );
    let unasked = env.run_pw(&["revoke-all", "--tag", "laptop"], "").code(3);
    assert!(unasked.stdout.contains("add --yes"), "{}", unasked.stdout);
    assert_eq!(env.run_pw(&["status"], "").code, 0, "nothing changed yet");

    let done = env
        .run_pw(&["revoke-all", "--tag", "laptop", "--yes", "--json"], "")
        .ok()
        .json();
    assert_eq!(done.as_array().expect("array").len(), 2);
    let status = env.run_pw(&["status", "--json"], "").code(3).json();
    let states: Vec<(&str, &str)> = status
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // Compromised first; among them the sooner due (30-day db password) first.
    assert_eq!(
        states,
        vec![
            ("db/b", "compromised"),
            ("api/a", "compromised"),
            ("api/other", "ok")
        ]
    );
    let audit = env
        .run_pw(&["audit", "--action", "emergency_revoke", "--json"], "")
        .ok()
        .json();
    assert_eq!(audit.as_array().expect("array").len(), 2);
    // Rotating a compromised credential clears the mark.
    env.run_pw(
        &[
            "rotate",
            "db/b",
            "--generate",
            "--grace",
            "0",
            "--confirm-manual-steps",
        ],
        "",
    )
    .ok();
    let status = env
        .run_pw(&["status", "--json", "--tag", "laptop"], "")
        .code(3)
        .json();
    assert_eq!(status[1]["name"], json!("db/b"));
    assert_eq!(status[1]["state"], json!("ok"));
    env.run_pw(&["revoke-all", "--tag", "nothing-here", "--yes"], "")
        .code(4);
    env.run_pw(&["revoke-all", "--yes"], "").code(2);
}

#[test]
fn revoke_all_revokes_aws_keys_and_vault_tokens_at_their_providers() {
    let (Ok(moto), Ok(bao)) = (std::env::var("MOTO_ENDPOINT"), std::env::var("BAO_ADDR")) else {
        assert!(
            std::env::var("COFFER_TEST_MOTO").as_deref() != Ok("1")
                && std::env::var("COFFER_TEST_BAO").as_deref() != Ok("1"),
            "the full test run provides MOTO_ENDPOINT and BAO_ADDR"
        );
        return skip(
            "revoke_all_revokes_…",
            "MOTO_ENDPOINT or BAO_ADDR is not set",
        );
    };
    // An IAM user with a key, on moto.
    let (user, key_id, secret) = iam_user(&moto, "revoke");
    // A child token, on OpenBao.
    let root = vaultrs::client::VaultClient::new(
        vaultrs::client::VaultClientSettingsBuilder::default()
            .address(&bao)
            .token(std::env::var("BAO_ROOT_TOKEN").unwrap_or_else(|_| "root".into()))
            .build()
            .expect("settings"),
    )
    .expect("client");
    let token = rt()
        .block_on(vaultrs::token::new(&root, None))
        .expect("token")
        .client_token;

    let mut env = Env::passphrase_vault();
    env.extra_env
        .push(("AWS_ENDPOINT_URL".into(), moto.clone()));
    env.extra_env
        .push(("AWS_REGION".into(), "us-east-1".into()));
    // Online from the start: an agent serving the vault keeps the
    // environment it was started with.
    env.extra_env.push(("COFFER_OFFLINE".into(), "0".into()));
    let field = format!("access_key_id={key_id}");
    env.run_pw(
        &[
            "add",
            "aws/ci",
            "--kind",
            "aws-access-key",
            "--env",
            "ci",
            "--field",
            &field,
        ],
        &format!(r#"{{"secret_access_key": "{secret}"}}"#),
    )
    .ok();
    let addr = format!("addr={bao}");
    env.run_pw(
        &[
            "add",
            "vault/ci",
            "--kind",
            "vault-token",
            "--env",
            "ci",
            "--field",
            &addr,
        ],
        &format!(r#"{{"token": "{token}"}}"#),
    )
    .ok();

    // Two roles assumed with the key: one picked by the revoke itself, one
    // reached only through the key; and a session kept for the first.
    let (ci_role, ci_role_arn) = iam_role(&moto, "revoke-ci");
    let (other_role, other_role_arn) = iam_role(&moto, "revoke-other");
    for (name, arn, env_name) in [
        ("aws/ci-role", &ci_role_arn, "ci"),
        ("aws/other-role", &other_role_arn, "dev"),
    ] {
        let arn = format!("role_arn={arn}");
        env.run_pw(
            &[
                "add",
                name,
                "--kind",
                "aws-role",
                "--env",
                env_name,
                "--field",
                &arn,
                "--field",
                "source=aws/ci",
            ],
            "",
        )
        .ok();
    }
    let kept: serde_json::Value = serde_json::from_str(
        &env.run_pw(&["aws", "credential-process", "aws/ci-role"], "")
            .ok()
            .stdout,
    )
    .expect("credential_process JSON");

    let dry = env
        .run_pw(&["revoke-all", "--env", "ci", "--dry-run"], "")
        .ok();
    assert!(
        dry.stdout.contains("PutRolePolicy on its role"),
        "the dry run says what a role gets: {}",
        dry.stdout
    );
    let done = env.run_pw(&["revoke-all", "--env", "ci", "--yes"], "").ok();
    assert!(
        done.stdout.contains("revoked  aws/ci") && done.stdout.contains("revoked  vault/ci"),
        "{}",
        done.stdout
    );

    assert_eq!(
        keys(&moto, &user),
        vec![(key_id.clone(), false)],
        "the key is Inactive on IAM"
    );
    // Sessions already issued from the key are denied by a policy on its
    // user: everything, for tokens issued before the revoke.
    let policy = user_policy(&moto, &user, "coffer-revoke-older-sessions")
        .expect("the deny policy is on the user");
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Effect"], "Deny", "{policy}");
    assert_eq!(statement["Action"], "*", "{policy}");
    let before = statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .expect("a time");
    let before = chrono::DateTime::parse_from_rfc3339(before).expect("RFC 3339");
    let age = chrono::Utc::now().signed_duration_since(before);
    assert!(
        age >= chrono::Duration::zero() && age < chrono::Duration::minutes(5),
        "the condition names the revoke's time: {before}"
    );
    assert!(
        done.stdout.contains("coffer-revoke-older-sessions"),
        "{}",
        done.stdout
    );
    // ... and on both roles, so sessions already assumed stop working too.
    for role in [&ci_role, &other_role] {
        let policy = role_policy(&moto, role, "coffer-revoke-older-sessions")
            .unwrap_or_else(|| panic!("the deny policy is on role {role}: {}", done.stdout));
        let statement = &policy["Statement"][0];
        assert_eq!(statement["Effect"], "Deny", "{policy}");
        assert_eq!(
            statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "one revoke, one time: {policy}"
        );
    }
    assert!(
        done.stdout
            .contains(&format!("sessions of role {ci_role} issued before"))
            && done
                .stdout
                .contains(&format!("sessions of role {other_role} issued before"))
            && done.stdout.contains("already denied in this revoke"),
        "{}",
        done.stdout
    );
    // The session kept for the role from before the revoke is not served
    // again (moto does not check keys, so a new one can still be made).
    let after = env.run_pw(&["aws", "credential-process", "aws/ci-role"], "");
    if after.code == 0 {
        let after: serde_json::Value = serde_json::from_str(&after.stdout).expect("JSON");
        assert_ne!(
            after["AccessKeyId"], kept["AccessKeyId"],
            "the session from before the revoke is not handed out again"
        );
    }
    // The audit entry says both.
    let audit = env
        .run_pw(&["audit", "--action", "emergency_revoke", "--json"], "")
        .ok()
        .stdout;
    assert!(
        audit.contains("denied (inline policy coffer-revoke-older-sessions)")
            && audit.contains("set Inactive"),
        "{audit}"
    );
    let as_token = vaultrs::client::VaultClient::new(
        vaultrs::client::VaultClientSettingsBuilder::default()
            .address(&bao)
            .token(&token)
            .build()
            .expect("settings"),
    )
    .expect("client");
    assert!(
        rt().block_on(vaultrs::token::lookup_self(&as_token))
            .is_err(),
        "the token no longer works"
    );
}
