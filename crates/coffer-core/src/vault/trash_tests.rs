//! The trash over a real SQLite file: a delete is undone with its history,
//! the name is free meanwhile, nothing else sees a deleted credential, the
//! audit trail holds through it all, and an edit of the file that moves a
//! record in or out of the trash is refused.

use chrono::Duration;
use rusqlite::Connection;

use super::TRASH_DAYS;
use crate::credential::{Draft, Patch};
use crate::error::{Error, ErrorClass};
use crate::kind::Kind;
use crate::secret::SecretValue;
use crate::testkit::{t0 as now, vault, Fixture};
use crate::vault::Vault;

fn key(name: &str, secret: &str) -> Draft {
    let mut d = Draft::new(name, Kind::AwsAccessKey);
    d.fields
        .insert("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into());
    d.values.insert("secret_access_key".into(), secret.into());
    d.env = Some("prod".into());
    d
}

fn fixture_with(names: &[&str]) -> (Fixture, Vault) {
    let (f, mut v) = vault(Some("recovery pass"), now());
    for name in names {
        v.add(key(name, &format!("secret of {name}")), now())
            .expect("add");
    }
    (f, v)
}

fn secret_of(v: &Vault, name: &str) -> String {
    let (_, s) = v.reveal(name, None, now()).expect("reveal");
    s.0["secret_access_key"].expose_secret().to_owned()
}

fn holds(v: &Vault) {
    v.verify_audit()
        .expect("verify")
        .expect("the audit trail holds");
}

#[test]
fn a_deleted_credential_leaves_every_view_and_comes_back_with_its_history() {
    let (_f, mut v) = fixture_with(&["aws/a", "aws/b"]);
    let mut patch = Patch::default();
    patch
        .values
        .insert("secret_access_key".into(), "second".into());
    v.update("aws/a", &patch, now()).expect("update");
    v.list().expect("list (keeps a catalog)");

    let gone = v.remove("aws/a", now()).expect("remove");
    assert_eq!(gone.version, 3);
    assert!(matches!(v.get("aws/a"), Err(Error::NotFound { .. })));
    assert!(matches!(v.history("aws/a"), Err(Error::NotFound { .. })));
    assert!(matches!(
        v.reveal("aws/a", None, now()),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(v.count().expect("count"), 1);
    let names: Vec<String> = v
        .list()
        .expect("list")
        .into_iter()
        .map(|c| c.meta.name)
        .collect();
    assert_eq!(names, ["aws/b"]);
    assert!(v
        .search("aws")
        .expect("search")
        .iter()
        .all(|c| c.meta.name != "aws/a"));
    let trash = v.trash().expect("trash");
    assert_eq!(trash.len(), 1);
    assert_eq!(trash[0].name, "aws/a");
    assert_eq!(trash[0].trashed_at, now());
    assert_eq!(trash[0].purge_after, now() + Duration::days(TRASH_DAYS));
    assert_eq!(super::Trashed::of(&gone).as_ref(), Some(&trash[0]));
    holds(&v);

    let back = v.restore("aws/a", None, now()).expect("restore");
    assert_eq!(back.id, gone.id);
    assert_eq!(back.version, 4);
    assert_eq!(secret_of(&v, "aws/a"), "second");
    let changes: Vec<Vec<String>> = v
        .history("aws/a")
        .expect("history")
        .into_iter()
        .map(|h| h.changes)
        .collect();
    assert_eq!(changes[2], ["deleted to the trash"]);
    assert_eq!(changes[3], ["restored from the trash"]);
    assert!(v.trash().expect("trash").is_empty());
    assert_eq!(v.count().expect("count"), 2);
    holds(&v);
    let actions: Vec<&str> = v
        .audit_entries(&Default::default())
        .expect("entries")
        .iter()
        .map(|e| e.body.action.as_str())
        .filter(|a| ["trash", "untrash", "delete"].contains(a))
        .collect();
    assert_eq!(actions, ["untrash", "trash"], "newest first");
}

#[test]
fn the_name_is_free_while_in_the_trash_and_a_restore_never_takes_it_back() {
    let (_f, mut v) = fixture_with(&["db/main"]);
    let first = v.remove("db/main", now()).expect("remove");
    v.add(key("db/main", "the new one"), now())
        .expect("the name is free");
    let refused = v.restore("db/main", None, now()).expect_err("taken");
    assert!(matches!(refused, Error::AlreadyExists { .. }), "{refused}");
    assert_eq!(secret_of(&v, "db/main"), "the new one");
    assert!(matches!(
        v.restore("db/main", Some("bad\u{7}name"), now()),
        Err(Error::Invalid { .. })
    ));
    let back = v
        .restore(&first.id.to_string(), Some("db/main-old"), now())
        .expect("restore by id, renamed");
    assert_eq!(back.id, first.id);
    assert_eq!(secret_of(&v, "db/main-old"), "secret of db/main");
    assert!(matches!(
        v.restore("db/main", None, now()),
        Err(Error::NotFound { .. })
    ));
    holds(&v);
}

#[test]
fn purges_remove_for_good_and_the_trail_says_why() {
    let (_f, mut v) = fixture_with(&["a", "b", "c", "d"]);
    v.remove("a", now()).expect("remove a");
    v.remove("b", now() + Duration::days(1)).expect("remove b");
    let gone = v.purge_trashed(Some("a"), now()).expect("purge a");
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].name, "a");
    assert!(matches!(
        v.restore("a", None, now()),
        Err(Error::NotFound { .. })
    ));
    v.purge("c", now()).expect("purge c without the trash");
    assert!(v.trash().expect("trash").iter().all(|t| t.name == "b"));
    // A delete 30 days after b's removes b on its way.
    v.remove("d", now() + Duration::days(TRASH_DAYS + 1))
        .expect("remove d");
    let left: Vec<String> = v
        .trash()
        .expect("trash")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(left, ["d"]);
    assert_eq!(
        v.purge_expired_trash(now() + Duration::days(2 * TRASH_DAYS + 2))
            .expect("expire"),
        1
    );
    assert!(v.trash().expect("trash").is_empty());
    holds(&v);
    let whys: Vec<String> = v
        .audit_entries(&Default::default())
        .expect("entries")
        .iter()
        .filter(|e| e.body.action.as_str() == "delete")
        .map(|e| e.body.details["why"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        whys,
        ["expired", "expired", "purge", "purge"],
        "newest first"
    );
}

#[test]
fn a_rollback_to_the_deleted_version_is_live_and_a_rekey_keeps_the_trash() {
    let (f, mut v) = fixture_with(&["k", "other"]);
    v.remove("k", now()).expect("remove");
    v.restore("k", None, now()).expect("restore");
    v.rollback("k", 2, now())
        .expect("roll back to the version deleted");
    assert_eq!(v.get("k").expect("live").meta.trashed_at, None);
    v.remove("other", now()).expect("remove");
    v.rekey(
        Some(&f.sealer),
        Some(&SecretValue::from("recovery pass")),
        now(),
    )
    .expect("rekey");
    assert_eq!(v.get("k").expect("found under the new name key").version, 4);
    v.restore("other", None, now())
        .expect("restore after a rekey");
    assert_eq!(secret_of(&v, "other"), "secret of other");
    holds(&v);
}

#[test]
fn a_record_moved_in_or_out_of_the_trash_without_the_key_is_refused() {
    let (f, mut v) = fixture_with(&["in", "out"]);
    let out = v.remove("out", now()).expect("remove");
    let raw = Connection::open(&f.path).expect("raw");
    // Out of the trash: filed under its name again.
    raw.execute(
        "UPDATE credentials SET name_index = ?1 WHERE id = ?2",
        rusqlite::params![v.name_index("out").expect("index"), &out.id.0[..]],
    )
    .expect("edit");
    assert_eq!(v.get("out").unwrap_err().class(), ErrorClass::Integrity);
    assert_eq!(v.list().unwrap_err().class(), ErrorClass::Integrity);
    // Into the trash: a live record filed as deleted.
    let (f, mut v) = fixture_with(&["in"]);
    let live = v.get("in").expect("get");
    let raw = Connection::open(&f.path).expect("raw");
    raw.execute(
        "UPDATE credentials SET name_index = ?1 WHERE id = ?2",
        rusqlite::params![crate::rows::trash_index(&live.id.0), &live.id.0[..]],
    )
    .expect("edit");
    assert_eq!(v.trash().unwrap_err().class(), ErrorClass::Integrity);
    assert_eq!(
        v.restore("in", None, now()).unwrap_err().class(),
        ErrorClass::Integrity
    );
}

#[test]
fn a_credential_being_rotated_is_not_deleted() {
    let (_f, v) = fixture_with(&["r"]);
    let id = v.get("r").expect("get").id;
    let raw = Connection::open(&_f.path).expect("raw");
    raw.execute(
        "INSERT INTO rotations (id, credential_id, started_at, updated_at, state) VALUES (x'01', ?1, 0, 0, x'00')",
        [&id.0[..]],
    )
    .expect("a running rotation");
    let mut v = v;
    let refused = v.remove("r", now()).expect_err("refused");
    assert!(
        refused.to_string().contains("rotation in progress"),
        "{refused}"
    );
    assert!(v.purge("r", now()).is_err());
    assert!(v.get("r").is_ok());
}
