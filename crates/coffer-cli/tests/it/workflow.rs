//! `coffer exec`, `env`, `inject`, `aws credential-process`, `vault-token-helper`.

use std::process::Stdio;
use std::time::Duration;

use super::moto::iam_user;
use super::remotes::{bao, moto};
use super::support::{keyring_expected, skip, Env};

const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzzSECRET";

fn env_with_aws() -> Env {
    let env = Env::passphrase_vault();
    env.run_pw(
        &[
            "add",
            "aws/dev",
            "--kind",
            "aws-access-key",
            "--field",
            "access_key_id=AKIAIOSFODNN7TESTKEY",
            "--field",
            "region=eu-west-1",
        ],
        &format!(r#"{{"secret_access_key":"{SECRET}"}}"#),
    )
    .ok();
    env
}

#[test]
fn exec_gives_the_child_its_variables_and_never_puts_a_secret_on_argv_or_in_its_own_environment() {
    let env = env_with_aws();
    let script = r#"echo "id=$AWS_ACCESS_KEY_ID region=$AWS_REGION"
tr '\0' ' ' < /proc/$PPID/cmdline > cmdline.parent
tr '\0' '\n' < /proc/$PPID/environ > environ.parent
tr '\0' ' ' < /proc/$$/cmdline > cmdline.child
[ "$AWS_SECRET_ACCESS_KEY" = "$(cat expected)" ] && echo secret-ok
exit 7"#;
    let e2 = env;
    std::fs::write(e2.dir.path().join("expected"), SECRET).expect("write");
    let mut cmd = e2.command(&[
        "--passphrase-file",
        &e2.passphrase_file.display().to_string(),
        "exec",
        "aws/dev",
        "--long-lived",
        "--",
        "sh",
        "-c",
        script,
    ]);
    cmd.current_dir(e2.dir.path());
    let out = cmd.output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(7),
        "the child's exit code passes through: {stdout}"
    );
    assert!(
        stdout.contains("id=AKIAIOSFODNN7TESTKEY region=eu-west-1") && stdout.contains("secret-ok"),
        "{stdout}"
    );
    for f in ["cmdline.parent", "environ.parent", "cmdline.child"] {
        let text = std::fs::read_to_string(e2.dir.path().join(f)).expect("read");
        assert!(!text.contains(SECRET), "{f} holds the secret");
        if f == "environ.parent" {
            assert!(
                !text.contains("AWS_SECRET_ACCESS_KEY"),
                "coffer's own environment is untouched"
            );
        }
    }
    let audit = e2
        .run_pw(&["audit", "--action", "exec", "--json"], "")
        .ok()
        .json();
    let details = audit[0]["details"].to_string();
    assert!(
        details.contains("AWS_SECRET_ACCESS_KEY") && !details.contains(SECRET),
        "{details}"
    );
}

