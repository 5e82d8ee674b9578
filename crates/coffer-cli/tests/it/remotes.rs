//! What the sync tests need from the real servers: where they are, a plain
//! HTTP client to play "another client" against OpenBao, a fault-injecting
//! proxy, and a private OpenBao with on-disk storage that a test may kill.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::support::skip;

/// OpenBao's address and root token, or `None` (skipped) outside the full run.
pub fn bao(test: &str) -> Option<(String, String)> {
    match std::env::var("BAO_ADDR") {
        Ok(addr) => Some((
            addr,
            std::env::var("BAO_ROOT_TOKEN").unwrap_or_else(|_| "root".into()),
        )),
        Err(_) => {
            assert!(
                std::env::var("COFFER_TEST_BAO").as_deref() != Ok("1"),
                "the full test run provides BAO_ADDR"
            );
            skip(test, "BAO_ADDR is not set");
            None
        }
    }
}

/// moto_server's endpoint, or `None` (skipped) outside the full run.
pub fn moto(test: &str) -> Option<String> {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(e) => Some(e),
        Err(_) => {
            assert!(
                std::env::var("COFFER_TEST_MOTO").as_deref() != Ok("1"),
                "the full test run provides MOTO_ENDPOINT"
            );
            skip(test, "MOTO_ENDPOINT is not set");
            None
        }
    }
}

/// A prefix no other test (or earlier run against the same server) uses.
pub fn unique(label: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t{}-{}-{nanos:x}-{}/",
        std::process::id(),
        label,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// One HTTP/1.1 request to OpenBao: `(status, JSON body)`.
pub fn http(
    method: &str,
    addr: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let hostport = addr.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(hostport).expect("connect to OpenBao");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} /v1/{path} HTTP/1.1\r\nHost: {hostport}\r\nX-Vault-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Writes a KV v2 secret as another client would.
pub fn kv_put(addr: &str, token: &str, path: &str, data: Value) -> u64 {
    let (status, v) = http(
        "POST",
        addr,
        &format!("secret/data/{path}"),
        token,
        Some(json!({ "data": data })),
    );
    assert_eq!(status, 200, "kv put {path}: {v}");
    v["data"]["version"].as_u64().expect("version")
}

pub fn kv_get(addr: &str, token: &str, path: &str) -> (u16, Value) {
    http("GET", addr, &format!("secret/data/{path}"), token, None)
}

/// A token with one inline policy and a TTL.
pub fn token_with_policy(addr: &str, root: &str, name: &str, policy: &str, ttl: &str) -> String {
    let (s, v) = http(
        "PUT",
        addr,
        &format!("sys/policies/acl/{name}"),
        root,
        Some(json!({ "policy": policy })),
    );
    assert!(s == 204 || s == 200, "policy: {v}");
    let (s, v) = http(
        "POST",
        addr,
        "auth/token/create",
        root,
        Some(json!({ "policies": [name], "ttl": ttl, "no_default_policy": false })),
    );
    assert_eq!(s, 200, "token: {v}");
    v["auth"]["client_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// How the proxy fakes an overloaded server.
#[derive(Clone, Copy)]
pub enum Faults {
    /// HTTP 429 and 503, as Vault sends them.
    Vault,
    /// ThrottlingException (HTTP 400) and HTTP 500, as AWS sends them.
    Aws,
}

/// A loopback proxy in front of a real server that answers every
/// `every`-th request itself with a throttling or 5xx error.
pub struct Proxy {
    pub url: String,
    pub faults: Arc<AtomicUsize>,
    pub forwarded: Arc<AtomicUsize>,
}

impl Proxy {
    pub fn start(upstream: &str, every: usize, kind: Faults) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let faults = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        let (f, w) = (faults.clone(), forwarded.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let (upstream, f, w) = (upstream.clone(), f.clone(), w.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, n % every == 0, n, kind, &f, &w);
                });
            }
        });
        Proxy {
            url,
            faults,
            forwarded,
        }
    }
}

fn read_head(r: &mut BufReader<TcpStream>) -> std::io::Result<(Vec<String>, usize)> {
    let mut lines = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        lines.push(line);
    }
    Ok((lines, length))
}

