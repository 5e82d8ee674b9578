//! The minimal Tauri app bench/app.sh measures beside Coffer: a window and a
//! static page, nothing else. Arguments (the bench passes `--vault PATH` to
//! every app it starts) are ignored.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the floor app failed to start");
}
