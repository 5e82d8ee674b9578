//! How the commands both programs answer write their output and errors:
//! the front (straight from an agent) and `coffer-full` must print the
//! same bytes and exit with the same codes.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::SecondsFormat;
use coffer_core::agent::approval::Question;
use coffer_core::credential::Credential;
use coffer_core::sessions::AwsSession;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::exit::{usage, CliError, Exit};

/// What every process of the CLI does first: files it creates are private
/// to the user whatever the shell's umask, no core file, and no reading of
/// its memory by the user's other processes.
pub fn harden() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    coffer_core::process::harden();
}

/// An error as the CLI prints it: `coffer: ` and the error with its causes.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut message = format!("coffer: {err}");
    for cause in err.chain().skip(1) {
        message.push_str(&format!(": {cause}"));
    }
    message
}

/// Said on stderr while a command waits for the person's answer to an
/// `ask` access rule, or for an MFA code asked in the app's window.
pub fn asking(question: &Question) -> String {
    if let Some(serial) = &question.mfa_serial {
        return format!(
            "coffer: waiting for the code of MFA device {serial} for '{}', asked in the Coffer \
             window",
            question.names.join(", ")
        );
    }
    format!(
        "coffer: waiting for your approval in the Coffer window (request {}; or run \
         `coffer agent approve {}` in another terminal)",
        question.id, question.id
    )
}

/// `coffer get NAME --field F`: the raw value, with a newline unless `-n`.
pub fn write_field(out: &mut dyn Write, value: &str, no_newline: bool) -> std::io::Result<()> {
    out.write_all(value.as_bytes())?;
    if !no_newline {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// `coffer get NAME --field F` when the credential has no field F.
pub fn missing_field(name: &str, field: &str, known: &[String]) -> CliError {
    CliError {
        exit: Exit::NotFound,
        message: format!(
            "credential '{name}' has no field '{field}' (its fields: {})",
            known.join(", ")
        ),
    }
}

/// `coffer get NAME`: every field, plain and secret, as one JSON object.
pub fn write_all_fields<'a>(
    out: &mut dyn Write,
    plain: &'a BTreeMap<String, String>,
    secrets: impl Iterator<Item = (&'a str, &'a str)>,
) -> std::io::Result<()> {
    let mut all: BTreeMap<&str, &str> = plain
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend(secrets);
    // Sized up front so the buffer holding secret values is never moved
    // (and left behind unwiped) while it grows.
    let mut text = Zeroizing::new(Vec::with_capacity(
        64 + all
            .iter()
            .map(|(k, v)| 16 + 6 * (k.len() + v.len()))
            .sum::<usize>(),
    ));
    serde_json::to_writer_pretty(&mut *text, &all).map_err(std::io::Error::other)?;
    text.push(b'\n');
    out.write_all(&text)?;
    out.flush()
}

/// An STS session's key id, secret, token (under the name `token` the
/// format gives it) and expiry, as the AWS SDKs read them.
fn session_fields(session: &AwsSession, token: &str) -> serde_json::Map<String, Value> {
    let mut doc = serde_json::Map::new();
    doc.insert("AccessKeyId".into(), session.access_key_id.as_str().into());
    doc.insert(
        "SecretAccessKey".into(),
        session.secret_access_key.as_str().into(),
    );
    doc.insert(token.into(), session.session_token.as_str().into());
    doc.insert(
        "Expiration".into(),
        session
            .expiration
            .to_rfc3339_opts(SecondsFormat::Secs, true)
            .into(),
    );
    doc
}

/// The `credential_process` JSON for an STS session.
pub fn session_process(session: &AwsSession) -> Zeroizing<String> {
    let mut doc = session_fields(session, "SessionToken");
    doc.insert("Version".into(), 1.into());
    let mut text = Zeroizing::new(Value::Object(doc).to_string());
    text.push('\n');
    text
}

/// The container-credentials JSON (what the AWS SDKs read from
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI`) for an STS session.
pub fn container_credentials(session: &AwsSession) -> Zeroizing<String> {
    let mut doc = session_fields(session, "Token");
    if let Some(role) = &session.role_arn {
        doc.insert("RoleArn".into(), role.as_str().into());
    }
    Zeroizing::new(Value::Object(doc).to_string())
}

/// The `credential_process` JSON for an aws-access-key credential, its
/// secret values looked up with `secret`.
pub fn credential_process<'s>(
    name: &str,
    credential: &Credential,
    secret: &dyn Fn(&str) -> Option<&'s str>,
) -> Result<Zeroizing<String>, CliError> {
    let get = |f: &str| {
        secret(f)
            .map(str::to_owned)
            .or_else(|| credential.meta.fields.get(f).cloned())
            .map(Zeroizing::new)
    };
    let key_id =
        get("access_key_id").ok_or_else(|| usage(format!("'{name}' has no access_key_id")))?;
    let secret_key = get("secret_access_key")
        .ok_or_else(|| usage(format!("'{name}' has no secret_access_key")))?;
    let mut doc = serde_json::Map::new();
    doc.insert("Version".into(), 1.into());
    doc.insert("AccessKeyId".into(), key_id.as_str().into());
    doc.insert("SecretAccessKey".into(), secret_key.as_str().into());
    if let Some(token) = get("session_token") {
        doc.insert("SessionToken".into(), token.as_str().into());
        // Temporary credentials say when they end, so the SDKs refresh in time.
        if let Some(exp) = credential.meta.expires_at {
            doc.insert(
                "Expiration".into(),
                exp.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
            );
        }
    }
    let mut text = Zeroizing::new(Value::Object(doc).to_string());
    text.push('\n');
    Ok(text)
}
