//! `coffer backup`, `backup verify` and `restore`: a full round trip into a
//! new vault, and every way a backup file can be wrong (tampered, truncated,
//! wrong passphrase), plus the refusals (overwrite, existing vault).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::Value;

use super::support::{assert_no_canary, Env, PASSPHRASE};

const BACKUP_PASSPHRASE: &str = "a different backup passphrase";
const CANARY: &str = "canary-backup-value-4e1d";
/// Length of the fixed header (see `coffer_core::backup`).
const HEADER_LEN: usize = 89;

/// A source vault with credentials of several kinds, history, a rename and a policy.
fn source() -> Env {
    let env = Env::passphrase_vault();
    env.run_pw(
        &["add", "api/one", "--kind", "api-key", "--tag", "team"],
        &format!(r#"{{"key": "{CANARY}"}}"#),
    )
    .ok();
    env.run_pw(
        &[
            "add",
            "db/main",
            "--kind",
            "db-password",
            "--env",
            "prod",
            "--field",
            "host=db.internal",
            "--field",
            "user=app",
        ],
        r#"{"password": "pw-1"}"#,
    )
    .ok();
    env.run_pw(
        &[
            "add",
            "misc/plain",
            "--kind",
            "generic",
            "--field",
            "region=eu",
        ],
        r#"{"password": "g-1"}"#,
    )
    .ok();
    env.run_pw(&["edit", "db/main"], r#"{"password": "pw-2"}"#)
        .ok();
    env.run_pw(&["edit", "db/main", "--note", "moved to the new host"], "")
        .ok();
    env.run_pw(&["edit", "api/one", "--rename", "api/renamed"], "")
        .ok();
    env.run_pw(
        &[
            "policy",
            "set",
            "--kind",
            "api-key",
            "--max-age",
            "60d",
            "--warn",
            "7d",
        ],
        "",
    )
    .ok();
    env
}

fn passphrase_file(env: &Env, text: &str) -> PathBuf {
    let path = env.dir.path().join("backup-passphrase.txt");
    std::fs::write(&path, format!("{text}\n")).expect("write");
    path
}

/// Writes a backup of `env`'s vault, with the passphrase on stdin.
pub(crate) fn make_backup(env: &Env, name: &str) -> PathBuf {
    let file = env.dir.path().join(name);
    env.run_pw(
        &[
            "backup",
            file.to_str().expect("utf-8"),
            "--passphrase-stdin",
        ],
        &format!("{BACKUP_PASSPHRASE}\nsecond line is ignored\n"),
    )
    .ok();
    file
}

fn verify(env: &Env, file: &std::path::Path) -> super::support::Run {
    let pw = passphrase_file(env, BACKUP_PASSPHRASE);
    env.run(
        &[
            "backup",
            "verify",
            file.to_str().expect("utf-8"),
            "--backup-passphrase-file",
            pw.to_str().expect("utf-8"),
        ],
        "",
    )
}

/// A fresh environment (no vault yet) to restore into.
pub(crate) fn target() -> Env {
    let mut env = Env::new();
    env.no_dbus = true;
    env
}

pub(crate) fn restore(into: &Env, file: &std::path::Path) -> super::support::Run {
    into.run_pw(
        &[
            "restore",
            file.to_str().expect("utf-8"),
            "--no-keyring",
            "--passphrase-stdin",
            "--json",
        ],
        BACKUP_PASSPHRASE,
    )
}

#[test]
fn round_trip_restores_identical_credentials_history_and_settings() {
    // Reveals prod credentials, which ask through an agent (`env=prod` asks
    // by default) and no one answers here: without an agent.
    let src = source().without_agent();
    let file = make_backup(&src, "vault.cbk");
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "backup mode {mode:o}");
    assert_no_canary(
        "backup file",
        &std::fs::read(&file).expect("read"),
        &[CANARY, "pw-2", "db.internal", "api/renamed"],
    );

    let dst = target().without_agent();
    let out = restore(&dst, &file).ok().json();
    assert_eq!(out["source"]["vault_id"], src.vault_id().as_str());
    assert_eq!(out["source"]["credentials"], 3);
    assert_eq!(out["source"]["versions"], 6);
    assert_eq!(out["keyring"], false);
    assert_ne!(out["vault_id"], src.vault_id().as_str());

    let both = |args: &[&str]| -> (Value, Value) {
        (
            src.run_pw(args, "").ok().json(),
            dst.run_pw(args, "").ok().json(),
        )
    };
    let (a, b) = both(&["list", "--json"]);
    assert_eq!(a, b);
    assert_eq!(a.as_array().map(Vec::len), Some(3));
    for name in ["api/renamed", "db/main", "misc/plain"] {
        let (a, b) = both(&["show", name, "--json"]);
        assert_eq!(a, b, "show {name}");
        let (a, b) = both(&["history", name, "--json"]);
        assert_eq!(a, b, "history {name}");
        let (a, b) = both(&["get", name]);
        assert_eq!(a, b, "get {name}");
    }
    let (a, _) = both(&["history", "db/main", "--json"]);
    assert_eq!(a.as_array().map(Vec::len), Some(3));
    // An old version's secret value came along too.
    src.run_pw(&["rollback", "db/main", "--to", "1"], "").ok();
    dst.run_pw(&["rollback", "db/main", "--to", "1"], "").ok();
    let (a, b) = both(&["get", "db/main"]);
    assert_eq!(a["password"], "pw-1");
    assert_eq!(a, b);
    let (a, b) = both(&["policy", "list", "--json"]);
    assert_eq!(a, b);

    // Audit: the source recorded the backup (counts, file name, no values),
    // the new vault recorded the restore naming the source vault.
    let backups = src
        .run_pw(&["audit", "--json", "--action", "backup"], "")
        .ok();
    assert!(!backups.stdout.contains(CANARY));
    let entry = &backups.json()[0];
    assert_eq!(entry["details"]["file"], "vault.cbk");
    assert_eq!(entry["details"]["credentials"], 3);
    let restores = dst
        .run_pw(&["audit", "--json", "--action", "restore"], "")
        .ok()
        .json();
    assert_eq!(
        restores[0]["details"]["source_vault_id"],
        src.vault_id().as_str()
    );
    assert_eq!(restores[0]["details"]["file"], "vault.cbk");
    dst.run_pw(&["audit", "verify"], "").ok();
}

#[test]
fn verify_prints_the_summary() {
    let src = source();
    let file = make_backup(&src, "b.cbk");
    let run = verify(&src, &file).ok();
    assert!(run.stdout.contains("is intact"), "{}", run.stdout);
    assert!(run.stdout.contains("3 credentials"), "{}", run.stdout);
    let pw = passphrase_file(&src, BACKUP_PASSPHRASE);
    let json = src
        .run(
            &[
                "backup",
                "verify",
                file.to_str().expect("utf-8"),
                "--backup-passphrase-file",
                pw.to_str().expect("utf-8"),
                "--json",
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["vault_id"], src.vault_id().as_str());
    assert_eq!(json["credentials"], 3);
    assert_eq!(json["versions"], 6);
    assert_eq!(json["remotes"], 0);
    assert_eq!(json["kdf"]["m_kib"], 65536);
    assert!(json["audit_entries"].as_u64().unwrap_or(0) > 5);
}

#[test]
fn a_flipped_byte_in_any_region_or_a_truncation_is_exit_6() {
    let src = Env::passphrase_vault();
    src.run_pw(&["add", "a", "--kind", "api-key"], r#"{"key": "v"}"#)
        .ok();
    let file = make_backup(&src, "b.cbk");
    let good = std::fs::read(&file).expect("read");
    let len = good.len();
    let bad_file = src.dir.path().join("bad.cbk");
    let regions = [
        ("magic", 0),
        ("version", 8),
        ("memory", 11),
        ("passes", 16),
        ("lanes", 20),
        ("salt", 30),
        ("chunk size", 39),
        ("key check", 50),
        ("checksum", 70),
        ("chunk length", HEADER_LEN + 2),
        ("envelope version", HEADER_LEN + 4),
        ("nonce", HEADER_LEN + 10),
        (
            "ciphertext",
            HEADER_LEN + 4 + 13 + (len - HEADER_LEN - 4 - 29) / 2,
        ),
        ("tag", len - 1),
    ];
    for (region, at) in regions {
        let mut bad = good.clone();
        bad[at] ^= 0x04;
        std::fs::write(&bad_file, &bad).expect("write");
        let run = verify(&src, &bad_file).code(6);
        assert!(
            run.stderr.contains("integrity error"),
            "{region}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{region}");
    }
    for cut in [
        0,
        5,
        HEADER_LEN - 1,
        HEADER_LEN,
        HEADER_LEN + 3,
        len - 16,
        len - 1,
    ] {
        std::fs::write(&bad_file, &good[..cut]).expect("write");
        let run = verify(&src, &bad_file).code(6);
        assert!(
            run.stderr.contains("integrity error"),
            "cut {cut}: {}",
            run.stderr
        );
    }
    // A tampered backup restores nothing.
    let mut bad = good.clone();
    bad[len / 2] ^= 0x01;
    std::fs::write(&bad_file, &bad).expect("write");
    let dst = target();
    restore(&dst, &bad_file).code(6);
    assert!(!dst.vault.exists());
    // The original is still fine.
    verify(&src, &file).ok();
}

#[test]
fn a_wrong_passphrase_is_exit_5_and_restores_nothing() {
    let src = Env::passphrase_vault();
    src.run_pw(&["add", "a", "--kind", "api-key"], r#"{"key": "v"}"#)
        .ok();
    let file = make_backup(&src, "b.cbk");
    let wrong = passphrase_file(&src, "not the passphrase");
    let run = src
        .run(
            &[
                "backup",
                "verify",
                file.to_str().expect("utf-8"),
                "--backup-passphrase-file",
                wrong.to_str().expect("utf-8"),
            ],
            "",
        )
        .code(5);
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    // The vault's own passphrase is not the backup's.
    let dst = target();
    dst.run_pw(
        &[
            "restore",
            file.to_str().expect("utf-8"),
            "--no-keyring",
            "--passphrase-stdin",
        ],
        PASSPHRASE,
    )
    .code(5);
    assert!(!dst.vault.exists());
    let leftovers: Vec<_> = dst
        .vault
        .parent()
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_existing_backup_is_kept_unless_forced() {
    let src = Env::passphrase_vault();
    src.run_pw(&["add", "a", "--kind", "api-key"], r#"{"key": "v"}"#)
        .ok();
    let file = make_backup(&src, "b.cbk");
    let before = std::fs::read(&file).expect("read");
    let run = src
        .run_pw(
            &[
                "backup",
                file.to_str().expect("utf-8"),
                "--passphrase-stdin",
            ],
            BACKUP_PASSPHRASE,
        )
        .code(1);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(std::fs::read(&file).expect("read"), before);
    src.run_pw(
        &[
            "backup",
            file.to_str().expect("utf-8"),
            "--passphrase-stdin",
            "--force",
        ],
        BACKUP_PASSPHRASE,
    )
    .ok();
    assert_ne!(std::fs::read(&file).expect("read"), before);
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    verify(&src, &file).ok();
    // Nothing but the backup and the passphrase file is left beside it.
    let names: Vec<String> = std::fs::read_dir(src.dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("cbk"))
        .collect();
    assert_eq!(names, vec!["b.cbk".to_owned()]);
}

#[test]
fn restore_refuses_an_existing_vault() {
    let src = Env::passphrase_vault();
    src.run_pw(&["add", "a", "--kind", "api-key"], r#"{"key": "v"}"#)
        .ok();
    let file = make_backup(&src, "b.cbk");
    let before = src.fingerprint();
    let run = restore(&src, &file).code(1);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(src.fingerprint(), before);
}

#[test]
fn the_backup_passphrase_never_comes_from_argv_or_thin_air() {
    let src = Env::passphrase_vault();
    let file = src.dir.path().join("b.cbk");
    let path = file.to_str().expect("utf-8");
    // No option takes the passphrase itself.
    src.run_pw(&["backup", path, "--passphrase", "x"], "")
        .code(2);
    // Without a terminal, a source must be named.
    let run = src.run_pw(&["backup", path], "").code(2);
    assert!(run.stderr.contains("--passphrase-stdin"), "{}", run.stderr);
    // An empty passphrase is refused.
    src.run_pw(&["backup", path, "--passphrase-stdin"], "\n")
        .code(2);
    assert!(!file.exists());
    src.run(&["backup"], "").code(2);
}
