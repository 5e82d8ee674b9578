//! `coffer migrate aws` and `coffer scan`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::support::{assert_no_canary, keyring_expected, skip, Env};

// Fake keys, shaped like real ones.
const ID_DEFAULT: &str = "AKIAZQ3DT5Y7MIGRATE1";
const SECRET_DEFAULT: &str = "Mg8Kn3Rb6Sc1Ud7We4Xf9Yg2Zh5Ai0Bj3Ck6Dl8E";
const ID_DEV: &str = "AKIAZQ3DT5Y7MIGRATE2";
const SECRET_DEV: &str = "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";
const ID_TEMP: &str = "ASIAZQ3DT5Y7MIGRATE3";
const SECRET_TEMP: &str = "Pj1Zh5Ai0Bj3Ck6Dl8EMg8Kn3Rb6Sc1Ud7We4Xf9";
const TOKEN_TEMP: &str = "FwoGZXIvYXdzEMigrateSessionTokenForTests0123456789";

fn aws_dir(env: &Env) -> PathBuf {
    let d = env.dir.path().join("home").join(".aws");
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

fn credentials_text() -> String {
    format!(
        "# work accounts\n[default]\naws_access_key_id = {ID_DEFAULT}\naws_secret_access_key = {SECRET_DEFAULT}\n\n[dev]\n; the dev account\naws_access_key_id={ID_DEV}\naws_secret_access_key={SECRET_DEV}\nregion = eu-west-1\n\n[role]\nsource_profile = dev\nrole_arn = arn:aws:iam::123456789012:role/admin\n"
    )
}

fn config_text() -> String {
    format!(
        "[default]\nregion = us-east-1\noutput = json\n\n# temporary keys kept in config\n[profile temp]\naws_access_key_id = {ID_TEMP}\naws_secret_access_key = {SECRET_TEMP}\naws_session_token = {TOKEN_TEMP}\n\n[profile role]\ncli_pager =\n"
    )
}

fn write_files(env: &Env) -> (PathBuf, PathBuf) {
    let d = aws_dir(env);
    let (c, f) = (d.join("credentials"), d.join("config"));
    std::fs::write(&c, credentials_text()).expect("write");
    std::fs::write(&f, config_text()).expect("write");
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    (c, f)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".coffer-backup-"))
        .collect();
    v.sort();
    v
}

const ALL_KEYS: [&str; 7] = [
    ID_DEFAULT,
    SECRET_DEFAULT,
    ID_DEV,
    SECRET_DEV,
    ID_TEMP,
    SECRET_TEMP,
    TOKEN_TEMP,
];

