//! Unit tests of the vault engine over a real SQLite file and an in-memory
//! sealer (the real Secret Service is covered by the CLI's integration tests).

use std::sync::atomic::Ordering;

use chrono::Duration;
use proptest::prelude::*;
use tempfile::TempDir;

use super::*;
use crate::kind::Kind;
use crate::seal::memory::MemorySealer;

const CANARY_SECRET: &str = "canary-secret-7f3e9a";
const CANARY_NAME: &str = "canary-name-51b2";

use crate::testkit::t0 as now;

use crate::testkit::Fixture;

fn fixture() -> (Fixture, Vault) {
    crate::testkit::vault(Some("recovery pass"), now())
}

fn aws(name: &str, secret: &str) -> Draft {
    let mut d = Draft::new(name, Kind::AwsAccessKey);
    d.fields
        .insert("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into());
    d.values.insert("secret_access_key".into(), secret.into());
    d.tags = vec!["team-a".into()];
    d.env = Some("prod".into());
    d.notes = Some("rotated quarterly".into());
    d
}

fn reopen(f: &Fixture) -> Vault {
    f.reopen(now())
}

#[test]
fn create_add_reveal_round_trip_through_both_slots() {
    let (f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "s3cr3t"), now()).expect("add");
    drop(v);
    let v = reopen(&f);
    let (c, s) = v.reveal("aws/prod/deploy", None, now()).expect("reveal");
    assert_eq!(c.version, 1);
    assert_eq!(c.meta.env.as_deref(), Some("prod"));
    assert_eq!(s.0["secret_access_key"].expose_secret(), "s3cr3t");
    let mut p = Vault::open(&f.path).expect("open");
    assert!(matches!(p.get("aws/prod/deploy"), Err(Error::Locked)));
    p.unlock_with_passphrase(&SecretValue::from("recovery pass"), now())
        .expect("passphrase");
    assert_eq!(p.list().expect("list").len(), 1);
    p.lock(now()).expect("lock");
    assert!(!p.is_unlocked());
}

