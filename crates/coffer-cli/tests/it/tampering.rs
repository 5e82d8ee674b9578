//! Tampering beyond single-byte flips (those are in `tamper.rs`): rows
//! deleted, duplicated, put back; slots swapped between vaults; an old copy
//! of the database restored over a newer one; the WAL deleted; metadata
//! edited. Each is refused with exit 6 and a message naming what, or shown
//! harmless (and `docs/RELIABILITY.md` says which and why).

use std::path::{Path, PathBuf};

use crate::harness::fast_vault;
use crate::support::*;

/// A vault with `a` (version 1) and `b` (version 3: two edits).
fn setup() -> Env {
    let env = fast_vault();
    env.run_pw(&["add", "a", "--kind", "api-key"], r#"{"key": "value-a"}"#)
        .ok();
    env.run_pw(&["add", "b", "--kind", "api-key"], r#"{"key": "value-b1"}"#)
        .ok();
    env.run_pw(&["edit", "b"], r#"{"key": "value-b2"}"#).ok();
    env.run_pw(&["edit", "b"], r#"{"key": "value-b3"}"#).ok();
    env
}

/// The record id of credential `name` (its meta says its name; the index is keyed).
fn id_of(env: &Env, name: &str) -> Vec<u8> {
    let shown = env.run_pw(&["show", name, "--json"], "").ok().json();
    let version = shown["version"].as_i64().expect("version");
    let conn = env.sql();
    let mut stmt = conn
        .prepare("SELECT id FROM credentials WHERE version = ?1")
        .expect("prepare");
    let ids: Vec<Vec<u8>> = stmt
        .query_map([version], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("ids");
    assert_eq!(ids.len(), 1, "one credential at version {version}");
    ids.into_iter().next().expect("id")
}

fn verify_fails(env: &Env, needle: &str) -> Run {
    let run = env.run_pw(&["audit", "verify"], "").code(6);
    assert!(run.stderr.contains(needle), "{}", run.stderr);
    run
}

type Row = (Vec<u8>, Vec<u8>, i64, i64, i64, Vec<u8>, Vec<u8>);

fn read_row(env: &Env, id: &[u8]) -> Row {
    env.sql()
        .query_row(
            "SELECT id, name_index, version, created_at, updated_at, meta, secrets FROM credentials WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .expect("row")
}

fn put_row(env: &Env, row: &Row) {
    env.sql()
        .execute(
            "INSERT OR REPLACE INTO credentials (id, name_index, version, created_at, updated_at, meta, secrets) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![row.0, row.1, row.2, row.3, row.4, row.5, row.6],
        )
        .expect("put row");
}

#[test]
fn a_deleted_credential_row_is_named_by_audit_verify() {
    let env = setup();
    let id = id_of(&env, "b");
    // Without foreign keys (a raw edit of the file): the history stays.
    env.sql()
        .execute("DELETE FROM credentials WHERE id = ?1", [&id])
        .expect("delete");
    // Reads cannot see a row that is not there; verify can.
    env.run_pw(&["get", "b"], "").code(4);
    verify_fails(&env, "credential 'b' is missing");
    // With foreign keys on, the history goes with it: the same verdict.
    let env = setup();
    let id = id_of(&env, "b");
    let conn = env.sql();
    conn.execute_batch("PRAGMA foreign_keys = ON").expect("fk");
    conn.execute("DELETE FROM credentials WHERE id = ?1", [&id])
        .expect("delete");
    drop(conn);
    verify_fails(&env, "credential 'b' is missing");
}

#[test]
fn a_deleted_history_row_is_named_by_audit_verify() {
    let env = setup();
    let id = id_of(&env, "b");
    env.sql()
        .execute(
            "DELETE FROM history WHERE credential_id = ?1 AND version = 2",
            [&id],
        )
        .expect("delete");
    verify_fails(
        &env,
        "version 2 of credential 'b' is missing from its history",
    );
}

#[test]
fn an_older_copy_of_a_record_put_back_is_named_by_audit_verify() {
    let env = setup();
    let id = id_of(&env, "b");
    let v3 = read_row(&env, &id);
    // Version 2 from the history, put back as the current record (its
    // ciphertexts are genuine: their associated data says version 2).
    let (meta, secrets, created): (Vec<u8>, Vec<u8>, i64) = env
        .sql()
        .query_row(
            "SELECT meta, secrets, created_at FROM history WHERE credential_id = ?1 AND version = 2",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("history");
    env.sql()
        .execute(
            "DELETE FROM history WHERE credential_id = ?1 AND version = 2",
            [&id],
        )
        .expect("delete");
    put_row(&env, &(v3.0, v3.1, 2, v3.3, created, meta, secrets));
    // The rolled-back value reads as current: only the trail can tell.
    let got = env.run_pw(&["get", "b", "--field", "key"], "").ok();
    assert_eq!(got.stdout.trim(), "value-b2");
    verify_fails(&env, "credential 'b' is at version 2 but audit entry");
}

#[test]
fn a_deleted_credential_put_back_is_named_by_audit_verify() {
    let env = setup();
    let id = id_of(&env, "a");
    let row = read_row(&env, &id);
    env.run_pw(&["rm", "a", "--purge", "--yes"], "").ok();
    put_row(&env, &row);
    env.run_pw(&["get", "a", "--field", "key"], "").ok();
    verify_fails(&env, "credential 'a' was deleted (audit entry");
}

#[test]
fn an_edited_creation_time_is_named_by_audit_verify() {
    let env = setup();
    let id = id_of(&env, "a");
    // Making a never-rotated credential look new hides it from `status`.
    env.sql()
        .execute(
            "UPDATE credentials SET created_at = created_at + 86400000 WHERE id = ?1",
            [&id],
        )
        .expect("edit");
    verify_fails(&env, "credential 'a': its creation time was edited");
}

#[test]
fn duplicated_rows_are_integrity_errors_or_harmless() {
    // A credential row copied under a new id (and index): its ciphertexts
    // are bound to the old id, so reading it fails.
    let env = setup();
    let id = id_of(&env, "a");
    let row = read_row(&env, &id);
    let mut copy = row.clone();
    copy.0 = vec![0x42; 16];
    copy.1 = vec![0x43; 32];
    put_row(&env, &copy);
    let run = env.run_pw(&["list"], "").code(6);
    assert!(
        run.stderr.contains("integrity error") && run.stderr.contains("4242"),
        "{}",
        run.stderr
    );
    // A history row copied to another version number.
    let env = setup();
    let id = id_of(&env, "b");
    env.sql()
        .execute(
            "INSERT INTO history (credential_id, version, created_at, meta, secrets) SELECT credential_id, 7, created_at, meta, secrets FROM history WHERE credential_id = ?1 AND version = 1",
            [&id],
        )
        .expect("dup");
    // Named by the sealed-value check (its ciphertexts are bound to
    // version 1) before the records check would say "holds versions Coffer
    // never wrote".
    verify_fails(&env, "history.meta");
    let run = env.run_pw(&["history", "b"], "").code(6);
    assert!(run.stderr.contains("integrity error"), "{}", run.stderr);
    // An audit entry repeated at the head.
    let env = setup();
    env.sql()
        .execute(
            "INSERT INTO audit (seq, at, target, body, mac) SELECT seq + 1, at, target, body, mac FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)",
            [],
        )
        .expect("dup");
    verify_fails(&env, "audit entry");
    // A key slot duplicated: the same key behind two identical doors.
    let env = setup();
    env.sql()
        .execute(
            "INSERT INTO slots (kind, body, created_at) SELECT kind, body, created_at FROM slots",
            [],
        )
        .expect("dup");
    let got = env.run_pw(&["get", "a", "--field", "key"], "").ok();
    assert_eq!(got.stdout.trim(), "value-a");
    env.run_pw(&["audit", "verify"], "").ok();
}

#[test]
fn slots_swapped_between_two_vaults_open_nothing() {
    // Slots are read only to unlock, which a running agent has done.
    let a = setup().without_agent();
    let b = setup().without_agent();
    let before = a.fingerprint();
    let slot_b: Vec<u8> = b
        .sql()
        .query_row("SELECT body FROM slots", [], |r| r.get(0))
        .expect("slot");
    a.sql()
        .execute("UPDATE slots SET body = ?1", [&slot_b])
        .expect("swap");
    // The slot is genuine and the passphrase is right, but the slot's
    // associated data names vault B: AES-GCM cannot tell that from a wrong
    // key, so it reads as a wrong passphrase. Nothing is decrypted.
    let run = a.run_pw(&["get", "a", "--field", "key"], "").code(5);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    let after = a.fingerprint();
    assert_eq!(
        before.len(),
        after.len(),
        "no credential or history row changed"
    );
    // The keyring slot of a keyring vault names its vault too.
    if !keyring_expected() {
        skip("slots_swapped…(keyring)", "COFFER_TEST_KEYRING is not set");
        return;
    }
    let (k1, k2) = (Env::new(), Env::new());
    k1.init_keyring();
    k2.init_keyring();
    let slot2: Vec<u8> = k2
        .sql()
        .query_row("SELECT body FROM slots WHERE kind = 'keyring'", [], |r| {
            r.get(0)
        })
        .expect("slot");
    k1.sql()
        .execute(
            "UPDATE slots SET body = ?1 WHERE kind = 'keyring'",
            [&slot2],
        )
        .expect("swap");
    let run = k1.run(&["list"], "").code(6);
    assert!(run.stderr.contains("key slot"), "{}", run.stderr);
}

fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

#[test]
fn an_old_copy_of_the_database_restored_over_a_newer_one_is_refused() {
    // An older copy written over the file in place, while a process holds
    // it open, is read through that process's `-wal` (which still holds the
    // newer pages): SQLite cannot tell, so a running agent serves on, and
    // the refusal comes at its next unlock (docs/RELIABILITY.md). Without one.
    let env = setup().without_agent();
    let old = std::fs::read(&env.vault).expect("copy");
    env.run_pw(&["edit", "a"], r#"{"key": "value-a2"}"#).ok();
    env.run_pw(&["rm", "b", "--yes"], "").ok();
    std::fs::write(&env.vault, &old).expect("restore the old copy");
    for args in [
        &["list"][..],
        &["get", "a", "--field", "key"],
        &["audit", "verify"],
    ] {
        let run = env.run_pw(args, "").code(6);
        assert!(run.stdout.is_empty(), "{args:?}: nothing read");
        assert!(
            run.stderr.contains("truncated") && run.stderr.contains("older copy"),
            "{args:?}: {}",
            run.stderr
        );
    }
    // Refused before any write: the old copy is as it was put back, so a
    // later write cannot carry the trail past the anchor and hide it.
    assert_eq!(std::fs::read(&env.vault).expect("read"), old);
    // Moving the anchor away is no way out: a missing anchor is refused too.
    std::fs::rename(side(&env.vault, ".anchor"), side(&env.vault, ".anchor.old")).expect("move");
    let run = env.run_pw(&["get", "b", "--field", "key"], "").code(6);
    assert!(run.stderr.contains("anchor is missing"), "{}", run.stderr);
    std::fs::rename(side(&env.vault, ".anchor.old"), side(&env.vault, ".anchor")).expect("back");
    // The way out for a copy restored on purpose is a deliberate, audited acceptance.
    env.run_pw(&["audit", "accept-anchor"], "").code(3);
    assert_eq!(
        std::fs::read(&env.vault).expect("read"),
        old,
        "declining writes nothing"
    );
    env.run_pw(&["audit", "accept-anchor", "--yes"], "").ok();
    let got = env.run_pw(&["get", "b", "--field", "key"], "").ok();
    assert_eq!(got.stdout.trim(), "value-b3");
    env.run_pw(&["audit", "verify"], "").ok();
    let accepted = env
        .run_pw(&["audit", "--action", "anchor_accept", "--json"], "")
        .ok()
        .json();
    assert_eq!(accepted.as_array().map(Vec::len), Some(1), "{accepted}");
}

#[test]
fn a_deleted_wal_is_refused_when_it_held_writes_and_harmless_otherwise() {
    // At rest the WAL is empty or absent (the last close checkpoints it):
    // deleting it loses nothing.
    let env = setup();
    let _ = std::fs::remove_file(side(&env.vault, "-wal"));
    let _ = std::fs::remove_file(side(&env.vault, "-shm"));
    let got = env.run_pw(&["get", "b", "--field", "key"], "").ok();
    assert_eq!(got.stdout.trim(), "value-b3");
    env.run_pw(&["audit", "verify"], "").ok();
    // After a crash the WAL holds committed writes (here: a reader kept
    // it from being checkpointed). Without it, the file is an older state:
    // the anchor, written after those commits, tells.
    let env = setup();
    let hold = env.sql();
    let _: i64 = hold
        .query_row("SELECT COUNT(*) FROM vault", [], |r| r.get(0))
        .expect("read");
    env.run_pw(&["edit", "a"], r#"{"key": "value-a2"}"#).ok();
    let copy = tempfile::TempDir::new().expect("tempdir");
    let vault = copy.path().join("test.sqlite");
    std::fs::copy(&env.vault, &vault).expect("db");
    std::fs::copy(side(&env.vault, ".anchor"), side(&vault, ".anchor")).expect("anchor");
    drop(hold);
    let mut crashed = Env::new();
    crashed.no_dbus = true;
    crashed.vault = vault;
    let run = crashed.run_pw(&["get", "a", "--field", "key"], "").code(6);
    assert!(run.stderr.contains("-wal"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

fn set_pragma(env: &Env, pragma: &str) {
    env.sql().execute_batch(pragma).expect("pragma");
}

#[test]
fn edited_metadata_is_refused_and_named() {
    // application_id: no longer a Coffer file; refused, left untouched.
    let env = setup();
    set_pragma(&env, "PRAGMA application_id = 1234");
    let before = std::fs::read(&env.vault).expect("read");
    let run = env.run_pw(&["list"], "").code(1);
    assert!(run.stderr.contains("another application"), "{}", run.stderr);
    assert_eq!(std::fs::read(&env.vault).expect("read"), before);
    // user_version above ours: refused as a newer format, untouched.
    let env = setup();
    set_pragma(&env, "PRAGMA user_version = 3");
    let run = env.run_pw(&["list"], "").code(1);
    assert!(run.stderr.contains("upgrade Coffer"), "{}", run.stderr);
    // user_version 0: not a Coffer format.
    let env = setup();
    set_pragma(&env, "PRAGMA user_version = 0");
    let run = env.run_pw(&["list"], "").code(1);
    assert!(run.stderr.contains("not a Coffer format"), "{}", run.stderr);
    // user_version 1 on a version 2 file: the upgrade would fail half-way;
    // it is named as an edited header instead.
    let env = setup();
    set_pragma(&env, "PRAGMA user_version = 1");
    let run = env.run_pw(&["list"], "").code(6);
    assert!(
        run.stderr.contains("user_version) was edited"),
        "{}",
        run.stderr
    );
    // The vault identity row deleted.
    let env = setup();
    set_pragma(&env, "DELETE FROM vault");
    let run = env.run_pw(&["list"], "").code(6);
    assert!(
        run.stderr.contains("identity row is missing"),
        "{}",
        run.stderr
    );
    // The vault id changed: every slot and record is bound to it. With a
    // passphrase slot that reads as a wrong passphrase (see the slot swap).
    let env = setup();
    set_pragma(
        &env,
        "UPDATE vault SET vault_id = x'00112233445566778899aabbccddeeff'",
    );
    let run = env.run_pw(&["list"], "").code(5);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // The vault's creation time is shown by `doctor` and nothing else.
    let env = setup();
    set_pragma(&env, "UPDATE vault SET created_at = 0");
    let got = env.run_pw(&["get", "b", "--field", "key"], "").ok();
    assert_eq!(got.stdout.trim(), "value-b3");
    // A slot's kind: the checksum covers it.
    let env = setup();
    set_pragma(&env, "UPDATE slots SET kind = 'keyring'");
    let run = env.run_pw(&["list"], "").code(6);
    assert!(run.stderr.contains("key slot"), "{}", run.stderr);
    // A record's version: its ciphertexts are bound to it.
    let env = setup();
    let id = id_of(&env, "b");
    env.sql()
        .execute("UPDATE credentials SET version = 9 WHERE id = ?1", [&id])
        .expect("edit");
    let run = env.run_pw(&["get", "b"], "").code(6);
    assert!(run.stderr.contains("integrity error"), "{}", run.stderr);
    // A record's name index swapped with another's.
    let env = setup();
    let (ia, ib) = (id_of(&env, "a"), id_of(&env, "b"));
    let (xa, xb) = (read_row(&env, &ia).1, read_row(&env, &ib).1);
    let conn = env.sql();
    for (index, id) in [(vec![0u8], &ia), (xa, &ib), (xb, &ia)] {
        conn.execute(
            "UPDATE credentials SET name_index = ?1 WHERE id = ?2",
            rusqlite::params![index, id],
        )
        .expect("swap");
    }
    drop(conn);
    let run = env.run_pw(&["get", "b"], "").code(6);
    assert!(
        run.stderr.contains("filed under another name"),
        "{}",
        run.stderr
    );
}