#[test]
fn migrate_aws_stores_every_profile_and_rewrites_the_files() {
    let env = Env::passphrase_vault();
    let (creds, config) = write_files(&env);
    let run = env.run_pw(&["migrate", "aws", "--yes"], "").ok();
    for name in ["aws/default", "aws/dev", "aws/temp"] {
        assert!(
            run.stdout.contains(&format!("stored {name}")),
            "{}",
            run.stdout
        );
    }
    assert_no_canary("migrate output", run.stdout.as_bytes(), &ALL_KEYS[1..]);
    assert_no_canary("migrate stderr", run.stderr.as_bytes(), &ALL_KEYS);

    // The vault holds each profile with its keys and region.
    let dev = env.run_pw(&["get", "aws/dev"], "").ok().json();
    assert_eq!(dev["access_key_id"], ID_DEV);
    assert_eq!(dev["secret_access_key"], SECRET_DEV);
    assert_eq!(dev["region"], "eu-west-1");
    let temp = env.run_pw(&["get", "aws/temp"], "").ok().json();
    assert_eq!(temp["session_token"], TOKEN_TEMP);
    let default = env.run_pw(&["get", "aws/default"], "").ok().json();
    assert_eq!(default["region"], "us-east-1");
    assert_eq!(
        env.run_pw(&["show", "aws/default", "--json"], "")
            .ok()
            .json()["kind"],
        "aws-access-key"
    );

    // The files: no key material, everything else kept in order.
    let c = std::fs::read_to_string(&creds).expect("read");
    let f = std::fs::read_to_string(&config).expect("read");
    assert_no_canary("credentials file", c.as_bytes(), &ALL_KEYS);
    assert_no_canary("config file", f.as_bytes(), &ALL_KEYS);
    assert_eq!(
        c,
        "# work accounts\n[default]\n\n[dev]\n; the dev account\nregion = eu-west-1\n\n[role]\nsource_profile = dev\nrole_arn = arn:aws:iam::123456789012:role/admin\n"
    );
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_coffer")).expect("exe");
    let vault = std::fs::canonicalize(&env.vault).expect("vault");
    let process = |name: &str| {
        format!(
            "credential_process = {} --vault {} aws credential-process {name}",
            exe.display(),
            vault.display()
        )
    };
    assert_eq!(
        f,
        format!(
            "[default]\nregion = us-east-1\noutput = json\n{}\n\n# temporary keys kept in config\n[profile temp]\n{}\n\n[profile role]\ncli_pager =\n\n[profile dev]\n{}\n",
            process("aws/default"),
            process("aws/temp"),
            process("aws/dev")
        )
    );
    // Each file keeps its mode.
    assert_eq!(mode(&creds), 0o600);
    assert_eq!(mode(&config), 0o640);

    // Backups of both originals, 0600, byte for byte; the output says where.
    let b = backups(&aws_dir(&env));
    assert_eq!(b.len(), 2, "{b:?}");
    let originals = [config_text(), credentials_text()];
    for (backup, original) in b.iter().zip(&originals) {
        assert_eq!(mode(backup), 0o600);
        assert_eq!(&std::fs::read_to_string(backup).expect("read"), original);
        assert!(run.stdout.contains(&backup.display().to_string()));
    }
    assert!(run.stdout.contains("plaintext keys"), "{}", run.stdout);

    // Audited as migrate, naming profiles and files, never a value.
    let audit = env
        .run_pw(&["audit", "--action", "migrate", "--json"], "")
        .ok()
        .json();
    let entries = audit.as_array().expect("array");
    assert_eq!(entries.len(), 4, "{audit:#}");
    let targets: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert!(targets.contains(&"aws/dev"), "{targets:?}");
    let export = env
        .run_pw(&["audit", "export", "--format", "jsonl"], "")
        .ok();
    assert!(export.stdout.contains(&creds.display().to_string()));
    assert_no_canary("audit", export.stdout.as_bytes(), &ALL_KEYS[1..]);

    // A second run has nothing left to do and changes nothing.
    let again = env.run_pw(&["migrate", "aws", "--yes"], "").ok();
    assert!(
        again.stdout.contains("nothing to migrate"),
        "{}",
        again.stdout
    );
    assert_eq!(std::fs::read_to_string(&config).expect("read"), f);
    assert_eq!(backups(&aws_dir(&env)).len(), 2);
}