#[test]
fn copy_field_gives_plain_fields_as_stored_and_audits_only_secret_ones() {
    let (_f, mut v) = fixture();
    v.add(aws("aws/copy", "s3cr3t"), now()).expect("add");
    let copies = |v: &Vault| {
        v.audit_entries(&crate::audit::Query {
            action: Some(crate::audit::Action::Copy),
            ..Default::default()
        })
        .expect("audit")
        .len()
    };
    let before = copies(&v);
    let id = v
        .copy_field(
            "aws/copy",
            "access_key_id",
            crate::audit::Action::Copy,
            now(),
        )
        .expect("plain");
    assert_eq!(id.expose_secret(), "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(copies(&v), before, "a plain field is not a reveal");
    let secret = v
        .copy_field(
            "aws/copy",
            "secret_access_key",
            crate::audit::Action::Copy,
            now(),
        )
        .expect("secret");
    assert_eq!(secret.expose_secret(), "s3cr3t");
    assert_eq!(copies(&v), before + 1);
    assert!(matches!(
        v.copy_field("aws/copy", "nope", crate::audit::Action::Copy, now()),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (f, _v) = fixture();
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(f.path.parent().expect("dir")), 0o700);
    assert_eq!(mode(&f.path), 0o600);
    for suffix in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", f.path.display()));
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
}

#[test]
fn no_plaintext_in_any_file() {
    let (f, mut v) = fixture();
    let mut d = aws(CANARY_NAME, CANARY_SECRET);
    d.tags = vec!["canary-tag-77".into()];
    d.notes = Some("canary-note-88".into());
    v.add(d, now()).expect("add");
    let patch = Patch {
        notes: Some(Some("canary-note-99".into())),
        ..Patch::default()
    };
    v.update(CANARY_NAME, &patch, now()).expect("update");
    // Scan while the connection is open (WAL present) and after it closes.
    for round in 0..2 {
        for entry in std::fs::read_dir(f.path.parent().expect("dir")).expect("dir") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
            for canary in [
                CANARY_NAME,
                CANARY_SECRET,
                "canary-tag-77",
                "canary-note-88",
                "canary-note-99",
                "AKIAIOSFODNN7EXAMPLE",
            ] {
                assert!(
                    !contains(&bytes, canary.as_bytes()),
                    "round {round}: {canary}"
                );
            }
        }
        if round == 0 {
            v.lock(now()).expect("lock");
            drop(std::mem::replace(
                &mut v,
                Vault::open(&f.path).expect("open"),
            ));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn update_keeps_history_and_rollback_restores() {
    let (_f, mut v) = fixture();
    v.add(aws("k", "one"), now()).expect("add");
    let mut patch = Patch::default();
    patch
        .values
        .insert("secret_access_key".into(), "two".into());
    let c = v
        .update("k", &patch, now() + Duration::days(1))
        .expect("update");
    assert!(c.changed);
    assert_eq!(c.credential.version, 2);
    let unchanged = v
        .update("k", &patch, now() + Duration::days(2))
        .expect("no-op");
    assert!(
        !unchanged.changed,
        "a patch that changes nothing writes nothing"
    );
    assert_eq!(unchanged.credential.version, 2);
    let h = v.history("k").expect("history");
    assert_eq!(h.iter().map(|x| x.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(h[1].changes, vec!["field secret_access_key"]);
    assert!(h[1].current && !h[0].current);
    let r = v
        .rollback("k", 1, now() + Duration::days(3))
        .expect("rollback");
    assert_eq!(r.version, 3);
    assert_eq!(
        v.reveal("k", None, now()).expect("reveal").1 .0["secret_access_key"].expose_secret(),
        "one"
    );
    assert!(matches!(
        v.rollback("k", 9, now()),
        Err(Error::VersionNotFound { .. })
    ));
}

#[test]
fn recent_history_is_the_tail_of_the_whole_history() {
    let (_f, mut v) = fixture();
    v.add(aws("k", "v1"), now()).expect("add");
    for i in 2..=7 {
        let mut patch = Patch::default();
        if i % 2 == 0 {
            patch
                .values
                .insert("secret_access_key".into(), format!("v{i}").into());
        } else {
            patch.notes = Some(Some(format!("note {i}")));
        }
        v.update("k", &patch, now() + Duration::minutes(i))
            .expect("update");
    }
    let whole = v.history("k").expect("history");
    assert_eq!(whole.len(), 7);
    let all = v.recent_history("k", None).expect("all");
    assert_eq!((all.versions, all.total), (whole.clone(), 7));
    for newest in [0, 1, 2, 3, 6, 7, 8, 100] {
        let recent = v.recent_history("k", Some(newest)).expect("recent");
        assert_eq!(recent.total, 7, "newest {newest}");
        let shown = newest.clamp(1, 7);
        assert_eq!(
            recent.versions,
            whole[7 - shown..],
            "the latest {shown}, each with what it changed (newest {newest})"
        );
    }
    assert_eq!(
        v.recent_history("k", Some(1)).expect("one").versions[0].changes,
        vec!["notes"],
        "the oldest shown says what it changed from the one before it"
    );
    assert!(matches!(
        v.recent_history("missing", Some(3)),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn stale_edit_is_refused_and_nothing_is_written() {
    let (_f, mut v) = fixture();
    v.add(aws("k", "one"), now()).expect("add");
    let first = Patch {
        notes: Some(Some("first".into())),
        expected_version: Some(1),
        ..Patch::default()
    };
    v.update("k", &first, now()).expect("first");
    let second = Patch {
        notes: Some(Some("second".into())),
        expected_version: Some(1),
        ..Patch::default()
    };
    let err = v.update("k", &second, now()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Stale {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::Attention);
    assert_eq!(
        v.get("k").expect("get").meta.notes.as_deref(),
        Some("first")
    );
}

use crate::error::ErrorClass;

#[test]
fn names_are_unique_and_renames_checked() {
    let (_f, mut v) = fixture();
    v.add(aws("a", "1"), now()).expect("add");
    v.add(aws("b", "2"), now()).expect("add");
    assert!(matches!(
        v.add(aws("a", "3"), now()),
        Err(Error::AlreadyExists { .. })
    ));
    let rename = Patch {
        rename: Some("b".into()),
        ..Patch::default()
    };
    assert!(matches!(
        v.update("a", &rename, now()),
        Err(Error::AlreadyExists { .. })
    ));
    let rename = Patch {
        rename: Some("c".into()),
        ..Patch::default()
    };
    v.update("a", &rename, now()).expect("rename");
    assert!(matches!(v.get("a"), Err(Error::NotFound { .. })));
    assert_eq!(v.get("c").expect("c").version, 2);
    v.remove("c", now()).expect("remove");
    assert!(matches!(v.remove("c", now()), Err(Error::NotFound { .. })));
    assert_eq!(v.count().expect("count"), 1);
}

#[test]
fn search_matches_plain_properties_only() {
    let (_f, mut v) = fixture();
    v.add(aws("aws/prod/team-17/deploy", "needle-in-secret"), now())
        .expect("add");
    v.add(aws("aws/dev/team-3/ci", "x"), now()).expect("add");
    assert_eq!(v.search("prod/team-17").expect("s").len(), 1);
    assert_eq!(v.search("TEAM-A").expect("s").len(), 2);
    assert!(v.search("needle-in-secret").expect("s").is_empty());
}

#[test]
fn wrong_passphrase_leaves_the_vault_unchanged() {
    let (f, mut v) = fixture();
    v.add(aws("k", "1"), now()).expect("add");
    drop(v);
    let stored = || -> Vec<Vec<u8>> {
        let conn = raw(&f);
        let mut stmt = conn
            .prepare("SELECT body FROM slots UNION ALL SELECT meta FROM credentials UNION ALL SELECT secrets FROM credentials")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<Vec<Vec<u8>>>>();
        rows.expect("rows")
    };
    let before = stored();
    let mut p = Vault::open(&f.path).expect("open");
    assert!(matches!(
        p.unlock_with_passphrase(&SecretValue::from("nope"), now()),
        Err(Error::WrongPassphrase)
    ));
    drop(p);
    assert_eq!(
        stored(),
        before,
        "slots and credentials are untouched (only the failed attempt is recorded)"
    );
}

#[test]
fn missing_keyring_entry_says_use_the_passphrase() {
    let (f, v) = fixture();
    f.sealer.remove(&v.vault_id()).expect("remove");
    let mut p = Vault::open(&f.path).expect("open");
    let err = p.unlock_with_keyring(&f.sealer, now()).unwrap_err();
    assert_eq!(err.class(), ErrorClass::CannotUnlock);
    assert!(err.to_string().contains("recovery passphrase"), "{err}");
    f.sealer.fail_with_locked.store(true, Ordering::SeqCst);
    let err = p.unlock_with_keyring(&f.sealer, now()).unwrap_err();
    assert_eq!(err.class(), ErrorClass::CannotUnlock);
    p.unlock_with_passphrase(&SecretValue::from("recovery pass"), now())
        .expect("passphrase still opens it");
}

#[test]
fn a_keyring_that_drops_writes_fails_creation_cleanly() {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("vault.sqlite");
    let sealer = MemorySealer::default();
    sealer.forgetful.store(true, Ordering::SeqCst);
    let err = Vault::create(
        &path,
        &CreateOptions {
            sealer: Some(&sealer),
            passphrase: None,
            kdf: KdfParams::MIN,
        },
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("did not persist"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "no file left behind"
    );
}

#[test]
fn create_refuses_to_overwrite() {
    let (f, _v) = fixture();
    let err = Vault::create(
        &f.path,
        &CreateOptions {
            sealer: Some(&f.sealer),
            passphrase: None,
            kdf: KdfParams::MIN,
        },
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::VaultExists { .. }));
}

fn raw(f: &Fixture) -> Connection {
    Connection::open(&f.path).expect("raw open")
}

/// Every byte of both ciphertexts of a record, flipped one at a time, is an
/// integrity error and never a wrong value or a panic.
#[test]
fn every_flipped_record_byte_is_an_integrity_error() {
    let (f, mut v) = fixture();
    v.add(aws("k", "s3cr3t"), now()).expect("add");
    let (meta, secrets): (Vec<u8>, Vec<u8>) = raw(&f)
        .query_row("SELECT meta, secrets FROM credentials", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("row");
    for (column, original) in [("meta", &meta), ("secrets", &secrets)] {
        for i in 0..original.len() {
            let mut bad = original.clone();
            bad[i] ^= 0x01;
            raw(&f)
                .execute(&format!("UPDATE credentials SET {column} = ?1"), [&bad])
                .expect("tamper");
            let err = v.reveal("k", None, now()).unwrap_err();
            assert_eq!(
                err.class(),
                ErrorClass::Integrity,
                "{column} byte {i}: {err}"
            );
        }
        raw(&f)
            .execute(&format!("UPDATE credentials SET {column} = ?1"), [original])
            .expect("restore");
    }
    assert_eq!(
        v.reveal("k", None, now()).expect("restored").1 .0["secret_access_key"].expose_secret(),
        "s3cr3t"
    );
}

#[test]
fn ciphertexts_moved_between_rows_or_versions_fail() {
    let (f, mut v) = fixture();
    v.add(aws("a", "1"), now()).expect("add");
    v.add(aws("b", "2"), now()).expect("add");
    let conn = raw(&f);
    // b's secrets into a's row.
    conn.execute(
        "UPDATE credentials SET secrets = (SELECT secrets FROM credentials WHERE name_index = ?1) WHERE name_index = ?2",
        [v.name_index("b").expect("idx"), v.name_index("a").expect("idx")],
    )
    .expect("copy");
    assert_eq!(
        v.reveal("a", None, now()).unwrap_err().class(),
        ErrorClass::Integrity
    );
    // b's name index onto a's row: a lookup of "b" must not return a.
    conn.execute(
        "DELETE FROM credentials WHERE name_index = ?1",
        [v.name_index("b").expect("idx")],
    )
    .expect("delete");
    conn.execute(
        "UPDATE credentials SET name_index = ?1 WHERE name_index = ?2",
        [
            v.name_index("b").expect("idx"),
            v.name_index("a").expect("idx"),
        ],
    )
    .expect("swap");
    assert_eq!(v.get("b").unwrap_err().class(), ErrorClass::Integrity);
    // A row's version counter rolled back: its ciphertexts no longer match.
    v.add(aws("c", "3"), now()).expect("add");
    let mut patch = Patch::default();
    patch.values.insert("secret_access_key".into(), "4".into());
    v.update("c", &patch, now()).expect("update");
    conn.execute(
        "UPDATE credentials SET version = 1 WHERE name_index = ?1",
        [v.name_index("c").expect("idx")],
    )
    .expect("rollback counter");
    assert_eq!(
        v.reveal("c", None, now()).unwrap_err().class(),
        ErrorClass::Integrity
    );
}

#[test]
fn every_flipped_slot_byte_is_an_integrity_error() {
    let (f, v) = fixture();
    drop(v);
    let slots: Vec<(i64, Vec<u8>)> = {
        let conn = raw(&f);
        let mut stmt = conn.prepare("SELECT id, body FROM slots").expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<Vec<_>>>()
            .expect("rows");
        rows
    };
    assert_eq!(slots.len(), 2);
    for (id, body) in &slots {
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] ^= 0x04;
            raw(&f)
                .execute("UPDATE slots SET body = ?1 WHERE id = ?2", params![bad, id])
                .expect("tamper");
            let mut p = Vault::open(&f.path).expect("open");
            let err = p.unlock_with_keyring(&f.sealer, now()).unwrap_err();
            assert_eq!(
                err.class(),
                ErrorClass::Integrity,
                "slot {id} byte {i}: {err}"
            );
        }
        raw(&f)
            .execute(
                "UPDATE slots SET body = ?1 WHERE id = ?2",
                params![body, id],
            )
            .expect("restore");
    }
    reopen(&f);
}

#[test]
fn newer_format_and_foreign_files_are_refused_untouched() {
    let (f, v) = fixture();
    drop(v);
    raw(&f)
        .execute_batch("PRAGMA user_version = 99")
        .expect("bump");
    let err = Vault::open(&f.path).unwrap_err();
    assert!(matches!(err, Error::NewerFormat { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("upgrade Coffer"));

    let dir = TempDir::new().expect("tempdir");
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        b"just some text, not a database at all............................................................................",
    )
    .expect("write");
    assert!(matches!(Vault::open(&text), Err(Error::NotAVault { .. })));
    let other = dir.path().join("other.db");
    Connection::open(&other)
        .expect("open")
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .expect("create");
    let before = std::fs::read(&other).expect("read");
    assert!(matches!(Vault::open(&other), Err(Error::NotAVault { .. })));
    assert_eq!(
        std::fs::read(&other).expect("read"),
        before,
        "a foreign database is not modified"
    );
    assert!(!dir.path().join("other.db-wal").exists());
    assert!(matches!(
        Vault::open(&dir.path().join("missing")),
        Err(Error::VaultMissing { .. })
    ));
}

#[test]
fn rekey_reencrypts_everything_and_keeps_both_ways_in() {
    let (f, mut v) = fixture();
    v.add(aws("a", "1"), now()).expect("add");
    let mut patch = Patch::default();
    patch.values.insert("secret_access_key".into(), "2".into());
    v.update("a", &patch, now()).expect("update");
    let before: Vec<u8> = raw(&f)
        .query_row("SELECT secrets FROM credentials", [], |r| r.get(0))
        .expect("row");
    let pw = SecretValue::from("recovery pass");
    assert!(
        v.rekey(Some(&f.sealer), None, now()).is_err(),
        "the passphrase slot needs the passphrase"
    );
    v.rekey(Some(&f.sealer), Some(&pw), now()).expect("rekey");
    let after: Vec<u8> = raw(&f)
        .query_row("SELECT secrets FROM credentials", [], |r| r.get(0))
        .expect("row");
    assert_ne!(before, after);
    assert_eq!(v.history("a").expect("history").len(), 2);
    drop(v);
    let k = reopen(&f);
    assert_eq!(
        k.reveal("a", None, now()).expect("reveal").1 .0["secret_access_key"].expose_secret(),
        "2"
    );
    let mut p = Vault::open(&f.path).expect("open");
    p.unlock_with_passphrase(&pw, now()).expect("passphrase");
    assert_eq!(p.history("a").expect("history").len(), 2);
}

#[test]
fn rekey_reseals_a_lost_keyring_entry() {
    let (f, mut v) = fixture();
    v.add(aws("a", "1"), now()).expect("add");
    f.sealer.remove(&v.vault_id()).expect("remove");
    v.rekey(
        Some(&f.sealer),
        Some(&SecretValue::from("recovery pass")),
        now(),
    )
    .expect("rekey");
    drop(v);
    reopen(&f);
}

#[test]
fn passphrase_set_and_change() {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("vault.sqlite");
    let sealer = MemorySealer::default();
    let opts = CreateOptions {
        sealer: Some(&sealer),
        passphrase: None,
        kdf: KdfParams::MIN,
    };
    let mut v = Vault::create(&path, &opts, now()).expect("create");
    assert!(v
        .set_passphrase(&SecretValue::from("x"), KdfParams::MIN, true, now())
        .is_err());
    v.set_passphrase(&SecretValue::from("first"), KdfParams::MIN, false, now())
        .expect("set");
    assert!(v
        .set_passphrase(&SecretValue::from("y"), KdfParams::MIN, false, now())
        .is_err());
    v.set_passphrase(&SecretValue::from("second"), KdfParams::MIN, true, now())
        .expect("change");
    let mut p = Vault::open(&path).expect("open");
    assert!(matches!(
        p.unlock_with_passphrase(&SecretValue::from("first"), now()),
        Err(Error::WrongPassphrase)
    ));
    p.unlock_with_passphrase(&SecretValue::from("second"), now())
        .expect("second");
    assert_eq!(p.info().expect("info").slots.len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any single-byte change anywhere in a stored record, to any value, is
    /// caught, for records of arbitrary content.
    #[test]
    fn tampered_records_never_decrypt(
        secret in "[ -~]{1,200}",
        note in proptest::option::of("[a-z ]{0,80}"),
        pick in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        column in prop::bool::ANY,
    ) {
        let (f, mut v) = fixture();
        let mut d = aws("p", &secret);
        d.notes = note;
        v.add(d, now()).expect("add");
        let column = if column { "meta" } else { "secrets" };
        let original: Vec<u8> = raw(&f).query_row(&format!("SELECT {column} FROM credentials"), [], |r| r.get(0)).expect("row");
        let mut bad = original.clone();
        bad[pick.index(original.len())] ^= xor;
        raw(&f).execute(&format!("UPDATE credentials SET {column} = ?1"), [&bad]).expect("tamper");
        let err = v.reveal("p", None, now()).unwrap_err();
        prop_assert_eq!(err.class(), ErrorClass::Integrity);
    }
}

#[test]
fn add_many_is_all_or_nothing() {
    let (_f, mut v) = fixture();
    v.add(aws("taken", "0"), now()).expect("add");
    let batch = vec![aws("n1", "1"), aws("n2", "2")];
    assert_eq!(v.add_many(batch, now()).expect("batch"), 2);
    let clash = vec![aws("n3", "3"), aws("taken", "4")];
    assert!(
        matches!(v.add_many(clash, now()), Err(Error::AlreadyExists { name }) if name == "taken")
    );
    let twice = vec![aws("n4", "3"), aws("n4", "4")];
    assert!(matches!(
        v.add_many(twice, now()),
        Err(Error::AlreadyExists { .. })
    ));
    let invalid = vec![aws("n5", "5"), Draft::new("n6", Kind::ApiKey)];
    assert_eq!(
        v.add_many(invalid, now()).unwrap_err().class(),
        ErrorClass::InvalidInput
    );
    assert_eq!(
        v.count().expect("count"),
        3,
        "failed batches left nothing behind"
    );
}

#[test]
fn vault_debug_shows_no_key_material() {
    let (_f, v) = fixture();
    let shown = format!("{v:?}");
    assert!(
        shown.contains("unlocked: true") && !shown.contains("key"),
        "{shown}"
    );
}

#[test]
fn policies_are_stored_encrypted_audited_and_survive_rekey() {
    use crate::rotation::{Policy, Scope, State};
    let (f, mut v) = fixture();
    let mut old = aws("aws/old", "1");
    old.rotated_at = Some(now() - Duration::days(200));
    v.add(old, now()).expect("add");
    let mut fresh = aws("aws/fresh", "2");
    fresh.tags = vec!["pci-canary-tag".into()];
    v.add(fresh, now()).expect("add");
    v.set_policy(
        &Scope::Tag("pci-canary-tag".into()),
        Some(Policy::new(10, 3).expect("p")),
        now(),
    )
    .expect("set");
    let at = now() + Duration::days(8);
    let states: Vec<(String, State)> = v
        .statuses(at, &Default::default())
        .expect("statuses")
        .into_iter()
        .map(|(c, s)| (c.meta.name, s.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("aws/old".into(), State::Overdue),
            ("aws/fresh".into(), State::DueSoon)
        ]
    );
    let settings: Vec<u8> = raw(&f)
        .query_row("SELECT value FROM settings", [], |r| r.get(0))
        .expect("row");
    assert!(!contains(&settings, b"pci-canary-tag"));
    v.rekey(
        Some(&f.sealer),
        Some(&SecretValue::from("recovery pass")),
        now(),
    )
    .expect("rekey");
    assert_eq!(v.policies().expect("policies").by_tag.len(), 1);
    let changes = v
        .audit_entries(&crate::audit::Query {
            action: Some(crate::audit::Action::SettingsChange),
            ..Default::default()
        })
        .expect("audit");
    assert_eq!(changes.len(), 1);
    v.set_policy(&Scope::Tag("pci-canary-tag".into()), None, now())
        .expect("unset");
    assert!(v.policies().expect("policies").by_tag.is_empty());
}

#[test]
fn a_format_1_vault_is_upgraded_in_place_on_open() {
    let (f, v) = fixture();
    drop(v);
    raw(&f)
        .execute_batch("DROP TABLE sync_links; PRAGMA user_version = 1")
        .expect("downgrade");
    let v = reopen(&f);
    assert!(v.remotes().expect("remotes").is_empty());
    let version: i64 = raw(&f)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, store::FORMAT_VERSION);
    drop(v);
    reopen(&f);
}

#[test]
fn rekey_keeps_remotes_and_sync_links_readable() {
    use crate::sync::link::Link;
    use crate::sync::{AwsSpec, Spec};
    let (f, mut v) = fixture();
    let remote = v
        .add_remote(
            "sm",
            "team/",
            crate::sync::Scope::everything(),
            Spec::Aws(AwsSpec::default()),
            now(),
        )
        .expect("remote");
    let link = Link {
        key: "app/db".into(),
        local_version: 3,
        remote_version: "v-1".into(),
        remote_labels: "ab".into(),
        digest: "cd".into(),
        synced_at: now(),
    };
    let tx = v.begin().expect("begin");
    v.put_link(&tx, &remote.id, None, &link).expect("link");
    tx.commit().expect("commit");
    let pw = SecretValue::from("recovery pass");
    v.rekey(Some(&f.sealer), Some(&pw), now()).expect("rekey");
    drop(v);
    let v = reopen(&f);
    assert_eq!(v.remote("sm").expect("remote"), remote);
    let links = v.links(&remote.id).expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].link, link);
    // A link moved to another remote's rows no longer opens.
    raw(&f)
        .execute("UPDATE sync_links SET remote_id = 'other'", [])
        .expect("move");
    assert!(matches!(v.links("other"), Err(Error::Integrity { .. })));
}

#[test]
fn a_write_that_fails_in_a_savepoint_is_undone_alone() {
    // How a sync commits its local writes in groups: one credential's
    // failure must not take the others of its group with it.
    let (f, v) = fixture();
    let vault = &v;
    let write = |name: &'static str, then_fail: bool| {
        move |tx: &WriteTx<'_>| {
            let (meta, secrets) = aws(name, "grouped").into_parts()?;
            let c = vault.insert(tx, meta, &secrets, now())?;
            tx.record(Event::new(Action::Create).target(c.id, name), now())?;
            if then_fail {
                return Err(Error::invalid("test", "fails after writing"));
            }
            Ok(())
        }
    };
    let before = v.verify_audit().expect("verify").expect("holds").entries;
    let tx = v.begin().expect("begin");
    tx.savepoint(write("group/first", false)).expect("first");
    let failed = tx.savepoint(write("group/failed", true));
    assert!(failed.is_err(), "{failed:?}");
    tx.savepoint(write("group/last", false)).expect("last");
    tx.commit().expect("commit");
    drop(v);

    let v = reopen(&f);
    let names: Vec<String> = v
        .list()
        .expect("list")
        .into_iter()
        .map(|c| c.meta.name)
        .collect();
    assert_eq!(names, ["group/first", "group/last"]);
    // The two kept creations, and this handle's unlock; the failed one's
    // entry went with its savepoint, and the chain holds without it.
    let after = v.verify_audit().expect("verify").expect("the chain holds");
    assert_eq!(after.entries, before + 3);
}

/// A sealed column added to the declaration is re-encrypted by rekey with no
/// code of its own: rekey walks the declaration.
#[test]
fn rekey_re_encrypts_a_column_added_to_the_declaration() {
    use crate::sealed::{self, Column, Place, Rekey};
    use rusqlite::types::Value;
    fn dummy_place(keys: &[Value]) -> Option<Place<'_>> {
        match keys {
            [Value::Text(key)] => Some(Place::Setting { key }),
            _ => None,
        }
    }
    let dummy = Column {
        table: "dummy",
        column: "body",
        keys: &["key"],
        place: dummy_place,
        rekey: Rekey::Reseal,
        what: "dummy",
    };
    let (f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "s3cr3t"), now()).expect("add");
    let old_key = Key32::from_bytes(*v.keys().expect("keys").vault_key.expose_secret());
    let sealed_value = sealed::seal(
        &old_key,
        &v.vault_id,
        Place::Setting { key: "k" },
        b"dummy plaintext",
    )
    .expect("seal");
    v.conn
        .execute_batch("CREATE TABLE dummy (key TEXT PRIMARY KEY, body BLOB)")
        .expect("table");
    v.conn
        .execute("INSERT INTO dummy VALUES ('k', ?1)", [&sealed_value])
        .expect("insert");
    let columns: Vec<Column> = sealed::COLUMNS
        .iter()
        .map(|c| Column { ..*c })
        .chain(std::iter::once(dummy))
        .collect();
    v.rekey_columns(
        &columns,
        Some(&f.sealer),
        Some(&SecretValue::from("recovery pass")),
        None,
        now(),
    )
    .expect("rekey");
    let new_key = Key32::from_bytes(*v.keys().expect("keys").vault_key.expose_secret());
    let stored: Vec<u8> = v
        .conn
        .query_row("SELECT body FROM dummy WHERE key = 'k'", [], |r| r.get(0))
        .expect("row");
    assert_ne!(stored, sealed_value, "the dummy column was re-encrypted");
    let what = || "dummy".to_owned();
    let plain = sealed::open(
        &new_key,
        &v.vault_id,
        Place::Setting { key: "k" },
        &stored,
        what,
    )
    .expect("opens under the new key");
    assert_eq!(&plain[..], b"dummy plaintext");
    assert!(sealed::open(
        &old_key,
        &v.vault_id,
        Place::Setting { key: "k" },
        &stored,
        what
    )
    .is_err());
    // And everything else still reads.
    let (_, s) = v.reveal("aws/prod/deploy", None, now()).expect("reveal");
    assert_eq!(s.0["secret_access_key"].expose_secret(), "s3cr3t");
    // `audit verify` opens the declared columns too: the dummy one passes,
    // then fails once a byte of its value is flipped.
    let keys = v.keys().expect("keys");
    v.check_sealed(keys, &columns).expect("every value opens");
    let mut flipped = stored.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    v.conn
        .execute("UPDATE dummy SET body = ?1 WHERE key = 'k'", [&flipped])
        .expect("flip");
    let broken = v.check_sealed(keys, &columns).expect_err("named");
    assert_eq!(broken.kind(), "sealed");
    assert!(broken.to_string().contains("dummy.body"), "{broken}");
    v.check_sealed(keys, sealed::COLUMNS)
        .expect("the real declaration does not list the dummy table");
}

/// `audit verify` names a sealed value the trail does not describe (here a
/// setting) when a byte of it is flipped, though the chain holds.
#[test]
fn audit_verify_opens_every_sealed_value() {
    let (_f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "s3cr3t"), now()).expect("add");
    let policy = crate::policy::Policy {
        max_age_days: 30,
        warn_days: 5,
    };
    v.set_policy(
        &crate::policy::Scope::Tag("prod".into()),
        Some(policy),
        now(),
    )
    .expect("policy");
    v.verify_audit().expect("verify").expect("intact");
    let setting: Vec<u8> = v
        .conn
        .query_row("SELECT value FROM settings LIMIT 1", [], |r| r.get(0))
        .expect("a setting");
    let mut flipped = setting.clone();
    flipped[20] ^= 1;
    v.conn
        .execute(
            "UPDATE settings SET value = ?1 WHERE value = ?2",
            [&flipped, &setting],
        )
        .expect("flip");
    let broken = v.verify_audit().expect("verify").expect_err("named");
    assert_eq!(broken.kind(), "sealed");
    assert!(broken.to_string().contains("settings.value"), "{broken}");
}

/// A trigger planted while a handle is open (the schema check at open
/// cannot see it) still cannot drop a write silently: every credential and
/// audit insert must change exactly one row, or the transaction is undone.
#[test]
fn a_trigger_planted_after_open_cannot_drop_a_write_silently() {
    let (f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "s3cr3t"), now()).expect("add");
    let other = Connection::open(&f.path).expect("second connection");
    other
        .execute_batch(
            "CREATE TRIGGER quiet BEFORE INSERT ON audit BEGIN SELECT RAISE(IGNORE); END",
        )
        .expect("plant");
    let e = v
        .reveal("aws/prod/deploy", None, now())
        .expect_err("the reveal's entry is dropped");
    assert!(matches!(e, Error::Integrity { .. }), "{e}");
    other
        .execute_batch(
            "DROP TRIGGER quiet;
             CREATE TRIGGER quiet BEFORE INSERT ON credentials BEGIN SELECT RAISE(IGNORE); END",
        )
        .expect("plant again");
    let e = v
        .add(aws("aws/prod/other", "x"), now())
        .expect_err("dropped");
    assert!(matches!(e, Error::Integrity { .. }), "{e}");
    other.execute_batch("DROP TRIGGER quiet").expect("drop");
    assert_eq!(v.list().expect("list").len(), 1, "nothing half-written");
    v.verify_audit().expect("verify").expect("the chain holds");
}

/// A rekey cut off on either side of its commit leaves an anchor that
/// verifies under the key the file then has; after it, a plain anchor.
#[test]
fn the_anchor_verifies_under_the_old_or_the_new_key_across_a_rekey() {
    let (f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "s3cr3t"), now()).expect("add");
    v.close().expect("close");
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("v.sqlite");
    let old = Key32::from_bytes([1; 32]);
    let new = Key32::from_bytes([2; 32]);
    audit::replace_anchor(&path, &old, 7, &[7; 32]).expect("anchor");
    audit::anchor_rekey(&path, &old, &new, 9, &[9; 32]).expect("transition");
    assert_eq!(audit::read_anchor(&path, &old), Ok(Some((7, vec![7; 32]))));
    assert_eq!(audit::read_anchor(&path, &new), Ok(Some((9, vec![9; 32]))));
    assert!(audit::read_anchor(&path, &Key32::from_bytes([3; 32])).is_err());
    // A second rekey cut off after its commit keeps the head that verifies.
    let newer = Key32::from_bytes([4; 32]);
    audit::anchor_rekey(&path, &new, &newer, 11, &[11; 32]).expect("again");
    assert_eq!(audit::read_anchor(&path, &new), Ok(Some((9, vec![9; 32]))));
    assert_eq!(
        audit::read_anchor(&path, &newer),
        Ok(Some((11, vec![11; 32])))
    );

    // A whole rekey leaves a plain anchor under the new key.
    let mut v = reopen(&f);
    v.rekey(
        Some(&f.sealer),
        Some(&SecretValue::from("recovery pass")),
        now(),
    )
    .expect("rekey");
    let text = std::fs::read_to_string(audit::anchor_path(&f.path)).expect("anchor");
    assert!(!text.contains("rekey"), "{text}");
    drop(v);
    reopen(&f).verify_audit().expect("verify").expect("intact");
}

#[test]
fn a_junk_or_missing_anchor_is_refused_at_unlock_until_accepted() {
    let (f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "s3cr3t"), now()).expect("add");
    v.close().expect("close");
    let anchor = audit::anchor_path(&f.path);
    std::fs::write(&anchor, "{}").expect("junk");
    let pass = SecretValue::from("recovery pass");
    let e = Vault::open_unlocked(&f.path, "test", UnlockWith::Passphrase(&pass), now())
        .err()
        .expect("refused");
    assert!(matches!(e, Error::AnchorMismatch { .. }), "{e}");
    std::fs::remove_file(&anchor).expect("remove");
    let e = Vault::open_unlocked(&f.path, "test", UnlockWith::Passphrase(&pass), now())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("missing"), "{e}");
    let mut u = Vault::open_accepting_anchor(&f.path, "test", UnlockWith::Passphrase(&pass), now())
        .expect("let through");
    assert!(u
        .vault
        .anchor_problem()
        .is_some_and(|p| p.contains("missing")));
    u.vault.accept_anchor(now()).expect("accept");
    u.vault.close().expect("close");
    let v = Vault::open_unlocked(&f.path, "test", UnlockWith::Passphrase(&pass), now())
        .expect("opens")
        .vault;
    v.verify_audit().expect("verify").expect("intact");
}

