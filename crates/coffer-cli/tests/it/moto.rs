//! Helpers for the tests that talk to moto_server (AWS IAM and STS) directly,
//! to set up users and keys and to check what Coffer did to them.

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub async fn conf(endpoint: &str, id: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            id, secret, None, None, "test",
        ))
        .load()
        .await
}

/// A fresh IAM user with one access key: (user, key id, secret).
pub fn iam_user(endpoint: &str, label: &str) -> (String, String, String) {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&conf(endpoint, "testing", "testing").await);
        let user = format!("coffer-{label}-{}", std::process::id());
        let user = format!("{user}-{}", rand_suffix());
        iam.create_user()
            .user_name(&user)
            .send()
            .await
            .expect("create user");
        let key = iam
            .create_access_key()
            .user_name(&user)
            .send()
            .await
            .expect("create key");
        let key = key.access_key().expect("key");
        (
            user,
            key.access_key_id().to_owned(),
            key.secret_access_key().to_owned(),
        )
    })
}

fn rand_suffix() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time");
    format!("{}", t.as_nanos() % 1_000_000_000)
}

/// The user's keys: (id, active).
pub fn keys(endpoint: &str, user: &str) -> Vec<(String, bool)> {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&conf(endpoint, "testing", "testing").await);
        let out = iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .expect("list");
        out.access_key_metadata()
            .iter()
            .map(|k| {
                (
                    k.access_key_id().unwrap_or_default().to_owned(),
                    k.status() == Some(&aws_sdk_iam::types::StatusType::Active),
                )
            })
            .collect()
    })
}

pub fn caller(endpoint: &str, id: &str, secret: &str) -> String {
    rt().block_on(async {
        let sts = aws_sdk_sts::Client::new(&conf(endpoint, id, secret).await);
        sts.get_caller_identity()
            .send()
            .await
            .expect("sts")
            .arn()
            .unwrap_or_default()
            .to_owned()
    })
}

/// The inline policy `name` of IAM user `user`, as a JSON document (IAM
/// hands documents back URL-encoded).
pub fn user_policy(endpoint: &str, user: &str, name: &str) -> Option<serde_json::Value> {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&conf(endpoint, "testing", "testing").await);
        let out = iam
            .get_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
            .ok()?;
        document(out.policy_document())
    })
}

/// An IAM role anyone in the account may assume; its name and ARN.
pub fn iam_role(endpoint: &str, label: &str) -> (String, String) {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&conf(endpoint, "testing", "testing").await);
        let name = format!("coffer-{label}-{}-{}", std::process::id(), rand_suffix());
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
        let out = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .expect("create role");
        let arn = out.role().expect("role").arn().to_owned();
        (name, arn)
    })
}

/// The inline policy `name` of IAM role `role`, as a JSON document.
pub fn role_policy(endpoint: &str, role: &str, name: &str) -> Option<serde_json::Value> {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&conf(endpoint, "testing", "testing").await);
        let out = iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .ok()?;
        document(out.policy_document())
    })
}

fn document(doc: &str) -> Option<serde_json::Value> {
    let decoded = if doc.trim_start().starts_with('{') {
        doc.to_owned()
    } else {
        percent_decode(doc)
    };
    serde_json::from_str(&decoded).ok()
}

/// `%XX` decoding (IAM's policy documents); `+` is left as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One HTTP/1.0 request to moto's own API (`/moto-api/…`), its body back.
/// Written on a bare socket: the test needs two calls, not an HTTP client.
fn moto_api(endpoint: &str, method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("connect to moto");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(head.contains(" 200 "), "moto {path}: {head}");
    body.to_owned()
}

/// Starts moto's request recorder (shared by every test against this
/// server: tests find their own requests by names only they use, and
/// nobody resets it).
pub fn start_recording(endpoint: &str) {
    moto_api(endpoint, "POST", "/moto-api/recorder/start-recording");
}

/// The STS requests moto recorded, as (decoded form body, authorization
/// header), oldest first.
pub fn sts_requests(endpoint: &str) -> Vec<(String, String)> {
    use base64::Engine as _;
    moto_api(endpoint, "GET", "/moto-api/recorder/download-recording")
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|entry| {
            let body = entry["body"].as_str().unwrap_or_default();
            let body = if entry["body_encoded"] == true {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .ok()?;
                String::from_utf8_lossy(&raw).into_owned()
            } else {
                body.to_owned()
            };
            let body = percent_decode(&body);
            if !body.contains("Version=2011-06-15") {
                return None;
            }
            let auth = entry["headers"]["Authorization"]
                .as_str()
                .or_else(|| entry["headers"]["authorization"].as_str())
                .unwrap_or_default()
                .to_owned();
            Some((body, auth))
        })
        .collect()
}
