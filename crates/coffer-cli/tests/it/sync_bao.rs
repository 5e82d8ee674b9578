//! Sync against a real OpenBao (KV v2): round trips, conflicts, faults.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::json;

use super::remotes::{
    bao, http, kv_get, kv_put, token_with_policy, unique, Faults, PrivateBao, Proxy,
};
use super::support::Env;

/// A passphrase vault with a vault-token credential `bao-token` and a remote `bao`.
fn env_with_remote(addr: &str, token: &str, prefix: &str) -> Env {
    Env::passphrase_vault().with_bao_remote(addr, token, prefix)
}

fn plan_states(env: &Env) -> Vec<(String, String)> {
    let run = env.run_pw(&["sync", "plan", "bao", "--json"], "");
    let v = run.json();
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or("").to_owned(),
                i["state"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn field(env: &Env, name: &str, field: &str) -> String {
    env.run_pw(&["get", name, "--field", field], "")
        .ok()
        .stdout
        .trim_end()
        .to_owned()
}

#[test]
fn credentials_round_trip_through_openbao_with_metadata_and_versions() {
    let Some((addr, root)) = bao("credentials_round_trip_through_openbao…") else {
        return;
    };
    let prefix = unique("round");
    // Reveals a prod credential, which asks through an agent: without one.
    let env = env_with_remote(&addr, &root, &prefix).without_agent();
    env.run_pw(
        &[
            "add",
            "app/db",
            "--kind",
            "db-password",
            "--field",
            "host=db.internal",
            "--field",
            "user=app",
            "--env",
            "prod",
            "--tag",
            "web",
            "--tag",
            "team-a",
        ],
        r#"{"password":"pw-one"}"#,
    )
    .ok();
    env.run_pw(
        &[
            "add",
            "misc",
            "--kind",
            "generic",
            "--field",
            "url=https://x.example",
        ],
        r#"{"token":"t-1"}"#,
    )
    .ok();
    let plan = plan_states(&env);
    assert_eq!(
        plan,
        vec![
            ("app/db".into(), "new_local".into()),
            ("misc".into(), "new_local".into())
        ],
        "the auth credential stays local"
    );
    let run = env.run_pw(&["sync", "push", "bao"], "").ok();
    assert!(run.stdout.contains("2 pushed"), "{}", run.stdout);

    // On the server: the fields as data, the labels as custom metadata.
    let (s, v) = kv_get(&addr, &root, &format!("{prefix}app/db"));
    assert_eq!(s, 200);
    assert_eq!(
        v["data"]["data"],
        json!({"host": "db.internal", "password": "pw-one", "user": "app"})
    );
    let meta = &v["data"]["metadata"]["custom_metadata"];
    assert_eq!(meta["coffer-kind"], "db-password");
    assert_eq!(meta["coffer-env"], "prod");
    assert_eq!(meta["coffer-tags"], "team-a web");
    let (_, v) = kv_get(&addr, &root, &format!("{prefix}misc"));
    assert_eq!(
        v["data"]["metadata"]["custom_metadata"]["coffer-plain"],
        "url"
    );
    assert_eq!(
        kv_get(&addr, &root, &format!("{prefix}bao-token")).0,
        404,
        "the token itself is never pushed"
    );

    // Another client changes the password and adds a secret.
    let v2 = kv_put(
        &addr,
        &root,
        &format!("{prefix}app/db"),
        json!({"host": "db.internal", "password": "pw-two", "user": "app"}),
    );
    assert_eq!(v2, 2);
    kv_put(
        &addr,
        &root,
        &format!("{prefix}from/elsewhere"),
        json!({"api_key": "k-9"}),
    );
    let (_, latest) = kv_get(&addr, &root, &format!("{prefix}app/db"));
    let remote_time = latest["data"]["metadata"]["created_time"]
        .as_str()
        .expect("time")
        .to_owned();
    let plan = plan_states(&env);
    assert!(
        plan.contains(&("app/db".into(), "changed_remote".into())),
        "{plan:?}"
    );
    assert!(
        plan.contains(&("from/elsewhere".into(), "new_remote".into())),
        "{plan:?}"
    );
    assert!(
        plan.contains(&("misc".into(), "in_sync".into())),
        "{plan:?}"
    );

    env.run_pw(&["sync", "pull", "bao"], "").ok();
    assert_eq!(field(&env, "app/db", "password"), "pw-two");
    let shown = env.run_pw(&["show", "app/db", "--json"], "").ok().json();
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["env"], "prod");
    assert_eq!(shown["fields"]["host"], "db.internal", "{shown}");
    // The remote's new-version date counts as the last rotation.
    let rotated = shown["rotated_at"].as_str().expect("rotated_at");
    let remote_time = chrono::DateTime::parse_from_rfc3339(&remote_time).expect("remote time");
    let rotated = chrono::DateTime::parse_from_rfc3339(rotated).expect("rotated");
    assert!(
        (rotated - remote_time).num_seconds().abs() <= 1,
        "{rotated} vs {remote_time}"
    );
    let other = env
        .run_pw(&["show", "from/elsewhere", "--json"], "")
        .ok()
        .json();
    assert_eq!(other["kind"], "generic");
    assert_eq!(field(&env, "from/elsewhere", "api_key"), "k-9");

    // Everything agrees now, and a second run changes nothing.
    assert!(plan_states(&env).iter().all(|(_, s)| s == "in_sync"));
    let run = env
        .run_pw(&["sync", "run", "bao", "--json"], "")
        .ok()
        .json();
    assert_eq!(run["done"], json!([]));
    assert_eq!(run["in_sync"], 3);
    // Every pull and push is in the audit trail.
    let audit = env.run_pw(&["audit", "--json"], "").ok().json();
    let actions: Vec<&str> = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "sync_push").count(), 2);
    assert_eq!(actions.iter().filter(|a| **a == "sync_pull").count(), 2);
    env.run_pw(&["audit", "verify"], "").ok();
}