/// Honest messages for edits made without the key: an edited name index,
/// an edited vault id, a passphrase slot with edited parameters (and its
/// checksum recomputed) each say the file was altered, not "not found",
/// "no keyring entry" or "wrong passphrase".
#[test]
fn edits_without_the_key_are_named_as_edits() {
    let (f, mut v) = fixture();
    v.add(aws("a", "1"), now()).expect("add");
    let conn = raw(&f);
    conn.execute(
        "UPDATE credentials SET name_index = randomblob(32) WHERE name_index = ?1",
        [v.name_index("a").expect("idx")],
    )
    .expect("edit the index");
    let e = v.get("a").unwrap_err();
    assert_eq!(e.class(), ErrorClass::Integrity, "{e}");
    assert!(e.to_string().contains("name index was altered"), "{e}");
    assert!(matches!(v.get("zzz"), Err(Error::NotFound { .. })));
    drop(v);

    // The vault id edited: the keyring has no entry under the new id, and
    // the keyring slot opens under the old one.
    let (f, v) = fixture();
    drop(v);
    raw(&f)
        .execute("UPDATE vault SET vault_id = randomblob(16)", [])
        .expect("edit the id");
    let mut p = Vault::open(&f.path).expect("open");
    let e = p.unlock_with_keyring(&f.sealer, now()).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Integrity, "{e}");
    assert!(e.to_string().contains("identity was altered"), "{e}");

    // The passphrase slot's parameters edited within bounds, checksum fixed.
    let (f, v) = fixture();
    drop(v);
    let (id, body): (i64, Vec<u8>) = raw(&f)
        .query_row(
            "SELECT id, body FROM slots WHERE kind = 'passphrase'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("slot");
    let mut content = body[..body.len() - 32].to_vec();
    content[5..9].copy_from_slice(&7u32.to_be_bytes());
    let mut forged = content.clone();
    forged.extend_from_slice(&crate::slot::checksum(SlotKind::Passphrase, &content));
    raw(&f)
        .execute(
            "UPDATE slots SET body = ?1 WHERE id = ?2",
            params![forged, id],
        )
        .expect("forge");
    let mut p = Vault::open(&f.path).expect("open");
    let e = p
        .unlock_with_passphrase(&SecretValue::from("recovery pass"), now())
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Integrity, "{e}");
    assert!(e.to_string().contains("edited or damaged"), "{e}");
    // And one above the bounds is refused before Argon2 runs.
    content[5..9].copy_from_slice(&64u32.to_be_bytes());
    let mut forged = content.clone();
    forged.extend_from_slice(&crate::slot::checksum(SlotKind::Passphrase, &content));
    raw(&f)
        .execute(
            "UPDATE slots SET body = ?1 WHERE id = ?2",
            params![forged, id],
        )
        .expect("forge");
    let mut p = Vault::open(&f.path).expect("open");
    let e = p
        .unlock_with_passphrase(&SecretValue::from("recovery pass"), now())
        .unwrap_err();
    assert!(e.to_string().contains("exceed the maximum"), "{e}");
}