#[test]
fn exec_passes_signals_refuses_to_overwrite_and_masks_output() {
    let mut env = env_with_aws();
    // A signal that ends the child gives 128 + its number.
    let run = env.run_pw(
        &[
            "exec",
            "aws/dev",
            "--long-lived",
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ],
        "",
    );
    assert_eq!(run.code, 143);
    // A SIGTERM sent to coffer reaches the child.
    let child = env
        .command(&[
            "--passphrase-file",
            &env.passphrase_file.display().to_string(),
            "exec",
            "aws/dev",
            "--long-lived",
            "--",
            "sh",
            "-c",
            "trap 'echo got-term; exit 5' TERM; sleep 30 & wait",
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("got-term"));
    // An existing variable is not replaced without --override.
    env.extra_env
        .push(("AWS_REGION".into(), "us-east-2".into()));
    let run = env
        .run_pw(&["exec", "aws/dev", "--long-lived", "--", "true"], "")
        .code(2);
    assert!(
        run.stderr.contains("AWS_REGION is already set") && run.stderr.contains("--override"),
        "{}",
        run.stderr
    );
    let run = env
        .run_pw(
            &[
                "exec",
                "--override",
                "aws/dev",
                "--long-lived",
                "--",
                "sh",
                "-c",
                "echo $AWS_REGION",
            ],
            "",
        )
        .ok();
    assert_eq!(run.stdout.trim(), "eu-west-1");
    env.extra_env.clear();
    let run = env
        .run_pw(
            &[
                "exec",
                "--mask",
                "aws/dev",
                "--long-lived",
                "--",
                "sh",
                "-c",
                "echo out:$AWS_SECRET_ACCESS_KEY; echo err:$AWS_SECRET_ACCESS_KEY >&2",
            ],
            "",
        )
        .ok();
    assert_eq!(run.stdout.trim(), "out:<concealed by coffer>");
    assert!(
        run.stderr.contains("err:<concealed by coffer>") && !run.stderr.contains(SECRET),
        "{}",
        run.stderr
    );
    let run = env
        .run_pw(
            &[
                "exec",
                "aws/dev",
                "--long-lived",
                "--env",
                "MY_KEY=secret_access_key",
                "--no-defaults",
                "--",
                "sh",
                "-c",
                "echo ${AWS_REGION:-none} ${#MY_KEY}",
            ],
            "",
        )
        .ok();
    assert_eq!(run.stdout.trim(), format!("none {}", SECRET.len()));
}

#[test]
fn env_and_inject_write_values_where_asked_and_nowhere_else() {
    let env = env_with_aws();
    let sh = env.run_pw(&["env", "aws/dev", "--long-lived"], "").ok();
    assert!(
        sh.stdout
            .contains(&format!("export AWS_SECRET_ACCESS_KEY='{SECRET}'")),
        "{}",
        sh.stdout
    );
    let json = env
        .run_pw(&["env", "aws/dev", "--long-lived", "--format", "json"], "")
        .ok()
        .json();
    assert_eq!(json["AWS_ACCESS_KEY_ID"], "AKIAIOSFODNN7TESTKEY");
    let template = env.dir.path().join("app.conf.tmpl");
    std::fs::write(&template, "key = {{ coffer://aws/dev/access_key_id }}\nsecret = {{coffer://aws/dev/secret_access_key}}\nkeep = {{ .Other }}\n").expect("write");
    let output = env.dir.path().join("app.conf");
    env.run_pw(
        &[
            "inject",
            "-i",
            &template.display().to_string(),
            "-o",
            &output.display().to_string(),
        ],
        "",
    )
    .ok();
    let text = std::fs::read_to_string(&output).expect("read");
    assert_eq!(
        text,
        format!("key = AKIAIOSFODNN7TESTKEY\nsecret = {SECRET}\nkeep = {{{{ .Other }}}}\n")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&output)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    std::fs::write(&template, "ok\nbad = {{ coffer://nofield }}\n").expect("write");
    let run = env
        .run_pw(&["inject", "-i", &template.display().to_string()], "")
        .code(2);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    // The stored key, asked for by name (a session needs STS: see the moto
    // tests), and offline a session is refused before anything is revealed.
    let run = env
        .run_pw(
            &["aws", "credential-process", "aws/dev", "--long-lived"],
            "",
        )
        .ok()
        .json();
    assert_eq!(run["Version"], 1);
    assert_eq!(run["SecretAccessKey"], SECRET);
    let reveals = |env: &Env| {
        env.run_pw(&["audit", "--action", "credential_process", "--json"], "")
            .ok()
            .json()
            .as_array()
            .map(Vec::len)
    };
    let before = reveals(&env);
    let offline = env
        .run_pw(&["aws", "credential-process", "aws/dev"], "")
        .code(1);
    assert!(
        offline.stderr.contains("COFFER_OFFLINE") && offline.stderr.contains("--long-lived"),
        "{}",
        offline.stderr
    );
    assert!(offline.stdout.is_empty());
    assert_eq!(
        reveals(&env),
        before,
        "nothing revealed for a refused session"
    );
}

#[test]
fn the_real_aws_cli_signs_with_keys_from_credential_process() {
    let Some(endpoint) = moto("the_real_aws_cli_signs…") else {
        return;
    };
    let aws = std::env::var("AWS_CLI_BIN")
        .unwrap_or_else(|_| "/var/tmp/coffer-cache/awscli/bin/aws".into());
    if !std::path::Path::new(&aws).exists() {
        assert!(
            std::env::var("COFFER_TEST_MOTO").as_deref() != Ok("1"),
            "the full run installs the AWS CLI"
        );
        return skip("the_real_aws_cli…", "no AWS CLI");
    }
    let (user, key_id, secret) = iam_user(&endpoint, "credproc");
    let mut env = Env::passphrase_vault();
    env.add_aws_key("aws/moto", &key_id, &secret);
    // Sessions come from moto's STS (Coffer's own calls, the agent's too).
    env.extra_env
        .push(("AWS_ENDPOINT_URL".into(), endpoint.clone()));
    env.extra_env.push(("COFFER_OFFLINE".into(), "0".into()));
    let config = env.dir.path().join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile dev]\nregion = us-east-1\ncredential_process = {} --vault {} --passphrase-file {} aws credential-process aws/moto\n",
            env!("CARGO_BIN_EXE_coffer"),
            env.vault.display(),
            env.passphrase_file.display()
        ),
    )
    .expect("config");
    // `aws sts get-caller-identity` with `config`, and `extra` environment.
    let caller_identity = |config: &std::path::Path, extra: &[(&str, std::ffi::OsString)]| {
        std::process::Command::new(&aws)
            .args([
                "--endpoint-url",
                &endpoint,
                "--profile",
                "dev",
                "sts",
                "get-caller-identity",
                "--output",
                "json",
            ])
            .env("AWS_CONFIG_FILE", config)
            .env("AWS_SHARED_CREDENTIALS_FILE", env.dir.path().join("none"))
            // For Coffer's STS call, which the AWS CLI's --endpoint-url does not reach.
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env_remove("COFFER_OFFLINE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .envs(extra.iter().map(|(k, v)| (*k, v)))
            .output()
            .expect("aws")
    };
    let out = caller_identity(&config, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // moto answers GetCallerIdentity for a GetSessionToken session with its
    // default identity, not the user's (it does not track such sessions):
    // the call succeeding with a session is what is checked here; the key
    // the tool got is checked below.
    assert!(stdout.contains("\"Arn\""), "{stdout}");
    let _ = &user;
    let audit = env
        .run_pw(&["audit", "--action", "credential_process", "--json"], "")
        .ok()
        .json();
    assert!(!audit.as_array().expect("entries").is_empty());

    // What the tool got: an STS session (a key, a token, an expiry), never
    // the stored key; served again from the vault while fresh.
    let first = env
        .run_pw(&["aws", "credential-process", "aws/moto"], "")
        .ok()
        .json();
    // (moto's GetSessionToken hands out AWS's documentation example key,
    // not an ASIA… one as AWS does: what matters is that it is not ours.)
    let session_key = first["AccessKeyId"].as_str().expect("key id").to_owned();
    assert_ne!(session_key, key_id, "{first}");
    assert_ne!(first["SecretAccessKey"], secret.as_str());
    assert!(first["SessionToken"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    let expires =
        chrono::DateTime::parse_from_rfc3339(first["Expiration"].as_str().expect("expiry"))
            .expect("RFC 3339");
    assert!(
        expires > chrono::Utc::now() + chrono::Duration::minutes(30),
        "{first}"
    );
    let again = env
        .run_pw(&["aws", "credential-process", "aws/moto"], "")
        .ok()
        .json();
    assert_eq!(again, first, "the kept session is served again");
    let entries = env
        .run_pw(&["audit", "--action", "credential_process", "--json"], "")
        .ok()
        .stdout;
    let parsed: serde_json::Value = serde_json::from_str(&entries).expect("json");
    let said = |how: &str| {
        parsed
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["details"]["session"] == how)
    };
    assert!(said("new") && said("kept"), "{entries}");
    for leak in [
        secret.as_str(),
        first["SecretAccessKey"].as_str().unwrap_or("-"),
    ] {
        assert!(!entries.contains(leak), "no secret in the trail");
    }
    // The stored key only when asked for by name.
    let long = env
        .run_pw(
            &["aws", "credential-process", "aws/moto", "--long-lived"],
            "",
        )
        .ok()
        .json();
    assert_eq!(long["AccessKeyId"], key_id.as_str());

    // Through the agent: no passphrase for the credential_process command,
    // COFFER_AGENT=required, and the entry names the AWS CLI as the parent.
    env.run_pw(&["agent", "start", "--idle-lock", "0"], "").ok();
    let _stop = crate::support::AgentGuard(&env);
    let no_unlock = env.dir.path().join("aws-config-agent");
    std::fs::write(
        &no_unlock,
        format!(
            "[profile dev]\nregion = us-east-1\ncredential_process = {} --vault {} aws credential-process aws/moto\n",
            env!("CARGO_BIN_EXE_coffer"),
            env.vault.display(),
        ),
    )
    .expect("config");
    let direct = env
        .run_pw(&["aws", "credential-process", "aws/moto"], "")
        .ok()
        .stdout;
    let mut through = env.command(&["aws", "credential-process", "aws/moto"]);
    through.env("COFFER_AGENT", "required");
    let through = through.output().expect("coffer");
    assert_eq!(
        String::from_utf8_lossy(&through.stdout),
        direct,
        "the same document through the agent"
    );
    let out = caller_identity(
        &no_unlock,
        &[
            (
                "XDG_RUNTIME_DIR",
                env.dir.path().join("no-bus-runtime").into(),
            ),
            ("COFFER_AGENT", "required".into()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"Arn\""),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.run_pw(&["agent", "stop"], "").ok();
    let audit = env
        .run_pw(&["audit", "--action", "credential_process", "--json"], "")
        .ok()
        .json();
    let asked: Vec<&serde_json::Value> = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["details"].get("requester"))
        .collect();
    assert!(
        asked
            .iter()
            .any(|r| r["parents"].as_array().is_some_and(|p| p
                .iter()
                .any(|n| n.as_str().is_some_and(|n| n.ends_with(" aws"))))),
        "an entry names the AWS CLI among the asking process's parents: {asked:?}"
    );
}

#[test]
fn the_openbao_cli_keeps_its_token_in_coffer() {
    let Some((addr, root)) = bao("the_openbao_cli_keeps_its_token…") else {
        return;
    };
    if !keyring_expected() {
        return skip(
            "the_openbao_cli_keeps_its_token…",
            "needs the keyring (the helper runs without arguments)",
        );
    }
    let env = Env::new();
    env.init_keyring();
    let link = env.dir.path().join("coffer-vault-token-helper");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_coffer"), &link).expect("link");
    let config = env.dir.path().join("bao.hcl");
    std::fs::write(&config, format!("token_helper = \"{}\"\n", link.display())).expect("config");
    let bao_bin =
        std::env::var("BAO_BIN").unwrap_or_else(|_| "/var/tmp/coffer-cache/venv/bin/bao".into());
    let run_bao = |args: &[&str], stdin: &str| {
        let mut c = std::process::Command::new(&bao_bin);
        c.args(args)
            .env("BAO_ADDR", &addr)
            .env("BAO_CONFIG_PATH", &config)
            .env("COFFER_VAULT", &env.vault)
            .env("HOME", env.dir.path().join("home"))
            .env_remove("BAO_TOKEN")
            .env_remove("VAULT_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("bao");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let out = run_bao(&["login", "-no-print", "-"], &format!("{root}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let host = addr.trim_start_matches("http://");
    let name = format!("vault-cli/{host}");
    let shown = env.run(&["show", &name, "--json"], "").ok().json();
    assert_eq!(shown["kind"], "vault-token");
    assert!(
        !env.dir.path().join("home/.vault-token").exists(),
        "no plaintext token file"
    );
    let out = run_bao(&["token", "lookup", "-format=json"], "");
    assert!(
        out.status.success(),
        "the CLI reads its token back: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.run(&["vault-token-helper", "erase"], "").ok();
    env.run(&["show", &name], "").code(4);
}
