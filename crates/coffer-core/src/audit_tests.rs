//! Tests of the audit trail: what is recorded, and that any tampering is
//! detected at the right sequence number.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::credential::Draft;
use crate::kind::Kind;
use crate::secret::SecretValue;
use crate::vault::Vault;
use crate::{ErrorClass, Patch};

use crate::testkit::t0;

type Fx = crate::testkit::Fixture;

fn tester() -> Actor {
    Actor {
        user: "tester".into(),
        interface: "cli".into(),
    }
}

fn fixture(passphrase: bool) -> (Fx, Vault) {
    let (fx, mut vault) = crate::testkit::vault(passphrase.then_some("recovery pass"), t0());
    vault.set_actor(tester());
    (fx, vault)
}

fn key(name: &str, value: &str) -> Draft {
    let mut d = Draft::new(name, Kind::ApiKey);
    d.values.insert("key".into(), value.into());
    d
}

fn actions(v: &Vault) -> Vec<(u64, Action, Option<String>, Outcome)> {
    let mut all = v.audit_entries(&Query::default()).expect("entries");
    all.reverse();
    all.into_iter()
        .map(|e| (e.seq, e.body.action, e.body.target_name, e.body.outcome))
        .collect()
}

fn reopen(fx: &Fx, at: DateTime<Utc>) -> Vault {
    let mut v = Vault::open(&fx.path).expect("open");
    v.set_actor(tester());
    v.unlock_with_keyring(&fx.sealer, at).expect("unlock");
    v
}

#[test]
fn every_access_is_recorded_in_order() {
    let (fx, mut v) = fixture(false);
    v.add(key("api/a", "canary-audit-secret-1"), t0())
        .expect("add");
    v.reveal("api/a", Some(&["key"]), t0()).expect("reveal");
    let mut p = Patch::default();
    p.values
        .insert("key".into(), "canary-audit-secret-2".into());
    v.update("api/a", &p, t0()).expect("update");
    v.rollback("api/a", 1, t0()).expect("rollback");
    v.remove("api/a", t0()).expect("remove");
    v.purge_trashed(Some("api/a"), t0()).expect("purge");
    v.lock(t0()).expect("lock");
    let v = reopen(&fx, t0());
    v.list().expect("list");
    let seen: Vec<(u64, Action, Option<String>)> = actions(&v)
        .into_iter()
        .map(|(s, a, n, _)| (s, a, n))
        .collect();
    let a = Some("api/a".to_owned());
    assert_eq!(
        seen,
        vec![
            (1, Action::VaultCreate, None),
            (2, Action::Create, a.clone()),
            (3, Action::Reveal, a.clone()),
            (4, Action::Update, a.clone()),
            (5, Action::Rollback, a.clone()),
            (6, Action::Trash, a.clone()),
            (7, Action::Delete, a.clone()),
            (8, Action::Lock, None),
            (9, Action::Unlock, None),
        ]
    );
    let entries = v.audit_entries(&Query::default()).expect("entries");
    let reveal = entries
        .iter()
        .find(|e| e.body.action == Action::Reveal)
        .expect("reveal");
    assert_eq!(reveal.body.details["fields"], serde_json::json!(["key"]));
    assert_eq!(reveal.body.actor.user, "tester");
    let update = entries
        .iter()
        .find(|e| e.body.action == Action::Update)
        .expect("update");
    assert_eq!(
        update.body.details["changes"],
        serde_json::json!(["field key"])
    );
    assert_eq!(
        v.verify_audit().expect("db"),
        Ok(Verified {
            entries: 9,
            anchored: Some(8)
        })
    );
    // No secret value anywhere in the trail.
    for e in &entries {
        let text = serde_json::to_string(&e.body).expect("json");
        assert!(!text.contains("canary-audit-secret"), "{text}");
    }
}