#[test]
fn dry_run_and_no_yes_change_nothing() {
    let env = Env::passphrase_vault();
    let (creds, config) = write_files(&env);
    let before = env.fingerprint();
    let run = env.run_pw(&["migrate", "aws", "--dry-run"], "").ok();
    assert!(run.stdout.contains("store aws/dev"), "{}", run.stdout);
    assert!(
        run.stdout.contains("credential_process = "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("AKIA************"), "{}", run.stdout);
    assert_no_canary("dry run", run.stdout.as_bytes(), &ALL_KEYS);
    // Without --yes and without a terminal: the plan, exit 3.
    let run = env.run_pw(&["migrate", "aws"], "").code(3);
    assert!(run.stdout.contains("--yes"), "{}", run.stdout);
    assert_eq!(env.fingerprint(), before);
    assert_eq!(
        std::fs::read_to_string(&creds).expect("read"),
        credentials_text()
    );
    assert_eq!(
        std::fs::read_to_string(&config).expect("read"),
        config_text()
    );
    assert!(backups(&aws_dir(&env)).is_empty());
}

#[test]
fn a_name_holding_other_keys_refuses_the_whole_migration() {
    let env = Env::passphrase_vault();
    let (creds, _) = write_files(&env);
    env.run_pw(
        &[
            "add",
            "aws/dev",
            "--kind",
            "aws-access-key",
            "--field",
            "access_key_id=AKIAZQ3DT5Y7OTHERKEY",
        ],
        r#"{"secret_access_key": "other"}"#,
    )
    .ok();
    let before = env.fingerprint();
    let run = env.run_pw(&["migrate", "aws", "--yes"], "").code(1);
    assert!(run.stderr.contains("aws/dev"), "{}", run.stderr);
    assert!(run.stderr.contains("--prefix"), "{}", run.stderr);
    assert_eq!(env.fingerprint(), before);
    assert_eq!(
        std::fs::read_to_string(&creds).expect("read"),
        credentials_text()
    );
    assert!(backups(&aws_dir(&env)).is_empty());
    // The dry run shows the clash too.
    let dry = env.run_pw(&["migrate", "aws", "--dry-run"], "").ok();
    assert!(dry.stdout.contains("REFUSE"), "{}", dry.stdout);
    // Another prefix goes through.
    env.run_pw(
        &["migrate", "aws", "--yes", "--prefix", "imported/aws/"],
        "",
    )
    .ok();
    env.run_pw(
        &["get", "imported/aws/dev", "--field", "secret_access_key"],
        "",
    )
    .ok();
}

#[test]
fn a_rerun_after_an_interruption_keeps_what_is_stored() {
    // As if the vault commit happened and the file rewrite did not.
    let env = Env::passphrase_vault();
    let (creds, _) = write_files(&env);
    env.run_pw(
        &[
            "add",
            "aws/default",
            "--kind",
            "aws-access-key",
            "--field",
            &format!("access_key_id={ID_DEFAULT}"),
        ],
        &format!(r#"{{"secret_access_key": "{SECRET_DEFAULT}"}}"#),
    )
    .ok();
    let run = env
        .run_pw(&["migrate", "aws", "--yes", "--shred-backup"], "")
        .ok();
    assert!(run.stdout.contains("kept aws/default"), "{}", run.stdout);
    assert!(run.stdout.contains("stored aws/dev"), "{}", run.stdout);
    assert!(run.stdout.contains("shredded the backup"), "{}", run.stdout);
    assert!(backups(&aws_dir(&env)).is_empty());
    assert_no_canary(
        "credentials",
        &std::fs::read(&creds).expect("read"),
        &ALL_KEYS,
    );
}

#[test]
fn explicit_files_new_config_and_parse_errors() {
    let env = Env::passphrase_vault();
    let dir = env.dir.path().join("elsewhere");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let creds = dir.join("creds");
    let config = dir.join("cfg");
    std::fs::write(
        &creds,
        format!("[ci]\naws_access_key_id = {ID_DEV}\naws_secret_access_key = {SECRET_DEV}\n"),
    )
    .expect("write");
    // A broken config file: refused naming file:line, nothing touched.
    std::fs::write(&config, "[profile ci]\nregion = x\nthis is not ini\n").expect("write");
    let args = [
        "migrate",
        "aws",
        "--yes",
        "--credentials-file",
        creds.to_str().expect("utf8"),
        "--config-file",
        config.to_str().expect("utf8"),
    ];
    let run = env.run_pw(&args, "").code(2);
    assert!(
        run.stderr.contains(&format!("{}:3", config.display())),
        "{}",
        run.stderr
    );
    assert!(env.run_pw(&["list", "--json"], "").ok().json() == Value::Array(vec![]));
    // Without a config file, one is created (0600) with the profile.
    std::fs::remove_file(&config).expect("rm");
    env.run_pw(&args, "").ok();
    assert_eq!(mode(&config), 0o600);
    let text = std::fs::read_to_string(&config).expect("read");
    assert!(
        text.starts_with("[profile ci]\ncredential_process = "),
        "{text}"
    );
    assert!(text.ends_with(" aws credential-process aws/ci\n"), "{text}");
    // Only the credentials file existed, so only it was backed up.
    assert_eq!(backups(&dir).len(), 1);
}

fn aws_cli() -> Option<PathBuf> {
    let path = std::env::var_os("AWS_CLI_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("COFFER_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/tmp/coffer-cache"));
            cache.join("awscli").join("bin").join("aws")
        });
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("COFFER_TEST_MOTO").as_deref() != Ok("1"),
        "the full test run installs the AWS CLI at {}",
        path.display()
    );
    skip("migrate_aws_real_cli", "the AWS CLI is not installed");
    None
}