#[test]
fn a_change_on_both_sides_is_a_conflict_until_resolved() {
    let Some((addr, root)) = bao("a_change_on_both_sides_is_a_conflict…") else {
        return;
    };
    let prefix = unique("conflict");
    let env = env_with_remote(&addr, &root, &prefix);
    for name in ["one", "two"] {
        env.run_pw(&["add", name, "--kind", "api-key"], r#"{"key":"base"}"#)
            .ok();
    }
    env.run_pw(&["sync", "push", "bao"], "").ok();
    for name in ["one", "two"] {
        kv_put(
            &addr,
            &root,
            &format!("{prefix}{name}"),
            json!({"key": format!("remote-{name}")}),
        );
        env.run_pw(
            &["edit", name],
            &json!({"key": format!("local-{name}")}).to_string(),
        )
        .ok();
    }
    let run = env.run_pw(&["sync", "plan", "bao"], "").code(3);
    assert!(
        run.stdout.contains("conflict") && run.stdout.contains("sync resolve"),
        "{}",
        run.stdout
    );
    let run = env.run_pw(&["sync", "run", "bao"], "").code(3);
    assert!(run.stdout.contains("2 conflict"), "{}", run.stdout);
    // Nothing was overwritten on either side.
    for name in ["one", "two"] {
        assert_eq!(field(&env, name, "key"), format!("local-{name}"));
        let (_, v) = kv_get(&addr, &root, &format!("{prefix}{name}"));
        assert_eq!(v["data"]["data"]["key"], format!("remote-{name}"));
    }
    env.run_pw(&["sync", "resolve", "one", "--keep", "local"], "")
        .ok();
    let (_, v) = kv_get(&addr, &root, &format!("{prefix}one"));
    assert_eq!(v["data"]["data"]["key"], "local-one");
    env.run_pw(&["sync", "resolve", "two", "--keep", "remote"], "")
        .ok();
    assert_eq!(field(&env, "two", "key"), "remote-two");
    let history = env.run_pw(&["history", "two", "--json"], "").ok().json();
    assert_eq!(
        history.as_array().map(Vec::len),
        Some(3),
        "the local edit stays in the history"
    );
    assert!(plan_states(&env).iter().all(|(_, s)| s == "in_sync"));
    let audit = env
        .run_pw(&["audit", "--action", "sync_conflict", "--json"], "")
        .ok()
        .json();
    assert!(audit.as_array().map(Vec::len).unwrap_or(0) >= 2);
    let audit = env
        .run_pw(&["audit", "--action", "sync_resolve", "--json"], "")
        .ok()
        .json();
    assert_eq!(audit.as_array().map(Vec::len), Some(2));
}

#[test]
fn deletions_propagate_only_with_prune() {
    let Some((addr, root)) = bao("deletions_propagate_only_with_prune") else {
        return;
    };
    let prefix = unique("prune");
    let env = env_with_remote(&addr, &root, &prefix);
    for name in ["gone-remote", "gone-local"] {
        env.run_pw(&["add", name, "--kind", "api-key"], r#"{"key":"k"}"#)
            .ok();
    }
    env.run_pw(&["sync", "push", "bao"], "").ok();
    let (s, _) = http(
        "DELETE",
        &addr,
        &format!("secret/data/{prefix}gone-remote"),
        &root,
        None,
    );
    assert_eq!(s, 204);
    env.run_pw(&["rm", "gone-local", "--yes"], "").ok();
    let plan = plan_states(&env);
    assert!(
        plan.contains(&("gone-remote".into(), "deleted_remote".into())),
        "{plan:?}"
    );
    assert!(
        plan.contains(&("gone-local".into(), "deleted_local".into())),
        "{plan:?}"
    );
    let run = env.run_pw(&["sync", "run", "bao"], "").ok();
    assert!(run.stdout.contains("2 kept"), "{}", run.stdout);
    env.run_pw(&["get", "gone-remote", "--field", "key"], "")
        .ok();
    assert_eq!(kv_get(&addr, &root, &format!("{prefix}gone-local")).0, 200);
    env.run_pw(&["sync", "run", "bao", "--prune"], "").ok();
    env.run_pw(&["show", "gone-remote"], "").code(4);
    assert_eq!(kv_get(&addr, &root, &format!("{prefix}gone-local")).0, 404);
    assert!(plan_states(&env).is_empty());
}

#[test]
fn approle_login_works_and_a_path_without_permission_fails_alone() {
    let Some((addr, root)) = bao("approle_login_works…") else {
        return;
    };
    let prefix = unique("approle");
    let mount = format!("approle-{}", prefix.trim_end_matches('/'));
    let (s, v) = http(
        "POST",
        &addr,
        &format!("sys/auth/{mount}"),
        &root,
        Some(json!({"type": "approle"})),
    );
    assert!(s == 204 || s == 200, "{v}");
    let policy = format!(
        "path \"secret/data/{prefix}*\" {{ capabilities = [\"create\", \"read\", \"update\"] }}\n\
         path \"secret/metadata/{prefix}*\" {{ capabilities = [\"list\", \"read\", \"patch\", \"create\", \"update\"] }}\n\
         path \"secret/data/{prefix}locked\" {{ capabilities = [\"deny\"] }}\n"
    );
    let pname = format!("p-{}", prefix.trim_end_matches('/'));
    let (s, _) = http(
        "PUT",
        &addr,
        &format!("sys/policies/acl/{pname}"),
        &root,
        Some(json!({ "policy": policy })),
    );
    assert_eq!(s, 204);
    // A short token TTL: the sync must log in again when it runs out.
    let (s, v) = http(
        "POST",
        &addr,
        &format!("auth/{mount}/role/sync"),
        &root,
        Some(json!({"token_policies": [pname], "token_ttl": "3s", "token_max_ttl": "3s"})),
    );
    assert_eq!(s, 204, "{v}");
    let (_, v) = http(
        "GET",
        &addr,
        &format!("auth/{mount}/role/sync/role-id"),
        &root,
        None,
    );
    let role_id = v["data"]["role_id"].as_str().expect("role id").to_owned();
    let (_, v) = http(
        "POST",
        &addr,
        &format!("auth/{mount}/role/sync/secret-id"),
        &root,
        None,
    );
    let secret_id = v["data"]["secret_id"]
        .as_str()
        .expect("secret id")
        .to_owned();

    for (name, value) in [("open/a", "1"), ("open/b", "2"), ("locked", "3")] {
        kv_put(
            &addr,
            &root,
            &format!("{prefix}{name}"),
            json!({"v": value}),
        );
    }
    let env = Env::passphrase_vault();
    env.run_pw(
        &[
            "add",
            "sync-role",
            "--kind",
            "vault-approle",
            "--field",
            &format!("role_id={role_id}"),
            "--field",
            &format!("mount={mount}"),
        ],
        &json!({ "secret_id": secret_id }).to_string(),
    )
    .ok();
    env.run_pw(
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
            "--auth",
            "approle",
            "--auth-credential",
            "sync-role",
        ],
        "",
    )
    .ok();
    let test = env.run_pw(&["remote", "test", "bao"], "").code(1);
    assert!(test.stdout.contains("missing 'delete'"), "{}", test.stdout);
    let run = env.run_pw(&["sync", "pull", "bao"], "").code(1);
    assert!(
        run.stdout.contains("locked")
            && run.stdout.contains("permission denied")
            && run.stdout.contains(&format!("secret/data/{prefix}locked")),
        "{}",
        run.stdout
    );
    assert_eq!(field(&env, "open/a", "v"), "1");
    assert_eq!(field(&env, "open/b", "v"), "2");
    env.run_pw(&["show", "locked"], "").code(4);
    // Past the token's TTL, inside one command: a push of a new secret logs in again.
    env.run_pw(&["add", "open/c", "--kind", "generic"], r#"{"v":"4"}"#)
        .ok();
    std::thread::sleep(Duration::from_secs(4));
    env.run_pw(&["sync", "push", "bao", "--only", "open/c"], "")
        .ok();
    assert_eq!(
        kv_get(&addr, &root, &format!("{prefix}open/c")).1["data"]["data"]["v"],
        "4"
    );
}

#[test]
fn an_expired_token_fails_fast_naming_the_cause() {
    let Some((addr, root)) = bao("an_expired_token_fails_fast…") else {
        return;
    };
    let prefix = unique("expired");
    let token = token_with_policy(
        &addr,
        &root,
        "expiring",
        "path \"secret/*\" { capabilities = [\"read\", \"list\"] }",
        "1s",
    );
    let env = env_with_remote(&addr, &token, &prefix);
    std::thread::sleep(Duration::from_secs(2));
    let started = Instant::now();
    let run = env.run_pw(&["sync", "plan", "bao"], "").code(1);
    assert!(
        run.stderr.contains("rejects the token") && run.stderr.contains("expired or revoked"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no retries on an auth failure"
    );
}

#[test]
fn throttling_and_5xx_are_retried_through_a_faulty_proxy() {
    let Some((addr, root)) = bao("throttling_and_5xx_are_retried…") else {
        return;
    };
    let prefix = unique("faults");
    for i in 0..30 {
        kv_put(
            &addr,
            &root,
            &format!("{prefix}s{i:02}"),
            json!({"v": format!("value-{i}")}),
        );
    }
    let proxy = Proxy::start(&addr, 3, Faults::Vault);
    let env = env_with_remote(&proxy.url, &root, &prefix);
    env.run_pw(&["sync", "pull", "bao"], "").ok();
    for i in 0..30 {
        assert_eq!(field(&env, &format!("s{i:02}"), "v"), format!("value-{i}"));
    }
    for i in 0..10 {
        env.run_pw(
            &["edit", &format!("s{i:02}")],
            &json!({"v": format!("new-{i}")}).to_string(),
        )
        .ok();
    }
    env.run_pw(&["sync", "push", "bao"], "").ok();
    for i in 0..10 {
        assert_eq!(
            kv_get(&addr, &root, &format!("{prefix}s{i:02}")).1["data"]["data"]["v"],
            format!("new-{i}")
        );
    }
    let faults = proxy.faults.load(std::sync::atomic::Ordering::SeqCst);
    assert!(proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst) > faults);
    assert!(faults >= 20, "the proxy injected {faults} faults");
}

#[test]
fn openbao_killed_mid_push_leaves_nothing_half_written_and_a_rerun_completes() {
    if bao("openbao_killed_mid_push…").is_none() {
        return;
    }
    let env = Env::passphrase_vault();
    let mut server = PrivateBao::start(env.dir.path());
    let n = 300;
    for i in 0..n {
        kv_put(
            &server.addr,
            &server.root,
            &format!("src/c{i:03}"),
            json!({"password": format!("p-{i}"), "user": format!("u{i}")}),
        );
    }
    env.run_pw(
        &["add", "bao-token", "--kind", "vault-token"],
        &json!({ "token": server.root }).to_string(),
    )
    .ok();
    for (name, prefix) in [("src", "src/"), ("bao", "dst/")] {
        env.add_bao_remote(name, &server.addr, prefix);
    }
    env.run_pw(&["sync", "pull", "src"], "").ok();
    type Row = (Vec<u8>, i64, Vec<u8>, Vec<u8>);
    let credentials = || -> Vec<Row> {
        let conn = env.sql();
        let mut stmt = conn
            .prepare("SELECT id, version, meta, secrets FROM credentials ORDER BY id")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows")
    };
    let before = credentials();
    assert_eq!(before.len(), n + 1);
    let mut child = env
        .command(&[
            "--passphrase-file",
            &env.passphrase_file.display().to_string(),
            "sync",
            "push",
            "bao",
            "--json",
            "--concurrency",
            "4",
        ])
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = 0;
    while seen < 40 {
        match lines.next() {
            Some(Ok(l)) if l.contains("\"progress\"") => seen += 1,
            Some(_) => {}
            None => break,
        }
    }
    server.kill();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{rest:?}");
    let message = rest.join("\n");
    assert!(
        message.contains("did not answer") && message.contains(&server.addr),
        "{message}"
    );
    assert!(
        credentials() == before,
        "a push never changes local credentials"
    );
    env.run_pw(&["audit", "verify"], "").ok();

    server.restart();
    // What reached the server is whole: data and labels, or nothing.
    let mut present = 0;
    for i in 0..n {
        let (s, v) = kv_get(&server.addr, &server.root, &format!("dst/c{i:03}"));
        if s == 200 {
            present += 1;
            assert_eq!(
                v["data"]["data"],
                json!({"password": format!("p-{i}"), "user": format!("u{i}")})
            );
            assert_eq!(
                v["data"]["metadata"]["custom_metadata"]["coffer-kind"],
                "generic"
            );
        }
    }
    assert!(
        present >= 40 && present < n,
        "{present} of {n} reached the server before it died"
    );
    let run = env
        .run_pw(&["sync", "push", "bao", "--json"], "")
        .ok()
        .json();
    let pushed = run["done"].as_array().map(Vec::len).unwrap_or(0);
    assert!(pushed + present >= n, "the rerun pushed {pushed} more");
    let plan = env
        .run_pw(&["sync", "plan", "bao", "--json"], "")
        .ok()
        .json();
    // (the src remote's credentials are all here, so dst holds n of them)
    let items = plan["items"].as_array().expect("items");
    assert_eq!(items.len(), n);
    assert!(items.iter().all(|i| i["state"] == "in_sync"), "{plan}");
}

#[test]
fn a_rotation_pushes_the_new_value_to_linked_remotes_before_revoking() {
    let Some((addr, root)) = bao("a_rotation_pushes_the_new_value…") else {
        return;
    };
    let prefix = unique("rotate");
    let env = env_with_remote(&addr, &root, &prefix);
    env.run_pw(
        &[
            "add",
            "db/main",
            "--kind",
            "db-password",
            "--field",
            "host=h",
            "--field",
            "user=u",
        ],
        r#"{"password":"old-password-1"}"#,
    )
    .ok();
    env.run_pw(&["sync", "push", "bao"], "").ok();
    // A change on the remote meanwhile: the push step must not clobber it,
    // so the rotation waits there and keeps the old value valid.
    kv_put(
        &addr,
        &root,
        &format!("{prefix}db/main"),
        json!({"host": "h", "user": "u", "password": "someone-else"}),
    );
    let run = env
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
        .code(3);
    assert!(
        run.stdout.contains("could not be pushed") && run.stdout.contains("bao"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let new_value = field(&env, "db/main", "password");
    assert_ne!(new_value, "old-password-1");
    env.run_pw(&["sync", "resolve", "db/main", "--keep", "local"], "")
        .ok();
    env.run_pw(&["rotate", "db/main", "--confirm-manual-steps"], "")
        .ok();
    assert_eq!(
        kv_get(&addr, &root, &format!("{prefix}db/main")).1["data"]["data"]["password"],
        new_value
    );
    assert!(env.run_pw(&["status", "--json"], "").ok().json()[0]["rotation"].is_null());
}
