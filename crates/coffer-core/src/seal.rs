//! The OS keyring: where a vault's keyring slot keeps its key-encryption key.
//!
//! Everything keyring-specific sits behind [`Sealer`]. The shipped
//! implementation is [`SecretService`] (the freedesktop Secret Service over
//! D-Bus, as served by gnome-keyring or KeePassXC); there is no in-memory or
//! mock store in the library. A missing entry is `Ok(None)`; every platform
//! failure is a typed [`SealError`] that says what to do.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use keyring_core::api::CredentialStoreApi;
use keyring_core::Error as KeyringError;

use crate::secret::Key32;

/// The keyring service name under which every vault's key-encryption key is stored.
pub const KEYRING_SERVICE: &str = "coffer";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("no D-Bus session bus is reachable ({detail}); the Secret Service needs one — unlock with the recovery passphrase instead (--passphrase-file or the prompt)")]
    NoSessionBus { detail: String },

    #[error("no Secret Service provider answers on the D-Bus session bus ({detail}); start gnome-keyring (or enable KeePassXC's Secret Service integration), or unlock with the recovery passphrase")]
    NoService { detail: String },

    #[error("the keyring collection is locked or access was refused ({detail}); unlock your login keyring, or unlock with the recovery passphrase")]
    Locked { detail: String },

    #[error(
        "the key-encryption key did not persist in the keyring: {detail}; refusing to rely on it"
    )]
    NotPersisted { detail: String },

    #[error("the keyring entry for this vault does not hold a 32-byte key (it was changed by something else)")]
    BadEntry,

    #[error("keyring failure: {detail}")]
    Platform { detail: String },
}

/// Where key-encryption keys are kept, one per vault id.
pub trait Sealer: Send + Sync {
    /// A short description of the backend, for `doctor` and messages.
    fn backend(&self) -> String;
    /// Stores `kek` for the vault (callers use [`store_verified`]).
    fn store(&self, vault_id: &str, kek: &Key32) -> Result<(), SealError>;
    /// The stored key, or `None` when the keyring has no entry for the vault.
    fn load(&self, vault_id: &str) -> Result<Option<Key32>, SealError>;
    /// Removes the entry; a missing entry is not an error.
    fn remove(&self, vault_id: &str) -> Result<(), SealError>;
    /// Every Coffer entry: (vault id, key). Read only to explain a vault the
    /// keyring has no entry for (was its vault id edited?).
    fn entries(&self) -> Result<Vec<(String, Key32)>, SealError> {
        Ok(Vec::new())
    }
}

/// Stores `kek` and reads it back: some providers accept a write and drop it
/// (a session-only collection, a misconfigured proxy), and a vault must never
/// depend on a key that is not really there.
pub fn store_verified(sealer: &dyn Sealer, vault_id: &str, kek: &Key32) -> Result<(), SealError> {
    sealer.store(vault_id, kek)?;
    match sealer.load(vault_id) {
        Ok(Some(back)) if back.expose_secret() == kek.expose_secret() => Ok(()),
        Ok(Some(_)) => Err(SealError::NotPersisted {
            detail: "reading it back returned a different value".into(),
        }),
        Ok(None) => Err(SealError::NotPersisted {
            detail: "reading it back found no entry".into(),
        }),
        Err(e) => Err(SealError::NotPersisted {
            detail: format!("reading it back failed: {e}"),
        }),
    }
}

/// The freedesktop Secret Service, reached over the D-Bus session bus.
pub struct SecretService {
    store: Arc<zbus_secret_service_keyring_store::Store>,
}

impl SecretService {
    /// Connects to the Secret Service on the session bus.
    pub fn connect() -> Result<Self, SealError> {
        if let Some(detail) = missing_session_bus() {
            return Err(SealError::NoSessionBus { detail });
        }
        let store = zbus_secret_service_keyring_store::Store::new().map_err(classify)?;
        Ok(Self { store })
    }

    fn entry(&self, vault_id: &str) -> Result<keyring_core::Entry, SealError> {
        let label = format!("Coffer vault key ({vault_id})");
        let mut mods = HashMap::new();
        mods.insert("label", label.as_str());
        self.store
            .build(KEYRING_SERVICE, vault_id, Some(&mods))
            .map_err(classify)
    }
}

impl Sealer for SecretService {
    fn backend(&self) -> String {
        "Secret Service (D-Bus)".to_string()
    }

    fn store(&self, vault_id: &str, kek: &Key32) -> Result<(), SealError> {
        self.entry(vault_id)?
            .set_secret(kek.expose_secret())
            .map_err(classify)
    }

