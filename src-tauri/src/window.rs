//! The main window, brought back from wherever it is: hidden by a close to
//! the tray, minimised, behind other windows, or let go of while the vault
//! was locked in the tray (the tray's Open, a second launch, quick search
//! asked for while locked).
//!
//! A window hidden in the tray keeps its web page, and WebKit's web process
//! keeps everything that page ever drew (docs/BENCHMARKS.md: it grows with
//! every new text shown, and only part of it is freed under memory
//! pressure). So when the vault locks while the window is hidden (or the
//! window is closed to the tray over a locked vault), the window is
//! destroyed and its web process ends with it: a lock drops the page's
//! state anyway (the page goes back to its unlock screen), so nothing the
//! person left is lost. The app, the tray and the agent keep
//! running; the window is built again from its configuration when it is
//! next asked for.
//!
//! The main window is built hidden (tauri.conf.json) and shown once its
//! page has loaded. Shown at once, GTK asks the web view to paint before
//! WebKit's web process has told the UI process its drawing state; the UI
//! process then blocks its main thread until that message comes or 500 ms
//! pass (WebKit's DrawingAreaProxy's `didUpdateBackingStoreStateTimeout`),
//! and at start the message often comes only after the wait ends: in about
//! half of the app's cold starts the page began loading 500 ms late
//! (docs/BENCHMARKS.md). By the page's `load` the web process answers at
//! once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Manager, Runtime, Webview, WebviewWindow, WebviewWindowBuilder};

const MAIN: &str = "main";

/// Set once the main window built hidden has been shown (or asked for).
static SHOWN: AtomicBool = AtomicBool::new(false);

/// The longest the main window stays hidden waiting for its page.
const AT_THE_LATEST: Duration = Duration::from_secs(3);

/// The main window's page has loaded: the window is shown, the first time.
pub fn page_loaded<R: Runtime>(webview: &Webview<R>, event: PageLoadEvent) {
    if webview.label() == MAIN
        && event == PageLoadEvent::Finished
        && !SHOWN.swap(true, Ordering::SeqCst)
    {
        let _ = webview.window().show();
    }
}

/// Shows the main window after [`AT_THE_LATEST`] if its page never said it
/// loaded (a page that failed to load still gets its window).
pub fn show_at_the_latest<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    std::thread::spawn(move || {
        std::thread::sleep(AT_THE_LATEST);
        if !SHOWN.load(Ordering::SeqCst) {
            show(&app);
        }
    });
}

/// Set while the main window is let go of on purpose: the event loop must
/// not take its destruction (the last window gone) for the app's end.
static RELEASED: AtomicBool = AtomicBool::new(false);

/// Brings the main window back. Every change to the main window (this, the
/// release below) runs on the main thread, in the order asked: a release
/// and a bringing back cannot cross, and no other thread holds a lock while
/// it waits for the main thread (a window's state is read there).
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    if let Err(e) = app.run_on_main_thread(move || show_now(&handle)) {
        tracing::warn!("the main window could not be shown: {e}");
    }
}

fn show_now<R: Runtime>(app: &AppHandle<R>) {
    SHOWN.store(true, Ordering::SeqCst);
    let window = match app.get_webview_window(MAIN) {
        Some(window) => window,
        None => match rebuild(app) {
            Ok(window) => window,
            Err(e) => {
                tracing::warn!("the main window could not be built again: {e}");
                return;
            }
        },
    };
    let _ = window.show();
    let _ = window.unminimize();
    let _ = window.set_focus();
}

/// The main window as the configuration describes it, loading the app's page.
fn rebuild<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<WebviewWindow<R>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN)
        .cloned()
        .ok_or(tauri::Error::WindowNotFound)?;
    let window = WebviewWindowBuilder::from_config(app, &config)?.build()?;
    RELEASED.store(false, Ordering::SeqCst);
    Ok(window)
}

/// The vault locked: a main window hidden in the tray is destroyed, and its
/// web process with it. A window on screen (or minimised) stays as it is.
pub fn release_if_hidden<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    if let Err(e) = app.run_on_main_thread(move || release_now(&handle)) {
        tracing::warn!("the hidden window could not be let go of: {e}");
    }
}

fn release_now<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    // A minimised window is still visible to GTK: it stays too. So does
    // one not shown yet (built hidden, its page still loading).
    if !SHOWN.load(Ordering::SeqCst) || window.is_visible().unwrap_or(true) {
        return;
    }
    RELEASED.store(true, Ordering::SeqCst);
    if let Err(e) = window.destroy() {
        RELEASED.store(false, Ordering::SeqCst);
        tracing::warn!("the hidden window could not be let go of: {e}");
    }
}

/// Whether the main window was let go of on purpose (the app keeps running
/// without a window until it is asked for again).
pub fn released() -> bool {
    RELEASED.load(Ordering::SeqCst)
}