#[test]
fn queries_filter_newest_first() {
    let (_fx, mut v) = fixture(false);
    v.add(key("a", "1"), t0()).expect("add");
    v.add(key("b", "2"), t0() + Duration::hours(1))
        .expect("add");
    v.reveal("b", None, t0() + Duration::hours(2))
        .expect("reveal");
    let only_b = v
        .audit_entries(&Query {
            credential: Some("b".into()),
            ..Query::default()
        })
        .expect("q");
    assert_eq!(
        only_b.iter().map(|e| e.body.action).collect::<Vec<_>>(),
        vec![Action::Reveal, Action::Create]
    );
    let since = v
        .audit_entries(&Query {
            since: Some(t0() + Duration::minutes(30)),
            action: Some(Action::Create),
            ..Query::default()
        })
        .expect("q");
    assert_eq!(since.len(), 1);
    let limited = v
        .audit_entries(&Query {
            limit: Some(2),
            ..Query::default()
        })
        .expect("q");
    assert_eq!(
        limited.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![4, 3]
    );
}

#[test]
fn time_bounds_and_limits_select_what_filtering_the_whole_trail_would() {
    let (_fx, mut v) = fixture(false);
    for i in 0..5 {
        v.add(key(&format!("k{i}"), "1"), t0() + Duration::minutes(10 * i))
            .expect("add");
    }
    let all = v.audit_entries(&Query::default()).expect("all");
    let minutes = |m: i64| t0() + Duration::minutes(m);
    let tiny = Duration::microseconds(1);
    for (since, until) in [
        (Some(minutes(10)), Some(minutes(30))),
        (Some(minutes(10) + tiny), None),
        (None, Some(minutes(20) - tiny)),
        (Some(minutes(40)), Some(minutes(40))),
    ] {
        let got = v
            .audit_entries(&Query {
                since,
                until,
                ..Query::default()
            })
            .expect("q");
        let want: Vec<u64> = all
            .iter()
            .filter(|e| since.is_none_or(|s| e.at >= s) && until.is_none_or(|u| e.at <= u))
            .map(|e| e.seq)
            .collect();
        assert!(
            !want.is_empty(),
            "a case that selects nothing proves little"
        );
        assert_eq!(
            got.iter().map(|e| e.seq).collect::<Vec<_>>(),
            want,
            "{since:?}..{until:?}"
        );
    }
    let none = v
        .audit_entries(&Query {
            limit: Some(0),
            ..Query::default()
        })
        .expect("q");
    assert!(none.is_empty());
    // One credential's latest entry, from under the later ones.
    let last = v
        .audit_entries(&Query {
            credential: Some("k0".into()),
            limit: Some(1),
            ..Query::default()
        })
        .expect("q");
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].body.target_name.as_deref(), Some("k0"));
    assert_eq!(last[0].at, minutes(0));
}

#[test]
fn failed_unlocks_are_chained_in_and_reported() {
    let (fx, v) = fixture(true);
    drop(v);
    let mut p = Vault::open(&fx.path).expect("open");
    for i in 0..3 {
        let at = t0() + Duration::minutes(i);
        assert!(p
            .unlock_with_passphrase(&SecretValue::from("wrong"), at)
            .is_err());
    }
    p.record_failed_unlock(
        "the keyring could not unlock it and no passphrase was given",
        t0() + Duration::minutes(5),
    )
    .expect("pending");
    let report = p
        .unlock_with_keyring(&fx.sealer, t0() + Duration::hours(1))
        .expect("unlock");
    assert_eq!(report.failed_attempts, 4);
    assert_eq!(report.failed_since, Some(t0()));
    let seen = actions(&p);
    let failed: Vec<_> = seen
        .iter()
        .filter(|(_, a, _, _)| *a == Action::UnlockFailed)
        .collect();
    assert_eq!(failed.len(), 4);
    assert!(failed.iter().all(|(_, _, _, o)| *o == Outcome::Denied));
    assert_eq!(seen.last().map(|(_, a, _, _)| *a), Some(Action::Unlock));
    // Reported once: the next unlock starts from zero.
    let again = reopen(&fx, t0() + Duration::hours(2));
    drop(again);
    let mut q = Vault::open(&fx.path).expect("open");
    assert_eq!(
        q.unlock_with_keyring(&fx.sealer, t0())
            .expect("unlock")
            .failed_attempts,
        0
    );
}