/// The real AWS CLI, run the way a person would after migrating: it finds
/// credential_process in the config file and runs coffer, which unlocks the
/// vault through the keyring.
#[test]
fn the_real_aws_cli_works_for_every_migrated_profile() {
    let test = "the_real_aws_cli_works_for_every_migrated_profile";
    if !keyring_expected() {
        skip(test, "needs the OS keyring (COFFER_TEST_KEYRING=1)");
        return;
    }
    let Some(endpoint) = super::remotes::moto(test) else {
        return;
    };
    let Some(aws) = aws_cli() else { return };
    let mut env = Env::new();
    // Sessions come from moto's STS, also when an agent serves the vault
    // (the agent pass starts one with this environment).
    env.extra_env
        .push(("AWS_ENDPOINT_URL".into(), endpoint.clone()));
    env.extra_env.push(("COFFER_OFFLINE".into(), "0".into()));
    env.init_keyring();
    let (user_a, id_a, secret_a) = super::moto::iam_user(&endpoint, "mig-a");
    let (user_b, id_b, secret_b) = super::moto::iam_user(&endpoint, "mig-b");
    let d = aws_dir(&env);
    let creds = d.join("credentials");
    let config = d.join("config");
    std::fs::write(
        &creds,
        format!(
            "[default]\naws_access_key_id = {id_a}\naws_secret_access_key = {secret_a}\n\n[team-b]\naws_access_key_id = {id_b}\naws_secret_access_key = {secret_b}\nregion = us-east-1\n"
        ),
    )
    .expect("write");
    // A role assumed from team-b's key, with an external id.
    let role = format!("coffer-mig-{}", std::process::id());
    std::fs::write(
        &config,
        format!(
            "[default]\nregion = us-east-1\n\n[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/{role}\nsource_profile = team-b\nexternal_id = mig-ext\nregion = us-east-1\n"
        ),
    )
    .expect("write");
    env.run(&["migrate", "aws", "--yes", "--shred-backup"], "")
        .ok();
    let config_text = std::fs::read_to_string(&config).expect("read");
    assert!(
        !config_text.contains("role_arn") && !config_text.contains("source_profile"),
        "the role settings moved into the vault:\n{config_text}"
    );
    let stored = env.run(&["show", "aws/ops", "--json"], "").ok().json();
    assert_eq!(stored["kind"], "aws-role", "{stored}");
    for file in [&creds, &config] {
        let bytes = std::fs::read(file).expect("read");
        assert_no_canary(
            &file.display().to_string(),
            &bytes,
            &[&id_a, &secret_a, &id_b, &secret_b],
        );
    }
    let aws_run = |profile: &str, args: &[&str]| {
        let out = Command::new(&aws)
            .args(["--endpoint-url", &endpoint, "--profile", profile])
            .args(args)
            .env("HOME", env.dir.path().join("home"))
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("COFFER_VAULT")
            .env("XDG_DATA_HOME", env.dir.path().join("data"))
            // For the STS session Coffer makes (the AWS CLI's --endpoint-url
            // is its own).
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env_remove("COFFER_OFFLINE")
            .output()
            .expect("run aws");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "aws --profile {profile} {args:?} failed\nstdout: {stdout}\nstderr: {stderr}"
        );
        stdout
    };
    // Each profile signs with an STS session made from its own migrated key
    // (moto answers GetCallerIdentity for such a session with its default
    // identity, so the key is checked through the audit trail instead).
    let _ = (&user_a, &user_b);
    for profile in ["default", "team-b"] {
        let who: Value = serde_json::from_str(&aws_run(
            profile,
            &["sts", "get-caller-identity", "--output", "json"],
        ))
        .expect("json");
        assert!(who["Arn"].as_str().is_some(), "{profile}: {who}");
        aws_run(
            profile,
            &["secretsmanager", "list-secrets", "--output", "json"],
        );
    }
    // The role profile: STS says the tool is the assumed role.
    let who: Value = serde_json::from_str(&aws_run(
        "ops",
        &["sts", "get-caller-identity", "--output", "json"],
    ))
    .expect("json");
    assert!(
        who["Arn"]
            .as_str()
            .is_some_and(|a| a.contains(&format!(":assumed-role/{role}/coffer-"))),
        "{who}"
    );
    // Each use went through coffer and was audited: a new session for each
    // profile's credential, then the kept one.
    let audit = env
        .run(&["audit", "--action", "credential_process", "--json"], "")
        .ok()
        .json();
    let entries = audit.as_array().expect("array");
    for name in ["aws/default", "aws/team-b"] {
        let of = |how: &str| {
            entries
                .iter()
                .any(|e| e["target"] == name && e["details"]["session"] == how)
        };
        assert!(of("new") && of("kept"), "{name}: {audit:#}");
    }
}

