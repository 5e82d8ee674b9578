//! A remote controlled by someone else (a compromised server, a redirecting
//! proxy, a teammate with write access), as the hardening review's attacks:
//! addresses that pass a string test for "this machine", redirects that
//! would carry the token, a request body or AWS signatures to another
//! origin, and answers without end. Each is a clear error, and nothing
//! reaches the second origin or changes in the vault.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::harness::fast_vault;
use crate::support::*;

/// How the server answers every request.
#[derive(Clone)]
enum Answer {
    /// `307` to this URL.
    Redirect(String),
    /// A JSON body.
    Json(&'static str),
    /// 1 GiB of JSON-looking bytes, with or without a Content-Length.
    Endless { declared: bool },
}

/// A loopback server that answers every request alike and keeps every
/// byte sent to it.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    fn start(answer: Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (answer, log) = (answer.clone(), log.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, &answer, &log);
                });
            }
        });
        Server { url, seen }
    }

    fn seen(&self) -> Vec<u8> {
        self.seen.lock().expect("log").clone()
    }
}

fn serve(client: TcpStream, answer: &Answer, log: &Mutex<Vec<u8>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut length = 0;
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        head.extend_from_slice(line.as_bytes());
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line.trim_end().is_empty() {
            break;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    {
        let mut log = log.lock().expect("log");
        log.extend_from_slice(&head);
        log.extend_from_slice(&body);
    }
    let mut client = client;
    match answer {
        Answer::Redirect(to) => write!(
            client,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Answer::Json(text) => write!(
            client,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        ),
        Answer::Endless { declared } => {
            const GIB: usize = 1 << 30;
            let length = if *declared {
                format!("Content-Length: {GIB}\r\n")
            } else {
                String::new()
            };
            write!(
                client,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n{{\"data\":{{\"keys\":[\""
            )?;
            let chunk = vec![b'a'; 64 << 10];
            for _ in 0..GIB / chunk.len() {
                client.write_all(&chunk)?;
            }
            Ok(())
        }
    }
}

/// A vault with a credential to push and a token credential for the remote.
fn setup() -> Env {
    let env = fast_vault();
    env.run_pw(
        &["add", "team/db", "--kind", "api-key"],
        r#"{"key": "canary-remote-9f2c"}"#,
    )
    .ok();
    env.run_pw(
        &["add", "bao-token", "--kind", "vault-token"],
        r#"{"token": "canary-token-77ab"}"#,
    )
    .ok();
    env.run_pw(
        &["add", "approle", "--kind", "vault-approle"],
        r#"{"role_id": "role-1", "secret_id": "canary-secret-id-51d0"}"#,
    )
    .ok();
    env
}

#[test]
fn addresses_that_only_look_local_need_https() {
    let env = setup();
    for addr in [
        "http://localhost:1@example.com/",
        "http://127.0.0.1.example.com/",
        "http://localhost.example.com/",
        "http://[::ffff:10.0.0.1]/",
    ] {
        let run = env
            .run_pw(
                &[
                    "remote",
                    "add",
                    "vault",
                    "--holds-all",
                    "x",
                    "--addr",
                    addr,
                    "--auth-credential",
                    "bao-token",
                ],
                "",
            )
            .code(2);
        assert!(
            run.stderr.contains("plain http") || run.stderr.contains("user name or password"),
            "{addr}: {}",
            run.stderr
        );
    }
    let listed = env.run_pw(&["remote", "list", "--json"], "").ok().json();
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
}

#[test]
fn a_vault_redirect_carries_no_token_secret_id_or_body_to_another_origin() {
    let elsewhere = Server::start(Answer::Json("{}"));
    let redirector = Server::start(Answer::Redirect(format!("{}/v1/stolen", elsewhere.url)));
    let env = setup();
    env.add_vault_remote("bao", &redirector.url, "team/", "bao-token");
    env.add_vault_remote("bao-approle", &redirector.url, "team/", "approle");
    let before = env.fingerprint();
    for args in [
        &["sync", "push", "bao"][..],
        &["sync", "plan", "bao"],
        &["sync", "plan", "bao-approle"],
        &["remote", "test", "bao"],
    ] {
        let run = env.run_pw(args, "");
        assert_ne!(run.code, 0, "{args:?}");
        // `remote test` reports its checks on stdout, the others fail on stderr.
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(
            said.contains("redirect") && said.contains(&elsewhere.url),
            "{args:?}: {said}"
        );
    }
    assert!(
        elsewhere.seen().is_empty(),
        "nothing reached the second origin"
    );
    assert!(!redirector.seen().is_empty(), "the first origin was asked");
    assert_eq!(env.fingerprint(), before);
}

#[test]
fn an_aws_redirect_carries_no_signature_to_another_origin() {
    let elsewhere = Server::start(Answer::Json("{}"));
    let redirector = Server::start(Answer::Redirect(elsewhere.url.clone()));
    let env = setup().with_aws_remote(&redirector.url, "team/");
    let before = env.fingerprint();
    let run = env.run_pw(&["sync", "push", "sm"], "");
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        elsewhere.seen().is_empty(),
        "nothing reached the second origin"
    );
    assert!(
        String::from_utf8_lossy(&redirector.seen()).contains("AWS4-HMAC-SHA256"),
        "the first origin got the signed request"
    );
    assert_eq!(env.fingerprint(), before);
}

#[test]
fn a_vault_answer_of_a_gibibyte_is_cut_off_with_a_clear_error() {
    for declared in [true, false] {
        let server = Server::start(Answer::Endless { declared });
        let env = setup();
        env.add_vault_remote("bao", &server.url, "team/", "bao-token");
        let before = env.fingerprint();
        let run = env.run_pw(&["sync", "plan", "bao"], "");
        assert_ne!(run.code, 0);
        assert!(
            run.stderr.contains("larger than 8 MiB"),
            "declared {declared}: {}",
            run.stderr
        );
        assert_eq!(env.fingerprint(), before);
    }
}

#[test]
fn an_aws_answer_of_a_gibibyte_is_cut_off_with_a_clear_error() {
    for declared in [true, false] {
        let server = Server::start(Answer::Endless { declared });
        let env = setup().with_aws_remote(&server.url, "team/");
        let before = env.fingerprint();
        let run = env.run_pw(&["sync", "plan", "sm"], "");
        assert_ne!(run.code, 0);
        assert!(
            run.stderr.contains("larger than 8 MiB"),
            "declared {declared}: {}",
            run.stderr
        );
        assert_eq!(env.fingerprint(), before);
    }
}

/// A team remote added without a scope and pushed uploads nothing; with a
/// scope it uploads only what it holds, never the personal production key.
/// The plan says what the remote holds.
#[test]
fn a_push_never_sends_a_credential_outside_the_remote_scope() {
    let Some((addr, root)) = super::remotes::bao("a_push_never_sends_…") else {
        return;
    };
    let prefix = super::remotes::unique("scope");
    let env = setup();
    env.run_pw(
        &[
            "add",
            "personal/prod-root",
            "--kind",
            "api-key",
            "--tag",
            "team",
        ],
        r#"{"key": "canary-personal-prod"}"#,
    )
    .ok();
    let token = serde_json::json!({ "token": root }).to_string();
    env.run_pw(&["add", "team-token", "--kind", "vault-token"], &token)
        .ok();
    let run = env
        .run_pw(
            &[
                "remote",
                "add",
                "vault",
                "team",
                "--addr",
                &addr,
                "--prefix",
                &prefix,
                "--auth-credential",
                "team-token",
            ],
            "",
        )
        .ok();
    assert!(run.stderr.contains("holds nothing yet"), "{}", run.stderr);
    let plan = env
        .run_pw(&["sync", "plan", "team", "--json"], "")
        .ok()
        .json();
    assert_eq!(plan["items"].as_array().map(Vec::len), Some(0), "{plan}");
    assert!(
        plan["scope"]
            .as_str()
            .is_some_and(|s| s.starts_with("nothing")),
        "{plan}"
    );
    env.run_pw(&["sync", "push", "team"], "").ok();
    let listed = |path: &str| super::remotes::kv_get(&addr, &root, &format!("{prefix}{path}")).0;
    assert_eq!(listed("team/db"), 404);
    assert_eq!(listed("personal/prod-root"), 404);

    env.run_pw(&["remote", "scope", "team", "--holds", "team/"], "")
        .ok();
    let text = env.run_pw(&["sync", "plan", "team"], "").ok().stdout;
    assert!(text.contains("team holds names under team/"), "{text}");
    env.run_pw(&["sync", "push", "team"], "").ok();
    assert_eq!(listed("team/db"), 200, "in scope: pushed");
    assert_eq!(
        listed("personal/prod-root"),
        404,
        "out of scope: never sent"
    );
    assert_eq!(
        listed("team-token"),
        404,
        "the login credential stays local"
    );
}
