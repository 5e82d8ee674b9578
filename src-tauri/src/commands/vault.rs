//! Vault status, creation, unlock, lock and the idle timer's touch.

use chrono::Utc;
use coffer_core::slot::SlotKind;
use coffer_core::strength;
use coffer_core::{CreateOptions, KdfParams, SecretService, SecretValue, UnlockWith, Vault};
use tauri::AppHandle;

use crate::dto::{StrengthView, VaultState, VaultStatus};
use crate::error::IpcError;
use crate::guard::guard;
use crate::state::{blocking, AppState};

pub fn status(app: &AppState) -> Result<VaultStatus, IpcError> {
    let exists = app.path.exists();
    let slots = if exists {
        Vault::open(&app.path)
            .and_then(|v| v.info())
            .ok()
            .map(|i| i.slots)
    } else {
        None
    };
    let has = |kind: SlotKind| {
        slots
            .as_ref()
            .map(|s| s.iter().any(|slot| slot.kind == kind))
    };
    // The lock flag, not the vault: a status never waits behind a command
    // holding the vault (the catalog's first read, a sync, an import).
    let unlocked = app.is_unlocked();
    let report = guard(&app.unlock_report).clone();
    let preferences = guard(&app.preferences).clone();
    Ok(VaultStatus {
        state: match (exists, unlocked) {
            (_, true) => VaultState::Unlocked,
            (true, false) => VaultState::Locked,
            (false, false) => VaultState::Missing,
        },
        path: app.path.display().to_string(),
        message: if !unlocked {
            guard(&app.locked_reason).clone()
        } else {
            None
        },
        locked_before: app.was_locked(),
        has_keyring: has(SlotKind::Keyring),
        has_passphrase: has(SlotKind::Passphrase),
        passphrase_required: guard(&app.passphrase_needed).is_some(),
        failed_attempts: report.failed_attempts,
        failed_since: report.failed_since.map(|t| t.to_rfc3339()),
        auto_lock_minutes: preferences.auto_lock_minutes,
        clipboard_seconds: preferences.clipboard_seconds,
    })
}

#[tauri::command]
pub async fn vault_status(app: AppHandle) -> Result<VaultStatus, IpcError> {
    blocking(&app, status).await
}

#[tauri::command]
pub async fn vault_create(
    app: AppHandle,
    recovery_passphrase: Option<SecretValue>,
) -> Result<VaultStatus, IpcError> {
    blocking(&app, move |app| {
        let recovery = recovery_passphrase;
        if let Some(p) = recovery.as_ref() {
            strength::require_recovery(p)?;
        }
        let keyring = SecretService::connect().map_err(coffer_core::Error::from)?;
        let options = CreateOptions {
            sealer: Some(&keyring),
            passphrase: recovery.as_ref(),
            kdf: KdfParams::DEFAULT,
        };
        let vault = Vault::create(&app.path, &options, Utc::now())?;
        app.adopt(vault);
        status(app)
    })
    .await
}

#[tauri::command]
pub async fn vault_unlock(app: AppHandle) -> Result<VaultStatus, IpcError> {
    blocking(&app, |app| {
        app.unlock(UnlockWith::Keyring)?;
        status(app)
    })
    .await
}

#[tauri::command]
pub async fn vault_unlock_passphrase(
    app: AppHandle,
    passphrase: SecretValue,
) -> Result<VaultStatus, IpcError> {
    blocking(&app, move |app| {
        app.unlock(UnlockWith::Passphrase(&passphrase))?;
        status(app)
    })
    .await
}

#[tauri::command]
/// Locks now; `automatic` when the UI's idle timer asks (then the
/// passphrase-after-an-automatic-lock preference applies).
pub async fn vault_lock(app: AppHandle, automatic: Option<bool>) -> Result<VaultStatus, IpcError> {
    blocking(&app, move |app| {
        if automatic == Some(true) {
            app.lock_automatically("idle")?;
        } else {
            app.lock()?;
        }
        status(app)
    })
    .await
}

#[tauri::command]
pub fn vault_touch(app: tauri::State<'_, AppState>) {
    app.touch();
}

#[tauri::command]
pub async fn passphrase_strength(
    app: AppHandle,
    passphrase: SecretValue,
) -> Result<StrengthView, IpcError> {
    blocking(&app, move |_| Ok(strength::estimate(&passphrase).into())).await
}
