//! The two STS calls a session comes from: GetSessionToken with a key's
//! long-lived secret, AssumeRole with the session of the link below. Each
//! failure says which call, for which credential, and what to do.

use std::time::Duration as StdDuration;

use aws_sdk_sts::error::ProvideErrorMetadata;
use chrono::{DateTime, TimeZone, Utc};
use zeroize::Zeroizing;

use super::AwsSession;
use crate::credential::{Credential, Secrets};
use crate::error::{Error, Result};
use crate::rotation::aws::{aws_error_hinted, config, own_config, sts};
use crate::runtime::block_on;
use crate::secret::SecretValue;

/// What one STS call is asked for besides its source.
pub struct Ask<'a> {
    pub duration: StdDuration,
    /// The MFA device and its code, when the link has `mfa_serial`.
    pub mfa: Option<(&'a str, SecretValue)>,
    pub region: String,
}

/// A failed call, and whether the session it was made with was refused as
/// ended or unknown (so a kept session below is dropped and the chain
/// made again from the key, once).
pub struct Failed {
    pub error: Error,
    pub source_refused: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            source_refused: false,
        }
    }
}

fn hint(code: &str) -> &'static str {
    match code {
        "AccessDenied" => {
            "; the source may not do this: check the role's trust policy, its external_id, and \
             whether it asks for MFA (mfa_serial)"
        }
        "ExpiredToken" | "RequestExpired" => {
            "; the session it was made with has ended (check this machine's clock)"
        }
        "InvalidClientTokenId" | "SignatureDoesNotMatch" => {
            "; the key is not valid (deleted, inactive, or the secret is wrong)"
        }
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            "; AWS is limiting STS calls: try again in a moment"
        }
        "RegionDisabledException" => "; STS is not enabled in this region (set region)",
        "ValidationError" => "; a value sent was refused (duration, session name, external id)",
        _ => "",
    }
}

fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &str,
    on: &str,
    err: &E,
) -> Failed {
    Failed {
        source_refused: matches!(
            err.code(),
            Some("ExpiredToken" | "InvalidClientTokenId" | "RequestExpired")
        ),
        error: aws_error_hinted(call, on, err, hint),
    }
}

fn seconds(duration: StdDuration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

/// The session in an STS answer's credentials (absent: an error naming
/// the call), issued `now`.
fn session_of(
    call: &str,
    on: &str,
    credentials: Option<&aws_sdk_sts::types::Credentials>,
    now: DateTime<Utc>,
) -> Result<AwsSession> {
    let c = credentials.ok_or_else(|| Error::Failure {
        what: format!("STS {call} for {on} returned no credentials"),
    })?;
    let expiration = Utc
        .timestamp_opt(c.expiration().secs(), 0)
        .single()
        .ok_or_else(|| Error::Failure {
            what: format!("STS {call} for {on} returned an impossible expiry"),
        })?;
    Ok(AwsSession {
        access_key_id: c.access_key_id().to_owned(),
        secret_access_key: Zeroizing::new(c.secret_access_key().to_owned()),
        session_token: Zeroizing::new(c.session_token().to_owned()),
        expiration,
        issued_at: now,
        ..AwsSession::empty()
    })
}

/// GetSessionToken with the key's own long-lived secret.
pub fn session_token(
    key: &Credential,
    secrets: &Secrets,
    ask: Ask<'_>,
    now: DateTime<Utc>,
) -> std::result::Result<AwsSession, Failed> {
    let name = &key.meta.name;
    let call = "GetSessionToken";
    block_on(async {
        let conf = own_config(key, secrets).await?;
        let mut request = sts(&conf)
            .get_session_token()
            .duration_seconds(seconds(ask.duration));
        let mfa = ask.mfa.is_some();
        if let Some((serial, code)) = &ask.mfa {
            request = request
                .serial_number(*serial)
                .token_code(code.expose_secret());
        }
        let out = request
            .send()
            .await
            .map_err(|e| failed(&format!("STS {call}"), name, &e))?;
        Ok(AwsSession {
            mfa,
            region: Some(ask.region),
            ..session_of(call, name, out.credentials(), now)?
        })
    })
    .map_err(Failed::from)?
}

/// AssumeRole for `role` with the session `with` of the link below.
pub fn assume_role(
    role: &Credential,
    with: &AwsSession,
    session_name: &str,
    ask: Ask<'_>,
    now: DateTime<Utc>,
) -> std::result::Result<AwsSession, Failed> {
    let name = &role.meta.name;
    let call = "AssumeRole";
    let role_arn = role
        .meta
        .fields
        .get("role_arn")
        .cloned()
        .ok_or_else(|| Error::invalid(format!("aws-role '{name}'"), "has no role_arn"))?;
    block_on(async {
        let conf = config(
            ask.region.clone(),
            &with.access_key_id,
            &with.secret_access_key,
            Some(&with.session_token),
        )
        .await;
        let mut request = sts(&conf)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(session_name)
            .duration_seconds(seconds(ask.duration));
        if let Some(id) = role.meta.fields.get("external_id") {
            request = request.external_id(id);
        }
        let mfa = ask.mfa.is_some();
        if let Some((serial, code)) = &ask.mfa {
            request = request
                .serial_number(*serial)
                .token_code(code.expose_secret());
        }
        let out = request
            .send()
            .await
            .map_err(|e| failed(&format!("STS {call}"), name, &e))?;
        Ok(AwsSession {
            mfa: mfa || with.mfa,
            role_arn: Some(role_arn.clone()),
            assumed_arn: out.assumed_role_user().map(|u| u.arn().to_owned()),
            session_name: Some(session_name.to_owned()),
            region: Some(ask.region),
            ..session_of(call, name, out.credentials(), now)?
        })
    })
    .map_err(Failed::from)?
}
