//! The app's one piece of managed state: where the vault is and, while
//! unlocked, the open vault.

use std::path::PathBuf;
use std::sync::Mutex;

use chrono::Utc;
use coffer_core::audit::Actor;
use coffer_core::{paths, SecretService, Vault};

pub struct AppState {
    pub path: PathBuf,
    pub vault: Mutex<Option<Vault>>,
    /// Why the start-up unlock did not happen, shown while locked.
    pub locked_reason: Mutex<Option<String>>,
}

impl AppState {
    /// Finds the vault (`--vault PATH`, else COFFER_VAULT, else the XDG
    /// default) and tries the keyring so a person lands on an unlocked vault
    /// without a prompt.
    pub fn start() -> AppState {
        let mut args = std::env::args_os().skip(1);
        let mut from_args = None;
        while let Some(arg) = args.next() {
            if arg == "--vault" {
                from_args = args.next().map(PathBuf::from);
            }
        }
        let path = from_args
            .or_else(|| std::env::var_os("COFFER_VAULT").map(PathBuf::from))
            .or_else(|| paths::default_vault_path().ok())
            .unwrap_or_else(|| PathBuf::from(paths::DEFAULT_FILE_NAME));
        let state = AppState {
            path,
            vault: Mutex::new(None),
            locked_reason: Mutex::new(None),
        };
        if state.path.exists() {
            let _ = state.unlock_with_keyring();
        }
        state
    }

    pub fn unlock_with_keyring(&self) -> coffer_core::Result<()> {
        let result = Vault::open(&self.path).and_then(|mut vault| {
            vault.set_actor(Actor::current("app"));
            vault.unlock_with_keyring(&SecretService::connect()?, Utc::now())?;
            vault.count()?; // writes the unlock to the audit trail now
            Ok(vault)
        });
        let mut reason = self.locked_reason.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(vault) => {
                *self.vault.lock().unwrap_or_else(|p| p.into_inner()) = Some(vault);
                *reason = None;
                Ok(())
            }
            Err(e) => {
                *reason = Some(e.to_string());
                Err(e)
            }
        }
    }
}
