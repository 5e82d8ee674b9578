//! Tampering through the CLI: altered records and slots give exit 6 with a
//! message, never a wrong value. (Every byte position is covered by the
//! core's unit tests; here a sample goes through the whole binary.)

use sha2::{Digest, Sha256};

use crate::support::*;

fn setup() -> Env {
    let env = Env::passphrase_vault();
    env.run_pw(&["add", "a", "--kind", "api-key"], r#"{"key": "value-a"}"#)
        .ok();
    env.run_pw(&["add", "b", "--kind", "api-key"], r#"{"key": "value-b"}"#)
        .ok();
    env
}

#[test]
fn flipped_record_bytes_are_integrity_errors() {
    let env = setup();
    let (id, secrets): (Vec<u8>, Vec<u8>) = env
        .sql()
        .query_row("SELECT id, secrets FROM credentials LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("row");
    let len = secrets.len();
    for pos in [0, 1, 5, 12, 13, len / 2, len - 17, len - 1] {
        let mut bad = secrets.clone();
        bad[pos] ^= 0x20;
        env.sql()
            .execute(
                "UPDATE credentials SET secrets = ?1 WHERE id = ?2",
                (&bad, &id),
            )
            .expect("tamper");
        let a = env.run_pw(&["get", "a"], "");
        let b = env.run_pw(&["get", "b"], "");
        let tampered = if a.code == 6 { a } else { b };
        assert_eq!(tampered.code, 6, "byte {pos}: {}", tampered.stderr);
        assert!(
            tampered.stderr.contains("integrity error"),
            "{}",
            tampered.stderr
        );
        assert!(tampered.stdout.is_empty(), "no value printed");
    }
}

#[test]
fn a_ciphertext_copied_into_another_row_fails() {
    let env = setup();
    env.sql()
        .execute_batch("UPDATE credentials SET secrets = (SELECT secrets FROM credentials ORDER BY id LIMIT 1)")
        .expect("copy");
    let a = env.run_pw(&["get", "a"], "");
    let b = env.run_pw(&["get", "b"], "");
    assert!(
        a.code == 6 || b.code == 6,
        "a: {} b: {}",
        a.stderr,
        b.stderr
    );
    let ok = if a.code == 0 { a } else { b };
    assert!(ok.code == 0 && (ok.stdout.contains("value-a") || ok.stdout.contains("value-b")));
}

#[test]
fn flipped_slot_bytes_are_integrity_errors() {
    let env = setup();
    let body: Vec<u8> = env
        .sql()
        .query_row("SELECT body FROM slots", [], |r| r.get(0))
        .expect("slot");
    for pos in [0, 3, 9, 20, body.len() / 2, body.len() - 1] {
        let mut bad = body.clone();
        bad[pos] ^= 0x01;
        env.sql()
            .execute("UPDATE slots SET body = ?1", [&bad])
            .expect("tamper");
        let run = env.run_pw(&["list"], "").code(6);
        assert!(run.stderr.contains("key slot"), "{}", run.stderr);
    }
}

/// Rewrites the passphrase slot's Argon2 memory cost and, like a careful
/// attacker, fixes up its checksum: still refused.
#[test]
fn weakened_slot_parameters_are_refused() {
    let env = setup();
    let body: Vec<u8> = env
        .sql()
        .query_row("SELECT body FROM slots", [], |r| r.get(0))
        .expect("slot");
    let mut content = body[..body.len() - 32].to_vec();
    content[1..5].copy_from_slice(&1024u32.to_be_bytes());
    // Naive edit: caught by the checksum.
    let mut naive = content.clone();
    naive.extend_from_slice(&body[body.len() - 32..]);
    env.sql()
        .execute("UPDATE slots SET body = ?1", [&naive])
        .expect("tamper");
    env.run_pw(&["list"], "").code(6);
    // Checksum recomputed: caught by the parameter floor.
    let mut h = Sha256::new();
    for part in [
        b"coffer/v1/slot-checksum".as_slice(),
        b"passphrase",
        &content,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let mut forged = content.clone();
    forged.extend_from_slice(&h.finalize());
    env.sql()
        .execute("UPDATE slots SET body = ?1", [&forged])
        .expect("tamper");
    let run = env.run_pw(&["list"], "").code(6);
    assert!(run.stderr.contains("below the minimum"), "{}", run.stderr);
}
