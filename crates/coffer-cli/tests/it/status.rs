//! `coffer status` and `coffer policy`: states by policy, urgency order,
//! overrides, and exit 3 when anything is overdue or expired.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::support::*;

fn day(offset: i64) -> String {
    (Utc::now() + Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn states(env: &Env, args: &[&str]) -> (i32, Vec<(String, String)>) {
    let mut all = vec!["status", "--json"];
    all.extend_from_slice(args);
    let run = env.run_pw(&all, "");
    let list = run
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect();
    (run.code, list)
}

#[test]
fn status_orders_by_urgency_and_gates_on_overdue() {
    let mut env = Env::new();
    env.no_dbus = true;
    env.init_passphrase_only();
    let old = day(-200);
    let due = day(-80);
    let expiring = day(3);
    env.run_pw(
        &[
            "add",
            "aws/prod/old",
            "--kind",
            "aws-access-key",
            "--env",
            "prod",
            "--rotated-at",
            &old,
            "--field",
            "access_key_id=AKIAIOSFODNN7EXAMPLE",
        ],
        r#"{"secret_access_key": "s"}"#,
    )
    .ok();
    env.run_pw(
        &[
            "add",
            "api/due",
            "--kind",
            "api-key",
            "--env",
            "dev",
            "--rotated-at",
            &due,
            "--tag",
            "billing",
        ],
        r#"{"key": "k"}"#,
    )
    .ok();
    env.run_pw(
        &["add", "api/fresh", "--kind", "api-key", "--env", "dev"],
        r#"{"key": "k"}"#,
    )
    .ok();
    env.run_pw(&["add", "misc/free", "--kind", "generic"], r#"{"x": "y"}"#)
        .ok();
    env.run_pw(
        &[
            "add",
            "api/expiring",
            "--kind",
            "api-key",
            "--env",
            "dev",
            "--expires",
            &expiring,
        ],
        r#"{"key": "k"}"#,
    )
    .ok();

    let (code, list) = states(&env, &[]);
    assert_eq!(code, 3, "an overdue credential makes status exit 3");
    let s = |n: &str, st: &str| (n.to_owned(), st.to_owned());
    assert_eq!(
        list,
        vec![
            s("aws/prod/old", "overdue"),
            s("api/expiring", "due_soon"),
            s("api/due", "due_soon"),
            s("api/fresh", "ok"),
            s("misc/free", "no_policy"),
        ]
    );
    let detail = env
        .run_pw(&["status", "--json", "--env", "prod"], "")
        .json();
    assert_eq!(detail[0]["basis"], json!("rotated"));
    assert_eq!(detail[0]["age_days"], json!(200));
    assert_eq!(detail[0]["days_left"], json!(-110));
    assert_eq!(
        detail[0]["policy"],
        json!({"max_age_days": 90, "warn_days": 14, "source": "kind default"})
    );

    let (code, _) = states(&env, &["--env", "dev"]);
    assert_eq!(code, 0, "nothing overdue in dev");
    let table = env.run_pw(&["status"], "").code(3);
    assert!(
        table
            .stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("OVERDUE")),
        "{}",
        table.stdout
    );

    // A tag policy makes the billing key overdue; the credential's own policy wins over it.
    env.run_pw(
        &[
            "policy",
            "set",
            "--tag",
            "billing",
            "--max-age",
            "60d",
            "--warn",
            "7d",
        ],
        "",
    )
    .ok();
    let (_, list) = states(&env, &["--tag", "billing"]);
    assert_eq!(list, vec![s("api/due", "overdue")]);
    env.run_pw(&["edit", "api/due", "--max-age", "365"], "")
        .ok();
    let (code, list) = states(&env, &["--tag", "billing"]);
    assert_eq!((code, list), (0, vec![s("api/due", "ok")]));
    let own = env
        .run_pw(&["status", "--json", "--tag", "billing"], "")
        .json();
    assert_eq!(own[0]["policy"]["source"], json!("credential"));
    env.run_pw(&["edit", "api/due", "--clear-policy"], "").ok();
    let (_, list) = states(&env, &["--tag", "billing"]);
    assert_eq!(list, vec![s("api/due", "overdue")]);

    let policies = env.run_pw(&["policy", "list", "--json"], "").ok().json();
    assert_eq!(
        policies["by_tag"]["billing"],
        json!({"max_age_days": 60, "warn_days": 7})
    );
    assert_eq!(
        policies["defaults"]["db-password"]["max_age_days"],
        json!(30)
    );
    env.run_pw(&["policy", "unset", "--tag", "billing"], "")
        .ok();
    let changes = env
        .run_pw(&["audit", "--action", "settings_change", "--json"], "")
        .ok()
        .json();
    assert_eq!(changes.as_array().expect("array").len(), 2);

    env.run_pw(&["policy", "set", "--kind", "api", "--max-age", "30"], "")
        .code(2);
    env.run_pw(&["policy", "set", "--env", "dev", "--max-age", "soon"], "")
        .code(2);
    env.run_pw(
        &[
            "policy",
            "set",
            "--env",
            "dev",
            "--max-age",
            "10",
            "--warn",
            "10",
        ],
        "",
    )
    .code(2);
    env.run_pw(&["policy", "set", "--max-age", "10"], "")
        .code(2);
}
