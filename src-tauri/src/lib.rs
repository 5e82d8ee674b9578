//! The desktop shell: builds the Tauri app over coffer-core. Commands only
//! translate between the web view and the core; state holds the vault.

mod agent;
mod approval;
mod background;
mod clipboard;
mod commands;
mod confirm;
#[cfg(test)]
mod contract;
mod dto;
mod error;
mod guard;
mod heap;
mod quick;
mod render;
mod signals;
mod state;
mod tray;
mod window;

use tauri::Manager;
use tracing_subscriber::EnvFilter;

pub fn run() {
    // Before any thread starts: compositing only with a GPU, two heaps.
    render::choose();
    heap::limit_arenas();
    // No core file, no reading of this process by the user's other ones.
    coffer_core::process::harden();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let state = state::AppState::start();
    tauri::Builder::default()
        // A second launch focuses the running window instead of opening the vault twice.
        // (It also brings back a window hidden in the tray.)
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::show(app)
        }))
        .plugin(tauri_plugin_notification::init())
        // Rust-side only (confirm.rs): none of its commands is granted to the page.
        .plugin(tauri_plugin_dialog::init())
        .plugin(navigation_guard())
        // Rust-side only (quick.rs): the page cannot take or read shortcuts.
        .plugin(tauri_plugin_global_shortcut::Builder::new().build())
        .manage(state)
        .on_page_load(|webview, payload| window::page_loaded(webview, payload.event()))
        .setup(|app| {
            background::start(app.handle().clone());
            signals::start(app.handle().clone());
            let approvals = approval::Approvals::new(app.handle().clone());
            let gate = std::sync::Arc::clone(&approvals.gate);
            app.manage(approvals);
            agent::start(app.handle().clone(), gate);
            quick::follow_preferences(app.handle());
            // A desktop without a tray (or without the indicator library,
            // which the tray loads at run time and panics without) keeps the
            // window that quits when closed.
            let handle = app.handle().clone();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                tray::start(&handle)
            })) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::info!("no tray icon: {e}"),
                Err(_) => tracing::info!("no tray icon: the indicator library did not load"),
            }
            // A lock while the window is hidden in the tray lets go of its page.
            let handle = app.handle().clone();
            app.state::<state::AppState>().on_change(move |unlocked| {
                if !unlocked {
                    window::release_if_hidden(&handle);
                }
            });
            app.state::<state::AppState>().warm_up();
            window::show_at_the_latest(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" && tray::may_keep_running(window.app_handle()) {
                    api.prevent_close();
                    tray::close_main(window.clone());
                }
            }
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
            commands::trash::credential_delete,
            commands::trash::trash_list,
            commands::trash::trash_restore,
            commands::trash::trash_purge,
            commands::transfer::import_preview,
            commands::transfer::import_apply,
            commands::transfer::backup_choose,
            commands::credentials::credential_history,
            commands::credentials::credential_rollback,
            commands::credentials::credential_reviewed,
            commands::credentials::generate_secret,
            commands::rotation::rotation_get,
            commands::rotation::rotation_running,
            commands::rotation::rotation_advance,
            commands::rotation::rotation_abort,
            commands::rotation::leases_list,
            commands::sync::remote_list,
            commands::sync::remote_add,
            commands::sync::remote_get,
            commands::sync::remote_edit,
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
            commands::approval::approval_get,
            commands::approval::approval_answer,
            commands::approval::approval_code,
        ])
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("coffer: the desktop app failed: {e}");
            std::process::exit(1);
        })
        .run(|_app, event| {
            // The last window gone ends the app, unless it was the hidden
            // main window let go of at a lock (window.rs): the tray and the
            // agent keep running. A quit (tray, `exit`) carries a code.
            if let tauri::RunEvent::ExitRequested {
                code: None, api, ..
            } = &event
            {
                if window::released() {
                    api.prevent_exit();
                }
            }
        });
}

