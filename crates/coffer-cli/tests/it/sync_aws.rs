//! Sync against AWS Secrets Manager on a real moto_server.

use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;
use serde_json::{json, Value};

use super::moto::{conf, rt};
use super::remotes::{moto, unique, Faults, Proxy};
use super::support::Env;

fn client(endpoint: &str) -> Client {
    rt().block_on(async { Client::new(&conf(endpoint, "testing", "testing").await) })
}

fn env_with_remote(endpoint: &str, prefix: &str) -> Env {
    Env::passphrase_vault().with_aws_remote(endpoint, prefix)
}

fn secret(c: &Client, name: &str) -> (Value, Vec<(String, String)>, String) {
    rt().block_on(async {
        let v = c
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .expect("get");
        let d = c
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .expect("describe");
        let mut tags: Vec<(String, String)> = d
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or("").to_owned(),
                    t.value().unwrap_or("").to_owned(),
                )
            })
            .collect();
        tags.sort();
        (
            serde_json::from_str(v.secret_string().expect("string")).expect("json"),
            tags,
            v.version_id().expect("version").to_owned(),
        )
    })
}

fn put(c: &Client, name: &str, value: Value) {
    rt().block_on(async {
        c.put_secret_value()
            .secret_id(name)
            .secret_string(value.to_string())
            .send()
            .await
            .expect("put");
    });
}

fn field(env: &Env, name: &str, field: &str) -> String {
    env.run_pw(&["get", name, "--field", field], "")
        .ok()
        .stdout
        .trim_end()
        .to_owned()
}

