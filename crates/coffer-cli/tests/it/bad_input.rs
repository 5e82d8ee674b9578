//! Bad input: each case gets a clear message naming what was wrong, the
//! documented exit code, and leaves everything stored exactly as it was.

use crate::support::*;

fn vault_with_one() -> Env {
    let env = Env::passphrase_vault();
    env.run_pw(
        &["add", "keep/me", "--kind", "api-key"],
        r#"{"key": "k-123"}"#,
    )
    .ok();
    env
}

#[test]
fn each_bad_input_is_refused_and_changes_nothing() {
    let env = vault_with_one();
    let before = env.fingerprint();
    let long_name = "n".repeat(257);
    let big = format!(r#"{{"key": "{}"}}"#, "x".repeat(1024 * 1024 + 1));
    let cases: Vec<(&str, Vec<&str>, String, i32, &str)> = vec![
        (
            "invalid JSON",
            vec!["add", "a", "--kind", "api-key"],
            r#"{"key": "#.into(),
            2,
            "JSON on stdin",
        ),
        (
            "JSON not an object",
            vec!["add", "a", "--kind", "api-key"],
            r#"["k"]"#.into(),
            2,
            "expected a JSON object",
        ),
        (
            "non-string value",
            vec!["add", "a", "--kind", "api-key"],
            r#"{"key": 12345}"#.into(),
            2,
            "must be a string",
        ),
        (
            "duplicate key",
            vec!["add", "a", "--kind", "api-key"],
            r#"{"key": "a", "key": "b"}"#.into(),
            2,
            "appears twice",
        ),
        (
            "unknown kind",
            vec!["add", "a", "--kind", "aws"],
            r#"{"key": "k"}"#.into(),
            2,
            "unknown kind 'aws'",
        ),
        (
            "missing required field",
            vec!["add", "a", "--kind", "db-password", "--field", "host=h"],
            r#"{"password": "p"}"#.into(),
            2,
            "requires field 'user'",
        ),
        (
            "unknown field",
            vec!["add", "a", "--kind", "api-key", "--field", "colour=blue"],
            r#"{"key": "k"}"#.into(),
            2,
            "has no such field",
        ),
        (
            "secret on argv",
            vec![
                "add",
                "a",
                "--kind",
                "api-key",
                "--field",
                "key=leaked-value",
            ],
            String::new(),
            2,
            "not accepted on the command line",
        ),
        (
            "secret-looking generic field on argv",
            vec![
                "add",
                "a",
                "--kind",
                "generic",
                "--field",
                "DB_PASSWORD=leaked-value",
            ],
            String::new(),
            2,
            "not accepted on the command line",
        ),
        (
            "empty name",
            vec!["add", "", "--kind", "api-key"],
            r#"{"key": "k"}"#.into(),
            2,
            "the name is empty",
        ),
        (
            "over-long name",
            vec!["add", &long_name, "--kind", "api-key"],
            r#"{"key": "k"}"#.into(),
            2,
            "over the limit of 256 bytes",
        ),
        (
            "control character in name",
            vec!["add", "bad\u{1b}[31mname", "--kind", "api-key"],
            r#"{"key": "k"}"#.into(),
            2,
            "control characters",
        ),
        (
            "empty segment",
            vec!["add", "a//b", "--kind", "api-key"],
            r#"{"key": "k"}"#.into(),
            2,
            "segments",
        ),
        (
            "value over the size limit",
            vec!["add", "a", "--kind", "api-key"],
            big,
            2,
            "over the limit of 1048576 bytes",
        ),
        (
            "duplicate name",
            vec!["add", "keep/me", "--kind", "api-key"],
            r#"{"key": "k"}"#.into(),
            1,
            "already exists",
        ),
        (
            "bad port",
            vec!["add", "a", "--kind", "db-password"],
            r#"{"host": "h", "user": "u", "password": "p", "port": "http"}"#.into(),
            2,
            "port number",
        ),
        (
            "bad date",
            vec!["add", "a", "--kind", "api-key", "--expires", "next tuesday"],
            r#"{"key": "k"}"#.into(),
            2,
            "invalid --expires",
        ),
        (
            "bad --field syntax",
            vec!["add", "a", "--kind", "api-key", "--field", "novalue"],
            String::new(),
            2,
            "KEY=VALUE",
        ),
        (
            "edit of a missing credential",
            vec!["edit", "nope", "--note", "x"],
            String::new(),
            4,
            "not found",
        ),
        (
            "removing a required field",
            vec!["edit", "keep/me", "--unset", "key"],
            String::new(),
            2,
            "requires field 'key'",
        ),
        (
            "null in add",
            vec!["add", "a", "--kind", "api-key"],
            r#"{"key": null}"#.into(),
            2,
            "null",
        ),
        (
            "rollback to a missing version",
            vec!["rollback", "keep/me", "--to", "7"],
            String::new(),
            4,
            "version 7",
        ),
    ];
    for (label, args, stdin, code, needle) in cases {
        let run = env.run_pw(&args, &stdin);
        assert_eq!(
            run.code, code,
            "{label}: exit {}\nstderr: {}",
            run.code, run.stderr
        );
        assert!(
            run.stderr.contains(needle),
            "{label}: message lacks {needle:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.lines().count() <= 2,
            "{label}: a message, not a dump: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("leaked-value") && !run.stderr.contains("12345"),
            "{label}: echoed a value: {}",
            run.stderr
        );
        assert_eq!(env.fingerprint(), before, "{label}: the vault changed");
    }
    assert!(
        env.run_pw(
            &["add", "bad\u{1b}[31mname", "--kind", "api-key"],
            r#"{"key": "k"}"#
        )
        .stderr
        .contains("\\u{1b}"),
        "control characters are escaped in messages"
    );
}

#[test]
fn a_file_that_is_not_a_vault_is_refused_untouched() {
    let env = Env::new();
    let text = env.dir.path().join("notes.txt");
    std::fs::write(&text, "these are my notes\n".repeat(20)).expect("write");
    let run = env
        .run(&["--vault", text.to_str().expect("utf-8"), "list"], "")
        .code(1);
    assert!(
        run.stderr
            .contains("is not a Coffer vault (not an SQLite database)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&text).expect("read"),
        "these are my notes\n".repeat(20)
    );

    let other = env.dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .expect("open")
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES ('hello');")
        .expect("create");
    let before = std::fs::read(&other).expect("read");
    let run = env
        .run(&["--vault", other.to_str().expect("utf-8"), "list"], "")
        .code(1);
    assert!(run.stderr.contains("another application"), "{}", run.stderr);
    assert_eq!(std::fs::read(&other).expect("read"), before);

    let run = env
        .run(
            &[
                "--vault",
                env.dir
                    .path()
                    .join("absent.sqlite")
                    .to_str()
                    .expect("utf-8"),
                "list",
            ],
            "",
        )
        .code(4);
    assert!(
        run.stderr.contains("no vault at") && run.stderr.contains("coffer init"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_vault_of_a_newer_format_is_refused() {
    let env = vault_with_one();
    env.sql()
        .execute_batch("PRAGMA user_version = 3")
        .expect("bump");
    let run = env.run_pw(&["list"], "").code(1);
    assert!(
        run.stderr.contains("format version 3") && run.stderr.contains("upgrade Coffer"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    env.run(&["add", "x"], "").code(2);
    env.run(&["frobnicate"], "").code(2);
}

/// The recovery passphrase and backup passphrases follow the app's strength
/// rule: a weak one is exit 2 with the estimate, and nothing is written.
#[test]
fn weak_recovery_and_backup_passphrases_are_refused_with_the_estimate() {
    let env = Env::new();
    let run = env
        .run(&["init", "--no-keyring", "--passphrase-stdin"], "password1")
        .code(2);
    assert!(run.stderr.contains("too weak"), "{}", run.stderr);
    assert!(run.stderr.contains("guessed in"), "{}", run.stderr);
    assert!(!env.vault.exists(), "no vault was made");

    let env = Env::passphrase_vault();
    let run = env
        .run_pw(
            &["passphrase", "change", "--new-passphrase-stdin"],
            "qwerty",
        )
        .code(2);
    assert!(run.stderr.contains("too weak"), "{}", run.stderr);
    let backup = env.dir.path().join("weak.cofferbak");
    let run = env
        .run_pw(
            &[
                "backup",
                backup.to_str().expect("path"),
                "--passphrase-stdin",
            ],
            "letmein",
        )
        .code(2);
    assert!(run.stderr.contains("too weak"), "{}", run.stderr);
    assert!(!backup.exists(), "no backup was written");
    // The vault still opens with its old passphrase.
    env.run_pw(&["list"], "").ok();
}
