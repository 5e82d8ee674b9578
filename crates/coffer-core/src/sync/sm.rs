//! AWS Secrets Manager: a credential is the secret `<prefix><name>`, whose
//! SecretString is the JSON object of its fields; its labels are the
//! secret's tags. Before a PutSecretValue the AWSCURRENT version id is
//! compared with the one Coffer last saw.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use aws_sdk_secretsmanager::Client;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use super::api::{request_timeout, Entry, Expect, Fault, Res, ATTEMPTS, CONNECT_TIMEOUT};
use super::payload::{coffer_labels, Payload, LABELS};
use super::remote::{AwsSpec, Remote};
use super::Check;
use crate::error::{Error, Result};
use crate::vault::Vault;

pub(crate) struct Sm {
    client: Client,
    conf: SdkConfig,
    prefix: String,
    kms_key_id: Option<String>,
    endpoint: String,
}

fn to_utc(t: Option<&aws_sdk_secretsmanager::primitives::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn current_version(
    stages: Option<&std::collections::HashMap<String, Vec<String>>>,
) -> Option<String> {
    stages?
        .iter()
        .find(|(_, s)| s.iter().any(|s| s == "AWSCURRENT"))
        .map(|(v, _)| v.clone())
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    coffer_labels(
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
    )
}

impl Sm {
    pub async fn connect(
        remote: &Remote,
        spec: &AwsSpec,
        vault: &Vault,
        now: DateTime<Utc>,
    ) -> Result<Sm> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_secs(4)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(request_timeout())
                    .build(),
            );
        if let Some(region) = &spec.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &spec.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &spec.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(name) = &spec.credential {
            let (c, secrets) = vault.reveal(name, None, now)?;
            let get = |f: &str| {
                c.meta
                    .fields
                    .get(f)
                    .cloned()
                    .or_else(|| secrets.0.get(f).map(|v| v.expose_secret().to_owned()))
            };
            let key_id = get("access_key_id").ok_or_else(|| {
                Error::invalid(format!("credential '{name}'"), "has no access_key_id")
            })?;
            let secret = get("secret_access_key").ok_or_else(|| {
                Error::invalid(format!("credential '{name}'"), "has no secret_access_key")
            })?;
            loader = loader.credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                key_id,
                secret,
                get("session_token"),
                None,
                "coffer",
            ));
            if spec.region.is_none() {
                if let Some(region) = c.meta.fields.get("region") {
                    loader = loader.region(Region::new(region.clone()));
                }
            }
        }
        let mut conf = loader.load().await;
        if conf.region().is_none() {
            conf = conf.into_builder().region(Region::new("us-east-1")).build();
        }
        let endpoint = spec
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_else(|| {
                format!(
                    "secretsmanager.{}.amazonaws.com",
                    conf.region().map(|r| r.as_ref()).unwrap_or("us-east-1")
                )
            });
        if endpoint.contains("://") {
            super::remote::check_url("endpoint URL", &endpoint, spec.insecure_http)?;
        }
        Ok(Sm {
            client: Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(&conf)
                    .interceptor(crate::bounds::BoundedAnswers)
                    .build(),
            ),
            conf,
            prefix: remote.prefix.clone(),
            kms_key_id: spec.kms_key_id.clone(),
            endpoint,
        })
    }

    /// A fault from an SDK error: which call, on what, and what to do.
    fn fault<E, R>(&self, call: &str, on: &str, err: &SdkError<E, R>) -> Fault
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        if matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        ) {
            return Fault::Unreachable(format!(
                "cannot reach AWS Secrets Manager at {} ({call} {on}): {}",
                self.endpoint,
                DisplayErrorContext(err)
            ));
        }
        if crate::bounds::exceeded(err) {
            return Fault::Unreachable(format!(
                "AWS {call} {on} at {}: {}",
                self.endpoint,
                crate::bounds::TooLarge
            ));
        }
        let code = err.code().unwrap_or("");
        let detail = err.message().unwrap_or("no detail").to_owned();
        match code {
            "AccessDeniedException" | "AccessDenied" => Fault::Denied(format!(
                "permission denied: secretsmanager:{call} on {on} ({detail})"
            )),
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature" => Fault::Auth(format!(
                "AWS rejects the credentials ({code}: {detail}); check the remote's profile or auth credential"
            )),
            "ResourceExistsException" => Fault::Conflict(format!(
                "{on} was created on the remote meanwhile ({detail})"
            )),
            // No error code: the response could not be read (a proxy's page,
            // a cut-off body). Its raw body may hold secret values, so only
            // the status and content type are told, never the body.
            "" => Fault::Other(format!(
                "AWS {call} {on} failed: {}",
                match err {
                    SdkError::ServiceError(_) | SdkError::ResponseError(_) =>
                        "the response could not be read (not the JSON AWS sends: a proxy's page or a cut-off body?)",
                    SdkError::ConstructionFailure(_) => "the request could not be built",
                    _ => "an unexpected error",
                }
            )),
            _ => Fault::Other(format!("AWS {call} {on} failed: {code}: {detail}")),
        }
    }

    fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub async fn scan(&self) -> Res<Vec<Entry>> {
        let mut req = self.client.list_secrets().max_results(100);
        if !self.prefix.is_empty() {
            req = req.filters(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(&self.prefix)
                    .build(),
            );
        }
        let mut pages = req.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fault("ListSecrets", &self.name("*"), &e))?;
            for s in page.secret_list() {
                let Some(name) = s.name() else { continue };
                // The name filter is a case-insensitive prefix match.
                let Some(key) = name.strip_prefix(&self.prefix) else {
                    continue;
                };
                if s.deleted_date().is_some() {
                    continue;
                }
                let Some(version) = current_version(s.secret_versions_to_stages()) else {
                    continue;
                };
                out.push(Entry {
                    key: key.to_owned(),
                    version,
                    labels: tags_of(s.tags()),
                    updated: to_utc(s.last_changed_date()),
                    payload: None,
                    fault: None,
                });
            }
        }
        Ok(out)
    }

    fn parse(&self, key: &str, text: Option<&str>) -> Res<BTreeMap<String, crate::SecretValue>> {
        let what = format!("remote secret {}", self.name(key));
        let text = text.ok_or_else(|| {
            Fault::Invalid(format!(
                "{what} has no SecretString (binary secrets are not synced)"
            ))
        })?;
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| Fault::Invalid(format!("{what} is not a JSON object of fields")))?;
        Payload::fields_from_json(&value, &what).map_err(|e| Fault::Invalid(e.to_string()))
    }

    /// Reads the content of listed entries, 20 to a BatchGetSecretValue call.
    pub async fn fill(&self, entries: Vec<Entry>, concurrency: usize) -> Res<Vec<Entry>> {
        let chunks: Vec<Vec<Entry>> = entries.chunks(20).map(<[Entry]>::to_vec).collect();
        let results: Vec<Res<Vec<Entry>>> = stream::iter(chunks)
            .map(|chunk| async move { self.fill_chunk(chunk).await })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut out = Vec::new();
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    async fn fill_chunk(&self, mut chunk: Vec<Entry>) -> Res<Vec<Entry>> {
        let names: Vec<String> = chunk.iter().map(|e| self.name(&e.key)).collect();
        let out = self
            .client
            .batch_get_secret_value()
            .set_secret_id_list(Some(names))
            .send()
            .await
            .map_err(|e| self.fault("BatchGetSecretValue", &self.name("*"), &e))?;
        for entry in &mut chunk {
            let name = self.name(&entry.key);
            if let Some(v) = out.secret_values().iter().find(|v| v.name() == Some(&name)) {
                match self.parse(&entry.key, v.secret_string()) {
                    Ok(fields) => {
                        // The listing's tags are the labels; the value's
                        // version is the one read.
                        entry.version = v.version_id().unwrap_or_default().to_owned();
                        entry.updated = to_utc(v.created_date()).or(entry.updated);
                        entry.payload = Some(Payload {
                            fields,
                            labels: entry.labels.clone(),
                        });
                    }
                    Err(f) => entry.fault = Some(f),
                }
            } else {
                let why = out
                    .errors()
                    .iter()
                    .find(|e| e.secret_id() == Some(&name))
                    .map(|e| {
                        format!(
                            "{}: {}",
                            e.error_code().unwrap_or("error"),
                            e.message().unwrap_or("")
                        )
                    })
                    .unwrap_or_else(|| "not returned".into());
                entry.fault = Some(if why.starts_with("AccessDenied") {
                    Fault::Denied(format!(
                        "permission denied: secretsmanager:GetSecretValue on {name} ({why})"
                    ))
                } else {
                    Fault::Other(format!("cannot read {name}: {why}"))
                });
            }
        }
        Ok(chunk)
    }

    fn tags(payload: &Payload) -> Vec<Tag> {
        payload
            .labels
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }

    pub async fn write(&self, key: &str, payload: &Payload, expected: Expect<'_>) -> Res<Entry> {
        let name = self.name(key);
        let text = payload.fields_json();
        let mut token = [0u8; 16];
        let _ = getrandom::fill(&mut token);
        let token = hex::encode(token);
        let described = match self.client.describe_secret().secret_id(&name).send().await {
            Ok(d) => Some(d),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => return Err(self.fault("DescribeSecret", &name, &e)),
        };
        let (version, updated) = match (&described, expected) {
            (None, Expect::Absent | Expect::Current) => {
                let mut req = self
                    .client
                    .create_secret()
                    .name(&name)
                    .secret_string(text.as_str())
                    .client_request_token(&token)
                    .set_tags(Some(Self::tags(payload)));
                if let Some(k) = &self.kms_key_id {
                    req = req.kms_key_id(k);
                }
                let out = req
                    .send()
                    .await
                    .map_err(|e| self.fault("CreateSecret", &name, &e))?;
                (out.version_id().unwrap_or_default().to_owned(), None)
            }
            (None, Expect::Version(_)) => {
                return Err(Fault::Conflict(format!(
                    "{name} was deleted on the remote since Coffer last saw it"
                )))
            }
            (Some(d), expected) => {
                let current = current_version(d.version_ids_to_stages());
                match expected {
                    Expect::Absent => {
                        return Err(Fault::Conflict(format!(
                            "{name} already exists on the remote"
                        )))
                    }
                    Expect::Version(v)
                        if current.as_deref() != Some(v) || d.deleted_date().is_some() =>
                    {
                        return Err(Fault::Conflict(format!(
                            "{name} changed on the remote since Coffer last saw it"
                        )))
                    }
                    _ => {}
                }
                if d.deleted_date().is_some() {
                    self.client
                        .restore_secret()
                        .secret_id(&name)
                        .send()
                        .await
                        .map_err(|e| self.fault("RestoreSecret", &name, &e))?;
                }
                let out = self
                    .client
                    .put_secret_value()
                    .secret_id(&name)
                    .secret_string(text.as_str())
                    .client_request_token(&token)
                    .send()
                    .await
                    .map_err(|e| self.fault("PutSecretValue", &name, &e))?;
                let old = tags_of(d.tags());
                let stale: Vec<String> = LABELS
                    .iter()
                    .filter(|k| old.contains_key(**k) && !payload.labels.contains_key(**k))
                    .map(|k| (*k).to_owned())
                    .collect();
                if !stale.is_empty() {
                    self.client
                        .untag_resource()
                        .secret_id(&name)
                        .set_tag_keys(Some(stale))
                        .send()
                        .await
                        .map_err(|e| self.fault("UntagResource", &name, &e))?;
                }
                if old != payload.labels {
                    self.client
                        .tag_resource()
                        .secret_id(&name)
                        .set_tags(Some(Self::tags(payload)))
                        .send()
                        .await
                        .map_err(|e| self.fault("TagResource", &name, &e))?;
                }
                (out.version_id().unwrap_or_default().to_owned(), None)
            }
        };
        Ok(Entry {
            key: key.to_owned(),
            version,
            labels: payload.labels.clone(),
            updated,
            payload: None,
            fault: None,
        })
    }

    /// Schedules the secret for deletion (recoverable for 30 days).
    pub async fn delete(&self, key: &str, expected: &str) -> Res<()> {
        let name = self.name(key);
        let d = match self.client.describe_secret().secret_id(&name).send().await {
            Ok(d) => d,
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(()),
            Err(e) => return Err(self.fault("DescribeSecret", &name, &e)),
        };
        if current_version(d.version_ids_to_stages()).as_deref() != Some(expected) {
            return Err(Fault::Conflict(format!(
                "{name} changed on the remote since Coffer last saw it"
            )));
        }
        self.client
            .delete_secret()
            .secret_id(&name)
            .recovery_window_in_days(30)
            .send()
            .await
            .map_err(|e| self.fault("DeleteSecret", &name, &e))?;
        Ok(())
    }

    pub async fn check(&self) -> Vec<Check> {
        let mut out = Vec::new();
        match aws_sdk_sts::Client::new(&self.conf)
            .get_caller_identity()
            .send()
            .await
        {
            Ok(id) => out.push(Check::new(
                "login",
                true,
                format!(
                    "signed in as {} via {}",
                    id.arn().unwrap_or("?"),
                    self.endpoint
                ),
            )),
            Err(e) => {
                let code = e.code().unwrap_or("");
                let f = if matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) {
                    format!(
                        "cannot reach AWS at {}: {}",
                        self.endpoint,
                        DisplayErrorContext(&e)
                    )
                } else {
                    format!(
                        "sts:GetCallerIdentity failed ({code}: {})",
                        e.message().unwrap_or("")
                    )
                };
                out.push(Check::new("login", false, f));
                return out;
            }
        }
        match self.client.list_secrets().max_results(1).send().await {
            Ok(_) => out.push(Check::new(
                "permission list",
                true,
                "secretsmanager:ListSecrets allowed".to_owned(),
            )),
            Err(e) => out.push(Check::new(
                "permission list",
                false,
                self.fault("ListSecrets", "*", &e).message().to_owned(),
            )),
        }
        // Each call on a name that does not exist: AWS checks permission
        // first, so "not found" means allowed and "access denied" means not.
        let mut suffix = [0u8; 6];
        let _ = getrandom::fill(&mut suffix);
        let probe = self.name(&format!("coffer-permission-probe-{}", hex::encode(suffix)));
        let shown = self.name("*");
        let calls: [(&str, &str); 6] = [
            ("GetSecretValue", "to pull"),
            ("DescribeSecret", "to check versions before writing"),
            ("PutSecretValue", "to push changes"),
            ("TagResource", "to push labels"),
            ("UntagResource", "to remove labels"),
            ("DeleteSecret", "for --prune"),
        ];
        for (call, why) in calls {
            let code = match call {
                "GetSecretValue" => self
                    .client
                    .get_secret_value()
                    .secret_id(&probe)
                    .send()
                    .await
                    .err()
                    .map(|e| (e.code().map(str::to_owned), self.fault(call, &shown, &e))),
                "DescribeSecret" => self
                    .client
                    .describe_secret()
                    .secret_id(&probe)
                    .send()
                    .await
                    .err()
                    .map(|e| (e.code().map(str::to_owned), self.fault(call, &shown, &e))),
                "PutSecretValue" => self
                    .client
                    .put_secret_value()
                    .secret_id(&probe)
                    .secret_string("{}")
                    .send()
                    .await
                    .err()
                    .map(|e| (e.code().map(str::to_owned), self.fault(call, &shown, &e))),
                "TagResource" => self
                    .client
                    .tag_resource()
                    .secret_id(&probe)
                    .tags(Tag::builder().key("coffer-probe").value("x").build())
                    .send()
                    .await
                    .err()
                    .map(|e| (e.code().map(str::to_owned), self.fault(call, &shown, &e))),
                "UntagResource" => self
                    .client
                    .untag_resource()
                    .secret_id(&probe)
                    .tag_keys("coffer-probe")
                    .send()
                    .await
                    .err()
                    .map(|e| (e.code().map(str::to_owned), self.fault(call, &shown, &e))),
                _ => self
                    .client
                    .delete_secret()
                    .secret_id(&probe)
                    .send()
                    .await
                    .err()
                    .map(|e| (e.code().map(str::to_owned), self.fault(call, &shown, &e))),
            };
            let (ok, detail) = match code {
                None => (
                    true,
                    format!("secretsmanager:{call} allowed on {shown} ({why})"),
                ),
                Some((Some(c), _)) if c == "ResourceNotFoundException" => (
                    true,
                    format!("secretsmanager:{call} allowed on {shown} ({why})"),
                ),
                Some((_, Fault::Denied(_))) => (
                    false,
                    format!("missing secretsmanager:{call} on {shown} (needed {why})"),
                ),
                Some((_, f)) => (false, f.message().to_owned()),
            };
            out.push(Check::new(&format!("permission {call}"), ok, detail));
        }
        out.push(Check::new(
            "note",
            true,
            "secretsmanager:CreateSecret cannot be checked without creating a secret; it is needed to push new credentials".to_owned(),
        ));
        out
    }
}
