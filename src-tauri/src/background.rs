//! The shell's timers: the idle lock (a backstop behind the UI's own idle
//! timer) and the heap's give-back, the rotation notifications and the
//! trash's expiry (at start, then daily).

use std::time::Duration;

use chrono::Utc;
use coffer_core::rotation::State;
use coffer_core::search::Find;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::guard::guard;
use crate::heap;
use crate::state::AppState;

const TICK: Duration = Duration::from_secs(5);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

pub fn start(app: AppHandle) {
    let idle_app = app.clone();
    let mut heap = heap::Reclaimer::default();
    std::thread::spawn(move || loop {
        std::thread::sleep(TICK);
        heap.tick();
        let state = idle_app.state::<AppState>();
        let limit = u64::from(guard(&state.preferences).auto_lock_minutes) * 60;
        let idle = guard(&state.last_activity).elapsed();
        if state.is_unlocked()
            && idle >= Duration::from_secs(limit)
            && state.lock_automatically("idle").is_ok()
        {
            let _ = idle_app.emit("vault-locked", "idle");
        }
    });
    std::thread::spawn(move || loop {
        // Give the window a moment to appear before the first notice.
        std::thread::sleep(Duration::from_secs(3));
        notify_due(&app);
        purge_expired_trash(&app);
        std::thread::sleep(DAY);
    });
}

/// Removes what has been in the trash longer than the core keeps it.
fn purge_expired_trash(app: &AppHandle) {
    let state = app.state::<AppState>();
    if let Ok(purged) = state.with_vault(|v| v.purge_expired_trash(Utc::now())) {
        if purged > 0 {
            tracing::info!(purged, "expired trash purged");
        }
    }
}

/// One notification summing up what needs rotating, if anything does.
fn notify_due(app: &AppHandle) {
    let state = app.state::<AppState>();
    if !guard(&state.preferences).notifications || !state.is_unlocked() {
        return;
    }
    let find = Find {
        states: vec![State::Compromised, State::Expired, State::Overdue],
        limit: 0,
        ..Find::default()
    };
    let Ok(found) = state.with_vault(|v| v.find(&find, Utc::now())) else {
        return;
    };
    let (urgent, soon) = (found.facets.needs_action, found.facets.due_soon);
    if urgent + soon == 0 {
        return;
    }
    let body = match (urgent, soon) {
        (0, s) => format!("{s} credential(s) are due for rotation soon."),
        (u, 0) => format!("{u} credential(s) are overdue for rotation."),
        (u, s) => format!("{u} credential(s) are overdue and {s} due soon."),
    };
    tracing::info!(urgent, soon, "rotation notice");
    let _ = app
        .notification()
        .builder()
        .title("Coffer: rotation")
        .body(body)
        .show();
}
