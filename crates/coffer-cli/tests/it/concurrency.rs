//! Several processes writing one vault: serialised, no lost update, and a
//! stale edit refused with exit 3.

use std::process::{Child, Stdio};

use crate::support::*;

fn spawn(env: &Env, args: &[&str]) -> Child {
    let file = env.passphrase_file.display().to_string();
    let mut all = vec!["--passphrase-file", file.as_str()];
    all.extend_from_slice(args);
    let mut cmd = env.command(&all);
    cmd.stdin(Stdio::null());
    cmd.spawn().expect("spawn")
}

fn setup() -> Env {
    let env = Env::passphrase_vault();
    env.run_pw(&["add", "shared", "--kind", "api-key"], r#"{"key": "v"}"#)
        .ok();
    env
}

#[test]
fn two_stale_edits_one_wins_one_is_refused() {
    let env = setup();
    let a = spawn(
        &env,
        &["edit", "shared", "--if-version", "1", "--note", "from a"],
    );
    let b = spawn(
        &env,
        &["edit", "shared", "--if-version", "1", "--note", "from b"],
    );
    let outs = [
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    ];
    let mut codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap_or(-1)).collect();
    codes.sort();
    assert_eq!(
        codes,
        vec![0, 3],
        "{:?}",
        outs.iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect::<Vec<_>>()
    );
    let loser = outs
        .iter()
        .find(|o| o.status.code() == Some(3))
        .expect("loser");
    assert!(String::from_utf8_lossy(&loser.stderr).contains("changed since version 1"));
    let shown = env.run_pw(&["show", "shared", "--json"], "").ok().json();
    assert_eq!(shown["version"], 2);
    let winner_note = shown["notes"].as_str().expect("note");
    assert!(winner_note == "from a" || winner_note == "from b");
}

#[test]
fn concurrent_edits_lose_no_update() {
    let env = setup();
    let tags: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
    let children: Vec<Child> = tags
        .iter()
        .map(|t| spawn(&env, &["edit", "shared", "--tag", t]))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let shown = env.run_pw(&["show", "shared", "--json"], "").ok().json();
    assert_eq!(shown["version"], 7);
    assert_eq!(shown["tags"], serde_json::json!(tags));
    let history = env.run_pw(&["history", "shared", "--json"], "").ok().json();
    assert_eq!(history.as_array().expect("array").len(), 7);
}