/// The web view stays on the app's own pages: a navigation anywhere else
/// (a link, or `location = …` from script injected into the page) is
/// refused, so no other origin ever runs with the page's IPC.
fn navigation_guard<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("navigation-guard")
        .on_navigation(|_, url| {
            let own = own_origin(url);
            if !own {
                tracing::warn!(
                    scheme = url.scheme(),
                    "navigation away from the app refused"
                );
            }
            own
        })
        .build()
}

/// The app's own origin: its bundled pages (`tauri://localhost`, or
/// `http(s)://tauri.localhost` where the platform serves them that way).
fn own_origin(url: &tauri::Url) -> bool {
    matches!(
        (url.scheme(), url.host_str()),
        ("tauri", Some("localhost")) | ("http" | "https", Some("tauri.localhost"))
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    include!("../command_names.rs");

    fn read(path: &str) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A command's name is written once, in `generate_handler!` above
    /// (build.rs reads its permissions from there); the capability that
    /// grants it and the UI module that calls it must name the same set.
    #[test]
    fn every_command_is_granted_and_called_and_nothing_else() {
        let commands: BTreeSet<String> = command_names(&read("src-tauri/src/lib.rs"))
            .into_iter()
            .collect();
        assert!(commands.len() > 30, "{commands:?}");

        // The approval windows' commands are theirs alone; the main
        // window gets every other one.
        let approval: BTreeSet<String> = ["approval_get", "approval_answer", "approval_code"]
            .map(String::from)
            .into();
        let main: BTreeSet<String> = commands.difference(&approval).cloned().collect();
        // The quick-search window may search and copy, as the main one does.
        let quick: BTreeSet<String> = ["kind_schemas", "credential_find", "credential_copy"]
            .map(String::from)
            .into();
        assert!(quick.is_subset(&main));
        for (file, window, expected) in [
            ("main.json", "main", &main),
            ("approval.json", "approve-*", &approval),
            ("quick.json", "quick", &quick),
        ] {
            let capability: serde_json::Value =
                serde_json::from_str(&read(&format!("src-tauri/capabilities/{file}")))
                    .expect("capability JSON");
            assert_eq!(capability["windows"], serde_json::json!([window]), "{file}");
            let granted: BTreeSet<String> = capability["permissions"]
                .as_array()
                .expect("permissions")
                .iter()
                .filter_map(|p| p.as_str()?.strip_prefix("allow-"))
                .map(|p| p.replace('-', "_"))
                .collect();
            assert_eq!(
                &granted, expected,
                "capabilities/{file} grants other commands than its window's"
            );
        }

        for (module, expected) in [
            ("ui/src/lib/ipc.ts", &main),
            ("ui/src/approve/ipc.ts", &approval),
            ("ui/src/quick/ipc.ts", &quick),
        ] {
            let called: BTreeSet<String> = read(module)
                .split("call")
                .skip(1)
                .filter_map(|rest| {
                    let rest = match rest.strip_prefix('<') {
                        Some(generic) => &generic[generic.find(">(")? + 1..],
                        None => rest,
                    };
                    let quoted = rest.strip_prefix("('")?;
                    Some(quoted[..quoted.find('\'')?].to_owned())
                })
                .collect();
            assert_eq!(
                &called, expected,
                "{module} calls other commands than its window is granted"
            );
        }
    }

    #[test]
    fn only_the_apps_own_pages_may_be_navigated_to() {
        let url = |u: &str| tauri::Url::parse(u).expect("url");
        assert!(super::own_origin(&url("tauri://localhost/index.html")));
        assert!(super::own_origin(&url("http://tauri.localhost/#/audit")));
        for away in [
            "https://example.com/",
            "http://localhost:8080/",
            "tauri://localhost.example.com/",
            "http://tauri.localhost.example.com/",
            "file:///etc/passwd",
            "data:text/html,hi",
            "about:blank",
        ] {
            assert!(!super::own_origin(&url(away)), "{away}");
        }
    }
}
