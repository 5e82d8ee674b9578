//! Locks the vault when the person leaves the machine (a suspend, a screen
//! lock: coffer_core::away watches for them).

use tauri::{AppHandle, Emitter, Manager};

use crate::state::AppState;

pub fn start(app: AppHandle) {
    coffer_core::away::watch(move |reason| {
        let state = app.state::<AppState>();
        if state.is_unlocked() && state.lock_automatically(reason).is_ok() {
            tracing::info!("locked: {reason}");
            let _ = app.emit("vault-locked", reason);
        }
    });
}
