//! The main window, brought back from wherever it is: hidden by a close to
//! the tray, minimised, or behind other windows (the tray's Open, a second
//! launch, quick search asked for while locked).

use tauri::{AppHandle, Manager, Runtime};

pub fn show<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}
