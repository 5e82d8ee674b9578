//! The whole CLI surface in one scenario, with canary values that must never
//! reach a file, a log or the masked output.

use serde_json::json;

use crate::support::*;

const SECRET: &str = "canary-secret-Zq81vXk2Lw";
const NAME: &str = "canary-name-Hp4d9Tt0";
const TAG: &str = "canary-tag-Mf6s2Pq7";
const NOTE: &str = "canary-note-Yx3k8Rb5";
const DB_PASSWORD: &str = "canary-dbpass-Wc7n1Vg4";

fn scenario(unlock: impl Fn(&[&str], &str) -> Run) {
    let name = format!("aws/prod/{NAME}");
    unlock(
        &[
            "add",
            &name,
            "--kind",
            "aws-access-key",
            "--env",
            "prod",
            "--tag",
            TAG,
            "--tag",
            "team-17",
            "--note",
            NOTE,
            "--field",
            "access_key_id=AKIAIOSFODNN7EXAMPLE",
            "--field",
            "region=eu-west-1",
        ],
        &format!(r#"{{"secret_access_key": "{SECRET}"}}"#),
    )
    .ok();
    unlock(
        &["add", "db/main", "--kind", "db-password", "--env", "dev", "--json"],
        &format!(r#"{{"host": "db.internal", "port": "5432", "user": "app", "password": "{DB_PASSWORD}"}}"#),
    )
    .ok();
    unlock(
        &[
            "add",
            "misc/api",
            "--kind",
            "generic",
            "--field",
            "url=https://api.example.test",
        ],
        r#"{"API_TOKEN": "tok-123456789"}"#,
    )
    .ok();

    // get: one raw field, or every field as JSON.
    let raw = unlock(&["get", &name, "--field", "secret_access_key"], "").ok();
    assert_eq!(raw.stdout, format!("{SECRET}\n"));
    let raw = unlock(&["get", &name, "--field", "secret_access_key", "-n"], "").ok();
    assert_eq!(raw.stdout, SECRET);
    let all = unlock(&["get", "db/main"], "").ok().json();
    assert_eq!(
        all,
        json!({"host": "db.internal", "port": "5432", "user": "app", "password": DB_PASSWORD})
    );
    unlock(&["get", &name, "--field", "nope"], "").code(4);

    // show masks secrets, in both forms.
    let shown = unlock(&["show", &name], "").ok();
    assert!(
        shown
            .stdout
            .contains("secret_access_key = ••••••••  (secret)"),
        "{}",
        shown.stdout
    );
    assert!(shown
        .stdout
        .contains("access_key_id = AKIAIOSFODNN7EXAMPLE"));
    assert!(!shown.stdout.contains(SECRET));
    let shown = unlock(&["show", &name, "--json"], "").ok().json();
    assert_eq!(shown["name"], json!(name));
    assert_eq!(shown["kind"], json!("aws-access-key"));
    assert_eq!(shown["env"], json!("prod"));
    assert_eq!(shown["tags"], json!(["canary-tag-Mf6s2Pq7", "team-17"]));
    assert_eq!(
        shown["fields"],
        json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "eu-west-1"})
    );
    assert_eq!(shown["secret_fields"], json!(["secret_access_key"]));
    assert_eq!(shown["version"], json!(1));
    assert!(shown["id"].as_str().is_some_and(|id| id.len() == 32));
    for key in ["created_at", "updated_at"] {
        assert!(
            shown[key].as_str().is_some_and(|t| t.ends_with('Z')),
            "{key}"
        );
    }
    assert_eq!(shown["expires_at"], json!(null));

    // list and search.
    let list = unlock(&["list", "--json"], "").ok().json();
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec![name.as_str(), "db/main", "misc/api"]);
    let table = unlock(&["list"], "").ok();
    assert!(table.stdout.starts_with("NAME"), "{}", table.stdout);
    let hits = unlock(&["search", "TEAM-17", "--json"], "").ok().json();
    assert_eq!(hits.as_array().expect("array").len(), 1);
    let hits = unlock(&["search", "db.internal", "--json"], "").ok().json();
    assert_eq!(hits[0]["name"], json!("db/main"));
    let hits = unlock(&["search", SECRET, "--json"], "").ok().json();
    assert_eq!(hits, json!([]), "secret values are not searchable");

    // edit: plain flags, a secret on stdin, a stale version refused.
    let edited = unlock(
        &[
            "edit",
            "db/main",
            "--tag",
            "primary",
            "--field",
            "port=6432",
            "--json",
        ],
        "",
    )
    .ok()
    .json();
    assert_eq!(edited["version"], json!(2));
    unlock(
        &["edit", "db/main", "--if-version", "1", "--note", "late"],
        "",
    )
    .code(3);
    unlock(
        &["edit", "db/main", "--if-version", "2"],
        r#"{"password": "canary-dbpass-new-Q2"}"#,
    )
    .ok();
    let value = unlock(&["get", "db/main", "--field", "password"], "").ok();
    assert_eq!(value.stdout.trim_end(), "canary-dbpass-new-Q2");
    let unchanged = unlock(&["edit", "db/main", "--tag", "primary"], "").ok();
    assert!(
        unchanged.stdout.contains("No change"),
        "{}",
        unchanged.stdout
    );

    // history and rollback.
    let history = unlock(&["history", "db/main", "--json"], "").ok().json();
    let versions: Vec<u64> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v["version"].as_u64().expect("v"))
        .collect();
    assert_eq!(versions, vec![1, 2, 3]);
    assert_eq!(history[2]["changes"], json!(["field password"]));
    assert_eq!(history[2]["current"], json!(true));
    unlock(&["rollback", "db/main", "--to", "1"], "").ok();
    let value = unlock(&["get", "db/main", "--field", "password"], "").ok();
    assert_eq!(value.stdout.trim_end(), DB_PASSWORD);

    // rm.
    unlock(&["rm", "misc/api"], "").ok();
    unlock(&["show", "misc/api"], "").code(4);
    unlock(&["history", "misc/api"], "").code(4);
}

