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
        let doc = out.policy_document();
        let decoded = if doc.trim_start().starts_with('{') {
            doc.to_owned()
        } else {
            percent_decode(doc)
        };
        serde_json::from_str(&decoded).ok()
    })
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
