//! The minimal Tauri app bench/app.sh measures beside Coffer: a window and a
//! static page, nothing else. Arguments (the bench passes `--vault PATH` to
//! every app it starts) are ignored.
//!
//! With FLOOR_SECOND_WINDOW=MS in its environment it also opens a second
//! window with another static page MS milliseconds after start, as Coffer
//! opens its approval question: bench/webdriver-repro.py drives it to reduce
//! the WebDriver hang seen with WebKit's compositing off.
//!
//! It paints the way Coffer does: the app's own `render.rs` (compositing
//! only with a GPU) is compiled in and runs first, so the floor is measured
//! in the same WebKit mode as the app it is the floor of.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::time::Duration;

#[path = "../../../src-tauri/src/render.rs"]
mod render;

fn main() {
    render::choose();
    tauri::Builder::default()
        .setup(|app| {
            let delay = std::env::var("FLOOR_SECOND_WINDOW")
                .ok()
                .and_then(|ms| ms.parse().ok());
            if let Some(ms) = delay {
                let handle = app.handle().clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(ms));
                    let url = tauri::WebviewUrl::App("second.html".into());
                    tauri::WebviewWindowBuilder::new(&handle, "second", url)
                        .title("Coffer floor: second window")
                        .inner_size(520.0, 360.0)
                        .build()
                        .expect("the second window");
                });
            }
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the floor app failed to start");
}
