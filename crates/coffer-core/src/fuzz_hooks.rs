//! Entry points for the fuzz targets in `fuzz/` (the `coffer-fuzz` crate),
//! for the decoders that are not public. Each runs one decoder on hostile
//! input the way Coffer runs it and says only whether the input was
//! accepted. Not part of Coffer's API: nothing else may call these.

use serde_json::Value;
use zeroize::Zeroizing;

use crate::credential::{self, CredentialMeta};
use crate::crypto::KdfParams;
use crate::error::Result;
use crate::secret::SecretValue;
use crate::sync::{kv, payload};

/// Argon2id parameters small enough to run thousands of times: the fuzz
/// targets reach the backup's framing and chunks without paying for the KDF.
pub const TINY_KDF: KdfParams = KdfParams {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

/// A KV v2 LIST answer: the names it lists, each checked as a credential name.
pub fn kv_list(body: &[u8]) -> usize {
    // `Kv::send` refuses a success whose body is not JSON.
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    let (leaves, folders) = kv::listed_keys("", &v);
    leaves
        .iter()
        .chain(&folders)
        .filter(|k| credential::validate_name(k).is_ok())
        .count()
}

/// A KV v2 read answer, turned into a local credential as a pull does.
pub fn kv_read(body: &[u8], name: &str) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    match kv::read_entry(name, "secret/data/x", &v) {
        Ok(Some(entry)) => entry
            .payload
            .is_some_and(|p| p.to_local(name, None).is_ok()),
        _ => false,
    }
}

/// An AWS SecretString and tags, turned into a local credential as a pull does.
pub fn sm_secret(text: &str, tags: &[(String, String)], name: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let Ok(fields) = payload::Payload::fields_from_json(&value, "remote secret") else {
        return false;
    };
    let labels = payload::coffer_labels(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    payload::Payload { fields, labels }
        .to_local(name, None)
        .is_ok()
}

/// The decrypted payload of a backup (its author knows the passphrase).
pub fn backup_payload(plain: &[u8]) -> Result<()> {
    crate::backup::payload_accepted(plain)
}

/// A backup file image sealed with [`TINY_KDF`].
pub fn backup_image(plain: &[u8], passphrase: &SecretValue, chunk: u32) -> Result<Vec<u8>> {
    crate::backup::encrypt(plain, passphrase, TINY_KDF, chunk)
}

/// Opens a backup file image whose parameters may be as low as [`TINY_KDF`]
/// (the real floor is OWASP's; only the lower bound is relaxed).
pub fn backup_open(bytes: &[u8], passphrase: &SecretValue) -> Result<Zeroizing<Vec<u8>>> {
    crate::backup::decrypt(bytes, passphrase, "the backup", TINY_KDF).map(|(_, plain)| plain)
}

/// A decrypted credential record: its metadata and secret fields, as the
/// vault reads them.
pub fn record(meta: &[u8], secrets: &[u8]) -> bool {
    let meta: std::result::Result<CredentialMeta, _> = serde_json::from_slice(meta);
    let secrets: std::result::Result<std::collections::BTreeMap<String, SecretValue>, _> =
        serde_json::from_slice(secrets);
    match (meta, secrets) {
        (Ok(meta), Ok(secrets)) => {
            credential::validate(&meta, &credential::Secrets(secrets)).is_ok()
        }
        _ => false,
    }
}