/// Answers every rotation question: a new value, then yes.
struct Agreeable;

impl crate::rotation::run::Guide for Agreeable {
    fn say(&mut self, _text: &str) {}
    fn new_value(
        &mut self,
        _kind: Kind,
        fields: &[&'static str],
    ) -> Result<Option<BTreeMap<String, SecretValue>>> {
        Ok(Some(
            fields
                .iter()
                .map(|f| ((*f).to_owned(), SecretValue::from("rotated-value-2")))
                .collect(),
        ))
    }
    fn confirm(&mut self, _question: &str) -> Result<Option<String>> {
        Ok(Some("the test".into()))
    }
    fn step_saved(&mut self, _step: crate::rotation::run::Step) {}
}

/// Replays: an older genuine settings blob put back (a policy that hides
/// an overdue key), and an older rotation state put back; each opens under
/// the key but is not what the last audited write stored.
#[test]
fn replayed_settings_and_rotation_states_are_named_by_audit_verify() {
    use crate::policy::{Policy, Scope};
    let (f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "s3cr3t"), now()).expect("add");
    let lax = Policy {
        max_age_days: 3650,
        warn_days: 5,
    };
    v.set_policy(&Scope::Tag("team-a".into()), Some(lax), now())
        .expect("lax");
    let old: Vec<u8> = raw(&f)
        .query_row(
            "SELECT value FROM settings WHERE key = 'rotation-policies'",
            [],
            |r| r.get(0),
        )
        .expect("old blob");
    let strict = Policy {
        max_age_days: 30,
        warn_days: 5,
    };
    v.set_policy(&Scope::Tag("team-a".into()), Some(strict), now())
        .expect("strict");
    v.verify_audit().expect("verify").expect("intact");
    let current: Vec<u8> = raw(&f)
        .query_row(
            "SELECT value FROM settings WHERE key = 'rotation-policies'",
            [],
            |r| r.get(0),
        )
        .expect("blob");
    raw(&f)
        .execute(
            "UPDATE settings SET value = ?1 WHERE key = 'rotation-policies'",
            [&old],
        )
        .expect("replay");
    assert_eq!(
        v.policies().expect("the old blob opens").by_tag["team-a"].max_age_days,
        3650
    );
    let broken = v.verify_audit().expect("verify").expect_err("replay");
    assert!(
        broken.to_string().contains("setting 'rotation-policies'"),
        "{broken}"
    );
    raw(&f)
        .execute(
            "UPDATE settings SET value = ?1 WHERE key = 'rotation-policies'",
            [&current],
        )
        .expect("put back");
    v.verify_audit().expect("verify").expect("intact again");

