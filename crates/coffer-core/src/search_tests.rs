//! Unit tests of search, list and find over a real SQLite file: the
//! catalog's answers against a plain scan, its refresh after writes by this
//! handle and by another one, and the rotation states it caches.

use super::*;
use crate::credential::{Draft, Patch};
use crate::rotation::{Policy, Scope};

use crate::testkit::t0;
use std::os::unix::fs::PermissionsExt;

fn days(n: i64) -> DateTime<Utc> {
    t0() + Duration::days(n)
}

use crate::testkit::Fixture;

fn fixture() -> (Fixture, Vault) {
    crate::testkit::vault(None, t0())
}

fn second_handle(f: &Fixture) -> Vault {
    f.reopen(t0())
}

fn aws(name: &str, env: &str, tags: &[&str]) -> Draft {
    let mut d = Draft::new(name, Kind::AwsAccessKey);
    d.fields
        .insert("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into());
    d.fields.insert("region".into(), "eu-west-1".into());
    d.values
        .insert("secret_access_key".into(), "SuperSecretValue".into());
    d.env = Some(env.into());
    d.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    d
}

fn db(name: &str, env: &str, note: &str) -> Draft {
    let mut d = Draft::new(name, Kind::DbPassword);
    d.fields.insert("host".into(), "db.internal".into());
    d.fields.insert("user".into(), "app".into());
    d.values.insert("password".into(), "hunter2-secret".into());
    d.env = Some(env.into());
    d.notes = Some(note.into());
    d
}

fn generic(name: &str) -> Draft {
    let mut d = Draft::new(name, Kind::Generic);
    d.values.insert("token".into(), "tok-secret".into());
    d
}

fn names(list: &[Credential]) -> Vec<&str> {
    list.iter().map(|c| c.meta.name.as_str()).collect()
}

fn meta() -> CredentialMeta {
    let mut d = Draft::new("aws/prod/team-17/deploy", Kind::AwsAccessKey);
    d.fields
        .insert("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into());
    d.values
        .insert("secret_access_key".into(), "SuperSecretValue".into());
    d.tags = vec!["Billing".into()];
    d.notes = Some("Owned by the Ünicode team".into());
    d.env = Some("prod".into());
    d.into_parts().expect("valid").0
}

#[test]
fn words_match_any_searchable_property() {
    let m = meta();
    for q in [
        "prod/team-17",
        "BILLING",
        "akiaiosfodnn7",
        "aws-access-key",
        "ünicode",
        "ÜNICODE",
        "deploy billing",
        "",
    ] {
        assert!(Query::parse(q).matches(&m), "{q}");
    }
    for q in ["supersecretvalue", "deploy staging", "team-18"] {
        assert!(!Query::parse(q).matches(&m), "{q}");
    }
}

/// A small vault with a bit of everything: kinds, environments, tags,
/// notes in and out of ASCII.
fn sample(v: &mut Vault) {
    let drafts = vec![
        aws("aws/prod/team-17/deploy", "prod", &["team-17", "Billing"]),
        aws("aws/prod/team-18/deploy", "prod", &["team-18"]),
        aws("aws/dev/team-17/ci", "dev", &["team-17"]),
        db("db/prod/orders", "prod", "Owned by the Ünicode team"),
        db("db/staging/orders", "staging", "ΣΊΣΥΦΟΣ rotates it"),
        generic("misc/token"),
    ];
    v.add_many(drafts, t0()).expect("add");
}

fn kept_catalog(v: &Vault) -> bool {
    matches!(*v.kept::<Kept>(), Kept::Catalog(_))
}

#[test]
fn search_answers_like_a_plain_scan_of_every_credential() {
    let (f, mut v) = fixture();
    sample(&mut v);
    let all = v.list().expect("list");
    assert!(!kept_catalog(&v), "a first question keeps nothing");
    assert_eq!(
        names(&all),
        [
            "aws/dev/team-17/ci",
            "aws/prod/team-17/deploy",
            "aws/prod/team-18/deploy",
            "db/prod/orders",
            "db/staging/orders",
            "misc/token",
        ]
    );
    for q in [
        "",
        "prod",
        "PROD team-17",
        "team-17 prod",
        "team",
        "billing",
        "aws-access-key",
        "db-password prod",
        "ünicode",
        "ÜNICODE team",
        "σίσυφος",
        "σίσυφοσ",
        "db.internal",
        "eu-west-1 dev",
        "akia",
        "deploy\nprod",
        "s/d",
        "/",
        "supersecretvalue",
        "hunter2",
        "tok-secret",
        "nothing-matches-this",
        "orders\nunicode",
        "ders",
    ] {
        let query = Query::parse(q);
        let expected: Vec<&str> = all
            .iter()
            .filter(|c| query.matches(&c.meta))
            .map(|c| c.meta.name.as_str())
            .collect();
        // A new handle's first search scans; this one's uses its catalog.
        let scanned = second_handle(&f).search(q).expect("search");
        assert_eq!(names(&scanned), expected, "scan, query {q:?}");
        let found = v.search(q).expect("search");
        assert_eq!(names(&found), expected, "catalog, query {q:?}");
        assert!(kept_catalog(&v));
    }
    // Secret values are never searched.
    for q in ["supersecretvalue", "hunter2", "tok-secret"] {
        assert!(v.search(q).expect("search").is_empty(), "{q}");
    }
}

#[test]
fn a_word_never_matches_across_two_properties_or_two_credentials() {
    let (_f, mut v) = fixture();
    let mut a = generic("alpha");
    a.notes = Some("one".into());
    let mut b = generic("beta");
    b.notes = Some("two".into());
    v.add_many(vec![a, b], t0()).expect("add");
    // "alpha" ends one credential's name and "generic" is its kind: the
    // text holds "alpha\ngeneric"; whitespace never joins a word.
    assert!(v.search("alphageneric").expect("search").is_empty());
    assert!(v.search("onebeta").expect("search").is_empty());
    assert_eq!(
        names(&v.search("alpha generic").expect("search")),
        ["alpha"]
    );
}

#[test]
fn find_filters_pages_and_counts() {
    let (_f, mut v) = fixture();
    sample(&mut v);
    let all = Find {
        limit: 100,
        ..Find::default()
    };
    let found = v.find(&all, t0()).expect("find");
    assert_eq!(found.total, 6);
    assert_eq!(found.items.len(), 6);
    assert_eq!(
        found.facets.kinds,
        [Kind::AwsAccessKey, Kind::DbPassword, Kind::Generic]
    );
    assert_eq!(found.facets.envs, ["dev", "prod", "staging"]);
    assert_eq!(found.facets.tags, ["Billing", "team-17", "team-18"]);
    assert_eq!(found.facets.needs_action, 0);
    assert_eq!(found.facets.due_soon, 0);
    assert!(found
        .items
        .iter()
        .all(|(_, s)| s.state == State::Ok || (s.state == State::NoPolicy)));

    let page = v
        .find(
            &Find {
                offset: 2,
                limit: 2,
                ..Find::default()
            },
            t0(),
        )
        .expect("find");
    assert_eq!(page.total, 6);
    let page_names: Vec<&str> = page
        .items
        .iter()
        .map(|(c, _)| c.meta.name.as_str())
        .collect();
    assert_eq!(page_names, ["aws/prod/team-18/deploy", "db/prod/orders"]);
    let past_the_end = v
        .find(
            &Find {
                offset: 10,
                limit: 5,
                ..Find::default()
            },
            t0(),
        )
        .expect("find");
    assert_eq!((past_the_end.total, past_the_end.items.len()), (6, 0));

    let by = |find: Find| -> (usize, Vec<String>) {
        let found = v.find(&find, t0()).expect("find");
        // Facets always describe the whole vault, whatever the filters.
        assert_eq!(found.facets.envs, ["dev", "prod", "staging"]);
        (
            found.total,
            found.items.into_iter().map(|(c, _)| c.meta.name).collect(),
        )
    };
    let (n, got) = by(Find {
        query: "deploy".into(),
        env: Some("prod".into()),
        limit: 10,
        ..Find::default()
    });
    assert_eq!(
        (n, got),
        (
            2,
            vec![
                "aws/prod/team-17/deploy".into(),
                "aws/prod/team-18/deploy".into()
            ]
        )
    );
    let (n, got) = by(Find {
        kind: Some(Kind::DbPassword),
        limit: 10,
        ..Find::default()
    });
    assert_eq!(
        (n, got),
        (2, vec!["db/prod/orders".into(), "db/staging/orders".into()])
    );
    let (n, got) = by(Find {
        tag: Some("team-17".into()),
        query: "DEV".into(),
        limit: 10,
        ..Find::default()
    });
    assert_eq!((n, got), (1, vec!["aws/dev/team-17/ci".into()]));
    let (n, got) = by(Find {
        states: vec![State::NoPolicy],
        limit: 10,
        ..Find::default()
    });
    assert_eq!((n, got), (1, vec!["misc/token".into()]));
    // A zero limit still counts.
    let (n, got) = by(Find {
        query: "prod".into(),
        ..Find::default()
    });
    assert_eq!((n, got.len()), (3, 0));
}

#[test]
fn find_reports_rotation_states_as_time_passes_and_policies_change() {
    let (_f, mut v) = fixture();
    sample(&mut v);
    // db-password: 30 days (warn 14); aws: 90 days; generic: none.
    let at = |v: &Vault, when| {
        let found = v
            .find(
                &Find {
                    limit: 100,
                    ..Find::default()
                },
                when,
            )
            .expect("find");
        let states: Vec<(String, State)> = found
            .items
            .iter()
            .map(|(c, s)| (c.meta.name.clone(), s.state))
            .collect();
        (found.facets.needs_action, found.facets.due_soon, states)
    };
    let (action, soon, _) = at(&v, days(20));
    assert_eq!((action, soon), (0, 2));
    let (action, soon, states) = at(&v, days(31));
    assert_eq!((action, soon), (2, 0));
    assert!(states.contains(&("db/prod/orders".into(), State::Overdue)));
    let (action, soon, _) = at(&v, days(80));
    assert_eq!((action, soon), (2, 3));

    // A policy set on a tag reaches the cached states at once.
    v.set_policy(
        &Scope::Tag("team-18".into()),
        Some(Policy::new(5, 2).expect("policy")),
        t0(),
    )
    .expect("policy");
    let (action, soon, states) = at(&v, days(6));
    assert_eq!((action, soon), (1, 0));
    assert!(states.contains(&("aws/prod/team-18/deploy".into(), State::Overdue)));
    let overdue = v
        .find(
            &Find {
                states: vec![State::Overdue],
                limit: 10,
                ..Find::default()
            },
            days(6),
        )
        .expect("find");
    assert_eq!(overdue.total, 1);

    // Marked compromised: needs action whatever the time.
    v.update(
        "misc/token",
        &Patch {
            compromised_at: Some(Some(t0())),
            ..Patch::default()
        },
        t0(),
    )
    .expect("update");
    let (action, _, states) = at(&v, t0());
    assert_eq!(action, 1);
    assert!(states.contains(&("misc/token".into(), State::Compromised)));
}

#[test]
fn cached_rotation_states_agree_with_rotation_status() {
    let (_f, mut v) = fixture();
    let mut drafts = Vec::new();
    for i in 0..24 {
        let mut d = match i % 3 {
            0 => aws(
                &format!("a{i}"),
                ["dev", "prod"][i % 2],
                &["t1", "t2"][..(i / 3) % 3],
            ),
            1 => db(&format!("d{i}"), "staging", "n"),
            _ => generic(&format!("g{i}")),
        };
        if i % 4 == 0 {
            d.expires_at = Some(days(i as i64 * 3));
        }
        if i % 5 == 0 {
            d.rotated_at = Some(days(-(i as i64)));
        }
        if i % 7 == 0 {
            d.policy = Some(Policy::new(10 + i as u32, 3).expect("policy"));
        }
        drafts.push(d);
    }
    v.add_many(drafts, t0()).expect("add");
    for (scope, policy) in [
        (Scope::Tag("t1".into()), Policy::new(20, 5)),
        (Scope::Env("prod".into()), Policy::new(40, 10)),
        (Scope::Kind(Kind::Generic), Policy::new(15, 14)),
    ] {
        v.set_policy(&scope, Some(policy.expect("policy")), t0())
            .expect("set");
    }
    let policies = v.policies().expect("policies");
    let timelines = v.with_catalog(|c| {
        c.items
            .iter()
            .map(|i| (i.id, i.timeline))
            .collect::<HashMap<_, _>>()
    });
    let timelines = timelines.expect("catalog");
    let catalog: Vec<_> = v
        .list()
        .expect("list")
        .into_iter()
        .map(|c| {
            let timeline = timelines[&c.id];
            (c, timeline)
        })
        .collect();
    assert_eq!(catalog.len(), 24);
    for hours in (-24 * 30..24 * 120).step_by(7) {
        let now = t0() + Duration::hours(hours);
        for (credential, timeline) in &catalog {
            assert_eq!(
                timeline.state(now),
                crate::policy::status(credential, &policies, now).state,
                "{} at {now}",
                credential.meta.name
            );
        }
    }
}

#[test]
fn the_catalog_follows_writes_of_this_handle_and_of_another() {
    let (f, mut v) = fixture();
    sample(&mut v);
    assert_eq!(v.search("orders").expect("search").len(), 2);

    // This handle's own writes.
    v.add(db("db/prod/invoices", "prod", "x"), t0())
        .expect("add");
    assert_eq!(v.search("db-password prod").expect("search").len(), 2);
    v.update(
        "db/prod/orders",
        &Patch {
            rename: Some("db/prod/orders-v2".into()),
            add_tags: vec!["moved".into()],
            ..Patch::default()
        },
        t0(),
    )
    .expect("rename");
    assert_eq!(
        names(&v.search("orders").expect("search")),
        ["db/prod/orders-v2", "db/staging/orders"]
    );
    assert_eq!(
        names(&v.search("moved").expect("search")),
        ["db/prod/orders-v2"]
    );
    v.remove("db/staging/orders", t0()).expect("remove");
    assert_eq!(
        names(&v.search("orders").expect("search")),
        ["db/prod/orders-v2"]
    );

    // Another process's writes (another connection to the same file).
    let mut other = second_handle(&f);
    other.add(generic("other/new"), t0()).expect("add");
    other
        .update(
            "aws/dev/team-17/ci",
            &Patch {
                notes: Some(Some("changed elsewhere".into())),
                ..Patch::default()
            },
            t0(),
        )
        .expect("update");
    other.remove("misc/token", t0()).expect("remove");
    assert_eq!(names(&v.search("other").expect("search")), ["other/new"]);
    assert_eq!(
        names(&v.search("elsewhere").expect("search")),
        ["aws/dev/team-17/ci"]
    );
    assert!(v.search("misc").expect("search").is_empty());
    other
        .set_policy(
            &Scope::Kind(Kind::Generic),
            Some(Policy::new(3, 1).expect("policy")),
            t0(),
        )
        .expect("policy");
    let overdue = v
        .find(
            &Find {
                states: vec![State::Overdue],
                limit: 10,
                ..Find::default()
            },
            days(4),
        )
        .expect("find");
    assert_eq!(overdue.total, 1, "the other handle's policy applies");

    // After all of it, the catalog agrees with a plain decryption of every row.
    let fresh = second_handle(&f).list().expect("list");
    assert_eq!(v.list().expect("list"), fresh);
    // A big change (many rows at once) takes the full reload path.
    let many: Vec<Draft> = (0..200).map(|i| generic(&format!("bulk/{i:03}"))).collect();
    other.add_many(many, t0()).expect("bulk");
    assert_eq!(v.search("bulk").expect("search").len(), 200);
    assert_eq!(
        v.list().expect("list"),
        second_handle(&f).list().expect("list")
    );
}

#[test]
fn interned_environments_and_tags_follow_a_table_that_changes() {
    let (f, mut v) = fixture();
    sample(&mut v);
    let by = |v: &Vault, env: Option<&str>, tag: Option<&str>| -> Vec<String> {
        let found = v
            .find(
                &Find {
                    env: env.map(str::to_owned),
                    tag: tag.map(str::to_owned),
                    limit: 100,
                    ..Find::default()
                },
                t0(),
            )
            .expect("find");
        found.items.into_iter().map(|(c, _)| c.meta.name).collect()
    };
    assert_eq!(by(&v, Some("staging"), None), ["db/staging/orders"]);
    assert_eq!(by(&v, None, Some("team-18")), ["aws/prod/team-18/deploy"]);
    // An environment and a tag that sort before every other one move the
    // indices of the items the catalog keeps.
    let mut other = second_handle(&f);
    other
        .add(aws("aaa/first", "aaa-env", &["AAA-tag"]), t0())
        .expect("add");
    let found = v.find(&Find::default(), t0()).expect("find");
    assert_eq!(found.facets.envs, ["aaa-env", "dev", "prod", "staging"]);
    assert_eq!(
        found.facets.tags,
        ["AAA-tag", "Billing", "team-17", "team-18"]
    );
    assert_eq!(by(&v, Some("staging"), None), ["db/staging/orders"]);
    assert_eq!(by(&v, Some("aaa-env"), None), ["aaa/first"]);
    assert_eq!(by(&v, None, Some("team-18")), ["aws/prod/team-18/deploy"]);
    assert_eq!(
        by(&v, Some("prod"), Some("team-17")),
        ["aws/prod/team-17/deploy"]
    );
    // Nothing has an environment or a tag no credential carries.
    assert!(by(&v, Some("nowhere"), None).is_empty());
    assert!(by(&v, None, Some("nothing")).is_empty());
    // The last credential of an environment leaves its table.
    other.remove("aaa/first", t0()).expect("remove");
    let found = v.find(&Find::default(), t0()).expect("find");
    assert_eq!(found.facets.envs, ["dev", "prod", "staging"]);
    assert_eq!(by(&v, Some("staging"), None), ["db/staging/orders"]);
}

#[test]
fn a_page_is_read_from_the_rows_the_catalog_names() {
    let (f, mut v) = fixture();
    sample(&mut v);
    let wanted = v
        .with_catalog(|c| c.rows_of(0..c.items.len()))
        .expect("catalog");
    let read = v.fetch(&wanted, true).expect("fetch").expect("all current");
    assert_eq!(names(&read), names(&v.list().expect("list")));
    // Another connection writes one of them: an exact read refuses (the
    // catalog is asked again), a loose one takes the row as it is now.
    let mut other = second_handle(&f);
    other
        .update(
            "db/prod/orders",
            &Patch {
                notes: Some(Some("changed elsewhere".into())),
                ..Patch::default()
            },
            t0(),
        )
        .expect("update");
    assert!(v.fetch(&wanted, true).expect("fetch").is_none());
    let loose = v.fetch(&wanted, false).expect("fetch").expect("loose");
    assert_eq!(loose.len(), 6);
    other.remove("misc/token", t0()).expect("remove");
    assert_eq!(
        v.fetch(&wanted, false)
            .expect("fetch")
            .expect("loose")
            .len(),
        5
    );
    // Asking again finds the catalog's stamp moved, so the answer is current.
    let found = v
        .find(
            &Find {
                limit: 100,
                ..Find::default()
            },
            t0(),
        )
        .expect("find");
    assert_eq!(found.total, 5);
    let orders = found
        .items
        .iter()
        .find(|(c, _)| c.meta.name == "db/prod/orders")
        .expect("orders");
    assert_eq!(orders.0.meta.notes.as_deref(), Some("changed elsewhere"));
}

#[test]
fn the_catalog_is_dropped_on_lock_and_needs_the_key() {
    let (f, mut v) = fixture();
    sample(&mut v);
    assert_eq!(v.list().expect("list").len(), 6);
    assert_eq!(v.search("").expect("search").len(), 6);
    assert!(kept_catalog(&v));
    v.lock(t0()).expect("lock");
    assert!(matches!(*v.kept::<Kept>(), Kept::Nothing));
    assert!(matches!(v.list(), Err(crate::Error::Locked)));
    assert!(matches!(v.search("prod"), Err(crate::Error::Locked)));
    assert!(matches!(
        v.find(&Find::default(), t0()),
        Err(crate::Error::Locked)
    ));
    v.unlock_with_keyring(&f.sealer, t0()).expect("unlock");
    assert_eq!(v.list().expect("list").len(), 6);
}

#[test]
fn the_catalog_holds_no_secret_value() {
    let (_f, mut v) = fixture();
    sample(&mut v);
    v.list().expect("list");
    v.search("").expect("search");
    let kept = v.kept::<Kept>();
    let Kept::Catalog(catalog) = &*kept else {
        panic!("no catalog kept")
    };
    for secret in ["supersecretvalue", "hunter2-secret", "tok-secret"] {
        assert!(!catalog.text.contains(secret), "{secret}");
    }
    // An item holds its name and numbers, nothing else of the credential.
    let names: Vec<&str> = catalog.items.iter().map(|i| &*i.name).collect();
    for secret in ["SuperSecretValue", "hunter2-secret", "tok-secret"] {
        assert!(!names.iter().any(|n| n.contains(secret)), "{secret}");
    }
}

#[test]
fn many_rows_are_decrypted_on_several_threads_in_order() {
    let (f, mut v) = fixture();
    let drafts: Vec<Draft> = (0..3_000).map(|i| generic(&format!("n/{i:05}"))).collect();
    v.add_many(drafts, t0()).expect("add");
    let list = second_handle(&f).list().expect("list");
    assert_eq!(list.len(), 3_000);
    assert!(list.windows(2).all(|w| w[0].meta.name < w[1].meta.name));
    assert_eq!(v.search("n/0299").expect("search").len(), 10);
    assert_eq!(v.search("n/02").expect("search").len(), 1_000);
}

#[test]
fn the_scan_prefilter_never_drops_a_match() {
    let (f, mut v) = fixture();
    let mut quoted = generic("quotes");
    quoted.notes = Some("say \"hi\" to C:\\path".into());
    let mut kelvin = generic("kelvin");
    kelvin.notes = Some("200 \u{212A} cold".into());
    let mut tab = generic("tabbed");
    tab.notes = Some("a\tb".into());
    v.add_many(vec![quoted, kelvin, tab], t0()).expect("add");
    for (q, want) in [
        ("\"hi\"", vec!["quotes"]),
        ("c:\\path", vec!["quotes"]),
        ("\\", vec!["quotes"]),
        ("200 k", vec!["kelvin"]),
        ("GENERIC", vec!["kelvin", "quotes", "tabbed"]),
        ("b", vec!["tabbed"]),
        ("secret_fields", vec![]),
        ("token", vec![]),
    ] {
        let all = v.list().expect("list");
        let query = Query::parse(q);
        let expected: Vec<&str> = all
            .iter()
            .filter(|c| query.matches(&c.meta))
            .map(|c| c.meta.name.as_str())
            .collect();
        assert_eq!(expected, want, "oracle, {q:?}");
        let scanned = second_handle(&f).search(q).expect("search");
        assert_eq!(names(&scanned), want, "scan, {q:?}");
    }
}

#[test]
fn folders_browse_the_names_as_a_tree_within_the_other_filters() {
    let (_f, mut v) = fixture();
    sample(&mut v);
    let drafts = ["x/a", "x/a-b/c", "x/a/d", "x/a/e/f", "x/b"]
        .iter()
        .map(|n| generic(n))
        .collect();
    v.add_many(drafts, t0()).expect("add");
    let found = |folder: &str, query: &str, env: Option<&str>| {
        let f = v
            .find(
                &Find {
                    folder: folder.into(),
                    folders: true,
                    query: query.into(),
                    env: env.map(str::to_owned),
                    limit: 100,
                    ..Find::default()
                },
                t0(),
            )
            .expect("find");
        let names: Vec<String> = f.items.into_iter().map(|(c, _)| c.meta.name).collect();
        (f.total, names, f.folders)
    };
    let (total, _, folders) = found("", "", None);
    assert_eq!(total, 11);
    assert_eq!(
        folders,
        [
            ("aws/".to_owned(), 3),
            ("db/".to_owned(), 2),
            ("misc/".to_owned(), 1),
            ("x/".to_owned(), 5)
        ]
    );
    let (total, names, folders) = found("aws/", "", None);
    assert_eq!(total, 3);
    assert!(names.iter().all(|n| n.starts_with("aws/")));
    assert_eq!(
        folders,
        [("aws/dev/".to_owned(), 1), ("aws/prod/".to_owned(), 2)]
    );
    // The search and the filters narrow the folders too.
    let (total, _, folders) = found("aws/", "team-17", None);
    assert_eq!(total, 2);
    assert_eq!(
        folders,
        [("aws/dev/".to_owned(), 1), ("aws/prod/".to_owned(), 1)]
    );
    let (_, _, folders) = found("", "", Some("prod"));
    assert_eq!(folders, [("aws/".to_owned(), 2), ("db/".to_owned(), 1)]);
    // A name directly in the folder is an item, not a folder; a folder is
    // a whole part ("aws/pro" is no folder of "aws/prod/…").
    let (total, names, folders) = found("aws/prod/team-17/", "", None);
    assert_eq!(
        (total, names, folders),
        (1, vec!["aws/prod/team-17/deploy".to_owned()], vec![])
    );
    let (_, _, folders) = found("aws/pro", "", None);
    assert_eq!(folders, [("aws/prod/".to_owned(), 2)]);
    // Names directly in a folder sort among its folders ('-' before '/'):
    // each folder is still counted whole.
    let (total, _, folders) = found("x/", "", None);
    assert_eq!(total, 5);
    assert_eq!(folders, [("x/a-b/".to_owned(), 1), ("x/a/".to_owned(), 2)]);
    // Not asked, not counted.
    let quiet = v
        .find(
            &Find {
                folder: "aws/".into(),
                limit: 1,
                ..Find::default()
            },
            t0(),
        )
        .expect("find");
    assert!(quiet.folders.is_empty());
}

/// Saves `v`'s catalog beside the vault; false when there was nothing new.
fn save(v: &Vault) -> bool {
    match v.catalog_to_save().expect("save") {
        Some(file) => {
            file.write().expect("write");
            true
        }
        None => false,
    }
}

/// Whether `v` keeps a catalog the file beside the vault holds as it is.
fn kept_as_saved(v: &Vault) -> bool {
    matches!(&*v.kept::<Kept>(), Kept::Catalog(c) if c.saved)
}

fn every(v: &Vault, when: DateTime<Utc>) -> Vec<(String, State)> {
    v.find(
        &Find {
            limit: 1000,
            ..Find::default()
        },
        when,
    )
    .expect("find")
    .items
    .into_iter()
    .map(|(c, s)| (c.meta.name, s.state))
    .collect()
}

#[test]
fn the_next_handle_starts_from_the_saved_catalog_and_reads_only_what_moved() {
    let (f, mut v) = fixture();
    sample(&mut v);
    assert!(!save(&v), "nothing is saved before a catalog is kept");
    v.find(&Find::default(), t0()).expect("find");
    assert!(save(&v));
    assert!(!save(&v), "saved once until it changes");
    let path = crate::vault::catalog_path(&f.path);
    let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // No searchable word in the file as it is on disk.
    let on_disk = std::fs::read(&path).expect("read");
    assert!(!on_disk.windows(6).any(|w| w == b"orders"));

    // Another handle answers from the file alone: same answers, nothing read.
    let other = second_handle(&f);
    assert_eq!(every(&other, days(31)), every(&v, days(31)));
    assert!(kept_as_saved(&other));
    for (query, expected) in [
        ("ünicode", vec!["db/prod/orders"]),
        ("team-17 prod", vec!["aws/prod/team-17/deploy"]),
        ("σίσυφος", vec!["db/staging/orders"]),
    ] {
        assert_eq!(names(&other.search(query).expect("search")), expected);
    }
    let by_tag = other
        .find(
            &Find {
                tag: Some("team-17".into()),
                folder: "aws/".into(),
                folders: true,
                limit: 10,
                ..Find::default()
            },
            t0(),
        )
        .expect("find");
    assert_eq!(by_tag.total, 2);
    assert_eq!(
        by_tag.folders,
        [("aws/dev/".to_owned(), 1), ("aws/prod/".to_owned(), 1)]
    );
    drop(other);

    // Changes after the save: a rename, an add, a delete, a new policy.
    v.update(
        "db/prod/orders",
        &Patch {
            rename: Some("db/prod/orders-v2".into()),
            ..Patch::default()
        },
        t0(),
    )
    .expect("rename");
    v.add(generic("misc/new"), t0()).expect("add");
    v.remove("misc/token", t0()).expect("remove");
    v.set_policy(
        &Scope::Tag("team-18".into()),
        Some(Policy::new(5, 2).expect("policy")),
        t0(),
    )
    .expect("policy");
    let third = second_handle(&f);
    assert_eq!(every(&third, days(31)), every(&v, days(31)));
    assert!(!kept_as_saved(&third), "it read the rows that moved");
    assert_eq!(
        third.list().expect("list"),
        second_handle(&f).list().expect("list")
    );
    // Under the same policies, only the moved rows are read again.
    assert!(save(&v));
    v.add(generic("misc/newer"), t0()).expect("add");
    let fourth = second_handle(&f);
    assert_eq!(every(&fourth, days(31)), every(&v, days(31)));
    assert!(!kept_as_saved(&fourth));
    assert!(save(&fourth), "the patched catalog is saved again");
}

#[test]
fn an_item_counts_only_where_its_row_holds_the_same_envelope() {
    // The vault file goes back to an older copy, and the same credential
    // reaches the same version there with other contents: the catalog saved
    // from the first history must not describe the second one.
    let (f, mut v) = fixture();
    sample(&mut v);
    let anchor = crate::audit::anchor_path(&f.path);
    let copy = f.path.with_extension("copy");
    drop(v);
    std::fs::copy(&f.path, &copy).expect("copy");
    std::fs::copy(&anchor, copy.with_extension("anchor")).expect("copy");
    let rename = |v: &mut Vault, to: &str| {
        v.update(
            "misc/token",
            &Patch {
                rename: Some(to.into()),
                ..Patch::default()
            },
            t0(),
        )
        .expect("rename")
        .credential
    };
    let mut v = second_handle(&f);
    let first = rename(&mut v, "misc/first-history");
    v.find(&Find::default(), t0()).expect("find");
    assert!(save(&v));
    drop(v);
    std::fs::copy(&copy, &f.path).expect("restore");
    std::fs::copy(copy.with_extension("anchor"), &anchor).expect("restore");
    let mut v = second_handle(&f);
    let second = rename(&mut v, "misc/second-history");
    assert_eq!((first.id, first.version), (second.id, second.version));
    drop(v);
    let v = second_handle(&f);
    let listed: Vec<String> = every(&v, t0()).into_iter().map(|(n, _)| n).collect();
    assert!(listed.contains(&"misc/second-history".to_owned()));
    assert!(!listed.contains(&"misc/first-history".to_owned()));
    assert_eq!(
        names(&v.search("history").expect("search")),
        ["misc/second-history"]
    );
}

#[test]
fn a_catalog_file_that_does_not_open_is_read_as_none_and_replaced() {
    let (f, mut v) = fixture();
    sample(&mut v);
    v.find(&Find::default(), t0()).expect("find");
    assert!(save(&v));
    let path = crate::vault::catalog_path(&f.path);
    let good = std::fs::read(&path).expect("read");
    let expected = every(&v, t0());
    let (g, mut elsewhere) = fixture();
    sample(&mut elsewhere);
    elsewhere.find(&Find::default(), t0()).expect("find");
    assert!(save(&elsewhere));
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 1;
    let spoilt: [(&str, Vec<u8>); 4] = [
        ("a flipped bit", flipped),
        ("cut short", good[..good.len() - 1].to_vec()),
        ("garbage", vec![7; 300]),
        (
            "another vault's catalog",
            std::fs::read(crate::vault::catalog_path(&g.path)).expect("read"),
        ),
    ];
    for (what, bytes) in spoilt {
        std::fs::write(&path, bytes).expect("write");
        let other = second_handle(&f);
        assert_eq!(every(&other, t0()), expected, "{what}");
        assert!(save(&other), "{what}: replaced by the next save");
        assert_eq!(
            std::fs::read(&path).expect("read").len(),
            good.len(),
            "{what}"
        );
    }
    // A FIFO put in its place holds nothing up.
    std::fs::remove_file(&path).expect("remove");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        0,
    )
    .expect("mkfifo");
    assert_eq!(every(&second_handle(&f), t0()), expected);
}

#[test]
fn a_purge_and_a_rekey_remove_the_catalog_file() {
    let (f, mut v) = fixture();
    sample(&mut v);
    let path = crate::vault::catalog_path(&f.path);
    let saved = |v: &Vault| {
        v.find(&Find::default(), t0()).expect("find");
        save(v);
        path.exists()
    };
    assert!(saved(&v));
    v.purge("misc/token", t0()).expect("purge");
    assert!(!path.exists(), "a purge removes it");
    assert!(saved(&v));
    v.remove("db/staging/orders", t0()).expect("remove");
    assert!(path.exists(), "the trash keeps what it holds");
    v.purge_trashed(None, t0()).expect("empty the trash");
    assert!(!path.exists(), "emptying the trash removes it");
    assert!(saved(&v));
    v.rekey(Some(&f.sealer), None, t0()).expect("rekey");
    assert!(!path.exists(), "a rekey removes it");
    assert!(saved(&v));
    assert_eq!(every(&second_handle(&f), t0()), every(&v, t0()));
}
