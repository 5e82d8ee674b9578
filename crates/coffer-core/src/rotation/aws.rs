//! AWS IAM access keys, rotated through the IAM and STS APIs: find the
//! key's user, create a second key, check it with STS GetCallerIdentity,
//! deactivate the old key after promotion and delete it after the grace
//! period. The credential's own keys do the work. Region comes from the
//! credential's `region` field, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else
//! us-east-1; the endpoint follows the SDK conventions (`AWS_ENDPOINT_URL`).

use std::time::Duration as StdDuration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::StatusType;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::credential::{Credential, Secrets};
use crate::error::{Error, Result};
use crate::runtime::block_on;

/// What the AWS flow remembers between steps (no secret in it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsState {
    pub user_name: String,
    pub user_arn: String,
    pub old_key_id: String,
    #[serde(default)]
    pub new_key_id: Option<String>,
    /// Set (and saved) before CreateAccessKey: a key found on resume that is
    /// neither the old one nor saved was made by a run that crashed.
    #[serde(default)]
    pub creating: bool,
    #[serde(default)]
    pub deactivated: bool,
    /// The credential whose keys make the IAM calls, when not the rotated key itself.
    #[serde(default)]
    pub admin: Option<String>,
}

/// The keys that make the IAM calls: the rotated credential's own, or an admin credential's.
pub type Auth<'a> = (&'a Credential, &'a Secrets);

fn field<'a>(credential: &'a Credential, secrets: &'a Secrets, name: &str) -> Option<&'a str> {
    credential
        .meta
        .fields
        .get(name)
        .map(String::as_str)
        .or_else(|| secrets.0.get(name).map(|v| v.expose_secret()))
}

pub(crate) fn region(credential: &Credential) -> String {
    credential
        .meta
        .fields
        .get("region")
        .cloned()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into())
}

/// An IAM client whose answers are bounded (see `crate::bounds`).
fn iam(conf: &SdkConfig) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(conf)
            .interceptor(crate::bounds::BoundedAnswers)
            .build(),
    )
}

/// An STS client whose answers are bounded (see `crate::bounds`).
pub(crate) fn sts(conf: &SdkConfig) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(conf)
            .interceptor(crate::bounds::BoundedAnswers)
            .build(),
    )
}

pub(crate) async fn config(
    region: String,
    key_id: &str,
    secret: &str,
    token: Option<&str>,
) -> SdkConfig {
    let credentials = aws_sdk_iam::config::Credentials::new(
        key_id,
        secret,
        token.map(str::to_owned),
        None,
        "coffer",
    );
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(StdDuration::from_secs(5))
                .operation_timeout(StdDuration::from_secs(30))
                .build(),
        )
        .load()
        .await
}

/// The SDK configuration for the credential's current keys.
pub(crate) async fn own_config(credential: &Credential, secrets: &Secrets) -> Result<SdkConfig> {
    let key_id = field(credential, secrets, "access_key_id")
        .ok_or_else(|| missing(credential, "access_key_id"))?;
    let secret = field(credential, secrets, "secret_access_key")
        .ok_or_else(|| missing(credential, "secret_access_key"))?;
    Ok(config(
        region(credential),
        key_id,
        secret,
        field(credential, secrets, "session_token"),
    )
    .await)
}

fn missing(credential: &Credential, what: &str) -> Error {
    Error::invalid(
        format!("credential '{}'", credential.meta.name),
        format!("has no {what}"),
    )
}

/// A clear error from an AWS call: which call, on what, and the service's code.
pub(crate) fn aws_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &str,
    on: &str,
    err: &E,
) -> Error {
    aws_error_hinted(call, on, err, iam_hint)
}

/// [`aws_error`] with the hints of another service's codes (`hint` gives
/// the sentence for a code, starting with "; ").
pub(crate) fn aws_error_hinted<E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &str,
    on: &str,
    err: &E,
    hint: fn(&str) -> &'static str,
) -> Error {
    if crate::bounds::exceeded(err) {
        return Error::Failure {
            what: format!("AWS {call} for {on}: {}", crate::bounds::TooLarge),
        };
    }
    let code = err.code().unwrap_or("");
    let hint = match code {
        "" => "; check the network and the endpoint (AWS_ENDPOINT_URL)",
        code => hint(code),
    };
    let detail = err
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| err.to_string());
    Error::Failure {
        what: format!("AWS {call} for {on} failed: {code} {detail}{hint}").replace("  ", " "),
    }
}

fn iam_hint(code: &str) -> &'static str {
    match code {
        "AccessDenied" | "AccessDeniedException" => {
            "; the key lacks this IAM permission on its own user"
        }
        "LimitExceeded" => "; IAM allows two access keys per user",
        "InvalidClientTokenId" | "SignatureDoesNotMatch" => {
            "; the key is not valid (deleted, or the secret is wrong)"
        }
        _ => "",
    }
}

