//! Vault status, unlock and lock.

use serde::Serialize;
use tauri::State;

use crate::error::IpcError;
use crate::state::AppState;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultStatus {
    /// "missing", "locked" or "unlocked".
    state: &'static str,
    path: String,
    credential_count: Option<usize>,
    message: Option<String>,
}

fn status(app: &AppState) -> Result<VaultStatus, IpcError> {
    let path = app.path.display().to_string();
    let vault = app.vault.lock().unwrap_or_else(|p| p.into_inner());
    let (state, credential_count, message) = match vault.as_ref() {
        Some(v) => ("unlocked", Some(v.count()?), None),
        None if app.path.exists() => (
            "locked",
            None,
            app.locked_reason
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        ),
        None => ("missing", None, None),
    };
    Ok(VaultStatus {
        state,
        path,
        credential_count,
        message,
    })
}

#[tauri::command]
pub fn vault_status(app: State<'_, AppState>) -> Result<VaultStatus, IpcError> {
    status(&app)
}

#[tauri::command]
pub fn vault_unlock(app: State<'_, AppState>) -> Result<VaultStatus, IpcError> {
    app.unlock_with_keyring()?;
    status(&app)
}

#[tauri::command]
pub fn vault_lock(app: State<'_, AppState>) -> Result<VaultStatus, IpcError> {
    let locked = app.vault.lock().unwrap_or_else(|p| p.into_inner()).take();
    // Locking always happens; a failure to record it is still reported.
    if let Some(mut vault) = locked {
        vault.lock(chrono::Utc::now())?;
    }
    status(&app)
}
