//! The most a remote's answer may hold, and the interceptor that holds every
//! AWS client to it (Secrets Manager, IAM, STS). The HashiCorp Vault client
//! reads its answers chunk by chunk against the same bound (`sync/kv.rs`).
//!
//! Written here because the SDKs read a whole body into memory before
//! parsing it and offer no size limit of their own; the interceptor wraps
//! the body in `http_body_util::Limited` before it is read.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use http_body_util::BodyExt;

/// The most one answer from a remote may hold. A Secrets Manager secret is
/// at most 64 KiB and a KV secret about 1 MiB; a listing page is smaller.
pub const MAX_RESPONSE: usize = 8 << 20;

/// What an answer over [`MAX_RESPONSE`] is reported as.
pub fn too_large() -> String {
    TooLarge.to_string()
}

/// The error an AWS answer over [`MAX_RESPONSE`] ends in.
#[derive(Debug)]
pub struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the answer is larger than {} MiB, far more than any secret or listing; the \
             server or something between is misbehaving, and nothing from it was used",
            MAX_RESPONSE >> 20
        )
    }
}

impl std::error::Error for TooLarge {}

/// Whether `err` (an SDK error) was caused by an answer over the bound.
pub fn exceeded(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut at = Some(err);
    while let Some(e) = at {
        if e.is::<TooLarge>() {
            return true;
        }
        at = e.source();
    }
    false
}

/// Refuses an AWS answer that declares more than [`MAX_RESPONSE`] bytes, and
/// cuts off one that sends more without declaring it.
#[derive(Debug)]
pub struct BoundedAnswers;

impl Intercept for BoundedAnswers {
    fn name(&self) -> &'static str {
        "BoundedAnswers"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_RESPONSE as u64) {
            return Err(TooLarge.into());
        }
        let body = response.take_body();
        let limited = http_body_util::Limited::new(body, MAX_RESPONSE).map_err(|e| -> BoxError {
            if e.is::<http_body_util::LengthLimitError>() {
                TooLarge.into()
            } else {
                e
            }
        });
        *response.body_mut() = SdkBody::from_body_1_x(limited);
        Ok(())
    }
}