async fn caller_arn(conf: &SdkConfig, on: &str) -> Result<String> {
    let out = sts(conf)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_error("STS GetCallerIdentity", on, &e))?;
    out.arn().map(str::to_owned).ok_or_else(|| Error::Failure {
        what: "STS GetCallerIdentity returned no ARN".into(),
    })
}

fn user_of(arn: &str, name: &str) -> Result<String> {
    arn.split_once(":user/")
        .map(|(_, path)| path.rsplit('/').next().unwrap_or(path).to_owned())
        .ok_or_else(|| {
            Error::invalid(
                format!("credential '{name}'"),
                format!("its key belongs to {arn}, not an IAM user: only IAM user keys rotate automatically"),
            )
        })
}

/// When IAM says the credential's key was created, if the key can ask.
pub fn key_created_at(credential: &Credential, secrets: &Secrets) -> Result<Option<DateTime<Utc>>> {
    block_on(async {
        let conf = own_config(credential, secrets).await?;
        let name = &credential.meta.name;
        let user = user_of(&caller_arn(&conf, name).await?, name)?;
        let key_id = field(credential, secrets, "access_key_id").unwrap_or_default();
        let keys = iam(&conf)
            .list_access_keys()
            .user_name(&user)
            .send()
            .await
            .map_err(|e| aws_error("IAM ListAccessKeys", &user, &e))?;
        Ok(keys
            .access_key_metadata()
            .iter()
            .find(|k| k.access_key_id() == Some(key_id))
            .and_then(|k| k.create_date())
            .and_then(|d| Utc.timestamp_opt(d.secs(), d.subsec_nanos()).single()))
    })?
}

/// Finds the key's IAM user (asking STS with the key itself) and checks,
/// with `auth`'s keys, that there is room for a second key.
pub fn prepare(
    credential: &Credential,
    secrets: &Secrets,
    auth: Auth<'_>,
    delete_inactive: bool,
) -> Result<AwsState> {
    block_on(async {
        let conf = own_config(credential, secrets).await?;
        let name = &credential.meta.name;
        let arn = caller_arn(&conf, name).await?;
        let user = user_of(&arn, name)?;
        let old = field(credential, secrets, "access_key_id")
            .unwrap_or_default()
            .to_owned();
        let conf = own_config(auth.0, auth.1).await?;
        let iam = iam(&conf);
        let keys = iam
            .list_access_keys()
            .user_name(&user)
            .send()
            .await
            .map_err(|e| aws_error("IAM ListAccessKeys", &user, &e))?;
        let others: Vec<(String, bool)> = keys
            .access_key_metadata()
            .iter()
            .filter(|k| k.access_key_id() != Some(old.as_str()))
            .map(|k| {
                (
                    k.access_key_id().unwrap_or_default().to_owned(),
                    k.status() == Some(&StatusType::Active),
                )
            })
            .collect();
        if let Some((other, active)) = others.first() {
            if delete_inactive && !active {
                iam.delete_access_key()
                    .user_name(&user)
                    .access_key_id(other)
                    .send()
                    .await
                    .map_err(|e| aws_error("IAM DeleteAccessKey", &user, &e))?;
            } else {
                let state = if *active { "active" } else { "inactive" };
                return Err(Error::invalid(
                    format!("rotation of '{name}'"),
                    format!(
                        "IAM user {user} already has two access keys ({old} and {other}, which is {state}); IAM allows two. {}",
                        if *active {
                            "Delete the other key in IAM first"
                        } else {
                            "Rerun with --delete-inactive to delete the inactive one"
                        }
                    ),
                ));
            }
        }
        Ok(AwsState {
            user_name: user,
            user_arn: arn,
            old_key_id: old,
            ..AwsState::default()
        })
    })?
}

/// Creates the new key. Any key that is neither the old one nor saved was
/// left by a crashed run (its secret was never stored): it is deleted first.
pub fn create_key(auth: Auth<'_>, state: &AwsState) -> Result<(String, crate::SecretValue)> {
    block_on(async {
        let conf = own_config(auth.0, auth.1).await?;
        let iam = iam(&conf);
        let user = &state.user_name;
        let keys = iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| aws_error("IAM ListAccessKeys", user, &e))?;
        for orphan in keys
            .access_key_metadata()
            .iter()
            .filter_map(|k| k.access_key_id())
            .filter(|id| *id != state.old_key_id)
        {
            tracing::info!("deleting an access key left by an interrupted rotation");
            iam.delete_access_key()
                .user_name(user)
                .access_key_id(orphan)
                .send()
                .await
                .map_err(|e| aws_error("IAM DeleteAccessKey", user, &e))?;
        }
        let out = iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|e| aws_error("IAM CreateAccessKey", user, &e))?;
        let key = out.access_key().ok_or_else(|| Error::Failure {
            what: "IAM CreateAccessKey returned no key".into(),
        })?;
        Ok((
            key.access_key_id().to_owned(),
            crate::SecretValue::from(key.secret_access_key()),
        ))
    })?
}

