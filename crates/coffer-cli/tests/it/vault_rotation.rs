//! `coffer rotate` of Vault/OpenBao logins against the OpenBao dev server:
//! a token made again with the same policies and the old one revoked after
//! the grace period; an AppRole secret id generated, checked and the old
//! one destroyed; abort undoing at the server; a sync through the rotated
//! token that keeps working.

use serde_json::{json, Value};

use crate::remotes::{bao, http, unique};
use crate::support::*;

fn policy(addr: &str, root: &str, name: &str, body: &str) {
    let (s, v) = http(
        "PUT",
        addr,
        &format!("sys/policies/acl/{name}"),
        root,
        Some(json!({ "policy": body })),
    );
    assert_eq!(s, 204, "{v}");
}

fn lookup(addr: &str, token: &str) -> (u16, Value) {
    http("GET", addr, "auth/token/lookup-self", token, None)
}

fn field(env: &Env, name: &str, field: &str) -> String {
    env.run_pw(&["get", name, "--field", field], "")
        .ok()
        .stdout
        .trim_end()
        .to_owned()
}

fn add_token(env: &Env, name: &str, addr: &str, token: &str) {
    env.run_pw(
        &["add", name, "--kind", "vault-token"],
        &json!({ "token": token, "addr": addr }).to_string(),
    )
    .ok();
}

