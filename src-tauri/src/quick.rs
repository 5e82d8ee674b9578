//! The quick-search window: a small window over whatever the person is
//! doing, opened from the tray or by a global shortcut (the preference
//! `quick_search_shortcut`, empty = none), that finds a credential and copies
//! its secret or user with the app's clipboard rules (`credential_copy`).
//! It is built on each open and destroyed on close, so it holds no memory
//! while unused; its capability (capabilities/quick.json) grants it search
//! and copy only.

use std::str::FromStr;
use std::sync::Mutex;

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutState};

use crate::error::IpcError;
use crate::guard::guard;
use crate::state::AppState;

pub const LABEL: &str = "quick";
/// The settings form's field an error about the shortcut belongs to.
const FIELD: &str = "quickSearchShortcut";

/// Opens (or brings forward) the quick-search window; while the vault is
/// locked, the main window instead, on its unlock screen.
pub fn open<R: Runtime>(app: &AppHandle<R>) {
    if !app.state::<AppState>().is_unlocked() {
        crate::window::show(app);
        return;
    }
    if let Some(window) = app.get_webview_window(LABEL) {
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("quick.html".into()))
        .title("Coffer: quick search")
        .inner_size(560.0, 380.0)
        .resizable(false)
        .always_on_top(true)
        .skip_taskbar(true)
        .focused(true)
        .center()
        .build();
    if let Err(e) = built {
        tracing::warn!("the quick-search window did not open: {e}");
    }
}

/// Parses a shortcut as the preference holds it ("Ctrl+Alt+K"), naming the
/// field when it is not one.
pub fn parse(text: &str) -> Result<Option<Shortcut>, IpcError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Shortcut::from_str(text).map(Some).map_err(|e| {
        IpcError::invalid(
            FIELD,
            format!(
                "quick_search_shortcut: {text:?} is not a key combination ({e}); write it like Ctrl+Alt+K"
            ),
        )
    })
}

/// The shortcut the app holds. Kept here rather than asked of the plugin:
/// releasing shortcuts when none is held still wakes the plugin's X11 side
/// (20–45 ms of the start-up, measured), and each unlock would take the same
/// shortcut again.
static HELD: Mutex<Option<Shortcut>> = Mutex::new(None);

/// Makes `text` the one global shortcut the app holds (none when empty). A
/// shortcut that cannot be taken leaves the one held before.
pub fn set_shortcut<R: Runtime>(app: &AppHandle<R>, text: &str) -> Result<(), IpcError> {
    let wanted = parse(text)?;
    let mut held = guard(&HELD);
    if *held == wanted {
        return Ok(());
    }
    let shortcuts = app.global_shortcut();
    let previous = held.take();
    if previous.is_some() {
        if let Err(e) = shortcuts.unregister_all() {
            *held = previous;
            return Err(IpcError::failure(format!(
                "the old shortcut could not be released: {e}"
            )));
        }
    }
    let Some(shortcut) = wanted else {
        return Ok(());
    };
    let take = |shortcut: Shortcut| {
        shortcuts.on_shortcut(shortcut, |app, _, event| {
            if event.state == ShortcutState::Pressed {
                open(app);
            }
        })
    };
    if let Err(e) = take(shortcut) {
        if let Some(old) = previous {
            if take(old).is_ok() {
                *held = Some(old);
            }
        }
        return Err(IpcError::invalid(
            FIELD,
            format!(
                "quick_search_shortcut: {text:?} could not be taken ({e}); another program may hold it"
            ),
        ));
    }
    *held = Some(shortcut);
    Ok(())
}

/// Stores preferences whose shortcut may differ from the one held: the new
/// one is taken first (one that names no keys, or that another program
/// holds, leaves everything as it was), and given back if `store` fails.
pub fn change_shortcut<R: Runtime, T>(
    app: &AppHandle<R>,
    old: &str,
    new: &str,
    store: impl FnOnce() -> Result<T, IpcError>,
) -> Result<T, IpcError> {
    if old == new {
        return store();
    }
    set_shortcut(app, new)?;
    store().inspect_err(|_| {
        let _ = set_shortcut(app, old);
    })
}

/// Takes the stored shortcut now if the vault is open, and at every unlock
/// (the preference is in the vault, so it is known only then). A lock keeps
/// it (pressing it then brings up the unlock screen) and closes the window.
pub fn follow_preferences<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    app.state::<AppState>().on_change(move |unlocked| {
        if unlocked {
            take_stored(&handle);
        } else if let Some(window) = handle.get_webview_window(LABEL) {
            let _ = window.destroy();
        }
    });
    if app.state::<AppState>().is_unlocked() {
        take_stored(app);
    }
}

fn take_stored<R: Runtime>(app: &AppHandle<R>) {
    let text = guard(&app.state::<AppState>().preferences)
        .quick_search_shortcut
        .clone();
    if let Err(e) = set_shortcut(app, &text) {
        tracing::warn!("the quick-search shortcut: {}", e.message);
    }
}