/// Checks that the new key works and belongs to the same IAM user. New IAM
/// keys can take seconds to work everywhere, so this retries for ~20 s.
pub fn verify(credential: &Credential, pending: &Secrets, state: &AwsState) -> Result<()> {
    let key_id = pending
        .0
        .get("access_key_id")
        .map(|v| v.expose_secret())
        .unwrap_or_default();
    let secret = pending
        .0
        .get("secret_access_key")
        .map(|v| v.expose_secret())
        .unwrap_or_default();
    block_on(async {
        let conf = config(region(credential), key_id, secret, None).await;
        let mut last = None;
        for attempt in 0..10 {
            match caller_arn(&conf, &credential.meta.name).await {
                Ok(arn) if arn == state.user_arn => return Ok(()),
                Ok(arn) => {
                    return Err(Error::Failure {
                        what: format!(
                            "the new key answers as {arn}, not {}; it was not promoted",
                            state.user_arn
                        ),
                    })
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(StdDuration::from_millis(500 * (attempt + 1))).await;
        }
        Err(last.unwrap_or_else(|| Error::Failure {
            what: "the new key could not be verified".into(),
        }))
    })?
}

async fn set_status(
    conf: &SdkConfig,
    state: &AwsState,
    key: &str,
    status: StatusType,
) -> Result<()> {
    match iam(conf)
        .update_access_key()
        .user_name(&state.user_name)
        .access_key_id(key)
        .status(status)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(aws_error("IAM UpdateAccessKey", &state.user_name, &e)),
    }
}

async fn delete(conf: &SdkConfig, state: &AwsState, key: &str) -> Result<()> {
    match iam(conf)
        .delete_access_key()
        .user_name(&state.user_name)
        .access_key_id(key)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(aws_error("IAM DeleteAccessKey", &state.user_name, &e)),
    }
}

/// Marks the old key Inactive (the credential now holds the new key).
pub fn deactivate_old(auth: Auth<'_>, state: &AwsState) -> Result<()> {
    block_on(async {
        let conf = own_config(auth.0, auth.1).await?;
        set_status(&conf, state, &state.old_key_id, StatusType::Inactive).await
    })?
}

/// Deletes the old key for good.
pub fn delete_old(auth: Auth<'_>, state: &AwsState) -> Result<()> {
    block_on(async {
        let conf = own_config(auth.0, auth.1).await?;
        delete(&conf, state, &state.old_key_id).await
    })?
}

/// Undoes a run: before promotion, deletes the new key; after it, makes the
/// old key active again and deletes the new one (the caller rolls the
/// credential back).
pub fn undo(auth: Auth<'_>, state: &AwsState, promoted: bool) -> Result<()> {
    block_on(async {
        let conf = own_config(auth.0, auth.1).await?;
        if promoted {
            set_status(&conf, state, &state.old_key_id, StatusType::Active).await?;
        }
        if let Some(new) = &state.new_key_id {
            delete(&conf, state, new).await?;
        } else if state.creating {
            // A crash may have left a key whose id was never saved.
            let keys = iam(&conf)
                .list_access_keys()
                .user_name(&state.user_name)
                .send()
                .await
                .map_err(|e| aws_error("IAM ListAccessKeys", &state.user_name, &e))?;
            for k in keys.access_key_metadata() {
                if let Some(id) = k.access_key_id().filter(|id| *id != state.old_key_id) {
                    delete(&conf, state, id).await?;
                }
            }
        }
        Ok(())
    })?
}

/// For a new `aws-access-key` whose last rotation is not given, asks IAM
/// when the key was created and records that as its last rotation, so an
/// old key imported today shows its true age. Skipped when
/// `COFFER_OFFLINE` is set; a failure is returned for the caller to report
/// and leaves the draft as it was.
pub fn learn_key_age(draft: &mut crate::Draft, now: DateTime<Utc>) -> Result<()> {
    if draft.kind != crate::Kind::AwsAccessKey
        || draft.rotated_at.is_some()
        || crate::runtime::offline()
    {
        return Ok(());
    }
    draft.rotated_at = draft_key_created_at(draft, now)?;
    Ok(())
}