#[test]
fn an_access_that_cannot_be_audited_does_not_happen() {
    let (fx, mut v) = fixture(false);
    v.add(key("a", "s3cr3t"), t0()).expect("add");
    rusqlite::Connection::open(&fx.path)
        .expect("raw")
        .execute_batch("CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;")
        .expect("trigger");
    let err = v.reveal("a", None, t0()).unwrap_err();
    assert!(
        err.to_string().contains("cannot write the audit trail"),
        "{err}"
    );
    assert!(v.add(key("b", "x"), t0()).is_err());
    assert!(
        matches!(v.get("b"), Err(crate::Error::NotFound { .. })),
        "the add was rolled back"
    );
}

#[test]
fn rekey_rechains_and_verification_still_passes() {
    let (fx, mut v) = fixture(true);
    v.add(key("a", "1"), t0()).expect("add");
    v.rekey(
        Some(&fx.sealer),
        Some(&SecretValue::from("recovery pass")),
        t0(),
    )
    .expect("rekey");
    assert!(v.verify_audit().expect("db").is_ok());
    drop(v);
    let v = reopen(&fx, t0());
    let result = v.verify_audit().expect("db").expect("intact");
    assert_eq!(result.entries, 4);
    assert_eq!(actions(&v)[2].1, Action::Rekey);
}

#[test]
fn rekey_refuses_a_broken_trail() {
    let (fx, mut v) = fixture(true);
    v.add(key("a", "1"), t0()).expect("add");
    rusqlite::Connection::open(&fx.path)
        .expect("raw")
        .execute_batch("UPDATE audit SET at = at + 1 WHERE seq = 1")
        .expect("tamper");
    let err = v
        .rekey(
            Some(&fx.sealer),
            Some(&SecretValue::from("recovery pass")),
            t0(),
        )
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Integrity);
}

#[derive(Clone, Debug)]
enum Tamper {
    Modify { entry: usize, column: usize },
    Delete { entry: usize },
    DeleteAndRenumber { entry: usize },
    Swap { a: usize, b: usize },
    Truncate { from: usize },
}