#[test]
fn credentials_round_trip_through_secrets_manager_with_tags_and_versions() {
    let Some(endpoint) = moto("credentials_round_trip_through_secrets_manager…") else {
        return;
    };
    let prefix = unique("sm-round");
    // Reveals a prod credential, which asks through an agent: without one.
    let env = env_with_remote(&endpoint, &prefix).without_agent();
    env.run_pw(
        &[
            "add",
            "svc/api",
            "--kind",
            "api-key",
            "--field",
            "key_id=AK1",
            "--env",
            "staging",
            "--tag",
            "billing",
        ],
        r#"{"key":"sk-one"}"#,
    )
    .ok();
    let test = env.run_pw(&["remote", "test", "sm"], "").ok();
    assert!(
        test.stdout.contains("GetSecretValue allowed") && test.stdout.contains("signed in as"),
        "{}",
        test.stdout
    );
    env.run_pw(&["sync", "push", "sm"], "").ok();
    let c = client(&endpoint);
    let name = format!("{prefix}svc/api");
    let (value, tags, v1) = secret(&c, &name);
    assert_eq!(value, json!({"key": "sk-one", "key_id": "AK1"}));
    assert_eq!(
        tags,
        vec![
            ("coffer-env".to_owned(), "staging".to_owned()),
            ("coffer-kind".to_owned(), "api-key".to_owned()),
            ("coffer-tags".to_owned(), "billing".to_owned())
        ]
    );

    // Another client rotates the key and retags it.
    put(&c, &name, json!({"key": "sk-two", "key_id": "AK2"}));
    rt().block_on(async {
        c.tag_resource()
            .secret_id(&name)
            .tags(Tag::builder().key("coffer-env").value("prod").build())
            .send()
            .await
            .expect("tag");
        c.create_secret()
            .name(format!("{prefix}made/elsewhere"))
            .secret_string(r#"{"key":"x1"}"#)
            .tags(Tag::builder().key("coffer-kind").value("api-key").build())
            .send()
            .await
            .expect("create");
    });
    let (_, _, v2) = secret(&c, &name);
    assert_ne!(v1, v2);
    let plan = env
        .run_pw(&["sync", "plan", "sm", "--json"], "")
        .ok()
        .json();
    let states: Vec<(String, String)> = plan["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or("").to_owned(),
                i["state"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("made/elsewhere".into(), "new_remote".into()),
            ("svc/api".into(), "changed_remote".into())
        ]
    );
    env.run_pw(&["sync", "pull", "sm"], "").ok();
    assert_eq!(field(&env, "svc/api", "key"), "sk-two");
    let shown = env.run_pw(&["show", "svc/api", "--json"], "").ok().json();
    assert_eq!(shown["env"], "prod");
    assert_eq!(shown["fields"]["key_id"], "AK2");
    assert_eq!(shown["version"], 2);
    assert!(
        shown["rotated_at"].is_string(),
        "the remote's version date counts as a rotation"
    );
    let other = env
        .run_pw(&["show", "made/elsewhere", "--json"], "")
        .ok()
        .json();
    assert_eq!(other["kind"], "api-key");
    assert_eq!(field(&env, "made/elsewhere", "key"), "x1");

    // A local edit goes out as a new version, checked against the known one.
    env.run_pw(&["edit", "svc/api", "--untag", "billing"], "")
        .ok();
    env.run_pw(&["sync", "push", "sm"], "").ok();
    let (_, tags, v3) = secret(&c, &name);
    assert_ne!(v3, v2);
    assert!(!tags.iter().any(|(k, _)| k == "coffer-tags"), "{tags:?}");
    let run = env.run_pw(&["sync", "run", "sm", "--json"], "").ok().json();
    assert_eq!(run["done"], json!([]));
}

#[test]
fn a_secrets_manager_conflict_is_reported_and_resolved() {
    let Some(endpoint) = moto("a_secrets_manager_conflict…") else {
        return;
    };
    let prefix = unique("sm-conflict");
    let env = env_with_remote(&endpoint, &prefix);
    env.run_pw(&["add", "k", "--kind", "generic"], r#"{"v":"base"}"#)
        .ok();
    env.run_pw(&["sync", "push", "sm"], "").ok();
    let c = client(&endpoint);
    let name = format!("{prefix}k");
    put(&c, &name, json!({"v": "remote"}));
    env.run_pw(&["edit", "k"], r#"{"v":"local"}"#).ok();
    env.run_pw(&["sync", "plan", "sm"], "").code(3);
    let run = env.run_pw(&["sync", "push", "sm"], "").code(3);
    assert!(run.stdout.contains("conflict"), "{}", run.stdout);
    assert_eq!(secret(&c, &name).0, json!({"v": "remote"}));
    assert_eq!(field(&env, "k", "v"), "local");
    env.run_pw(
        &["sync", "resolve", "k", "--keep", "local", "--remote", "sm"],
        "",
    )
    .ok();
    assert_eq!(secret(&c, &name).0, json!({"v": "local"}));
    env.run_pw(&["sync", "plan", "sm"], "").ok();
}

#[test]
fn aws_throttling_and_5xx_are_retried_through_a_faulty_proxy() {
    let Some(endpoint) = moto("aws_throttling_and_5xx_are_retried…") else {
        return;
    };
    let prefix = unique("sm-faults");
    let c = client(&endpoint);
    rt().block_on(async {
        for i in 0..25 {
            c.create_secret()
                .name(format!("{prefix}s{i:02}"))
                .secret_string(json!({"v": format!("value-{i}")}).to_string())
                .send()
                .await
                .expect("create");
        }
    });
    let proxy = Proxy::start(&endpoint, 3, Faults::Aws);
    let env = env_with_remote(&proxy.url, &prefix);
    env.run_pw(&["sync", "pull", "sm"], "").ok();
    for i in 0..25 {
        assert_eq!(field(&env, &format!("s{i:02}"), "v"), format!("value-{i}"));
    }
    for i in 0..6 {
        env.run_pw(
            &["edit", &format!("s{i:02}")],
            &json!({"v": format!("new-{i}")}).to_string(),
        )
        .ok();
    }
    env.run_pw(&["sync", "push", "sm"], "").ok();
    for i in 0..6 {
        assert_eq!(
            secret(&c, &format!("{prefix}s{i:02}")).0,
            json!({"v": format!("new-{i}")})
        );
    }
    let faults = proxy.faults.load(std::sync::atomic::Ordering::SeqCst);
    assert!(proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst) > faults);
    assert!(faults >= 5, "the proxy injected {faults} faults");
}

#[test]
fn remote_settings_are_checked_before_anything_is_stored() {
    let env = Env::passphrase_vault();
    let run = env
        .run_pw(
            &[
                "remote",
                "add",
                "vault",
                "--holds-all",
                "v",
                "--addr",
                "http://vault.example.com:8200",
            ],
            "",
        )
        .code(2);
    assert!(
        run.stderr.contains("plain http") && run.stderr.contains("https"),
        "{}",
        run.stderr
    );
    let run = env
        .run_pw(
            &[
                "remote",
                "add",
                "vault",
                "--holds-all",
                "v",
                "--addr",
                "https://vault.example.com",
                "--prefix",
                "no-slash",
            ],
            "",
        )
        .code(2);
    assert!(run.stderr.contains("end it with '/'"), "{}", run.stderr);
    env.run_pw(
        &[
            "add",
            "db",
            "--kind",
            "db-password",
            "--field",
            "host=h",
            "--field",
            "user=u",
        ],
        r#"{"password":"p"}"#,
    )
    .ok();
    let run = env
        .run_pw(
            &[
                "remote",
                "add",
                "vault",
                "--holds-all",
                "v",
                "--addr",
                "https://vault.example.com",
                "--auth-credential",
                "db",
            ],
            "",
        )
        .code(2);
    assert!(
        run.stderr.contains("db-password") && run.stderr.contains("vault-token"),
        "{}",
        run.stderr
    );
    let run = env
        .run_pw(
            &[
                "remote",
                "add",
                "vault",
                "--holds-all",
                "bad name",
                "--addr",
                "https://v.example",
            ],
            "",
        )
        .code(2);
    assert!(run.stderr.contains("remote name"), "{}", run.stderr);
    env.run_pw(&["sync", "plan", "nope"], "").code(4);
    env.run_pw(&["remote", "add", "aws", "a", "--prefix", "team/"], "")
        .ok();
    let run = env.run_pw(&["remote", "add", "aws", "a"], "").code(2);
    assert!(run.stderr.contains("exists"), "{}", run.stderr);
    let list = env.run_pw(&["remote", "list", "--json"], "").ok().json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    env.run_pw(&["remote", "rm", "a"], "").ok();
    assert_eq!(
        env.run_pw(&["remote", "list", "--json"], "").ok().json(),
        json!([])
    );
}
