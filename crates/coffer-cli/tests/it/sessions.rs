//! Short-lived AWS credentials against moto's STS: roles assumed through
//! a chain, each link kept and served again, external ids and MFA codes
//! sent, sessions listed and forgotten, `exec`/`env` handing out sessions,
//! and bad chains and STS errors answered clearly without a kept session
//! going wrong.

use std::process::Command;

use crate::moto::{iam_user, start_recording, sts_requests};
use crate::remotes::moto;
use crate::support::{skip, AgentGuard, Env, Run};

const ACCOUNT: &str = "123456789012";

/// A word only this test uses (role names, external ids).
fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{label}-{}-{nanos:x}", std::process::id())
}

/// A vault whose Coffer (and the agent of the agent pass) reaches moto.
fn env_with_moto(endpoint: &str) -> Env {
    let mut env = Env::passphrase_vault();
    env.extra_env
        .push(("AWS_ENDPOINT_URL".into(), endpoint.into()));
    env.extra_env.push(("COFFER_OFFLINE".into(), "0".into()));
    env
}

fn add_role(env: &Env, name: &str, fields: &[(&str, &str)]) {
    add_role_run(env, name, fields).ok();
}

/// `coffer ARGS` with no controlling terminal (a session of its own), as
/// under a tool that runs it in the background.
fn run_detached(env: &Env, args: &[&str]) -> Run {
    let inner = env.command(args);
    let mut cmd = Command::new("setsid");
    cmd.arg("-w")
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    Run::from(
        cmd.stdin(std::process::Stdio::null())
            .output()
            .expect("setsid"),
    )
}

fn count(requests: &[(String, String)], action: &str, marker: &str) -> usize {
    requests
        .iter()
        .filter(|(body, auth)| {
            body.contains(&format!("Action={action}&"))
                && (body.contains(marker) || auth.contains(marker))
        })
        .count()
}

