//! Remote faults between `coffer sync` and the real OpenBao and moto servers:
//! a proxy that adds latency, cuts responses mid-body, answers with 429/5xx
//! storms, truncated JSON or the wrong content type, or never answers; and
//! TLS to a server whose certificate comes from a CA Coffer was not given.
//! Each ends in retry-then-success or a clear error, and the vault is left
//! consistent: everything applied, or nothing (the fingerprint of its rows
//! unchanged), with an intact audit trail.
//!
//! (`sync_bao.rs`/`sync_aws.rs` cover every third request failing with
//! 429/503 or throttling/500, and a server killed mid-push.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::fast_vault;
use crate::remotes::{bao, kv_get, kv_put, moto, unique};
use crate::support::*;

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    Pass,
    /// Forward after a delay.
    Latency(Duration),
    /// Forward, then send the headers and half the body, and close.
    CutMidBody,
    /// Answer with this status and a JSON error, as an overloaded server does.
    Status(u16),
    /// Forward, then send the first half of the body as the whole body.
    TruncatedJson,
    /// Answer 200 with an HTML page (a captive portal, a proxy's error page).
    WrongContentType,
    /// Accept, read the request, never answer.
    BlackHole,
}

type Plan = Box<dyn Fn(usize) -> Fault + Send + Sync>;

/// A loopback proxy in front of a real server, faulting requests as `plan`
/// says (by request number, from 1).
pub struct FaultProxy {
    pub url: String,
    pub requests: Arc<AtomicUsize>,
    pub faults: Arc<AtomicUsize>,
    plan: Arc<Mutex<Plan>>,
}

impl FaultProxy {
    pub fn start(
        upstream: &str,
        plan: impl Fn(usize) -> Fault + Send + Sync + 'static,
    ) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let requests = Arc::new(AtomicUsize::new(0));
        let faults = Arc::new(AtomicUsize::new(0));
        let plan: Arc<Mutex<Plan>> = Arc::new(Mutex::new(Box::new(plan)));
        let (r, f, p) = (requests.clone(), faults.clone(), plan.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let n = r.fetch_add(1, Ordering::SeqCst) + 1;
                let fault = (p.lock().expect("plan"))(n);
                if fault != Fault::Pass {
                    f.fetch_add(1, Ordering::SeqCst);
                }
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, fault);
                });
            }
        });
        FaultProxy {
            url,
            requests,
            faults,
            plan,
        }
    }

    pub fn set(&self, plan: impl Fn(usize) -> Fault + Send + Sync + 'static) {
        *self.plan.lock().expect("plan") = Box::new(plan);
    }

    pub fn injected(&self) -> usize {
        self.faults.load(Ordering::SeqCst)
    }
}

fn read_head(r: &mut impl BufRead) -> std::io::Result<(Vec<String>, usize, bool)> {
    let mut lines = Vec::new();
    let (mut length, mut chunked) = (0, false);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        lines.push(line);
    }
    Ok((lines, length, chunked))
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[(size + 2).min(raw.len())..];
    }
    out
}

/// Forwards one request and returns the response's head lines (without
/// framing headers) and its whole body.
fn forward(
    upstream: &str,
    head: &[String],
    body: &[u8],
) -> std::io::Result<(Vec<String>, Vec<u8>)> {
    let mut up = TcpStream::connect(upstream)?;
    for line in head {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            write!(up, "{line}\r\n")?;
        }
    }
    write!(up, "Connection: close\r\n\r\n")?;
    up.write_all(body)?;
    let mut reader = BufReader::new(up);
    let (lines, length, chunked) = read_head(&mut reader)?;
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest)?;
    let body = if chunked {
        dechunk(&rest)
    } else {
        if length > 0 {
            rest.truncate(length);
        }
        rest
    };
    let lines = lines
        .into_iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("connection:")
                && !l.starts_with("content-length:")
                && !l.starts_with("transfer-encoding:")
        })
        .collect();
    Ok((lines, body))
}

