//! The desktop shell: builds the Tauri app over coffer-core. Commands only
//! translate between the web view and the core; state holds the vault.

mod commands;
mod error;
mod state;

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
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::vault::vault_status,
            commands::vault::vault_unlock,
            commands::vault::vault_lock,
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("coffer: the desktop app failed: {e}");
            std::process::exit(1);
        });
}