/// [`key_created_at`] for a credential not stored yet (`coffer add`).
fn draft_key_created_at(draft: &crate::Draft, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let (meta, secrets) = draft.clone().into_parts()?;
    let credential = Credential {
        id: crate::CredentialId([0; 16]),
        version: 0,
        created_at: now,
        updated_at: now,
        meta,
    };
    key_created_at(&credential, &secrets)
}

/// The inline policy `revoke-all` puts on a key's IAM user (replacing an
/// earlier one of the name): it denies everything to sessions issued before
/// the revoke. Deactivating the key stops new sessions only; STS sessions
/// already handed out (up to 36 h for GetSessionToken) would keep working.
/// AWS's own "revoke active sessions" for roles is the same condition.
pub const REVOKE_POLICY: &str = "coffer-revoke-older-sessions";

/// [`REVOKE_POLICY`]'s document: deny all to tokens issued before `before`.
pub fn revoke_policy_document(before: DateTime<Utc>) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CofferRevokeOlderSessions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "DateLessThan": {
                    "aws:TokenIssueTime": before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                }
            }
        }]
    })
    .to_string()
}

/// Emergency revoke of the credential's own key: first the deny policy on
/// its IAM user for sessions issued before `now` (the key makes the call,
/// so it must come before the key stops working), then the key set
/// Inactive. A key that may not put the policy is still deactivated, and
/// the error says its sessions live on.
pub fn revoke_own(
    credential: &Credential,
    secrets: &Secrets,
    now: DateTime<Utc>,
) -> Result<String> {
    block_on(async {
        let conf = own_config(credential, secrets).await?;
        let name = &credential.meta.name;
        let user = user_of(&caller_arn(&conf, name).await?, name)?;
        let key = field(credential, secrets, "access_key_id")
            .unwrap_or_default()
            .to_owned();
        let denied = iam(&conf)
            .put_user_policy()
            .user_name(&user)
            .policy_name(REVOKE_POLICY)
            .policy_document(revoke_policy_document(now))
            .send()
            .await
            .map_err(|e| aws_error("IAM PutUserPolicy", &user, &e));
        let state = AwsState {
            user_name: user.clone(),
            ..AwsState::default()
        };
        set_status(&conf, &state, &key, StatusType::Inactive).await?;
        let since = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match denied {
            Ok(_) => Ok(format!(
                "sessions of IAM user {user} issued before {since} denied (inline policy \
                 {REVOKE_POLICY}); access key {key} set Inactive"
            )),
            Err(e) => Err(Error::Failure {
                what: format!(
                    "access key {key} of IAM user {user} set Inactive, but its sessions issued \
                     before {since} still work until they expire: {e}"
                ),
            }),
        }
    })?
}

/// The name of the IAM role in `arn` (`arn:aws:iam::ACCOUNT:role/PATH/NAME`).
pub fn role_name(arn: &str) -> Option<&str> {
    let (_, path) = arn.split_once(":role/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// Emergency revoke of the sessions of role `role_arn` issued before `now`:
/// [`REVOKE_POLICY`] put on the role with `key` (the key a chain of
/// Coffer's assumes it with, whose user must be allowed
/// `iam:PutRolePolicy` on it). AWS's console does the same for "revoke
/// active sessions".
pub fn deny_role_sessions(
    key: &Credential,
    secrets: &Secrets,
    role_arn: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let role = role_name(role_arn).ok_or_else(|| {
        Error::invalid(
            format!("role ARN '{role_arn}'"),
            "it names no IAM role (arn:aws:iam::ACCOUNT:role/NAME)",
        )
    })?;
    block_on(async {
        let conf = own_config(key, secrets).await?;
        iam(&conf)
            .put_role_policy()
            .role_name(role)
            .policy_name(REVOKE_POLICY)
            .policy_document(revoke_policy_document(now))
            .send()
            .await
            .map_err(|e| aws_error("IAM PutRolePolicy", role, &e))?;
        Ok(format!(
            "sessions of role {role} issued before {} denied (inline policy {REVOKE_POLICY})",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_name_is_the_last_part_of_its_arn() {
        assert_eq!(role_name("arn:aws:iam::123456789012:role/ops"), Some("ops"));
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/team/deploy"),
            Some("deploy")
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:user/ops"), None);
        assert_eq!(role_name("arn:aws:iam::123456789012:role/"), None);
    }

    #[test]
    fn the_revoke_policy_denies_everything_to_older_sessions_only() {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 14, 53, 18).unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&revoke_policy_document(at)).expect("json");
        let statement = &doc["Statement"][0];
        assert_eq!(doc["Version"], "2012-10-17");
        assert_eq!(statement["Effect"], "Deny");
        assert_eq!(statement["Action"], "*");
        assert_eq!(statement["Resource"], "*");
        assert_eq!(
            statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2026-12-06T14:53:18Z"
        );
    }
}
