//! The desktop shell: builds the Tauri app over coffer-core. Commands only
//! translate between the web view and the core; state holds the vault.

mod background;
mod clipboard;
mod commands;
mod error;
mod state;

use tauri::Manager;
use tracing_subscriber::EnvFilter;

pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let state = state::AppState::start();
    tauri::Builder::default()
        // A second launch focuses the running window instead of opening the vault twice.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_notification::init())
        .manage(state)
        .setup(|app| {
            background::start(app.handle().clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::vault::vault_status,
            commands::vault::vault_create,
            commands::vault::vault_unlock,
            commands::vault::vault_unlock_passphrase,
            commands::vault::vault_lock,
            commands::vault::vault_touch,
            commands::vault::passphrase_strength,
            commands::credentials::kind_schemas,
            commands::credentials::credential_find,
            commands::credentials::credential_get,
            commands::credentials::credential_reveal,
            commands::credentials::credential_copy,
            commands::credentials::credential_validate,
            commands::credentials::credential_add,
            commands::credentials::credential_update,
            commands::credentials::credential_delete,
            commands::credentials::credential_history,
            commands::credentials::credential_rollback,
            commands::credentials::generate_secret,
            commands::rotation::rotation_get,
            commands::rotation::rotation_running,
            commands::rotation::rotation_advance,
            commands::rotation::rotation_abort,
            commands::sync::remote_list,
            commands::sync::remote_add,
            commands::sync::remote_remove,
            commands::sync::remote_test,
            commands::sync::sync_plan,
            commands::sync::sync_apply,
            commands::sync::sync_conflict,
            commands::sync::sync_reveal_remote,
            commands::sync::sync_resolve,
            commands::audit::audit_list,
            commands::audit::audit_verify,
            commands::audit::audit_actions,
            commands::settings::settings_get,
            commands::settings::preferences_set,
            commands::settings::policy_set,
            commands::settings::passphrase_set,
            commands::settings::vault_rekey,
            commands::settings::backup_create,
            commands::settings::backup_restore,
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("coffer: the desktop app failed: {e}");
            std::process::exit(1);
        });
}