#[test]
fn a_role_chain_is_assumed_once_per_link_and_served_from_the_vault_after() {
    let Some(endpoint) = moto("a_role_chain_is_assumed…") else {
        return;
    };
    start_recording(&endpoint);
    let (_user, key_id, secret) = iam_user(&endpoint, "chain");
    let env = env_with_moto(&endpoint);
    env.add_aws_key("aws/base", &key_id, &secret);
    let ops = unique("coffer-ops");
    let prod = unique("coffer-prod");
    let external = unique("ext");
    let device = format!("arn:aws:iam::{ACCOUNT}:mfa/{}", unique("me"));
    add_role(
        &env,
        "aws/ops",
        &[
            ("role_arn", &format!("arn:aws:iam::{ACCOUNT}:role/{ops}")),
            ("source", "aws/base"),
            ("external_id", &external),
        ],
    );
    add_role(
        &env,
        "aws/prod",
        &[
            ("role_arn", &format!("arn:aws:iam::{ACCOUNT}:role/{prod}")),
            ("source", "aws/ops"),
            ("mfa_serial", &device),
            ("mfa_process", "echo 428113"),
            ("role_session_name", "alice-deploy"),
            ("duration", "30m"),
        ],
    );

    // Ten tools asking within the session's life: one STS call per link.
    let mut first: Option<serde_json::Value> = None;
    for _ in 0..10 {
        let doc = env
            .run_pw(&["aws", "credential-process", "aws/prod"], "")
            .ok()
            .json();
        match &first {
            None => first = Some(doc),
            Some(f) => assert_eq!(&doc, f, "the kept session is served again"),
        }
    }
    let first = first.expect("served");
    let session_key = first["AccessKeyId"].as_str().expect("key id").to_owned();
    assert!(session_key.starts_with("ASIA"), "{first}");
    assert_ne!(session_key, key_id);
    assert_ne!(first["SecretAccessKey"], secret.as_str());
    let recorded = sts_requests(&endpoint);
    assert_eq!(
        count(&recorded, "GetSessionToken", &key_id),
        1,
        "{recorded:?}"
    );
    assert_eq!(count(&recorded, "AssumeRole", &ops), 1, "{recorded:?}");
    assert_eq!(count(&recorded, "AssumeRole", &prod), 1, "{recorded:?}");
    // What went to STS: the external id to the first link, the device and
    // its code to the second, with the chained duration and session name.
    let sent = |role: &str| {
        recorded
            .iter()
            .find(|(b, _)| b.contains("Action=AssumeRole&") && b.contains(role))
            .map(|(b, _)| b.clone())
            .expect("recorded")
    };
    assert!(
        sent(&ops).contains(&format!("ExternalId={external}")),
        "{}",
        sent(&ops)
    );
    let prod_call = sent(&prod);
    for part in [
        format!("SerialNumber={device}"),
        "TokenCode=428113".to_owned(),
        "RoleSessionName=alice-deploy".to_owned(),
        "DurationSeconds=1800".to_owned(),
    ] {
        assert!(prod_call.contains(&part), "{part} in {prod_call}");
    }

    // The real AWS CLI, through the profile migrate would write: STS says
    // it is the assumed role.
    let aws = std::env::var("AWS_CLI_BIN")
        .unwrap_or_else(|_| "/var/tmp/coffer-cache/awscli/bin/aws".into());
    if std::path::Path::new(&aws).exists() {
        let config = env.dir.path().join("aws-config");
        std::fs::write(
            &config,
            format!(
                "[profile prod]\nregion = us-east-1\ncredential_process = {} --vault {} --passphrase-file {} aws credential-process aws/prod\n",
                env!("CARGO_BIN_EXE_coffer"),
                env.vault.display(),
                env.passphrase_file.display()
            ),
        )
        .expect("config");
        let out = Command::new(&aws)
            .args(["--endpoint-url", &endpoint, "--profile", "prod"])
            .args(["sts", "get-caller-identity", "--output", "json"])
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", env.dir.path().join("none"))
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("COFFER_OFFLINE")
            .output()
            .expect("aws");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{said}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains(&format!(":assumed-role/{prod}/alice-deploy")),
            "{said}"
        );
    } else {
        assert!(
            std::env::var("COFFER_TEST_MOTO").as_deref() != Ok("1"),
            "the full run installs the AWS CLI"
        );
        skip("a_role_chain…: the AWS CLI part", "no AWS CLI");
    }

    // Each link is kept, listed without secrets.
    let listed = env.run_pw(&["aws", "sessions", "--json"], "").ok();
    let sessions = listed.json();
    let of = |name: &str| {
        sessions
            .as_array()
            .expect("list")
            .iter()
            .find(|s| s["credential"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {sessions}"))
    };
    assert_eq!(of("aws/base")["source_key_id"], key_id.as_str());
    assert_eq!(
        of("aws/ops")["role_arn"],
        format!("arn:aws:iam::{ACCOUNT}:role/{ops}").as_str()
    );
    let top = of("aws/prod");
    assert_eq!(top["mfa"], true);
    assert!(top["served"].as_u64().expect("served") >= 10, "{top}");
    assert_eq!(top["session_key_id"], session_key.as_str());
    for leak in [
        secret.as_str(),
        first["SecretAccessKey"].as_str().expect("secret"),
        first["SessionToken"].as_str().expect("token"),
        "428113",
    ] {
        assert!(!listed.stdout.contains(leak), "no secret listed");
    }
    let text = env.run_pw(&["aws", "sessions"], "").ok().stdout;
    assert!(text.contains("aws/prod") && text.contains(&prod), "{text}");

    // The trail: the key revealed once (for the role), each new link and
    // every kept serving, with no secret and no code.
    let trail = env
        .run_pw(&["audit", "--action", "credential_process", "--json"], "")
        .ok();
    let entries = trail.json();
    let entries = entries.as_array().expect("entries");
    let about = |name: &str, how: &str| {
        entries
            .iter()
            .filter(|e| e["target"] == name && e["details"]["session"] == how)
            .count()
    };
    assert_eq!(about("aws/base", "new"), 1, "{entries:?}");
    assert_eq!(about("aws/prod", "new"), 1, "{entries:?}");
    assert!(about("aws/prod", "kept") >= 9, "{entries:?}");
    for leak in [secret.as_str(), "428113"] {
        assert!(!trail.stdout.contains(leak), "no secret in the trail");
    }

    // Forgotten: listed no more, and the next tool gets a new session.
    let forgot = env.run_pw(&["lock", "--forget-sessions"], "").ok().stdout;
    assert!(forgot.contains("forgot 3 kept AWS sessions"), "{forgot}");
    let after = env.run_pw(&["aws", "sessions", "--json"], "").ok().json();
    assert_eq!(after, serde_json::json!([]));
    let again = env
        .run_pw(&["aws", "credential-process", "aws/prod"], "")
        .ok()
        .json();
    assert_ne!(again["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(
        count(&sts_requests(&endpoint), "AssumeRole", &prod),
        2,
        "made again after being forgotten"
    );
}

#[test]
fn exec_and_env_hand_out_sessions_and_the_key_only_when_asked() {
    let Some(endpoint) = moto("exec_and_env_hand_out_sessions…") else {
        return;
    };
    let (_user, key_id, secret) = iam_user(&endpoint, "exec");
    let env = env_with_moto(&endpoint);
    env.add_aws_key("aws/base", &key_id, &secret);
    let role = unique("coffer-exec");
    add_role(
        &env,
        "aws/role",
        &[
            ("role_arn", &format!("arn:aws:iam::{ACCOUNT}:role/{role}")),
            ("source", "aws/base"),
            ("region", "eu-west-1"),
        ],
    );
    let script = "printf '%s\\n' \"$AWS_ACCESS_KEY_ID\" \"${AWS_SECRET_ACCESS_KEY:+secret}\" \"${AWS_SESSION_TOKEN:+token}\" \"$AWS_CREDENTIAL_EXPIRATION\" \"$AWS_REGION\"";
    for name in ["aws/role", "aws/base"] {
        let out = env
            .run_pw(&["exec", name, "--", "sh", "-c", script], "")
            .ok()
            .stdout;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_ne!(lines[0], key_id, "{name}: a session, not the key");
        assert!(!lines[0].is_empty());
        assert_eq!(&lines[1..3], ["secret", "token"], "{out}");
        chrono::DateTime::parse_from_rfc3339(lines[3]).expect("expiry in RFC 3339");
        if name == "aws/role" {
            assert!(lines[0].starts_with("ASIA"), "{out}");
            assert_eq!(lines[4], "eu-west-1");
        }
    }
    let exported = env
        .run_pw(&["env", "aws/role", "--format", "json"], "")
        .ok()
        .json();
    assert!(exported["AWS_SESSION_TOKEN"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert!(
        exported["AWS_CREDENTIAL_EXPIRATION"].is_string(),
        "{exported}"
    );

    // The key itself, by name only; a role has none.
    let long = env
        .run_pw(&["env", "aws/base", "--format", "json", "--long-lived"], "")
        .ok()
        .json();
    assert_eq!(long["AWS_ACCESS_KEY_ID"], key_id.as_str());
    assert!(long.get("AWS_CREDENTIAL_EXPIRATION").is_none(), "{long}");
    let refused = env
        .run_pw(&["exec", "aws/role", "--long-lived", "--", "true"], "")
        .code(2);
    assert!(
        refused.stderr.contains("'aws/role' is an aws-role"),
        "{}",
        refused.stderr
    );
    let refused = env
        .run_pw(
            &["aws", "credential-process", "aws/role", "--long-lived"],
            "",
        )
        .code(2);
    assert!(
        refused.stderr.contains("only sessions"),
        "{}",
        refused.stderr
    );
    // `status` finds the key handed out long-lived (once, by `env`), and
    // nothing for the role.
    let status = env.run_pw(&["status", "--json"], "").json();
    let item = |name: &str| {
        status
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["name"] == name)
            .cloned()
            .expect("listed")
    };
    assert_eq!(item("aws/base")["long_lived_uses_30d"], 1, "{status}");
    assert!(item("aws/role").get("long_lived_uses_30d").is_none());
    let text = env.run_pw(&["status"], "").stdout;
    assert!(
        text.contains("Long-lived AWS keys handed out") && text.contains("aws/base: 1 time"),
        "{text}"
    );
    // Uses are audited as what they were.
    let execs = env
        .run_pw(&["audit", "--action", "exec", "--json"], "")
        .ok()
        .json();
    assert!(
        execs
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["target"] == "aws/role" && e["details"]["session"] == "new"),
        "{execs}"
    );
}

#[test]
fn bad_chains_and_sts_refusals_say_what_is_wrong_and_keep_nothing_wrong() {
    let Some(endpoint) = moto("bad_chains_and_sts_refusals…") else {
        return;
    };
    let (_user, key_id, secret) = iam_user(&endpoint, "badchain");
    let env = env_with_moto(&endpoint);
    env.add_aws_key("aws/base", &key_id, &secret);
    let arn = |n: &str| format!("arn:aws:iam::{ACCOUNT}:role/{n}");
    add_role(
        &env,
        "aws/lost",
        &[("role_arn", &arn("lost")), ("source", "aws/nowhere")],
    );
    add_role(
        &env,
        "aws/a",
        &[("role_arn", &arn("a")), ("source", "aws/b")],
    );
    add_role(
        &env,
        "aws/b",
        &[("role_arn", &arn("b")), ("source", "aws/a")],
    );
    let before = env
        .run_pw(&["audit", "--action", "credential_process", "--json"], "")
        .ok()
        .json();
    for (name, says) in [
        ("aws/lost", "its source 'aws/nowhere' does not exist"),
        ("aws/a", "circle: aws/a → aws/b → aws/a"),
    ] {
        let run = env.run_pw(&["aws", "credential-process", name], "").code(2);
        assert!(run.stderr.contains(says), "{name}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    let after = env
        .run_pw(&["audit", "--action", "credential_process", "--json"], "")
        .ok()
        .json();
    assert_eq!(before, after, "nothing revealed for a bad chain");
    // A role field that is no role ARN is refused when stored.
    let run = env
        .run_pw(
            &[
                "add",
                "aws/odd",
                "--kind",
                "aws-role",
                "--field",
                "role_arn=admin",
                "--field",
                "source=aws/base",
            ],
            "",
        )
        .code(2);
    assert!(run.stderr.contains("IAM role ARN"), "{}", run.stderr);

    // STS refuses the call (a session name over 64 characters): its error,
    // named, and no session kept for the role; once fixed it works.
    let long_name = "n".repeat(70);
    add_role(
        &env,
        "aws/refused",
        &[
            ("role_arn", &arn(&unique("refused"))),
            ("source", "aws/base"),
            ("role_session_name", &long_name),
        ],
    );
    let run = env
        .run_pw(&["aws", "credential-process", "aws/refused"], "")
        .code(1);
    assert!(
        run.stderr
            .contains("STS AssumeRole for aws/refused failed: ValidationError"),
        "{}",
        run.stderr
    );
    let kept = env.run_pw(&["aws", "sessions", "--json"], "").ok().json();
    assert!(
        !kept
            .as_array()
            .expect("list")
            .iter()
            .any(|s| s["credential"] == "aws/refused"),
        "{kept}"
    );
    env.run_pw(
        &["edit", "aws/refused", "--field", "role_session_name=fixed"],
        "",
    )
    .ok();
    let doc = env
        .run_pw(&["aws", "credential-process", "aws/refused"], "")
        .ok()
        .json();
    assert!(
        doc["AccessKeyId"]
            .as_str()
            .is_some_and(|k| k.starts_with("ASIA")),
        "{doc}"
    );

    // A device without a code: without a terminal or an mfa_process, the
    // error says how to give one; nothing is kept.
    let device = format!("arn:aws:iam::{ACCOUNT}:mfa/{}", unique("dev"));
    add_role(
        &env,
        "aws/mfa",
        &[
            ("role_arn", &arn(&unique("mfa"))),
            ("source", "aws/base"),
            ("mfa_serial", &device),
        ],
    );
    let file = env.passphrase_file.display().to_string();
    let run = run_detached(
        &env,
        &[
            "--passphrase-file",
            &file,
            "aws",
            "credential-process",
            "aws/mfa",
        ],
    );
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        run.stderr.contains(&device) && run.stderr.contains("mfa_process"),
        "{}",
        run.stderr
    );
    // An mfa_process that arrived by an import is not run until someone
    // has looked at it.
    let file = env.dir.path().join("roles.json");
    std::fs::write(
        &file,
        serde_json::json!([{
            "name": "aws/imported",
            "kind": "aws-role",
            "fields": {
                "role_arn": arn(&unique("imported")),
                "source": "aws/base",
                "mfa_serial": device,
                "mfa_process": "echo 246810",
            },
        }])
        .to_string(),
    )
    .expect("write");
    env.run_pw(
        &["import", &file.display().to_string(), "--format", "json"],
        "",
    )
    .ok();
    let run = env
        .run_pw(&["aws", "credential-process", "aws/imported"], "")
        .code(7);
    assert!(
        run.stderr.contains("nobody has reviewed it")
            && run.stderr.contains("coffer show aws/imported"),
        "{}",
        run.stderr
    );
    env.run_pw(&["show", "aws/imported"], "").ok();
    let doc = env
        .run_pw(&["aws", "credential-process", "aws/imported"], "")
        .ok()
        .json();
    assert!(doc["SessionToken"].is_string(), "{doc}");
    // A code that is no code is refused before STS sees it.
    env.run_pw(&["edit", "aws/mfa", "--field", "mfa_process=echo 12ab"], "")
        .ok();
    let run = env
        .run_pw(&["aws", "credential-process", "aws/mfa"], "")
        .code(2);
    assert!(run.stderr.contains("six digits"), "{}", run.stderr);
    assert!(!run.stderr.contains("12ab"), "the code is not echoed");
}

/// What the boto3 child does: report the key its SDK holds and who STS
/// says it is, wait for the test to forget the kept sessions, and do it
/// again (a 15-minute session makes botocore ask the endpoint on every
/// use); also ask the endpoint without its token and with a wrong one.
const BOTO3_CHILD: &str = r#"
import json, os, sys, time, urllib.request, urllib.error
import boto3
report = sys.argv[1]
go = sys.argv[2]
def say(**kw):
    with open(report, "a") as f:
        f.write(json.dumps(kw) + "\n")
say(uri=os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
    plain_key=("AWS_ACCESS_KEY_ID" in os.environ),
    token_set=bool(os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")))
session = boto3.Session()
sts = session.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
def use(label):
    arn = sts.get_caller_identity()["Arn"]
    key = session.get_credentials().get_frozen_credentials().access_key
    say(step=label, arn=arn, key=key)
use("first")
for token in [None, "0" * 64]:
    request = urllib.request.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
    if token:
        request.add_header("Authorization", token)
    try:
        urllib.request.urlopen(request)
        say(refused=False)
    except urllib.error.HTTPError as e:
        say(refused=True, status=e.code)
for _ in range(600):
    if os.path.exists(go):
        break
    time.sleep(0.05)
use("second")
"#;

#[test]
fn a_long_running_boto3_process_gets_fresh_sessions_from_the_endpoint() {
    let Some(endpoint) = moto("a_long_running_boto3_process…") else {
        return;
    };
    let Ok(python) = std::env::var("BOTO3_PYTHON") else {
        assert!(
            std::env::var("COFFER_TEST_MOTO").as_deref() != Ok("1"),
            "the full run provides BOTO3_PYTHON"
        );
        return skip("a_long_running_boto3_process…", "BOTO3_PYTHON is not set");
    };
    let (_user, key_id, secret) = iam_user(&endpoint, "server");
    let env = env_with_moto(&endpoint);
    env.add_aws_key("aws/base", &key_id, &secret);
    let role = unique("coffer-server");
    add_role(
        &env,
        "aws/app",
        &[
            ("role_arn", &format!("arn:aws:iam::{ACCOUNT}:role/{role}")),
            ("source", "aws/base"),
            ("duration", "15m"),
            ("region", "us-east-1"),
        ],
    );
    let report = env.dir.path().join("report.jsonl");
    let go = env.dir.path().join("go");
    let script = env.dir.path().join("child.py");
    std::fs::write(&script, BOTO3_CHILD).expect("script");
    let file = env.passphrase_file.display().to_string();
    let mut cmd = env.command(&[
        "--passphrase-file",
        &file,
        "exec",
        "aws/app",
        "--server",
        "--",
        &python,
        &script.display().to_string(),
        &report.display().to_string(),
        &go.display().to_string(),
    ]);
    // The AWS files of the person running the tests play no part.
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", env.dir.path().join("none"))
        .env("AWS_CONFIG_FILE", env.dir.path().join("none"))
        .env("AWS_ACCESS_KEY_ID", "AKIASHOULDNOTREACHTHECHILD")
        .stdin(std::process::Stdio::null());
    let child = cmd.spawn().expect("coffer exec");
    let lines = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&report)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while lines()
        .iter()
        .filter(|l| l.get("refused").is_some())
        .count()
        < 2
    {
        assert!(std::time::Instant::now() < deadline, "{:?}", lines());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The kept sessions forgotten while the process runs: its next use
    // gets a new one from the endpoint.
    env.run_pw(&["lock", "--forget-sessions"], "").ok();
    // (Through an agent, `lock` locked it too: this hands it the way in
    // again, as the next command a person runs would.)
    let left = env.run_pw(&["aws", "sessions", "--json"], "").ok().json();
    assert_eq!(left, serde_json::json!([]));
    std::fs::write(&go, "").expect("go");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}\n{:?}",
        String::from_utf8_lossy(&out.stderr),
        lines()
    );
    let said = lines();
    let start = &said[0];
    assert_eq!(
        start["plain_key"], false,
        "no key in the child's environment"
    );
    assert_eq!(start["token_set"], true);
    let uri = start["uri"].as_str().expect("uri").to_owned();
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    let step = |label: &str| {
        said.iter()
            .find(|l| l["step"] == label)
            .cloned()
            .unwrap_or_else(|| panic!("{label} in {said:?}"))
    };
    let (first, second) = (step("first"), step("second"));
    for s in [&first, &second] {
        assert!(
            s["arn"]
                .as_str()
                .is_some_and(|a| a.contains(&format!(":assumed-role/{role}/"))),
            "{s}"
        );
        assert!(
            s["key"].as_str().is_some_and(|k| k.starts_with("ASIA")),
            "{s}"
        );
        assert_ne!(s["key"], key_id.as_str());
    }
    assert_ne!(
        first["key"], second["key"],
        "a new session after the old one was dropped"
    );
    let refusals: Vec<&serde_json::Value> =
        said.iter().filter(|l| l.get("refused").is_some()).collect();
    for r in refusals {
        assert_eq!(r["refused"], true, "{said:?}");
        assert_eq!(r["status"], 401, "{said:?}");
    }
    // The child has exited: its endpoint is gone.
    let port = uri
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/');
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "the endpoint closed with the child"
    );
    // Each serving audited as an exec of the role by the server.
    let trail = env
        .run_pw(&["audit", "--action", "exec", "--json"], "")
        .ok()
        .json();
    let served = trail
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["target"] == "aws/app" && e["details"]["server"] == true)
        .count();
    assert!(served >= 3, "{trail}");
}

#[test]
fn tools_asking_at_once_through_the_agent_share_one_sts_call() {
    let Some(endpoint) = moto("tools_asking_at_once_through_the_agent…") else {
        return;
    };
    start_recording(&endpoint);
    let (_user, key_id, secret) = iam_user(&endpoint, "flight");
    let env = env_with_moto(&endpoint).without_agent();
    env.add_aws_key("aws/flight", &key_id, &secret);
    env.run_pw(&["agent", "start", "--idle-lock", "0"], "").ok();
    let _agent = AgentGuard(&env);
    // Eight tools at once, none with a session kept yet.
    let tools: Vec<_> = (0..8)
        .map(|_| {
            env.command(&["aws", "credential-process", "aws/flight"])
                .env("COFFER_AGENT", "required")
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for tool in tools {
        let out = Run::from(tool.wait_with_output().expect("wait")).ok();
        keys.insert(out.json()["AccessKeyId"].as_str().expect("key").to_owned());
    }
    assert_eq!(keys.len(), 1, "one session served to all: {keys:?}");
    let requests = sts_requests(&endpoint);
    assert_eq!(
        count(&requests, "GetSessionToken", &key_id),
        1,
        "one STS call for eight tools"
    );
}

/// `coffer add NAME --kind aws-role --field K=V…`, for an add that must fail.
fn add_role_run(env: &Env, name: &str, fields: &[(&str, &str)]) -> Run {
    let mut args = vec![
        "add".to_owned(),
        name.to_owned(),
        "--kind".into(),
        "aws-role".into(),
    ];
    for (k, v) in fields {
        args.push("--field".into());
        args.push(format!("{k}={v}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run_pw(&args, "")
}

#[test]
fn a_totp_seed_gives_the_codes_where_mfa_totp_names_it_and_nowhere_else() {
    let Some(endpoint) = moto("a_totp_seed_gives_the_codes…") else {
        return;
    };
    start_recording(&endpoint);
    let (_user, key_id, secret) = iam_user(&endpoint, "totp");
    let env = env_with_moto(&endpoint);
    env.add_aws_key("aws/base", &key_id, &secret);

    // A seed that is not base32, or too short, is refused without being
    // quoted; one as set-up pages show it (groups, lower case) is taken.
    for bad in ["NOT-BASE32-1890!", "JBSWY3DP"] {
        let refused = env
            .run_pw(
                &["add", "mfa/bad", "--kind", "totp-seed"],
                &serde_json::json!({ "seed": bad }).to_string(),
            )
            .code(2);
        assert!(
            refused.stderr.contains("a TOTP seed") && !refused.stderr.contains(bad),
            "{}",
            refused.stderr
        );
    }
    let seed = "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp";
    env.run_pw(
        &[
            "add",
            "mfa/dev",
            "--kind",
            "totp-seed",
            "--field",
            "issuer=AWS",
        ],
        &serde_json::json!({ "seed": seed }).to_string(),
    )
    .ok();

    let role = unique("coffer-totp");
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    let device = format!("arn:aws:iam::{ACCOUNT}:mfa/{}", unique("dev"));
    // mfa_totp goes with mfa_serial, and not with mfa_process.
    let alone = add_role_run(
        &env,
        "aws/totp",
        &[
            ("role_arn", &arn),
            ("source", "aws/base"),
            ("mfa_totp", "mfa/dev"),
        ],
    )
    .code(2);
    assert!(alone.stderr.contains("set mfa_serial"), "{}", alone.stderr);
    let both = add_role_run(
        &env,
        "aws/totp",
        &[
            ("role_arn", &arn),
            ("source", "aws/base"),
            ("mfa_serial", &device),
            ("mfa_totp", "mfa/dev"),
            ("mfa_process", "echo 123456"),
        ],
    )
    .code(2);
    assert!(both.stderr.contains("keep one"), "{}", both.stderr);
    add_role(
        &env,
        "aws/totp",
        &[
            ("role_arn", &arn),
            ("source", "aws/base"),
            ("mfa_serial", &device),
            ("mfa_totp", "mfa/dev"),
        ],
    );

    // Nobody is asked and no mfa_process runs: the code comes from the seed,
    // and is its code for now (or for the step either side of it).
    let doc = env.run_pw(&["aws", "credential-process", "aws/totp"], "");
    assert_eq!(doc.code, 0, "{}", doc.stderr);
    assert!(doc.json()["SessionToken"].is_string());
    let sent = sts_requests(&endpoint)
        .into_iter()
        .find(|(b, _)| b.contains("Action=AssumeRole&") && b.contains(&role))
        .map(|(b, _)| b)
        .expect("recorded");
    assert!(sent.contains(&format!("SerialNumber={device}")), "{sent}");
    let now = chrono::Utc::now();
    let expected: Vec<String> = [-30, 0, 30]
        .into_iter()
        .map(|d| {
            coffer_core::totp::code(
                "mfa/dev",
                &coffer_core::SecretValue::from(seed),
                |_| None,
                now + chrono::Duration::seconds(d),
            )
            .expect("code")
            .expose_secret()
            .to_owned()
        })
        .collect();
    assert!(
        expected
            .iter()
            .any(|c| sent.contains(&format!("TokenCode={c}"))),
        "one of {expected:?} in {sent}"
    );
    // The seed's use is audited, naming the session it made a code for.
    let trail = env
        .run_pw(&["audit", "--credential", "mfa/dev", "--json"], "")
        .ok()
        .stdout;
    assert!(
        trail.contains("mfa_code_for") && trail.contains("aws/totp"),
        "{trail}"
    );

    // An mfa_totp naming a credential of another kind is refused at use,
    // and nothing is kept for the role.
    add_role(
        &env,
        "aws/wrong",
        &[
            ("role_arn", &arn),
            ("source", "aws/base"),
            ("mfa_serial", &device),
            ("mfa_totp", "aws/base"),
        ],
    );
    let wrong = env.run_pw(&["aws", "credential-process", "aws/wrong"], "");
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains("its mfa_totp 'aws/base' is a aws-access-key credential"),
        "{}",
        wrong.stderr
    );
    let kept = env.run_pw(&["aws", "sessions", "--json"], "").ok().stdout;
    assert!(!kept.contains("aws/wrong"), "{kept}");
}
