//! `coffer exec NAME --server`: a container-credentials endpoint on
//! 127.0.0.1 for one child process, the way ECS serves a task. The child
//! gets `AWS_CONTAINER_CREDENTIALS_FULL_URI` (a random port) and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` (random, for this child only); its
//! AWS SDK asks the endpoint whenever its credentials near their end, and
//! gets the session Coffer keeps (a new one once that one is due), so a
//! process that runs for days never holds the long-lived key and never
//! runs out. The endpoint checks the token in constant time, answers only
//! loopback peers and GET, and is gone when the child exits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use coffer_core::sessions::AwsSession;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use coffer_cli::answer;

/// What the endpoint serves: the session to hand out now (kept, or made
/// anew), or the error to pass on.
pub type Serve = Box<dyn FnMut() -> anyhow::Result<AwsSession> + Send>;

pub struct CredServer {
    /// `http://127.0.0.1:PORT/` (a full URI the SDKs accept: loopback).
    pub uri: String,
    pub token: Zeroizing<String>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CredServer {
    /// Binds a random loopback port and serves on a thread of its own.
    pub fn start(mut serve: Serve) -> anyhow::Result<CredServer> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(|e| {
            anyhow::anyhow!("cannot open the credential endpoint on 127.0.0.1: {e}")
        })?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| anyhow::anyhow!("the credential endpoint has no TCP port"))?;
        let mut raw = [0u8; 32];
        coffer_core::crypto::random_bytes(&mut raw)?;
        let token = Zeroizing::new(hex::encode(raw));
        let expected = token.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Acquire) {
                let request = match server.recv_timeout(Duration::from_millis(100)) {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    Err(_) => break,
                };
                let (status, body) = answer_request(&request, &expected, &mut serve);
                let response = tiny_http::Response::from_string(body.as_str())
                    .with_status_code(status)
                    .with_header(json_header());
                let _ = request.respond(response);
            }
        });
        Ok(CredServer {
            uri: format!("http://127.0.0.1:{port}/"),
            token,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops serving and closes the port (the child has exited).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CredServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

fn json_header() -> tiny_http::Header {
    tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..])
        .expect("a valid header")
}

fn refusal(code: &str, message: &str) -> Zeroizing<String> {
    Zeroizing::new(serde_json::json!({ "code": code, "message": message }).to_string())
}

/// The status and body for one request: the session for a loopback GET
/// bearing the token, else a refusal that says why (and holds no secret).
fn answer_request(
    request: &tiny_http::Request,
    token: &str,
    serve: &mut Serve,
) -> (u16, Zeroizing<String>) {
    let loopback = request.remote_addr().is_some_and(|a| a.ip().is_loopback());
    if !loopback {
        return (
            403,
            refusal("Forbidden", "only this machine's processes are served"),
        );
    }
    if *request.method() != tiny_http::Method::Get {
        return (
            405,
            refusal("MethodNotAllowed", "the endpoint answers GET only"),
        );
    }
    let given = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().as_bytes())
        .unwrap_or_default();
    // Constant time, and a length that differs fails the same way.
    let same: bool = given.len() == token.len() && bool::from(given.ct_eq(token.as_bytes()));
    if !same {
        return (
            401,
            refusal("Unauthorized", "missing or wrong authorization token"),
        );
    }
    match serve() {
        Ok(session) => (200, answer::container_credentials(&session)),
        Err(e) => {
            // The child's SDK shows this; the exec's terminal gets it too.
            eprintln!("coffer: the credential endpoint could not serve a session: {e:#}");
            (500, refusal("SessionUnavailable", &format!("{e:#}")))
        }
    }
}