#[test]
fn a_vault_token_is_made_again_with_its_policies_and_the_old_one_revoked_after_the_grace() {
    let Some((addr, root)) = bao("a_vault_token_is_made_again…") else {
        return;
    };
    let prefix = unique("tokrot");
    let pname = format!("p-{}", prefix.trim_end_matches('/'));
    policy(
        &addr,
        &root,
        &pname,
        &format!(
            "path \"secret/data/{prefix}*\" {{ capabilities = [\"create\", \"read\", \"update\"] }}\n\
             path \"secret/metadata/{prefix}*\" {{ capabilities = [\"list\", \"read\", \"patch\", \"create\", \"update\"] }}\n\
             path \"auth/token/create-orphan\" {{ capabilities = [\"update\"] }}\n"
        ),
    );
    let (s, v) = http(
        "POST",
        &addr,
        "auth/token/create-orphan",
        &root,
        Some(
            json!({"policies": [pname], "ttl": "2h", "meta": {"team": "payments"}, "display_name": "ci"}),
        ),
    );
    assert_eq!(s, 200, "{v}");
    let old = v["auth"]["client_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // The token is also the login of a remote that holds a credential.
    let env = Env::passphrase_vault();
    add_token(&env, "bao/ci", &addr, &old);
    env.add_vault_remote("team", &addr, &prefix, "bao/ci");
    env.run_pw(
        &["add", "app/key", "--kind", "api-key"],
        r#"{"key": "app-key-1"}"#,
    )
    .ok();
    env.run_pw(&["sync", "push", "team"], "").ok();

    let run = env.run_pw(&["rotate", "bao/ci", "--grace", "3s"], "").ok();
    assert!(run.stdout.contains("stays valid until"), "{}", run.stdout);
    assert!(run.stderr.contains("same policies"), "{}", run.stderr);
    let new = field(&env, "bao/ci", "token");
    assert_ne!(new, old);
    let (s, seen) = lookup(&addr, &new);
    assert_eq!(s, 200, "{seen}");
    let mut policies: Vec<&str> = seen["data"]["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    policies.sort_unstable();
    let mut want = vec!["default", pname.as_str()];
    want.sort_unstable();
    assert_eq!(policies, want);
    assert_eq!(seen["data"]["meta"]["team"], "payments");
    assert_eq!(seen["data"]["orphan"], true);
    assert_eq!(seen["data"]["creation_ttl"], 7200);
    // The old token works through the grace period; the sync now uses the
    // new one.
    assert_eq!(lookup(&addr, &old).0, 200);
    env.run_pw(&["edit", "app/key", "--field", "key_id=k2"], "")
        .ok();
    env.run_pw(&["sync", "push", "team"], "").ok();
    std::thread::sleep(std::time::Duration::from_millis(3300));
    let run = env.run_pw(&["rotate", "bao/ci"], "").ok();
    assert!(run.stdout.contains("done"), "{}", run.stdout);
    assert!(
        run.stderr.contains("Revoked the old token"),
        "{}",
        run.stderr
    );
    assert_eq!(lookup(&addr, &old).0, 403, "the old token is revoked");
    assert_eq!(lookup(&addr, &new).0, 200, "the new one lives on");
    env.run_pw(&["sync", "plan", "team"], "").ok();

    // Abort after promote: the new token is revoked and the old one is
    // current again.
    let run = env.run_pw(&["rotate", "bao/ci", "--grace", "1h"], "").ok();
    assert!(run.stdout.contains("stays valid until"), "{}", run.stdout);
    let newest = field(&env, "bao/ci", "token");
    env.run_pw(&["rotate", "bao/ci", "--abort"], "").ok();
    assert_eq!(field(&env, "bao/ci", "token"), new);
    assert_eq!(
        lookup(&addr, &newest).0,
        403,
        "the aborted token is revoked"
    );
    assert_eq!(lookup(&addr, &new).0, 200);

    // A token whose policies do not allow making one: refused, naming the
    // path, nothing changed.
    let (_, v) = http(
        "POST",
        &addr,
        "auth/token/create-orphan",
        &root,
        Some(json!({"policies": ["default"], "ttl": "1h"})),
    );
    let weak = v["auth"]["client_token"]
        .as_str()
        .expect("token")
        .to_owned();
    add_token(&env, "bao/weak", &addr, &weak);
    let run = env.run_pw(&["rotate", "bao/weak"], "").code(7);
    assert!(
        run.stderr.contains("auth/token/create-orphan"),
        "{}",
        run.stderr
    );
    assert_eq!(field(&env, "bao/weak", "token"), weak);
    env.run_pw(&["rotate", "bao/weak", "--abort"], "").ok();
    // A root token is not made again.
    add_token(&env, "bao/root", &addr, &root);
    let run = env.run_pw(&["rotate", "bao/root"], "").code(2);
    assert!(run.stderr.contains("root token"), "{}", run.stderr);
    env.run_pw(&["audit", "verify"], "").ok();
}

#[test]
fn an_approle_secret_id_is_generated_checked_and_the_old_one_destroyed() {
    let Some((addr, root)) = bao("an_approle_secret_id_is_generated…") else {
        return;
    };
    let prefix = unique("arrot");
    let tag = prefix.trim_end_matches('/');
    let mount = format!("approle-{tag}");
    let (s, v) = http(
        "POST",
        &addr,
        &format!("sys/auth/{mount}"),
        &root,
        Some(json!({"type": "approle"})),
    );
    assert!(s == 204 || s == 200, "{v}");
    // The role may manage its own secret ids (a trusted orchestrator's
    // setup); a second role may not.
    let pname = format!("p-{tag}");
    policy(
        &addr,
        &root,
        &pname,
        &format!(
            "path \"auth/{mount}/role/app/secret-id\" {{ capabilities = [\"update\"] }}\n\
             path \"auth/{mount}/role/app/secret-id/lookup\" {{ capabilities = [\"update\"] }}\n\
             path \"auth/{mount}/role/app/secret-id-accessor/destroy\" {{ capabilities = [\"update\"] }}\n"
        ),
    );
    for (role, policies) in [("app", json!([pname])), ("plain", json!(["default"]))] {
        let (s, v) = http(
            "POST",
            &addr,
            &format!("auth/{mount}/role/{role}"),
            &root,
            Some(json!({"token_policies": policies, "token_ttl": "10m"})),
        );
        assert_eq!(s, 204, "{v}");
    }
    let ids = |role: &str| {
        let (_, v) = http(
            "GET",
            &addr,
            &format!("auth/{mount}/role/{role}/role-id"),
            &root,
            None,
        );
        let role_id = v["data"]["role_id"].as_str().expect("role id").to_owned();
        let (_, v) = http(
            "POST",
            &addr,
            &format!("auth/{mount}/role/{role}/secret-id"),
            &root,
            None,
        );
        (
            role_id,
            v["data"]["secret_id"]
                .as_str()
                .expect("secret id")
                .to_owned(),
        )
    };
    let login = |role_id: &str, secret_id: &str| {
        http(
            "POST",
            &addr,
            &format!("auth/{mount}/login"),
            "",
            Some(json!({"role_id": role_id, "secret_id": secret_id})),
        )
        .0
    };
    let (role_id, old) = ids("app");
    let env = Env::passphrase_vault();
    env.run_pw(
        &["add", "bao/app", "--kind", "vault-approle"],
        &json!({"role_id": role_id, "secret_id": old, "addr": addr, "mount": mount}).to_string(),
    )
    .ok();
    let run = env.run_pw(&["rotate", "bao/app", "--grace", "0"], "").ok();
    assert!(run.stdout.contains("done"), "{}", run.stdout);
    assert!(run.stderr.contains("AppRole 'app'"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Destroyed the old secret id"),
        "{}",
        run.stderr
    );
    let new = field(&env, "bao/app", "secret_id");
    assert_ne!(new, old);
    assert_eq!(login(&role_id, &new), 200, "the new secret id logs in");
    assert_ne!(login(&role_id, &old), 200, "the old one is destroyed");

    // Aborted before promote: the new secret id is destroyed, the old kept.
    let killed = env
        .command(&[
            "--passphrase-file",
            &env.passphrase_file.display().to_string(),
            "rotate",
            "bao/app",
        ])
        .env("COFFER_FAULT_AFTER_STEP", "verify")
        .output()
        .expect("run");
    assert!(!killed.status.success());
    env.run_pw(&["rotate", "bao/app", "--abort"], "").ok();
    assert_eq!(field(&env, "bao/app", "secret_id"), new);
    assert_eq!(login(&role_id, &new), 200);
    let (s, listed) = http(
        "LIST",
        &addr,
        &format!("auth/{mount}/role/app/secret-id"),
        &root,
        None,
    );
    assert_eq!(s, 200, "{listed}");
    assert_eq!(
        listed["data"]["keys"].as_array().map(Vec::len),
        Some(1),
        "only the current secret id is left: {listed}"
    );

    // A role without the right to make its own secret ids: refused, named.
    let (plain_id, plain_secret) = ids("plain");
    env.run_pw(
        &["add", "bao/plain", "--kind", "vault-approle"],
        &json!({"role_id": plain_id, "secret_id": plain_secret, "addr": addr, "mount": mount})
            .to_string(),
    )
    .ok();
    let run = env.run_pw(&["rotate", "bao/plain"], "").code(7);
    assert!(run.stderr.contains("secret-id"), "{}", run.stderr);
    assert_eq!(login(&plain_id, &plain_secret), 200, "nothing changed");
    // With an admin token that may: done.
    add_token(&env, "bao/admin", &addr, &root);
    env.run_pw(&["rotate", "bao/plain", "--abort"], "").ok();
    env.run_pw(
        &[
            "rotate",
            "bao/plain",
            "--admin",
            "bao/admin",
            "--grace",
            "0",
        ],
        "",
    )
    .ok();
    let newer = field(&env, "bao/plain", "secret_id");
    assert_eq!(login(&plain_id, &newer), 200);
    assert_ne!(login(&plain_id, &plain_secret), 200);
}
