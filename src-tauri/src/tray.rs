//! The tray icon: the vault's state at a glance (the app's icon in colour
//! while unlocked, greyed while locked, and the menu's first line) and a
//! menu to open, search, lock, unlock or quit without the window. Closing the window
//! keeps the app, and the agent it hosts, running here (`close_to_tray`).

use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::guard::guard;
use crate::state::AppState;

pub const ID: &str = "coffer";

/// The menu items' ids (what the menu's events carry).
mod item {
    pub const STATE: &str = "tray-state";
    pub const OPEN: &str = "tray-open";
    pub const QUICK: &str = "tray-quick";
    pub const LOCK: &str = "tray-lock";
    pub const UNLOCK: &str = "tray-unlock";
    pub const QUIT: &str = "tray-quit";
}

fn state_line(unlocked: bool) -> &'static str {
    if unlocked {
        "Coffer is unlocked"
    } else {
        "Coffer is locked"
    }
}

/// Puts the icon in the tray and keeps it in step with the vault. An error
/// (no tray on this desktop) leaves the app as it was: a window that quits
/// when closed.
pub fn start<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let Some(icon) = app.default_window_icon().cloned().map(Image::to_owned) else {
        return Err(tauri::Error::InvalidIcon(std::io::Error::other(
            "the app has no icon",
        )));
    };
    let unlocked = app.state::<AppState>().is_unlocked();
    let greyed = greyed(&icon);
    let line = MenuItem::with_id(app, item::STATE, state_line(unlocked), false, None::<&str>)?;
    let open = MenuItem::with_id(app, item::OPEN, "Open Coffer", true, None::<&str>)?;
    let quick = MenuItem::with_id(app, item::QUICK, "Quick search…", true, None::<&str>)?;
    let lock = MenuItem::with_id(app, item::LOCK, "Lock", unlocked, None::<&str>)?;
    let unlock = MenuItem::with_id(app, item::UNLOCK, "Unlock", !unlocked, None::<&str>)?;
    let quit = MenuItem::with_id(app, item::QUIT, "Quit Coffer", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &line,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &quick,
            &lock,
            &unlock,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let tray = TrayIconBuilder::with_id(ID)
        .icon(if unlocked {
            icon.clone()
        } else {
            greyed.clone()
        })
        .tooltip("Coffer")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(act)
        .build(app)?;
    app.state::<AppState>().on_change(move |unlocked| {
        let _ = line.set_text(state_line(unlocked));
        let _ = lock.set_enabled(unlocked);
        let _ = unlock.set_enabled(!unlocked);
        let _ = tray.set_icon(Some(if unlocked {
            icon.clone()
        } else {
            greyed.clone()
        }));
    });
    Ok(())
}

fn act<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        item::OPEN => crate::window::show(app),
        item::QUICK => crate::quick::open(app),
        // Off the main thread: a lock waits for whatever command holds the
        // vault (a sync, a rotation), and the window must not freeze meanwhile.
        item::LOCK => {
            let app = app.clone();
            tauri::async_runtime::spawn_blocking(move || {
                if app.state::<AppState>().lock().is_ok() {
                    let _ = app.emit("vault-locked", "tray");
                }
            });
        }
        item::UNLOCK => {
            // The keyring answers over D-Bus: off the main thread. Where it
            // cannot open the vault (or only the passphrase may), the window
            // comes up on its unlock screen, which says why.
            let app = app.clone();
            tauri::async_runtime::spawn_blocking(move || {
                match app
                    .state::<AppState>()
                    .unlock(coffer_core::UnlockWith::Keyring)
                {
                    Ok(()) => {
                        let _ = app.emit("vault-unlocked", "tray");
                    }
                    Err(_) => crate::window::show(&app),
                }
            });
        }
        item::QUIT => {
            let app = app.clone();
            tauri::async_runtime::spawn_blocking(move || {
                let _ = app.state::<AppState>().lock();
                app.exit(0);
            });
        }
        _ => {}
    }
}

/// Whether closing the main window may keep the app running: the tray is
/// up and the person has not turned the preference off. Whether a panel
/// shows the icon is asked after, by [`close_main`].
pub fn may_keep_running<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.tray_by_id(ID).is_some() && guard(&app.state::<AppState>().preferences).close_to_tray
}

/// Finishes a close of the main window that was held back: hidden when a
/// panel shows the tray icon, closed for good (which quits) when none does.
/// The panel is asked over D-Bus on a thread of its own, so a slow or stuck
/// session bus never holds the UI thread (a method call waits up to 25 s).
/// A window closed to the tray over a locked vault is let go of at once
/// (window.rs): its page holds nothing but the unlock screen.
pub fn close_main<R: Runtime>(window: tauri::Window<R>) {
    tauri::async_runtime::spawn_blocking(move || {
        if !panel_shows_icons() {
            if let Err(e) = window.destroy() {
                tracing::warn!("the main window could not be closed: {e}");
            }
            return;
        }
        match window.hide() {
            Ok(()) if !window.state::<AppState>().is_unlocked() => {
                crate::window::release_if_hidden(window.app_handle());
            }
            Ok(()) => {}
            Err(e) => tracing::warn!("the main window could not be hidden: {e}"),
        }
    });
}

/// Whether a panel on this desktop shows tray icons: a StatusNotifierWatcher
/// on the session bus with a host registered. Without one (stock GNOME
/// without its AppIndicator extension) the icon is nowhere to be seen, and
/// a window hidden on close would leave the app running out of reach.
fn panel_shows_icons() -> bool {
    let watcher = |conn: &zbus::blocking::Connection| {
        zbus::blocking::Proxy::new(
            conn,
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.kde.StatusNotifierWatcher",
        )?
        .get_property::<bool>("IsStatusNotifierHostRegistered")
    };
    zbus::blocking::Connection::session()
        .and_then(|conn| watcher(&conn))
        .unwrap_or(false)
}

/// The locked icon: the app's own, grey and faded.
fn greyed(icon: &Image<'_>) -> Image<'static> {
    let mut rgba = icon.rgba().to_vec();
    for px in rgba.chunks_exact_mut(4) {
        let [r, g, b, a] = [px[0], px[1], px[2], px[3]].map(u32::from);
        let grey = ((r * 30 + g * 59 + b * 11) / 100) as u8;
        px[..3].fill(grey);
        px[3] = (a * 55 / 100) as u8;
    }
    Image::new_owned(rgba, icon.width(), icon.height())
}