// ---------------------------------------------------------------------------
// scan

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("scan")
}

/// Every full value planted in `fixtures/scan/dirty`.
const PLANTED: [&str; 12] = [
    "AKIAZQ3DT5Y7FIXTURE1",
    "Fx9Lm2Qa7Rb4Tc8Vd1We5Xf3Yg6Zh0Jk2Nm4Pq7R",
    "t7Kq2Wm9Zx4Lp8Rv",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmaXh0dXJlIiwiaWF0IjoxNzAwMDAwMDAwfQ",
    "Qm3Xr8Tz1Kv6Np4Ls9Wb2Hd",
    "xoxb-204812345678-1234567890123-FixtureSlackTok3n",
    "sk_live_51FixtureStr1peKeyAbCdEf0123",
    "QyNTUxOQAAACBGaXh0dXJlS2V5Rm9yQ29mZmVyU2NhblRlc3RzT25seQAAAJAAAAAAAAAA",
    "AKIAZQ3DT5Y7FIXTURE2",
    "Gy8Kn3Rb6Sc1Ud7We4Xf9Yg2Zh5Ai0Bj3Ck6Dl8E",
    "ghp_F1xtureGithubT0kenAbCdEfGhIjKlMnOpQr",
    "AIzaSyF1xtureGoogleKeyAbCdEfGhIjKlMnOpQ",
];

