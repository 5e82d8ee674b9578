//! The two kinds of remote behind one interface, and how their failures
//! are classified: some end the whole sync at once (the remote is
//! unreachable, the login is bad), the rest fail one credential only.

use chrono::{DateTime, Utc};

use super::api::{Entry, Expect, Res};
use super::kv::Kv;
use super::payload::Payload;
use super::remote::{Remote, Spec};
use super::sm::Sm;
use crate::error::Result;
use crate::vault::Vault;

pub(crate) enum Backend {
    Kv(Box<Kv>),
    Sm(Box<Sm>),
}

impl Backend {
    /// Connects and logs in, revealing the remote's auth credential (audited).
    pub async fn connect(remote: &Remote, vault: &Vault, now: DateTime<Utc>) -> Result<Backend> {
        Ok(match &remote.spec {
            Spec::Vault(spec) => {
                Backend::Kv(Box::new(Kv::connect(remote, spec, vault, now).await?))
            }
            Spec::Aws(spec) => Backend::Sm(Box::new(Sm::connect(remote, spec, vault, now).await?)),
        })
    }

    /// Every secret under the prefix, with content where it came for free.
    pub async fn scan(&self, concurrency: usize) -> Res<Vec<Entry>> {
        match self {
            Backend::Kv(b) => b.scan(concurrency).await,
            Backend::Sm(b) => b.scan().await,
        }
    }

    /// Reads the content of listed entries that came without it.
    pub async fn fill(&self, entries: Vec<Entry>, concurrency: usize) -> Res<Vec<Entry>> {
        match self {
            Backend::Kv(_) => Ok(entries),
            Backend::Sm(b) => b.fill(entries, concurrency).await,
        }
    }

    /// Writes a secret if the remote is as `expected`; returns the new entry.
    pub async fn write(&self, key: &str, payload: &Payload, expected: Expect<'_>) -> Res<Entry> {
        match self {
            Backend::Kv(b) => b.write(key, payload, expected).await,
            Backend::Sm(b) => b.write(key, payload, expected).await,
        }
    }

    /// Deletes a secret (recoverably) if it is still at `expected`.
    pub async fn delete(&self, key: &str, expected: &str) -> Res<()> {
        match self {
            Backend::Kv(b) => b.delete(key, expected).await,
            Backend::Sm(b) => b.delete(key, expected).await,
        }
    }

    /// `remote test`: reachability, login and each permission sync needs.
    pub async fn check(&self) -> Vec<super::Check> {
        match self {
            Backend::Kv(b) => b.check().await,
            Backend::Sm(b) => b.check().await,
        }
    }
}