fn serve(client: TcpStream, upstream: &str, fault: Fault) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let (head, length, _) = read_head(&mut reader)?;
    if head.is_empty() {
        return Ok(());
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let mut client = client;
    let respond = |client: &mut TcpStream, lines: &[String], body: &[u8], claimed: usize| {
        for line in lines {
            write!(client, "{line}\r\n")?;
        }
        write!(
            client,
            "Content-Length: {claimed}\r\nConnection: close\r\n\r\n"
        )?;
        client.write_all(body)?;
        client.flush()
    };
    match fault {
        Fault::Pass => {
            let (lines, b) = forward(upstream, &head, &body)?;
            respond(&mut client, &lines, &b, b.len())
        }
        Fault::Latency(d) => {
            std::thread::sleep(d);
            let (lines, b) = forward(upstream, &head, &body)?;
            respond(&mut client, &lines, &b, b.len())
        }
        Fault::CutMidBody => {
            let (lines, b) = forward(upstream, &head, &body)?;
            // Claims the whole length, sends half, and hangs up.
            respond(&mut client, &lines, &b[..b.len() / 2], b.len())?;
            client.shutdown(std::net::Shutdown::Both)
        }
        Fault::TruncatedJson => {
            let (lines, b) = forward(upstream, &head, &body)?;
            let cut = &b[..b.len() / 2];
            respond(&mut client, &lines, cut, cut.len())
        }
        Fault::Status(code) => {
            let (reason, extra, text) = match code {
                429 => (
                    "Too Many Requests",
                    "",
                    r#"{"errors":["rate limit quota exceeded"]}"#,
                ),
                400 => (
                    "Bad Request",
                    "x-amzn-ErrorType: ThrottlingException\r\n",
                    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                ),
                500 => (
                    "Internal Server Error",
                    "",
                    r#"{"__type":"InternalServiceError","message":"boom"}"#,
                ),
                502 => ("Bad Gateway", "", r#"{"errors":["bad gateway"]}"#),
                _ => ("Service Unavailable", "", r#"{"errors":["standby"]}"#),
            };
            write!(
                client,
                "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            )
        }
        Fault::WrongContentType => {
            let text = "<html><body>Down for maintenance</body></html>";
            write!(
                client,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            )
        }
        Fault::BlackHole => {
            // Keep the connection open and silent until the client gives up.
            let mut sink = [0u8; 1];
            let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
            let _ = client.read(&mut sink);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------
// OpenBao.

struct BaoSetup {
    env: Env,
    addr: String,
    root: String,
    prefix: String,
}

/// A vault with `n` credentials linked to OpenBao through `proxy_url`.
fn bao_setup(proxy_url: &str, n: usize) -> Option<BaoSetup> {
    let (addr, root) = bao("faults")?;
    let prefix = unique("faults");
    let env = fast_vault().with_bao_remote(proxy_url, &root, &prefix);
    for i in 0..n {
        env.run_pw(
            &["add", &format!("s{i}"), "--kind", "api-key"],
            &json!({ "key": format!("local-{i}") }).to_string(),
        )
        .ok();
    }
    Some(BaoSetup {
        env,
        addr,
        root,
        prefix,
    })
}

fn value(env: &Env, name: &str) -> String {
    env.run_pw(&["get", name, "--field", "key"], "")
        .ok()
        .stdout
        .trim_end()
        .to_owned()
}

fn remote_value(s: &BaoSetup, name: &str) -> serde_json::Value {
    kv_get(&s.addr, &s.root, &format!("{}{name}", s.prefix)).1["data"]["data"]["key"].clone()
}

/// Changes every linked secret on OpenBao (as another client would).
fn change_remote(s: &BaoSetup, n: usize, tag: &str) {
    for i in 0..n {
        kv_put(
            &s.addr,
            &s.root,
            &format!("{}s{i}", s.prefix),
            json!({ "key": format!("{tag}-{i}") }),
        );
    }
}

/// A pull through faults that must succeed after retries: every credential
/// pulled, the audit trail intact.
fn pull_succeeds(s: &BaoSetup, n: usize, tag: &str) {
    change_remote(s, n, tag);
    let run = s.env.run_pw(&["sync", "pull", "bao"], "");
    assert_eq!(run.code, 0, "pull through faults: {}", run.stderr);
    for i in 0..n {
        assert_eq!(value(&s.env, &format!("s{i}")), format!("{tag}-{i}"));
    }
    s.env.run_pw(&["audit", "verify"], "").ok();
}

/// A pull through faults that must fail clearly: nothing changed locally.
fn pull_fails(s: &BaoSetup, n: usize, tag: &str, needle: &str) -> Run {
    change_remote(s, n, tag);
    let before = s.env.fingerprint();
    let run = s.env.run_pw(&["sync", "pull", "bao"], "");
    assert_ne!(run.code, 0, "expected a failure: {}", run.stdout);
    assert!(
        run.stderr.contains(needle),
        "the error should say {needle:?}: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(before, s.env.fingerprint(), "a failed pull changed nothing");
    s.env.run_pw(&["audit", "verify"], "").ok();
    run
}

#[test]
fn openbao_faults_end_in_retry_then_success_or_a_clear_error() {
    let Some((addr, _)) = bao("openbao_faults…") else {
        return;
    };
    let proxy = FaultProxy::start(&addr, |_| Fault::Pass);
    let n = 4;
    let s = bao_setup(&proxy.url, n).expect("bao");
    s.env.run_pw(&["sync", "push", "bao"], "").ok();
    for i in 0..n {
        assert_eq!(remote_value(&s, &format!("s{i}")), format!("local-{i}"));
    }
    let mut injected = 0;
    // Every kind of transient fault on every other request: retried, then done.
    for (round, fault) in [
        Fault::Latency(Duration::from_millis(300)),
        Fault::CutMidBody,
        Fault::TruncatedJson,
        Fault::WrongContentType,
        Fault::Status(429),
        Fault::Status(503),
        Fault::Status(502),
    ]
    .into_iter()
    .enumerate()
    {
        proxy.set(move |n| if n % 2 == 0 { fault } else { Fault::Pass });
        let before = proxy.injected();
        pull_succeeds(&s, n, &format!("r{round}"));
        let now = proxy.injected();
        assert!(now > before, "{fault:?} was injected");
        injected += now - before;
        eprintln!(
            "faults: {fault:?}: {} injected, pull succeeded",
            now - before
        );
    }
    // A storm longer than the retries: a clear error, nothing half-applied.
    for (fault, needle) in [
        (Fault::Status(503), "HTTP 503"),
        (Fault::Status(429), "HTTP 429"),
        (Fault::TruncatedJson, "not valid JSON"),
        (Fault::WrongContentType, "text/html"),
        (Fault::CutMidBody, "cut off"),
    ] {
        proxy.set(move |_| fault);
        let before = proxy.injected();
        let run = pull_fails(&s, n, "storm", needle);
        assert!(run.stderr.contains("after 6 attempts"), "{}", run.stderr);
        injected += proxy.injected() - before;
    }
    // The server comes back: the next pull completes.
    proxy.set(|_| Fault::Pass);
    pull_succeeds(&s, n, "back");
    // A storm during a push: the remote keeps what it had or takes the
    // whole new value, never a half; a rerun finishes.
    for i in 0..n {
        s.env
            .run_pw(
                &["edit", &format!("s{i}")],
                &json!({ "key": format!("pushed-{i}") }).to_string(),
            )
            .ok();
    }
    proxy.set(|n| {
        if n % 3 == 0 {
            Fault::Status(503)
        } else if n % 3 == 1 {
            Fault::CutMidBody
        } else {
            Fault::Pass
        }
    });
    let before = proxy.injected();
    let first = s.env.run_pw(&["sync", "push", "bao"], "");
    injected += proxy.injected() - before;
    proxy.set(|_| Fault::Pass);
    if first.code != 0 {
        s.env.run_pw(&["sync", "push", "bao"], "").ok();
    }
    for i in 0..n {
        assert_eq!(remote_value(&s, &format!("s{i}")), format!("pushed-{i}"));
    }
    let plan = s
        .env
        .run_pw(&["sync", "plan", "bao", "--json"], "")
        .ok()
        .json();
    for item in plan["items"].as_array().expect("items") {
        assert_eq!(item["state"], "in_sync", "{item}");
    }
    s.env.run_pw(&["audit", "verify"], "").ok();
    eprintln!(
        "faults: OpenBao: {injected} faults injected over {} requests",
        proxy.requests.load(Ordering::SeqCst)
    );
}

#[test]
fn a_server_that_never_answers_times_out_with_a_clear_error() {
    let Some((addr, _)) = bao("a_server_that_never_answers…") else {
        return;
    };
    let proxy = FaultProxy::start(&addr, |_| Fault::Pass);
    let n = 2;
    let mut s = bao_setup(&proxy.url, n).expect("bao");
    s.env.run_pw(&["sync", "push", "bao"], "").ok();
    proxy.set(|_| Fault::BlackHole);
    s.env
        .extra_env
        .push(("COFFER_HTTP_TIMEOUT".into(), "1".into()));
    let t = Instant::now();
    let run = pull_fails(&s, n, "hole", "timed out");
    assert!(run.stderr.contains("did not answer"), "{}", run.stderr);
    // Six attempts of one second and the back-off between them: bounded.
    assert!(t.elapsed() < Duration::from_secs(90), "{:?}", t.elapsed());
    eprintln!(
        "faults: a black hole: failed after {:?} with: {}",
        t.elapsed(),
        run.stderr.trim()
    );
}

// ---------------------------------------------------------------------------
// moto (AWS Secrets Manager).

fn aws_env(endpoint: &str, prefix: &str) -> Env {
    fast_vault().with_aws_remote(endpoint, prefix)
}

#[test]
fn moto_faults_end_in_retry_then_success_or_a_clear_error() {
    let Some(endpoint) = moto("moto_faults…") else {
        return;
    };
    let proxy = FaultProxy::start(&endpoint, |_| Fault::Pass);
    let prefix = unique("awsfaults").replace('/', "-");
    let env = aws_env(&proxy.url, &prefix);
    let n = 3;
    for i in 0..n {
        env.run_pw(
            &["add", &format!("a{i}"), "--kind", "api-key"],
            &json!({ "key": format!("v0-{i}") }).to_string(),
        )
        .ok();
    }
    env.run_pw(&["sync", "push", "sm"], "").ok();
    let mut injected = 0;
    for (round, fault) in [
        Fault::Latency(Duration::from_millis(300)),
        Fault::Status(400),
        Fault::Status(500),
        Fault::Status(503),
        Fault::CutMidBody,
    ]
    .into_iter()
    .enumerate()
    {
        for i in 0..n {
            env.run_pw(
                &["edit", &format!("a{i}")],
                &json!({ "key": format!("v{}-{i}", round + 1) }).to_string(),
            )
            .ok();
        }
        proxy.set(move |n| if n % 3 == 0 { fault } else { Fault::Pass });
        let before = proxy.injected();
        let run = env.run_pw(&["sync", "push", "sm"], "");
        proxy.set(|_| Fault::Pass);
        injected += proxy.injected() - before;
        assert_eq!(run.code, 0, "{fault:?}: {}", run.stderr);
        let plan = env
            .run_pw(&["sync", "plan", "sm", "--json"], "")
            .ok()
            .json();
        for item in plan["items"].as_array().expect("items") {
            assert_eq!(item["state"], "in_sync", "{fault:?}: {item}");
        }
        eprintln!("faults: AWS {fault:?}: pushed through");
    }
    // Garbage where JSON should be, on every request: a clear error, no change.
    for (fault, needle) in [
        (Fault::TruncatedJson, "AWS"),
        (Fault::WrongContentType, "AWS"),
        (Fault::Status(500), "AWS"),
    ] {
        proxy.set(move |_| fault);
        let before_fp = env.fingerprint();
        let before = proxy.injected();
        let run = env.run_pw(&["sync", "pull", "sm"], "");
        injected += proxy.injected() - before;
        assert_ne!(run.code, 0, "{fault:?}");
        assert!(run.stderr.contains(needle), "{fault:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        // The raw response (which may carry secret values) is never printed.
        assert!(
            !run.stderr.contains("SecretList") && !run.stderr.contains("body:"),
            "{fault:?}: {}",
            run.stderr
        );
        assert_eq!(before_fp, env.fingerprint(), "{fault:?}: nothing changed");
        eprintln!("faults: AWS {fault:?} storm: {}", run.stderr.trim());
    }
    proxy.set(|_| Fault::Pass);
    env.run_pw(&["audit", "verify"], "").ok();
    eprintln!(
        "faults: AWS: {injected} faults injected over {} requests",
        proxy.requests.load(Ordering::SeqCst)
    );
}

// ---------------------------------------------------------------------------
// TLS.

/// An OpenBao dev server on TLS with a certificate from its own fresh CA.
struct TlsBao {
    child: Child,
    addr: String,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for TlsBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_bao() -> Option<TlsBao> {
    let bin = std::env::var_os("BAO_BIN")?;
    let dir = tempfile::TempDir::new().expect("tempdir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut child = Command::new(bin)
        .args([
            "server",
            "-dev",
            "-dev-no-store-token",
            "-dev-root-token-id=root",
            "-dev-tls",
            &format!("-dev-tls-cert-dir={}", dir.path().display()),
            &format!("-dev-listen-address=127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bao");
    let ca = dir.path().join("vault-ca.pem");
    for _ in 0..100 {
        if ca.exists() && TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_millis(300));
            return Some(TlsBao {
                child,
                addr: format!("https://127.0.0.1:{port}"),
                ca,
                _dir: dir,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("OpenBao with -dev-tls did not start");
}

fn tls_remote(env: &Env, addr: &str, ca: Option<&Path>) {
    let _ = env.run_pw(&["remote", "rm", "tls"], "");
    let mut args = vec![
        "remote".to_owned(),
        "add".into(),
        "vault".into(),
        "tls".into(),
        "--addr".into(),
        addr.into(),
        "--auth-credential".into(),
        "tls-token".into(),
        "--holds-all".into(),
    ];
    if let Some(ca) = ca {
        args.push("--ca-cert".into());
        args.push(ca.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run_pw(&args, "").ok();
}

#[test]
fn a_self_signed_server_is_refused_unless_its_ca_is_given() {
    if bao("a_self_signed_server…").is_none() {
        return;
    }
    let server = tls_bao().expect("BAO_BIN");
    let mut env = fast_vault();
    env.run_pw(
        &["add", "tls-token", "--kind", "vault-token"],
        r#"{"token": "root"}"#,
    )
    .ok();
    env.run_pw(&["add", "t1", "--kind", "api-key"], r#"{"key": "v"}"#)
        .ok();
    // No CA: refused at once (no retries), naming the certificate and the fix.
    tls_remote(&env, &server.addr, None);
    let before = env.fingerprint();
    let t = Instant::now();
    let run = env.run_pw(&["sync", "push", "tls"], "");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("certificate") && run.stderr.contains("--ca-cert"),
        "{}",
        run.stderr
    );
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "no retries: {:?}",
        t.elapsed()
    );
    assert_eq!(before, env.fingerprint());
    let test = env.run_pw(&["remote", "test", "tls"], "");
    assert_ne!(test.code, 0, "{}", test.stdout);
    eprintln!("faults: TLS without the CA: {}", run.stderr.trim());
    // Another CA (the system's) does not help either.
    env.extra_env.push((
        "VAULT_CACERT".into(),
        "/etc/ssl/certs/ca-certificates.crt".into(),
    ));
    let run = env.run_pw(&["sync", "push", "tls"], "");
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    env.extra_env.clear();
    // The server's CA through VAULT_CACERT, then through --ca-cert: accepted.
    env.extra_env
        .push(("VAULT_CACERT".into(), server.ca.display().to_string()));
    env.run_pw(&["sync", "push", "tls"], "").ok();
    env.extra_env.clear();
    tls_remote(&env, &server.addr, Some(&server.ca));
    env.run_pw(&["remote", "test", "tls"], "").ok();
    let plan = env
        .run_pw(&["sync", "plan", "tls", "--json"], "")
        .ok()
        .json();
    assert!(plan["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|i| i["name"] == "t1" && i["state"] == "in_sync"));
    env.run_pw(&["audit", "verify"], "").ok();
}