    // A rotation: its first state (waiting, with a pending value), then done.
    let mut d = Draft::new("db/main", Kind::DbPassword);
    d.fields.insert("host".into(), "db".into());
    d.fields.insert("user".into(), "app".into());
    d.values.insert("password".into(), "one".into());
    v.add(d, now()).expect("add db");
    let options = crate::rotation::run::Options {
        grace: Duration::hours(1),
        automate: Some(false),
        generate: None,
        delete_inactive: false,
        admin: None,
        alternate: None,
    };
    struct Stop;
    impl crate::rotation::run::Guide for Stop {
        fn say(&mut self, _text: &str) {}
        fn new_value(
            &mut self,
            _kind: Kind,
            fields: &[&'static str],
        ) -> Result<Option<BTreeMap<String, SecretValue>>> {
            Agreeable.new_value(Kind::DbPassword, fields)
        }
        fn confirm(&mut self, _question: &str) -> Result<Option<String>> {
            Ok(None)
        }
        fn step_saved(&mut self, _step: crate::rotation::run::Step) {}
    }
    crate::rotation::run::rotate(&mut v, "db/main", &options, &mut Stop, now()).expect("start");
    let (state, pending): (Vec<u8>, Option<Vec<u8>>) = raw(&f)
        .query_row("SELECT state, pending FROM rotations", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("run");
    crate::rotation::run::rotate(&mut v, "db/main", &options, &mut Agreeable, now())
        .expect("finish");
    v.verify_audit().expect("verify").expect("intact");
    raw(&f)
        .execute(
            "UPDATE rotations SET state = ?1, pending = ?2",
            params![state, pending],
        )
        .expect("replay");
    let broken = v.verify_audit().expect("verify").expect_err("replay");
    assert!(broken.to_string().contains("rotation run"), "{broken}");

    // A rekey stamps everything as it is re-sealed.
    let (f, mut v) = fixture();
    v.set_policy(&Scope::Tag("x".into()), Some(strict), now())
        .expect("policy");
    v.rekey(
        Some(&f.sealer),
        Some(&SecretValue::from("recovery pass")),
        now(),
    )
    .expect("rekey");
    v.verify_audit()
        .expect("verify")
        .expect("intact after rekey");
}

/// After a suspected leak: rekey mints a new keyring key (the old one no
/// longer opens anything) and can change the passphrase in the same step.
/// A crash between the commit and the keyring switch is finished at unlock.
#[test]
fn rekey_mints_a_new_keyring_key_and_can_change_the_passphrase() {
    let (f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "s3cr3t"), now()).expect("add");
    let id = v.vault_id();
    let old_kek = f.sealer.load(&id).expect("load").expect("kek");
    let old_pw = SecretValue::from("recovery pass");
    let new_pw = SecretValue::from("a much longer recovery passphrase 2026");
    v.rekey_with_new_passphrase(Some(&f.sealer), Some(&old_pw), &new_pw, now())
        .expect("rekey");
    drop(v);
    let new_kek = f.sealer.load(&id).expect("load").expect("kek");
    // Compared without printing: a failure must not show key bytes.
    assert!(
        new_kek.expose_secret() != old_kek.expose_secret(),
        "the keyring key changed"
    );
    assert!(f
        .sealer
        .load(&format!("{id}.next"))
        .expect("load")
        .is_none());
    let mut p = Vault::open(&f.path).expect("open");
    assert!(matches!(
        p.unlock_with_passphrase(&old_pw, now()),
        Err(Error::WrongPassphrase)
    ));
    p.unlock_with_passphrase(&new_pw, now())
        .expect("new passphrase");
    drop(p);
    let mut p = Vault::open(&f.path).expect("open");
    p.unlock_with_keyring(&f.sealer, now())
        .expect("new keyring key");
    let weak = SecretValue::from("password1");
    assert!(p
        .rekey_with_new_passphrase(Some(&f.sealer), Some(&new_pw), &weak, now())
        .is_err());

