//! `coffer rm` into the trash and `coffer trash` back out of it: the
//! credential leaves every view, its name is free, it comes back with its
//! history (renamed when its name was taken), purges are for good, a backup
//! keeps the trash, and the trail holds throughout. Run with and without an
//! agent, like every test here.

use serde_json::Value;

use crate::support::*;

const SECRET: &str = "trash-canary-Qm4x8Zr2";

fn names(env: &Env, args: &[&str]) -> Vec<String> {
    env.run_pw(args, "")
        .ok()
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn a_deleted_credential_waits_in_the_trash_and_comes_back_whole() {
    let env = Env::passphrase_vault();
    env.run_pw(
        &["add", "api/pay", "--kind", "api-key"],
        &format!(r#"{{"key": "{SECRET}-1"}}"#),
    )
    .ok();
    env.run_pw(&["edit", "api/pay"], &format!(r#"{{"key": "{SECRET}-2"}}"#))
        .ok();
    env.run_pw(
        &["add", "api/other", "--kind", "api-key"],
        r#"{"key": "o"}"#,
    )
    .ok();

    let said = env.run_pw(&["rm", "api/pay"], "").ok();
    assert!(
        said.stdout
            .contains("Moved api/pay to the trash for 30 days; `coffer trash restore api/pay`"),
        "{}",
        said.stdout
    );
    assert_eq!(names(&env, &["list", "--json"]), ["api/other"]);
    assert_eq!(names(&env, &["search", "api", "--json"]), ["api/other"]);
    let missing = env
        .run_pw(&["get", "api/pay", "--field", "key"], "")
        .code(4);
    assert!(missing.stdout.is_empty());
    let trash = env.run_pw(&["trash", "list", "--json"], "").ok().json();
    assert_eq!(trash[0]["name"], "api/pay");
    assert_eq!(trash[0]["kind"], "api-key");
    assert_eq!(trash[0]["version"], 3);
    let id = trash[0]["id"].as_str().expect("id").to_owned();
    let listed = env.run_pw(&["trash", "list"], "").ok();
    assert!(listed.stdout.contains(&id) && listed.stdout.contains("api/pay"));
    assert!(!listed.stdout.contains(SECRET));

    // The name is free; a restore does not take it back from the new one.
    env.run_pw(
        &["add", "api/pay", "--kind", "api-key"],
        r#"{"key": "new"}"#,
    )
    .ok();
    let refused = env.run_pw(&["trash", "restore", "api/pay"], "").code(1);
    assert!(
        refused
            .stderr
            .contains("coffer trash restore api/pay --as NEW-NAME"),
        "{}",
        refused.stderr
    );
    let back = env
        .run_pw(&["trash", "restore", &id, "--as", "api/pay-old"], "")
        .ok();
    assert!(
        back.stdout.contains("Restored api/pay-old (now version 4)"),
        "{}",
        back.stdout
    );
    let got = env
        .run_pw(&["get", "api/pay-old", "--field", "key"], "")
        .ok();
    assert_eq!(got.stdout.trim_end(), format!("{SECRET}-2"));
    let history = env
        .run_pw(&["history", "api/pay-old", "--json"], "")
        .ok()
        .json();
    assert_eq!(history.as_array().expect("versions").len(), 4);
    // Its first version bears the name the new credential holds.
    env.run_pw(&["rollback", "api/pay-old", "--to", "1"], "")
        .code(1);

    // Purges: one by name, a credential without the trash, then all.
    env.run_pw(&["rm", "api/pay-old", "--yes"], "").ok();
    env.run_pw(&["trash", "purge", "api/pay-old", "--yes"], "")
        .ok();
    env.run_pw(&["trash", "restore", "api/pay-old"], "").code(4);
    let purged = env.run_pw(&["rm", "api/pay", "--purge", "--yes"], "").ok();
    assert!(purged.stdout.contains("Deleted api/pay for good"));
    assert_eq!(
        env.run_pw(&["trash", "list", "--json"], "").ok().json(),
        Value::Array(vec![])
    );
    env.run_pw(&["trash", "purge"], "").code(2);
    env.run_pw(&["rm", "api/other", "--yes"], "").ok();
    let emptied = env.run_pw(&["trash", "purge", "--all", "--yes"], "").ok();
    assert!(
        emptied.stdout.contains("Deleted api/other for good"),
        "{}",
        emptied.stdout
    );
    assert!(env
        .run_pw(&["trash", "list"], "")
        .ok()
        .stdout
        .contains("The trash is empty."));

    let verified = env.run_pw(&["audit", "verify", "--json"], "").ok().json();
    assert_eq!(verified["ok"], true, "{verified}");
    let actions: Vec<String> = env
        .run_pw(&["audit", "--json"], "")
        .ok()
        .json()
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| ["trash", "untrash", "delete"].contains(a))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        actions,
        ["delete", "trash", "delete", "delete", "trash", "untrash", "trash"],
        "newest first"
    );
}

#[test]
fn a_backup_keeps_the_trash_and_the_restored_vault_can_bring_it_back() {
    let env = Env::passphrase_vault().without_agent();
    env.run_pw(
        &["add", "k/gone", "--kind", "api-key"],
        &format!(r#"{{"key": "{SECRET}"}}"#),
    )
    .ok();
    env.run_pw(&["rm", "k/gone"], "").ok();
    let file = crate::backup::make_backup(&env, "with-trash.cofferbak");
    let into = crate::backup::target();
    crate::backup::restore(&into, &file).ok();
    assert_eq!(names(&into, &["list", "--json"]), Vec::<String>::new());
    assert_eq!(names(&into, &["trash", "list", "--json"]), ["k/gone"]);
    into.run_pw(&["trash", "restore", "k/gone"], "").ok();
    let got = into.run_pw(&["get", "k/gone", "--field", "key"], "").ok();
    assert_eq!(got.stdout.trim_end(), SECRET);
}