const EXPECTED: [(&str, usize, &str, &str); 12] = [
    (
        ".env",
        3,
        "aws-access-key-id",
        "AWS_ACCESS_KEY_ID = AKIA************",
    ),
    (
        ".env",
        4,
        "aws-secret-access-key",
        "AWS_SECRET_ACCESS_KEY = Fx9L************",
    ),
    (
        ".env",
        5,
        "secret-assignment",
        "DB_PASSWORD = t7Kq************",
    ),
    ("app.json", 3, "jwt", "session = eyJh************"),
    (
        "app.json",
        6,
        "secret-assignment",
        "client_secret = Qm3X************",
    ),
    (
        "config/settings.yaml",
        5,
        "slack-token",
        "bot_token = xoxb************",
    ),
    (
        "config/settings.yaml",
        8,
        "stripe-key",
        "api_key = sk_l************",
    ),
    (
        "deploy/id_ed25519",
        1,
        "private-key",
        "OPENSSH PRIVATE KEY = b3Bl************",
    ),
    (
        "home/.aws/credentials",
        2,
        "aws-access-key-id",
        "aws_access_key_id = AKIA************",
    ),
    (
        "home/.aws/credentials",
        3,
        "aws-secret-access-key",
        "aws_secret_access_key = Gy8K************",
    ),
    (
        "src/client.py",
        3,
        "github-token",
        "GITHUB = ghp_************",
    ),
    (
        "src/client.py",
        4,
        "google-api-key",
        "MAPS_KEY = AIza************",
    ),
];

fn expected_lines(root: &Path) -> String {
    EXPECTED
        .iter()
        .map(|(file, line, kind, rest)| {
            format!("{}:{line}: {kind}: {rest}\n", root.join(file).display())
        })
        .collect()
}

#[test]
fn scan_finds_every_planted_credential_masked() {
    let env = Env::new();
    let root = fixtures().join("dirty");
    let root_s = root.to_str().expect("utf8");
    let run = env.run(&["scan", root_s], "").code(3);
    assert_eq!(run.stdout, expected_lines(&root));
    assert_no_canary("scan output", run.stdout.as_bytes(), &PLANTED);
    assert_no_canary("scan stderr", run.stderr.as_bytes(), &PLANTED);

    let json = env.run(&["scan", "--json", root_s], "").code(3).json();
    let items = json.as_array().expect("array");
    assert_eq!(items.len(), EXPECTED.len());
    for (item, (file, line, kind, rest)) in items.iter().zip(EXPECTED) {
        assert_eq!(item["file"], root.join(file).display().to_string());
        assert_eq!(item["line"], line);
        assert_eq!(item["kind"], kind);
        let (name, masked) = rest.split_once(" = ").expect("split");
        assert_eq!(item["name"], name);
        assert_eq!(item["masked"], masked);
        let shown = masked.trim_end_matches('*');
        assert!(shown.chars().count() <= 4, "{masked}");
    }
    // A single file can be scanned too.
    let one = env
        .run(
            &["scan", root.join("src/client.py").to_str().expect("utf8")],
            "",
        )
        .code(3);
    assert_eq!(one.stdout.lines().count(), 2);
}