fn tamper_strategy(n: usize) -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (1..=n, 0..4usize).prop_map(|(entry, column)| Tamper::Modify { entry, column }),
        (1..=n).prop_map(|entry| Tamper::Delete { entry }),
        (1..n).prop_map(|entry| Tamper::DeleteAndRenumber { entry }),
        (1..n, 1..n).prop_filter_map("distinct", |(a, b)| (a != b).then(|| Tamper::Swap {
            a: a.min(b),
            b: a.max(b) + 1
        })),
        (2..=n).prop_map(|from| Tamper::Truncate { from }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// For a trail of random events, every kind of tampering is detected at
    /// the right sequence number.
    #[test]
    fn tampering_is_detected_at_the_right_entry(
        (n_ops, tamper) in (3usize..12).prop_flat_map(|n| (Just(n), tamper_strategy(n + 2))),
        ops in proptest::collection::vec(0u8..4, 12),
    ) {
        let (fx, mut v) = fixture(false);
        for (i, op) in ops.iter().take(n_ops).enumerate() {
            let name = format!("c{i}");
            v.add(key(&name, "v"), t0()).expect("add");
            match op {
                0 => { v.reveal(&name, None, t0()).expect("reveal"); }
                1 => { v.remove(&name, t0()).expect("rm"); }
                2 => {
                    let p = Patch { notes: Some(Some("n".into())), ..Patch::default() };
                    v.update(&name, &p, t0()).expect("update");
                }
                _ => {}
            }
        }
        v.close().expect("close");
        let total: i64 = rusqlite::Connection::open(&fx.path).expect("raw")
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0)).expect("count");
        let total = total as usize;
        let raw = rusqlite::Connection::open(&fx.path).expect("raw");
        let expected = match tamper.clone() {
            Tamper::Modify { entry, column } => {
                let entry = entry.min(total);
                if column == 2 {
                    let mut body: Vec<u8> = raw
                        .query_row("SELECT body FROM audit WHERE seq = ?1", [entry as i64], |r| r.get(0))
                        .expect("body");
                    body[20] ^= 0x01;
                    raw.execute("UPDATE audit SET body = ?1 WHERE seq = ?2", rusqlite::params![body, entry as i64])
                        .expect("tamper");
                } else {
                    let sql = ["UPDATE audit SET at = at + 1 WHERE seq = ?1",
                               "UPDATE audit SET target = x'00112233445566778899aabbccddeeff' WHERE seq = ?1",
                               "",
                               "UPDATE audit SET mac = zeroblob(32) WHERE seq = ?1"][column];
                    raw.execute(sql, [entry as i64]).expect("tamper");
                }
                Break::Modified { seq: entry as u64 }
            }
            Tamper::Delete { entry } => {
                let entry = entry.min(total);
                raw.execute("DELETE FROM audit WHERE seq = ?1", [entry as i64]).expect("tamper");
                if entry == total {
                    Break::Truncated { seq: total as u64, anchored: total as u64 }
                } else {
                    Break::Missing { seq: entry as u64 }
                }
            }
            Tamper::DeleteAndRenumber { entry } => {
                let entry = entry.min(total - 1);
                raw.execute("DELETE FROM audit WHERE seq = ?1", [entry as i64]).expect("tamper");
                raw.execute("UPDATE audit SET seq = seq - 1 WHERE seq > ?1", [entry as i64]).expect("renumber");
                Break::Missing { seq: entry as u64 }
            }
            Tamper::Swap { a, b } => {
                let b = b.min(total);
                let a = a.min(b - 1);
                raw.execute_batch(&format!(
                    "UPDATE audit SET seq = -1 WHERE seq = {a};
                     UPDATE audit SET seq = {a} WHERE seq = {b};
                     UPDATE audit SET seq = {b} WHERE seq = -1;"
                )).expect("swap");
                Break::Reordered { seq: a as u64, belongs_at: b as u64 }
            }
            Tamper::Truncate { from } => {
                let from = from.min(total);
                raw.execute("DELETE FROM audit WHERE seq >= ?1", [from as i64]).expect("truncate");
                Break::Truncated { seq: from as u64, anchored: total as u64 }
            }
        };
        let mut p = Vault::open(&fx.path).expect("open");
        // Verify without writing the new unlock first: check the stored trail as found.
        p.unlock_unrecorded_for_tests(&fx.sealer);
        let found = p.verify_audit().expect("db");
        prop_assert_eq!(found, Err(expected));
    }
}

/// A failed-unlock row written into the file by someone without the key is
/// chained in without its text: a forger cannot put words in the trail.
#[test]
fn forged_failed_unlock_rows_are_chained_without_their_text() {
    let (fx, v) = fixture(false);
    drop(v);
    rusqlite::Connection::open(&fx.path)
        .expect("open")
        .execute(
            "INSERT INTO audit_pending (at, interface, reason) VALUES (0, 'cli; rm -rf', 'admin approved: ignore the next alerts')",
            [],
        )
        .expect("forge");
    let p = reopen(&fx, t0() + Duration::hours(1));
    p.verify_audit().expect("verify").expect("intact");
    let entries = p.audit_entries(&Query::default()).expect("entries");
    let forged = entries
        .iter()
        .find(|e| e.body.action == Action::UnlockFailed)
        .expect("chained in");
    let text = forged.body.details.to_string();
    assert!(!text.contains("admin approved"), "{text}");
    assert!(!text.contains("rm -rf"), "{text}");
    assert!(text.contains("unrecognised record"), "{text}");
    assert!(p.record_failed_unlock("anything else", t0()).is_err());
}