    fn load(&self, vault_id: &str) -> Result<Option<Key32>, SealError> {
        let entry = self.entry(vault_id)?;
        match entry.get_secret() {
            Ok(bytes) => {
                let bytes = zeroize::Zeroizing::new(bytes);
                Key32::from_slice(&bytes)
                    .map(Some)
                    .ok_or(SealError::BadEntry)
            }
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    fn remove(&self, vault_id: &str) -> Result<(), SealError> {
        match self.entry(vault_id)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    fn entries(&self) -> Result<Vec<(String, Key32)>, SealError> {
        let spec = HashMap::from([("service", KEYRING_SERVICE)]);
        let mut out = Vec::new();
        for entry in self.store.search(&spec).map_err(classify)? {
            let Some(id) = entry
                .get_attributes()
                .ok()
                .and_then(|a| a.get("username").cloned())
            else {
                continue;
            };
            if let Ok(bytes) = entry.get_secret() {
                let bytes = zeroize::Zeroizing::new(bytes);
                if let Some(kek) = Key32::from_slice(&bytes) {
                    out.push((id, kek));
                }
            }
        }
        Ok(out)
    }
}

/// Maps a keyring error to a [`SealError`] without ever formatting payload
/// bytes (`BadEncoding`/`BadDataFormat` carry the stored data).
fn classify(err: KeyringError) -> SealError {
    match err {
        KeyringError::NoStorageAccess(e) => SealError::Locked {
            detail: e.to_string(),
        },
        KeyringError::PlatformFailure(e) => {
            let detail = e.to_string();
            if detail.contains("no secret service provider")
                || detail.contains("ServiceUnknown")
                || detail.contains("was not provided by any .service files")
            {
                SealError::NoService { detail }
            } else {
                SealError::Platform { detail }
            }
        }
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(_, _) => SealError::BadEntry,
        KeyringError::NoEntry => SealError::Platform {
            detail: "no matching entry".into(),
        },
        other => SealError::Platform {
            detail: format!("{other}"),
        },
    }
}

/// The program that owns `org.freedesktop.secrets` on the session bus (e.g.
/// `gnome-keyring-daemon`, `keepassxc`), without activating one.
pub fn secret_service_provider() -> Option<String> {
    let conn = zbus::blocking::Connection::session().ok()?;
    let bus = zbus::blocking::fdo::DBusProxy::new(&conn).ok()?;
    let name = zbus::names::BusName::try_from("org.freedesktop.secrets").ok()?;
    let pid = bus.get_connection_unix_process_id(name).ok()?;
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    exe.or_else(|| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()
            .map(|s| s.trim().to_owned())
    })
    .map(|program| format!("{program} (pid {pid})"))
}

/// `Some(reason)` when no session bus address can be found, the way
/// libdbus and zbus look for one.
pub fn missing_session_bus() -> Option<String> {
    if let Some(addr) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS") {
        if !addr.is_empty() {
            return None;
        }
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(format!("/run/user/{}", rustix::process::getuid().as_raw()))
        });
    let socket = runtime.join("bus");
    if socket.exists() {
        None
    } else {
        Some(format!(
            "DBUS_SESSION_BUS_ADDRESS is unset and {} does not exist",
            socket.display()
        ))
    }
}

#[cfg(test)]
pub(crate) mod memory {
    //! An in-memory sealer for the core's unit tests only; it is compiled
    //! into test builds and never into the shipped library.
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    pub struct MemorySealer {
        entries: Mutex<HashMap<String, [u8; 32]>>,
        pub fail_with_locked: std::sync::atomic::AtomicBool,
        /// Accepts writes and drops them, like a broken provider.
        pub forgetful: std::sync::atomic::AtomicBool,
    }

    impl MemorySealer {
        fn check(&self) -> Result<(), SealError> {
            if self
                .fail_with_locked
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return Err(SealError::Locked {
                    detail: "test".into(),
                });
            }
            Ok(())
        }
    }

    impl Sealer for MemorySealer {
        fn backend(&self) -> String {
            "memory (tests)".into()
        }
        fn store(&self, vault_id: &str, kek: &Key32) -> Result<(), SealError> {
            self.check()?;
            if self.forgetful.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(());
            }
            self.entries
                .lock()
                .expect("lock")
                .insert(vault_id.to_owned(), *kek.expose_secret());
            Ok(())
        }
        fn load(&self, vault_id: &str) -> Result<Option<Key32>, SealError> {
            self.check()?;
            Ok(self
                .entries
                .lock()
                .expect("lock")
                .get(vault_id)
                .map(|k| Key32::from_bytes(*k)))
        }
        fn remove(&self, vault_id: &str) -> Result<(), SealError> {
            self.check()?;
            self.entries.lock().expect("lock").remove(vault_id);
            Ok(())
        }
        fn entries(&self) -> Result<Vec<(String, Key32)>, SealError> {
            self.check()?;
            Ok(self
                .entries
                .lock()
                .expect("lock")
                .iter()
                .map(|(id, k)| (id.clone(), Key32::from_bytes(*k)))
                .collect())
        }
    }
}
