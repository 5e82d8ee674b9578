//! What the core's unit tests share: a vault in a temporary directory,
//! sealed to an in-memory keyring (compiled only for tests), at a fixed time.

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use tempfile::TempDir;

use crate::crypto::KdfParams;
use crate::seal::memory::MemorySealer;
use crate::secret::SecretValue;
use crate::vault::{CreateOptions, Vault};

/// The tests' "now": 2026-11-23 12:00 UTC.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .expect("time")
}

/// A vault's file and keyring, kept for as long as the test needs them.
pub(crate) struct Fixture {
    pub _dir: TempDir,
    pub path: PathBuf,
    pub sealer: MemorySealer,
}

/// A new vault at `<tempdir>/v/vault.sqlite`, sealed to an in-memory keyring
/// and, with `passphrase`, to a recovery passphrase (OWASP's minimum KDF).
pub(crate) fn vault(passphrase: Option<&str>, at: DateTime<Utc>) -> (Fixture, Vault) {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("v").join("vault.sqlite");
    let sealer = MemorySealer::default();
    let passphrase = passphrase.map(SecretValue::from);
    let vault = Vault::create(
        &path,
        &CreateOptions {
            sealer: Some(&sealer),
            passphrase: passphrase.as_ref(),
            kdf: KdfParams::MIN,
        },
        at,
    )
    .expect("create");
    (
        Fixture {
            _dir: dir,
            path,
            sealer,
        },
        vault,
    )
}

impl Fixture {
    /// A second handle on the vault, unlocked through the keyring at `at`.
    pub(crate) fn reopen(&self, at: DateTime<Utc>) -> Vault {
        let mut v = Vault::open(&self.path).expect("open");
        v.unlock_with_keyring(&self.sealer, at).expect("unlock");
        v
    }
}
