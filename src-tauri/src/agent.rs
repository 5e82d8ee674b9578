//! While the app runs, it is the agent of its vault: the CLI, the AWS SDKs
//! and the Vault CLI get values from the app's unlocked session (recorded
//! with the asking process) instead of unlocking again. The serving is
//! coffer_core::agent; this binds the socket once the vault exists, and
//! maps `coffer agent stop` to the app's own lock. While the app is locked
//! the agent answers "locked" and commands unlock on their own.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use coffer_core::agent::approval::Gate;
use coffer_core::agent::server::{self, Host, Listener, Options};
use tauri::{AppHandle, Emitter, Manager};

use crate::state::AppState;

/// `gate`: where questions under `ask` rules go (approval.rs's windows).
pub fn start(app: AppHandle, gate: Arc<Gate>) {
    std::thread::spawn(move || {
        let path = app.state::<AppState>().path.clone();
        // On the first run the vault does not exist yet: wait for it.
        while !path.exists() {
            std::thread::sleep(Duration::from_secs(1));
        }
        let listener = match coffer_core::agent::socket_for(&path).and_then(|s| Listener::bind(&s))
        {
            Ok(l) => l,
            Err(e) => {
                // Another agent (`coffer agent start`) may serve it already.
                tracing::info!("the app does not serve as the agent: {e}");
                return;
            }
        };
        let session = app.state::<AppState>().session();
        // Every lock of the app (its button, idle, suspend, screen lock, the
        // agent's own) forgets the yeses the agent remembered.
        let forget = Arc::clone(&gate);
        app.state::<AppState>().on_change(move |unlocked| {
            if !unlocked {
                forget.forget();
            }
        });
        let locker = app.clone();
        let options = Options {
            idle_lock: None,
            gate,
            host: Host::App {
                lock: Box::new(move || {
                    if locker.state::<AppState>().lock().is_ok() {
                        let _ = locker.emit("vault-locked", "coffer lock");
                    }
                }),
            },
            // The app locks itself on suspend and screen lock (signals.rs).
            lock_now: Arc::new(AtomicBool::new(false)),
        };
        if let Err(e) = server::serve(
            listener,
            session,
            &path,
            options,
            Arc::new(AtomicBool::new(false)),
        ) {
            tracing::warn!("the app's agent stopped: {e}");
        }
    });
}