fn assert_clean(env: &Env, logs: &str) {
    let canaries = [
        SECRET,
        NAME,
        TAG,
        NOTE,
        DB_PASSWORD,
        "canary-dbpass-new-Q2",
        "AKIAIOSFODNN7EXAMPLE",
        "db.internal",
    ];
    for file in files_below(env.dir.path()) {
        if file == env.passphrase_file {
            continue;
        }
        let bytes = std::fs::read(&file).expect("read");
        assert_no_canary(&file.display().to_string(), &bytes, &canaries);
    }
    assert_no_canary("the logs", logs.as_bytes(), &canaries);
}

fn check_permissions(env: &Env) {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(env.vault.parent().expect("dir")), 0o700);
    for file in files_below(env.vault.parent().expect("dir")) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// Runs the scenario with RUST_LOG=trace, collecting every line logged.
fn traced(env: &mut Env, with_passphrase: bool) -> String {
    env.extra_env.push(("RUST_LOG".into(), "trace".into()));
    let logs = std::cell::RefCell::new(String::new());
    let run = |args: &[&str], stdin: &str| {
        let r = if with_passphrase {
            env.run_pw(args, stdin)
        } else {
            env.run(args, stdin)
        };
        // The log is every stderr line but the command's own error message
        // (which may name the credential the person asked for).
        for line in r.stderr.lines().filter(|l| !l.starts_with("coffer: ")) {
            logs.borrow_mut().push_str(line);
            logs.borrow_mut().push('\n');
        }
        r
    };
    scenario(run);
    let logs = logs.into_inner();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "RUST_LOG=trace produced no log lines: {logs}"
    );
    logs
}

#[test]
fn passphrase_vault_scenario_leaves_no_plaintext() {
    // Reveals a prod credential, which asks through an agent: without one.
    let mut env = Env::new().without_agent();
    env.no_dbus = true;
    env.init_passphrase_only();
    let logs = traced(&mut env, true);
    assert_clean(&env, &logs);
    check_permissions(&env);
}

#[test]
fn keyring_vault_scenario_leaves_no_plaintext() {
    if !keyring_expected() {
        return skip(
            "keyring_vault_scenario_leaves_no_plaintext",
            "COFFER_TEST_KEYRING is not 1",
        );
    }
    // Reveals a prod credential, which asks through an agent: without one.
    let mut env = Env::new().without_agent();
    env.init_keyring();
    let logs = traced(&mut env, false);
    assert_clean(&env, &logs);
    check_permissions(&env);
    let doctor = env.run(&["doctor", "--json"], "").json();
    let checks = doctor["checks"].as_array().expect("checks");
    let find = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == json!(name))
            .unwrap_or_else(|| panic!("{name}: {doctor}"))
    };
    assert_eq!(find("keyring backend")["status"], json!("ok"));
    let backend = find("keyring backend")["detail"]
        .as_str()
        .expect("detail")
        .to_owned();
    assert!(
        backend.contains("provided by gnome-keyring-daemon"),
        "{backend}"
    );
    assert_eq!(find("keyring round trip")["status"], json!("ok"));
    assert_eq!(find("vault keyring entry")["status"], json!("ok"));
    assert!(find("key slots")["detail"]
        .as_str()
        .expect("detail")
        .contains("passphrase (Argon2id m=65536 KiB, t=3, p=4)"));
}

#[test]
fn init_output_and_json() {
    let env = Env::new();
    let out = env
        .run(
            &["init", "--no-keyring", "--passphrase-stdin", "--json"],
            PASSPHRASE,
        )
        .ok()
        .json();
    assert_eq!(out["keyring"], json!(false));
    assert_eq!(out["passphrase"], json!(true));
    assert_eq!(out["vault_id"].as_str().expect("id").len(), 32);
    let again = env
        .run(&["init", "--no-keyring", "--passphrase-stdin"], PASSPHRASE)
        .code(1);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let no_way_in = Env::new();
    no_way_in
        .run(&["init", "--no-keyring", "--no-passphrase"], "")
        .code(2);
    let no_terminal = Env::new();
    let r = no_terminal.run(&["init"], "").code(2);
    assert!(r.stderr.contains("--passphrase-stdin"), "{}", r.stderr);
    assert!(!no_terminal.vault.exists());
}

#[test]
fn kinds_lists_schemas() {
    let env = Env::new();
    let kinds = env.run(&["kinds", "--json"], "").ok().json();
    let aws = kinds
        .as_array()
        .expect("array")
        .iter()
        .find(|k| k["kind"] == json!("aws-access-key"))
        .expect("aws");
    assert!(aws["fields"]
        .as_array()
        .expect("fields")
        .contains(&json!({"name": "secret_access_key", "secret": true, "required": true})));
}
