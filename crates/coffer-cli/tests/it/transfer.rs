//! `coffer import` and `coffer export`: round trips per format, duplicate
//! policies, dry runs, malformed files (each refused naming file and line,
//! the vault unchanged), and the guards on plaintext export.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::support::*;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transfer")
        .join(name)
        .display()
        .to_string()
}

/// Every credential as `coffer export --format json` prints it.
fn export_json(env: &Env) -> Value {
    env.run_pw(&["export", "--format", "json", "--plaintext"], "")
        .ok()
        .json()
}

/// One exported credential by name.
fn find<'a>(all: &'a Value, name: &str) -> &'a Value {
    all.as_array()
        .expect("array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {all:#}"))
}

fn names(all: &Value) -> Vec<String> {
    all.as_array()
        .expect("array")
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

fn write(env: &Env, name: &str, text: &str) -> String {
    let path = env.dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// A vault with credentials that exercise every property and awkward values.
fn varied_vault() -> Env {
    let env = Env::passphrase_vault();
    env.run_pw(
        &[
            "add",
            "aws/prod/deploy",
            "--kind",
            "aws-access-key",
            "--env",
            "prod",
            "--tag",
            "team-17",
            "--tag",
            "ci",
            "--note",
            "rotated by ops, see \"runbook\"\nline two",
            "--field",
            "access_key_id=AKIAIOSFODNN7EXAMPLE",
            "--field",
            "region=eu-west-1",
            "--expires",
            "2027-01-31",
            "--rotated-at",
            "2026-10-01T12:30:00Z",
        ],
        r#"{"secret_access_key": "wJalr/K7MDENG+bPxRfiCY,\"quoted\"", "session_token": "tok"}"#,
    )
    .ok();
    env.run_pw(
        &["add", "misc/odd values", "--kind", "generic", "--field", "host=db.example.com"],
        r#"{"password": "=cmd|' /C calc'!A0", "multi": "a\nb\r\nc", "unicode": "pässwörd ✓", "dollar": "$HOME `id` \\ '"}"#,
    )
    .ok();
    env.run_pw(
        &[
            "add",
            "db/main",
            "--kind",
            "db-password",
            "--field",
            "host=db",
            "--field",
            "user=app",
            "--field",
            "port=5432",
        ],
        r#"{"password": "p,w"}"#,
    )
    .ok();
    env
}

#[test]
fn json_and_csv_exports_import_back_unchanged() {
    let source = varied_vault();
    let original = export_json(&source);
    assert_eq!(original.as_array().expect("array").len(), 3);
    let aws = find(&original, "aws/prod/deploy");
    assert_eq!(
        aws["secrets"]["secret_access_key"],
        "wJalr/K7MDENG+bPxRfiCY,\"quoted\""
    );
    assert_eq!(aws["fields"]["region"], "eu-west-1");
    assert_eq!(aws["tags"], json!(["ci", "team-17"]));
    assert_eq!(aws["rotated_at"], "2026-10-01T12:30:00Z");
    for format in ["json", "csv"] {
        let file = source.dir.path().join(format!("export.{format}"));
        let file = file.display().to_string();
        source
            .run_pw(
                &[
                    "export",
                    "--format",
                    format,
                    "--plaintext",
                    "--output",
                    &file,
                ],
                "",
            )
            .ok();
        let target = Env::passphrase_vault();
        let report = target
            .run_pw(&["import", &file, "--format", format, "--json"], "")
            .ok()
            .json();
        assert_eq!(report["counts"]["imported"], 3, "{report:#}");
        assert_eq!(report["written"], true);
        assert_eq!(export_json(&target), original, "{format} round trip");
    }
}

#[test]
fn aws_credentials_file_imports_each_profile() {
    let env = Env::passphrase_vault();
    let report = env
        .run_pw(
            &[
                "import",
                &fixture("aws-credentials"),
                "--format",
                "aws-credentials",
                "--json",
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(
        report["imported"],
        json!(["aws/default", "aws/ci", "aws/assume"]),
        "{report:#}"
    );
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("'output'"), "{warnings}");
    // The role profile: an aws-role assumed from the default profile's credential.
    let exported = export_json(&env);
    let role = find(&exported, "aws/assume");
    assert_eq!(role["kind"], "aws-role");
    assert_eq!(
        role["fields"],
        json!({"role_arn": "arn:aws:iam::123456789012:role/deploy", "source": "aws/default"})
    );
    let all = export_json(&env);
    let default = find(&all, "aws/default");
    assert_eq!(default["kind"], "aws-access-key");
    assert_eq!(
        default["fields"],
        json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "eu-west-1"})
    );
    assert_eq!(
        default["secrets"],
        json!({"secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
    );
    assert_eq!(
        find(&all, "aws/ci")["secrets"]["session_token"],
        "IQoJb3JpZ2luX2VjEXAMPLETOKEN=="
    );
    // --prefix, --env and --tag apply to every profile.
    let other = Env::passphrase_vault();
    other
        .run_pw(
            &[
                "import",
                &fixture("aws-credentials"),
                "--format",
                "aws-credentials",
                "--prefix",
                "legacy/",
                "--env",
                "dev",
                "--tag",
                "imported",
            ],
            "",
        )
        .ok();
    let all = export_json(&other);
    assert_eq!(
        names(&all),
        ["legacy/assume", "legacy/ci", "legacy/default"]
    );
    // The role's source follows the prefix.
    assert_eq!(
        find(&all, "legacy/assume")["fields"]["source"],
        "legacy/default"
    );
    assert_eq!(find(&all, "legacy/ci")["env"], "dev");
    assert_eq!(find(&all, "legacy/ci")["tags"], json!(["imported"]));
}

#[test]
fn dotenv_values_survive_import_and_export() {
    let env = Env::passphrase_vault();
    let run = env
        .run_pw(
            &[
                "import",
                &fixture("app.env"),
                "--format",
                "dotenv",
                "--name",
                "app",
                "--json",
            ],
            "",
        )
        .ok();
    let report = run.json();
    assert!(
        report["warnings"].to_string().contains("EMPTY"),
        "{report:#}"
    );
    let all = export_json(&env);
    let app = find(&all, "app");
    assert_eq!(app["kind"], "generic");
    assert_eq!(
        app["secrets"],
        json!({
            "API_TOKEN": "tok_live_$HOME_not_expanded",
            "DATABASE_URL": "postgres://app:s3cr3t@db.internal:5432/app",
            "GREETING": "line one\nline \"two\"",
            "MULTI": "first\nsecond",
            "PLAIN": "bare value",
        })
    );
    // dotenv export, imported again, gives the same values.
    let out = env.dir.path().join("out.env").display().to_string();
    env.run_pw(
        &[
            "export",
            "--format",
            "dotenv",
            "--plaintext",
            "--output",
            &out,
            "app",
        ],
        "",
    )
    .ok();
    let text = std::fs::read_to_string(&out).expect("read");
    assert!(text.contains("APP_PLAIN='bare value'\n"), "{text}");
    let again = Env::passphrase_vault();
    again
        .run_pw(&["import", &out, "--format", "dotenv", "--name", "app"], "")
        .ok();
    let back = export_json(&again);
    let secrets = find(&back, "app")["secrets"]
        .as_object()
        .expect("object")
        .clone();
    for (k, v) in app["secrets"].as_object().expect("object") {
        assert_eq!(secrets[&format!("APP_{k}")], *v, "{k}");
    }
    // One credential per variable, with a kind.
    let per = Env::passphrase_vault();
    per.run_pw(
        &[
            "import",
            &fixture("app.env"),
            "--format",
            "dotenv",
            "--dotenv-mode",
            "per-variable",
            "--prefix",
            "app/",
            "--kind",
            "api-key",
        ],
        "",
    )
    .ok();
    let all = export_json(&per);
    assert_eq!(
        names(&all),
        [
            "app/API_TOKEN",
            "app/DATABASE_URL",
            "app/GREETING",
            "app/MULTI",
            "app/PLAIN"
        ]
    );
    assert_eq!(
        find(&all, "app/API_TOKEN")["secrets"]["key"],
        "tok_live_$HOME_not_expanded"
    );
}

#[test]
fn password_manager_exports_become_generic_credentials() {
    let env = Env::passphrase_vault();
    for (file, format, prefix) in [
        ("keepassxc.csv", "keepassxc-csv", "kp/"),
        ("bitwarden.json", "bitwarden-json", "bwj/"),
        ("bitwarden.csv", "bitwarden-csv", "bwc/"),
        ("1password.csv", "1password-csv", "op/"),
    ] {
        env.run_pw(
            &[
                "import",
                &fixture(file),
                "--format",
                format,
                "--prefix",
                prefix,
            ],
            "",
        )
        .ok();
    }
    let all = export_json(&env);
    let mail = find(&all, "kp/Mail");
    assert_eq!(mail["kind"], "generic");
    assert_eq!(mail["tags"], json!(["Internet"]));
    assert_eq!(mail["notes"], "two\nlines");
    assert_eq!(
        mail["fields"],
        json!({"username": "ana@example.com", "url": "https://mail.example.com"})
    );
    assert_eq!(mail["secrets"]["password"], "kp-mail-pw,with\"quote");
    assert_eq!(
        mail["secrets"]["totp"],
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"
    );
    assert_eq!(find(&all, "kp/db01")["tags"], json!(["Work/Servers"]));
    assert!(
        !names(&all).contains(&"kp/Old".to_owned()),
        "recycle bin skipped"
    );

    for prefix in ["bwj/", "bwc/"] {
        let gh = find(&all, &format!("{prefix}GitHub"));
        assert_eq!(gh["tags"], json!(["Work"]));
        assert_eq!(gh["notes"], "recovery codes in the safe");
        assert_eq!(gh["fields"]["username"], "ana");
        assert_eq!(gh["fields"]["url"], "https://github.com");
        assert_eq!(gh["secrets"]["password"], "bw-gh-pw");
        assert_eq!(gh["secrets"]["PIN"], "4711");
        let note = find(&all, &format!("{prefix}Safe combination"));
        assert_eq!(note["secrets"], json!({"note": "12-34-56"}));
    }
    // A visible text field stays plain in JSON; the CSV cannot tell, so it is secret.
    assert_eq!(find(&all, "bwj/GitHub")["fields"]["team"], "platform");
    assert_eq!(find(&all, "bwc/GitHub")["secrets"]["team"], "platform");

    let op = find(&all, "op/Mail");
    assert_eq!(op["tags"], json!(["email", "personal"]));
    assert_eq!(op["secrets"]["password"], "op-mail-pw");
    assert_eq!(
        find(&all, "op/Router")["secrets"]["password"],
        "op,router\"pw"
    );
    assert_eq!(find(&all, "op/Router")["notes"], "admin UI");
}

#[test]
fn duplicates_are_refused_without_a_policy_and_follow_each_policy() {
    let env = Env::passphrase_vault();
    let aws = fixture("aws-credentials");
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            aws.as_str(),
            "--format",
            "aws-credentials",
            "--json",
        ];
        args.extend_from_slice(extra);
        env.run_pw(&args, "")
    };
    import(&[]).ok();
    let before = env.fingerprint();

    let refused = import(&[]).code(3);
    assert!(
        refused.stderr.contains("aws/default") && refused.stderr.contains("--on-duplicate"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        refused.json()["duplicates"],
        json!(["aws/default", "aws/ci", "aws/assume"])
    );
    assert_eq!(refused.json()["written"], false);
    assert_eq!(env.fingerprint(), before);

    let skipped = import(&["--on-duplicate", "skip"]).ok().json();
    assert_eq!(
        skipped["skipped"],
        json!(["aws/default", "aws/ci", "aws/assume"])
    );
    assert_eq!(env.fingerprint(), before);

    let unchanged = import(&["--on-duplicate", "overwrite"]).ok().json();
    assert_eq!(
        unchanged["unchanged"],
        json!(["aws/default", "aws/ci", "aws/assume"])
    );
    assert_eq!(env.fingerprint(), before);

    let renamed = import(&["--on-duplicate", "rename"]).ok().json();
    assert_eq!(
        renamed["renamed"],
        json!([
            {"from": "aws/default", "to": "aws/default-2"},
            {"from": "aws/ci", "to": "aws/ci-2"},
            {"from": "aws/assume", "to": "aws/assume-2"}
        ])
    );
    let renamed = import(&["--on-duplicate", "rename"]).ok().json();
    assert_eq!(renamed["renamed"][0]["to"], "aws/default-3");

    // Overwrite writes a new version and keeps the old one in history.
    let changed = write(
        &env,
        "credentials",
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = rotated-secret\n",
    );
    let over = env
        .run_pw(
            &[
                "import",
                &changed,
                "--format",
                "aws-credentials",
                "--on-duplicate",
                "overwrite",
                "--json",
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(over["overwritten"], json!(["aws/default"]));
    let history = env
        .run_pw(&["history", "aws/default", "--json"], "")
        .ok()
        .json();
    assert_eq!(history.as_array().expect("array").len(), 2);
    let value = env
        .run_pw(&["get", "aws/default", "--field", "secret_access_key"], "")
        .ok();
    assert_eq!(value.stdout.trim(), "rotated-secret");
    env.run_pw(&["rollback", "aws/default", "--to", "1"], "")
        .ok();

    // Two items of one file with the same name are duplicates too.
    let twice = write(
        &env,
        "twice.json",
        r#"[{"name": "x", "kind": "api-key", "secrets": {"key": "1"}},
            {"name": "x", "kind": "api-key", "secrets": {"key": "2"}}]"#,
    );
    let before = env.fingerprint();
    let refused = env
        .run_pw(&["import", &twice, "--format", "json", "--json"], "")
        .code(3);
    assert_eq!(refused.json()["duplicates"], json!(["x"]));
    assert_eq!(env.fingerprint(), before);
    let renamed = env
        .run_pw(
            &[
                "import",
                &twice,
                "--format",
                "json",
                "--on-duplicate",
                "rename",
                "--json",
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(renamed["imported"], json!(["x"]));
    assert_eq!(renamed["renamed"], json!([{"from": "x", "to": "x-2"}]));
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let env = Env::passphrase_vault();
    let before = env.fingerprint();
    let report = env
        .run_pw(
            &[
                "import",
                &fixture("keepassxc.csv"),
                "--format",
                "keepassxc-csv",
                "--dry-run",
                "--json",
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["written"], false);
    assert_eq!(report["imported"], json!(["Mail", "db01"]));
    assert_eq!(env.fingerprint(), before);
    let human = env
        .run_pw(
            &[
                "import",
                &fixture("keepassxc.csv"),
                "--format",
                "keepassxc-csv",
                "--dry-run",
            ],
            "",
        )
        .ok();
    assert!(
        human.stdout.contains("nothing written") && human.stdout.contains("+ Mail"),
        "{}",
        human.stdout
    );
    assert_eq!(env.fingerprint(), before);
    assert_eq!(env.run_pw(&["list", "--json"], "").ok().json(), json!([]));
}

#[test]
fn malformed_files_are_refused_naming_file_and_line() {
    let env = Env::passphrase_vault();
    env.run_pw(
        &["add", "keep/me", "--kind", "api-key"],
        r#"{"key": "k-1"}"#,
    )
    .ok();
    let before = env.fingerprint();
    let cases = [
        (
            "truncated.csv",
            "bitwarden-csv",
            "line 2, column 48",
            "not closed",
        ),
        (
            "bad-quoting.csv",
            "1password-csv",
            "line 2, column 22",
            "quote",
        ),
        (
            "bad-quoting.env",
            "dotenv",
            "line 2, column 5",
            "not closed",
        ),
        ("duplicate-keys.json", "json", "line 4", "appears twice"),
        ("latin1.env", "dotenv", "line 2, column 6", "UTF-8"),
        ("binary.env", "dotenv", "line 2", "UTF-8"),
        ("junk.bin", "json", "line 1, column 8", "binary data"),
        ("utf16.env", "dotenv", "line 1", "UTF-16"),
        (
            "bad-schema.aws",
            "aws-credentials",
            "line 1",
            "access_key_id",
        ),
        (
            "aws-credentials",
            "json",
            "line 1, column 1",
            "invalid JSON",
        ),
        (
            "1password.csv",
            "keepassxc-csv",
            "line 1",
            "no 'Group' column",
        ),
    ];
    for (file, format, place, why) in cases {
        let path = fixture(file);
        let run = env
            .run_pw(&["import", &path, "--format", format], "")
            .code(2);
        let expected = format!("import file {path}, {place}");
        assert!(
            run.stderr.contains(&expected) && run.stderr.contains(why),
            "{file}: expected '{expected}' and '{why}' in: {}",
            run.stderr
        );
        assert_eq!(env.fingerprint(), before, "{file} changed the vault");
    }
    // No value from a bad file reaches the message.
    let run = env
        .run_pw(
            &[
                "import",
                &fixture("bad-schema.aws"),
                "--format",
                "aws-credentials",
            ],
            "",
        )
        .code(2);
    assert_no_canary("stderr", run.stderr.as_bytes(), &["wJalrXUtnFEMI/K7MDENG"]);
    let run = env
        .run_pw(
            &[
                "import",
                &fixture("truncated.csv"),
                "--format",
                "bitwarden-csv",
            ],
            "",
        )
        .code(2);
    assert_no_canary("stderr", run.stderr.as_bytes(), &["cut-off-pass"]);

    // A file over the limit is refused before it is read.
    let big = env.dir.path().join("big.json");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(64 * 1024 * 1024 + 1))
        .expect("sparse file");
    let run = env
        .run_pw(
            &["import", &big.display().to_string(), "--format", "json"],
            "",
        )
        .code(2);
    assert!(run.stderr.contains("64 MiB"), "{}", run.stderr);
    // A missing file is a failure naming it.
    let run = env
        .run_pw(&["import", "/nonexistent/creds", "--format", "json"], "")
        .code(1);
    assert!(run.stderr.contains("/nonexistent/creds"), "{}", run.stderr);
    assert_eq!(env.fingerprint(), before);
}

#[test]
fn export_needs_plaintext_and_writes_a_private_file() {
    let env = varied_vault();
    let run = env.run_pw(&["export", "--format", "json"], "").code(2);
    assert!(
        run.stderr.contains("--plaintext") && run.stderr.contains("plaintext"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    let out = env.dir.path().join("export.json");
    let path = out.display().to_string();
    let run = env
        .run_pw(
            &[
                "export",
                "--format",
                "json",
                "--plaintext",
                "--output",
                &path,
            ],
            "",
        )
        .ok();
    assert!(
        run.stderr.contains("warning") && run.stderr.contains("plaintext"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let mode = std::fs::metadata(&out).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let run = env
        .run_pw(
            &[
                "export",
                "--format",
                "csv",
                "--plaintext",
                "--output",
                &path,
            ],
            "",
        )
        .code(1);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(std::fs::read_to_string(&out)
        .expect("read")
        .starts_with('['));

    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    env.run_pw(
        &[
            "export",
            "--format",
            "csv",
            "--plaintext",
            "--output",
            &path,
            "--force",
            "db/main",
        ],
        "",
    )
    .ok();
    let text = std::fs::read_to_string(&out).expect("read");
    assert!(
        text.starts_with("name,kind,env,tags,notes,expires_at,rotated_at,field,secret,value\n"),
        "{text}"
    );
    assert!(
        text.contains("\"db/main\"") && !text.contains("aws/prod/deploy"),
        "{text}"
    );
    let mode = std::fs::metadata(&out).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = files_below(env.dir.path())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".coffer-"))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Unknown names are not found, and nothing is printed.
    let run = env
        .run_pw(&["export", "--format", "json", "--plaintext", "nope"], "")
        .code(4);
    assert!(run.stdout.is_empty());
}

#[test]
fn export_and_import_are_audited_without_values() {
    let env = varied_vault();
    env.run_pw(
        &["export", "--format", "json", "--plaintext", "db/main"],
        "",
    )
    .ok();
    let entries = env
        .run_pw(&["audit", "--action", "export", "--json"], "")
        .ok()
        .json();
    let entry = &entries.as_array().expect("array")[0];
    assert_eq!(entry["details"]["count"], 1, "{entry:#}");
    assert_eq!(entry["details"]["names"], json!(["db/main"]));
    assert_eq!(entry["details"]["format"], "json");
    assert_eq!(entry["details"]["destination"], "stdout");

    env.run_pw(
        &[
            "import",
            &fixture("aws-credentials"),
            "--format",
            "aws-credentials",
        ],
        "",
    )
    .ok();
    let entries = env
        .run_pw(&["audit", "--action", "import", "--json"], "")
        .ok()
        .json();
    let entries = entries.as_array().expect("array");
    let summary = entries
        .iter()
        .find(|e| e["details"]["imported"] == 3)
        .unwrap_or_else(|| panic!("{entries:#?}"));
    assert_eq!(summary["details"]["format"], "aws-credentials");
    assert!(entries.iter().any(|e| e["target"] == "aws/ci"));
    let all = env
        .run_pw(&["audit", "export", "--format", "jsonl"], "")
        .ok();
    assert_no_canary(
        "audit",
        all.stdout.as_bytes(),
        &["wJalrXUtnFEMI/K7MDENG", "je7MtGbClwBF", "K7MDENG+bPxRfiCY"],
    );
    env.run_pw(&["audit", "verify"], "").ok();
}