#[test]
fn scan_of_ordinary_code_and_config_is_clean() {
    let env = Env::new();
    let root = fixtures().join("clean");
    let run = env.run(&["scan", root.to_str().expect("utf8")], "").ok();
    assert_eq!(run.stdout, "");
    let json = env
        .run(&["scan", "--json", root.to_str().expect("utf8")], "")
        .ok()
        .json();
    assert_eq!(json, Value::Array(vec![]));
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("ls").flatten() {
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

#[test]
fn scan_skips_vendored_binary_huge_and_out_of_tree_files_and_honours_excludes() {
    let env = Env::new();
    let root = env.dir.path().join("tree");
    copy_tree(&fixtures().join("clean"), &root);
    let token = "ghp_Sk1pped0nesAbCdEfGhIjKlMnOpQrStUvWxY";
    let line = format!("TOKEN={token}\n");
    for dir in [".git", "node_modules/pkg", "target/debug", "vendor"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
        std::fs::write(root.join(dir).join("leak.env"), &line).expect("write");
    }
    let mut binary = vec![0u8, 1, 2, 3];
    binary.extend_from_slice(line.as_bytes());
    std::fs::write(root.join("blob.bin"), binary).expect("write");
    let mut huge = "x".repeat(5 * 1024 * 1024);
    huge.push('\n');
    huge.push_str(&line);
    std::fs::write(root.join("huge.txt"), huge).expect("write");
    let outside = env.dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.env"), &line).expect("write");
    std::os::unix::fs::symlink(&outside, root.join("linked-dir")).expect("symlink");
    std::os::unix::fs::symlink(outside.join("secret.env"), root.join("linked.env"))
        .expect("symlink");
    let root_s = root.to_str().expect("utf8");

    // Only vendor/ is scanned of all those.
    let run = env.run(&["scan", root_s], "").code(3);
    assert_eq!(
        run.stdout,
        format!(
            "{}:1: github-token: TOKEN = ghp_************\n",
            root.join("vendor/leak.env").display()
        )
    );
    assert!(run.stderr.contains("2 file(s) skipped"), "{}", run.stderr);
    env.run(&["scan", root_s, "--exclude", "vendor"], "").ok();
    env.run(&["scan", root_s, "--exclude", "**/*.env"], "").ok();
    env.run(&["scan", root_s, "--exclude", "vendor/leak.*"], "")
        .ok();
    // A path given on the command line is followed, even a link.
    env.run(
        &["scan", root.join("linked.env").to_str().expect("utf8")],
        "",
    )
    .code(3);
    // A missing path is a usage error.
    let missing = env
        .run(&["scan", root.join("nope").to_str().expect("utf8")], "")
        .code(2);
    assert!(missing.stderr.contains("nope"), "{}", missing.stderr);
}

#[test]
fn scan_import_stores_every_finding_in_one_transaction() {
    let env = Env::passphrase_vault();
    let root = fixtures().join("dirty");
    let root_s = root.to_str().expect("utf8");
    let run = env.run_pw(&["scan", "--import", root_s], "").code(3);
    assert_no_canary("import output", run.stdout.as_bytes(), &PLANTED);
    let list = env.run_pw(&["list", "--json"], "").ok().json();
    let names: Vec<(&str, &str)> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name"),
                c["kind"].as_str().expect("kind"),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("scan/.env/AWS_SECRET_ACCESS_KEY", "aws-access-key"),
            ("scan/.env/DB_PASSWORD", "generic"),
            ("scan/app.json/client_secret", "generic"),
            ("scan/app.json/session", "generic"),
            ("scan/config/settings.yaml/api_key", "generic"),
            ("scan/config/settings.yaml/bot_token", "generic"),
            ("scan/deploy/id_ed25519/OPENSSH PRIVATE KEY", "generic"),
            (
                "scan/home/.aws/credentials/aws_secret_access_key",
                "aws-access-key"
            ),
            ("scan/src/client.py/GITHUB", "generic"),
            ("scan/src/client.py/MAPS_KEY", "generic"),
        ]
    );
    let aws = env
        .run_pw(&["get", "scan/.env/AWS_SECRET_ACCESS_KEY"], "")
        .ok()
        .json();
    assert_eq!(aws["access_key_id"], PLANTED[0]);
    assert_eq!(aws["secret_access_key"], PLANTED[1]);
    let key = env
        .run_pw(
            &[
                "get",
                "scan/deploy/id_ed25519/OPENSSH PRIVATE KEY",
                "--field",
                "value",
            ],
            "",
        )
        .ok();
    assert!(key
        .stdout
        .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    assert!(key.stdout.contains("-----END OPENSSH PRIVATE KEY-----"));
    let audit = env
        .run_pw(&["audit", "--action", "import", "--json"], "")
        .ok()
        .json();
    assert_eq!(audit.as_array().expect("array").len(), 1);
    // A second import clashes and stores nothing.
    let before = env.fingerprint();
    let again = env.run_pw(&["scan", "--import", root_s], "").code(1);
    assert!(again.stderr.contains("--prefix"), "{}", again.stderr);
    assert_eq!(env.fingerprint(), before);
}
