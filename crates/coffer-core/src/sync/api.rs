//! What both kinds of remote share: a remote entry, the conditions a write
//! is made under, how a failure is classified (some end the whole sync, the
//! rest fail one credential), and the retry schedule and time limits.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::payload::Payload;

/// One remote secret as listed or read.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The credential name (the remote path without the prefix).
    pub key: String,
    /// Vault's version number, or the AWSCURRENT version id.
    pub version: String,
    /// The Coffer labels (custom metadata / tags).
    pub labels: std::collections::BTreeMap<String, String>,
    /// When the current version was written.
    pub updated: Option<DateTime<Utc>>,
    /// The content, once read (Vault reads it while listing; AWS on demand).
    pub payload: Option<Payload>,
    /// Why this listed secret could not be read (it fails alone).
    pub fault: Option<Fault>,
}

/// What a write expects to find on the remote.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expect<'a> {
    /// Nothing: a new secret.
    Absent,
    /// The version Coffer last saw.
    Version(&'a str),
    /// Whatever is there now (an explicit `resolve --keep local`).
    Current,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The remote changed since Coffer last saw it: never overwritten.
    Conflict(String),
    /// No permission for this one secret.
    Denied(String),
    /// The content cannot be used (not a JSON object, invalid fields).
    Invalid(String),
    /// Anything else about this one secret.
    Other(String),
    /// The login is bad or expired: the whole sync stops.
    Auth(String),
    /// The remote cannot be reached (after retries): the whole sync stops.
    Unreachable(String),
}

impl Fault {
    pub fn fatal(&self) -> bool {
        matches!(self, Fault::Auth(_) | Fault::Unreachable(_))
    }

    pub fn message(&self) -> &str {
        match self {
            Fault::Conflict(m)
            | Fault::Denied(m)
            | Fault::Invalid(m)
            | Fault::Other(m)
            | Fault::Auth(m)
            | Fault::Unreachable(m) => m,
        }
    }
}

pub(crate) type Res<T> = std::result::Result<T, Fault>;

/// Retry schedule for throttling, 5xx and dropped connections: exponential
/// from 100 ms, capped at 4 s, with full jitter.
pub(crate) const ATTEMPTS: u32 = 6;

pub(crate) fn backoff(attempt: u32) -> Duration {
    let cap_ms = (100u64 << attempt.min(6)).min(4000);
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    Duration::from_millis(u64::from_le_bytes(b) % (cap_ms + 1))
}

pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The time one request may take: [`REQUEST_TIMEOUT`], or `COFFER_HTTP_TIMEOUT`
/// seconds (a slow link; the tests of a server that never answers).
pub(crate) fn request_timeout() -> Duration {
    std::env::var("COFFER_HTTP_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(REQUEST_TIMEOUT, Duration::from_secs)
}