    // The switch cut off after the commit: the vault's entry still holds
    // the previous key, the new one waits under `.next`.
    let before = f.sealer.load(&id).expect("load").expect("kek");
    p.rekey(Some(&f.sealer), Some(&new_pw), now())
        .expect("rekey");
    let after = f.sealer.load(&id).expect("load").expect("kek");
    f.sealer.store(&id, &before).expect("put the old key back");
    f.sealer
        .store(&format!("{id}.next"), &after)
        .expect("as if the switch never ran");
    drop(p);
    let mut p = Vault::open(&f.path).expect("open");
    p.unlock_with_keyring(&f.sealer, now())
        .expect("the switch is finished");
    let switched = f.sealer.load(&id).expect("load").expect("kek");
    assert!(
        switched.expose_secret() == after.expose_secret(),
        "the vault's entry holds the new key"
    );
    assert!(f
        .sealer
        .load(&format!("{id}.next"))
        .expect("load")
        .is_none());
    let (_, s) = p.reveal("aws/prod/deploy", None, now()).expect("reveal");
    assert_eq!(s.0["secret_access_key"].expose_secret(), "s3cr3t");
}

/// An audit write that fails (here a trigger planted after open aborts it)
/// makes the reveal fail: no value comes back and nothing is kept.
#[test]
fn a_failing_audit_write_reveals_nothing() {
    let (f, mut v) = fixture();
    v.add(aws("aws/prod/deploy", "canary-unaudited-1"), now())
        .expect("add");
    Connection::open(&f.path)
        .expect("second connection")
        .execute_batch(
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
        )
        .expect("plant");
    let e = v
        .reveal("aws/prod/deploy", None, now())
        .expect_err("refused");
    assert!(
        e.to_string().contains("cannot write the audit trail"),
        "{e}"
    );
    assert!(!e.to_string().contains("canary-unaudited-1"));
}

/// A remote saved before scopes existed keeps holding every credential,
/// and the first sync writes that down, audited.
#[test]
fn a_remote_from_before_scopes_gets_an_explicit_scope() {
    use crate::sync::Scope;
    let (_f, mut v) = fixture();
    let legacy = serde_json::json!([{
        "name": "old",
        "id": "0011223344556677",
        "prefix": "team/",
        "spec": { "type": "aws", "region": "us-east-1" },
        "created_at": "2026-01-01T00:00:00Z"
    }]);
    v.write(|tx| {
        v.write_setting(tx, "remotes", &legacy)?;
        tx.record(
            crate::audit::Event::new(crate::audit::Action::SettingsChange),
            now(),
        )
    })
    .expect("legacy remotes");
    let old = v.remote("old").expect("remote");
    assert_eq!(old.scope, None);
    assert_eq!(old.scope(), Scope::everything());
    let settled = v.settle_scope("old", now()).expect("settle");
    assert_eq!(settled.scope, Some(Scope::everything()));
    assert_eq!(
        v.remote("old").expect("remote").scope,
        Some(Scope::everything())
    );
    v.verify_audit().expect("verify").expect("intact");

    let team = Scope {
        names: vec!["team/".into()],
        tags: vec!["shared".into()],
    };
    assert!(team.holds("team/db", std::iter::empty()));
    assert!(team.holds("personal/x", ["shared"].into_iter()));
    assert!(!team.holds("personal/prod", ["prod"].into_iter()));
    assert!(!Scope::default().holds("anything", ["shared"].into_iter()));
    assert_eq!(Scope::default().describe(), "nothing (give it a scope)");
    let e = v
        .set_remote_scope(
            "old",
            Scope {
                names: vec![],
                tags: vec!["has space".into()],
            },
            now(),
        )
        .expect_err("bad tag");
    assert_eq!(e.class(), ErrorClass::InvalidInput);
}

/// A credential the person added has nothing to review (the pulled and
/// imported cases run against OpenBao and the real import in the CLI tests).
#[test]
fn own_versions_have_nothing_to_review() {
    let (_f, mut v) = fixture();
    let mut d = aws("pulled", "s");
    d.tags.clear();
    v.add(d, now()).expect("add");
    let c = v.get("pulled").expect("get");
    assert_eq!(v.unreviewed(&c).expect("unreviewed"), None);
    assert!(!v.mark_reviewed("pulled", now()).expect("nothing to review"));
}

/// Two handles on one vault; one rekeys. The other's next write is refused
/// (its key is stale: what it wrote would be unreadable), nothing is
/// written, and unlocked again it works.
#[test]
fn a_handle_whose_key_went_stale_writes_nothing() {
    let (f, mut a) = fixture();
    a.add(aws("a", "1"), now()).expect("add");
    let mut b = reopen(&f);
    b.rekey(
        Some(&f.sealer),
        Some(&SecretValue::from("recovery pass")),
        now(),
    )
    .expect("rekey");
    let e = a.add(aws("b", "2"), now()).expect_err("stale key");
    assert!(e.to_string().contains("another process rekeyed it"), "{e}");
    assert_eq!(b.list().expect("list").len(), 1, "nothing written");
    b.verify_audit().expect("verify").expect("intact");
    drop(a);
    let mut a = reopen(&f);
    a.add(aws("b", "2"), now())
        .expect("add after unlocking again");
    a.verify_audit().expect("verify").expect("intact");
}

/// The app's passphrase form: a vault without a recovery passphrase gets
/// one without a "current" one; after that a change needs the current one,
/// and a missing or wrong one changes nothing.
#[test]
fn a_passphrase_is_added_freely_and_changed_only_knowing_the_current_one() {
    let (f, mut v) = crate::testkit::vault(None, now());
    let first = SecretValue::from("a first recovery passphrase of many words");
    v.set_passphrase_knowing(None, &first, now())
        .expect("a vault without one gets one");
    let second = SecretValue::from("a second recovery passphrase, also long");
    for current in [None, Some(SecretValue::from("not the current one at all"))] {
        let e = v
            .set_passphrase_knowing(current.as_ref(), &second, now())
            .expect_err("refused");
        assert!(
            matches!(e, Error::WrongPassphrase | Error::Invalid { .. }),
            "{e}"
        );
    }
    let weak = v
        .set_passphrase_knowing(Some(&first), &SecretValue::from("password1"), now())
        .expect_err("weak");
    assert!(matches!(weak, Error::Invalid { .. }), "{weak}");
    let opens = |p: &SecretValue| {
        let mut o = Vault::open(&f.path).expect("open");
        o.unlock_with_passphrase(p, now()).is_ok()
    };
    assert!(opens(&first), "nothing refused changed the passphrase");
    v.set_passphrase_knowing(Some(&first), &second, now())
        .expect("changed knowing the current one");
    assert!(opens(&second) && !opens(&first));
}

/// A remote edited in place keeps its id (and the settings no form shows);
/// pointed elsewhere it forgets what the old place held; a taken name or a
/// bad address is refused with nothing changed.
#[test]
fn a_remote_is_edited_in_place_and_forgets_its_links_only_when_it_moves() {
    use crate::sync::{AwsSpec, Scope, Spec};
    let (f, mut v) = fixture();
    let aws_spec = |region: &str| {
        Spec::Aws(AwsSpec {
            region: Some(region.into()),
            ..AwsSpec::default()
        })
    };
    let team = Scope {
        names: vec!["team/".into()],
        tags: vec![],
    };
    v.add_remote("a", "team/", team.clone(), aws_spec("us-east-1"), now())
        .expect("add a");
    v.add_remote("b", "", team.clone(), aws_spec("us-east-1"), now())
        .expect("add b");
    let id = v.remote("a").expect("a").id;
    // A setting no form shows, put there by hand (the CLI's --kms-key-id).
    let mut all = v.remotes().expect("remotes");
    if let Spec::Aws(a) = &mut all[0].spec {
        a.kms_key_id = Some("alias/team".into());
    }
    v.write(|tx| {
        v.write_setting(tx, "remotes", &all)?;
        tx.record(
            crate::audit::Event::new(crate::audit::Action::SettingsChange),
            now(),
        )
    })
    .expect("kms key");
    let links = || -> i64 {
        raw(&f)
            .query_row(
                "SELECT COUNT(*) FROM sync_links WHERE remote_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .expect("count")
    };
    raw(&f)
        .execute(
            "INSERT INTO sync_links (id, remote_id, body) VALUES (x'01', ?1, x'00')",
            [&id],
        )
        .expect("a link");

    // Renamed, with a wider scope: the same place, so the link stays.
    let wider = Scope {
        names: vec!["team/".into(), "shared/".into()],
        tags: vec![],
    };
    let edited = v
        .edit_remote(
            "a",
            "team",
            "team/",
            wider.clone(),
            aws_spec("us-east-1"),
            now(),
        )
        .expect("edit");
    assert!(!edited.moved);
    assert_eq!(edited.remote.id, id);
    assert_eq!(links(), 1);
    let kept = v.remote("team").expect("renamed");
    assert_eq!(kept.scope, Some(wider.clone()));
    assert!(matches!(&kept.spec, Spec::Aws(a) if a.kms_key_id.as_deref() == Some("alias/team")));
    assert!(matches!(v.remote("a"), Err(Error::RemoteNotFound { .. })));

    // Refused: a taken name, a bad address; nothing changes.
    let taken = v
        .edit_remote(
            "team",
            "b",
            "team/",
            wider.clone(),
            aws_spec("us-east-1"),
            now(),
        )
        .expect_err("taken");
    assert!(
        taken.to_string().contains("a remote of that name exists"),
        "{taken}"
    );
    let bad = Spec::Aws(AwsSpec {
        region: Some("us-east-1".into()),
        endpoint_url: Some("http://10.0.0.1/".into()),
        ..AwsSpec::default()
    });
    assert!(v
        .edit_remote("team", "team", "team/", wider.clone(), bad, now())
        .is_err());
    assert_eq!(v.remote("team").expect("unchanged"), kept);

    // Another region: what the old place held is forgotten.
    let moved = v
        .edit_remote("team", "team", "team/", wider, aws_spec("eu-west-1"), now())
        .expect("move");
    assert!(moved.moved);
    assert_eq!(links(), 0);
    v.verify_audit().expect("verify").expect("intact");
}