/// One request per connection: read it, then fault or forward, then close.
fn serve(
    client: TcpStream,
    upstream: &str,
    fault: bool,
    n: usize,
    kind: Faults,
    faults: &AtomicUsize,
    forwarded: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let (head, length) = read_head(&mut reader)?;
    if head.is_empty() {
        return Ok(());
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let mut client = client;
    if fault {
        faults.fetch_add(1, Ordering::SeqCst);
        let (status, extra, text) = match (kind, n % 2) {
            (Faults::Vault, 0) => (
                "429 Too Many Requests",
                "",
                r#"{"errors":["rate limit quota exceeded"]}"#,
            ),
            (Faults::Vault, _) => ("503 Service Unavailable", "", r#"{"errors":["standby"]}"#),
            (Faults::Aws, 0) => (
                "400 Bad Request",
                "x-amzn-ErrorType: ThrottlingException\r\n",
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            ),
            (Faults::Aws, _) => (
                "500 Internal Server Error",
                "",
                r#"{"__type":"InternalServiceError","message":"boom"}"#,
            ),
        };
        write!(
            client,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )?;
        return Ok(());
    }
    forwarded.fetch_add(1, Ordering::SeqCst);
    let mut up = TcpStream::connect(upstream)?;
    for line in &head {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            write!(up, "{line}\r\n")?;
        }
    }
    write!(up, "Connection: close\r\n\r\n")?;
    up.write_all(&body)?;
    let mut reader = BufReader::new(up);
    let (head, _) = read_head(&mut reader)?;
    for line in &head {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            write!(client, "{line}\r\n")?;
        }
    }
    write!(client, "Connection: close\r\n\r\n")?;
    std::io::copy(&mut reader, &mut client)?;
    Ok(())
}

/// An OpenBao server of the test's own, with raft storage on disk, so it can be
/// killed and started again with its data.
pub struct PrivateBao {
    pub addr: String,
    pub root: String,
    unseal_key: String,
    config: PathBuf,
    child: Option<Child>,
}

fn bao_bin() -> PathBuf {
    std::env::var_os("BAO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache =
                std::env::var("COFFER_CACHE").unwrap_or_else(|_| "/var/tmp/coffer-cache".into());
            Path::new(&cache).join("venv/bin/bao")
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl PrivateBao {
    pub fn start(dir: &Path) -> PrivateBao {
        let port = free_port();
        let cluster = free_port();
        let data = dir.join("bao-data");
        std::fs::create_dir_all(&data).expect("mkdir");
        let config = dir.join("bao.hcl");
        std::fs::write(
            &config,
            format!(
                "storage \"raft\" {{\n path = \"{}\"\n node_id = \"n1\"\n}}\n\
                 listener \"tcp\" {{\n address = \"127.0.0.1:{port}\"\n cluster_address = \"127.0.0.1:{cluster}\"\n tls_disable = true\n}}\n\
                 api_addr = \"http://127.0.0.1:{port}\"\ncluster_addr = \"http://127.0.0.1:{cluster}\"\n",
                data.display()
            ),
        )
        .expect("config");
        let mut bao = PrivateBao {
            addr: format!("http://127.0.0.1:{port}"),
            root: String::new(),
            unseal_key: String::new(),
            config,
            child: None,
        };
        bao.run();
        let (s, v) = http(
            "PUT",
            &bao.addr,
            "sys/init",
            "",
            Some(json!({ "secret_shares": 1, "secret_threshold": 1 })),
        );
        assert_eq!(s, 200, "init: {v}");
        bao.unseal_key = v["keys_base64"][0].as_str().expect("key").to_owned();
        bao.root = v["root_token"].as_str().expect("root").to_owned();
        bao.unseal();
        let (s, v) = http(
            "POST",
            &bao.addr,
            "sys/mounts/secret",
            &bao.root,
            Some(json!({ "type": "kv", "options": { "version": "2" } })),
        );
        assert!(s == 204 || s == 200, "mount: {v}");
        // The new mount takes a moment to answer.
        for _ in 0..50 {
            if http("GET", &bao.addr, "secret/config", &bao.root, None).0 == 200 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bao
    }

    fn run(&mut self) {
        let child = Command::new(bao_bin())
            .args(["server", &format!("-config={}", self.config.display())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao");
        self.child = Some(child);
        let hostport = self.addr.trim_start_matches("http://").to_owned();
        for _ in 0..100 {
            if TcpStream::connect(&hostport).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("private OpenBao did not start");
    }

    fn unseal(&self) {
        let (s, v) = http(
            "PUT",
            &self.addr,
            "sys/unseal",
            "",
            Some(json!({ "key": self.unseal_key })),
        );
        assert_eq!(s, 200, "unseal: {v}");
        for _ in 0..100 {
            if http("GET", &self.addr, "sys/health", "", None).0 == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("private OpenBao did not become active");
    }

    /// `kill -9`, as a crash or a pulled plug would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.run();
        self.unseal();
    }
}

impl Drop for PrivateBao {
    fn drop(&mut self) {
        self.kill();
    }
}
