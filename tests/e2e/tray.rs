//! The app in the system tray, driven from a stand-in panel (`panel`): the
//! icon and the menu's first line follow the lock state, the menu locks and
//! unlocks (the page follows), the quick-search window opens from the menu
//! and from a global shortcut and copies a secret, closing the window keeps
//! the app and its agent running until the person turns that off, and Quit
//! ends it.

use std::time::{Duration, Instant};

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};

use coffer_core::SecretValue;
use fantoccini::key::Key;
use serde_json::Value;

use crate::app::{self, driver_url, launch, App};
use crate::concurrency::coffer_bin;
use crate::panel::{self, Panel};

const TITLE: &str = "Coffer";
/// A canary: the stored secret quick search copies.
const SECRET: &str = "CANARYe2eTrayQuick51";

#[tokio::test(flavor = "multi_thread")]
async fn the_app_lives_in_the_tray() {
    let Some(driver) = driver_url() else {
        eprintln!("SKIP the_app_lives_in_the_tray: TAURI_DRIVER_URL is not set");
        return;
    };
    let _session = app::one_session_at_a_time().await;
    app::within(Duration::from_secs(300), in_the_tray(&driver)).await;
}

/// Closes the window as a person does (its close button, through the
/// window manager) until `done` holds: a second press when nothing happened.
/// Here 9 requests in 24 (12 runs) never reached the app's window handler
/// (a debug print there showed nothing for them) and a second or third did.
/// GTK drops a delete request that comes while a grab is held in the
/// window's group, which may be why (not confirmed; WebDriver's synthesized
/// clicks are not it: clicks from script instead changed nothing). A close
/// that reaches the app and does the wrong thing still fails.
async fn close_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for press in 1..=4 {
        if press > 1 {
            eprintln!("{what}: the close button pressed again ({press})");
        }
        panel::close_window(TITLE);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if done().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("{what}: not after four presses of the close button, 5 s apart");
}

/// Waits up to 20 s for `what` to hold.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The tray's Open after the window was let go of: a new window, which
/// WebDriver is switched to, on `screen`.
async fn open_again(panel: &Panel, app: &App, screen: &str) {
    panel.click("Open Coffer").await;
    until("the window built again", async || {
        panel::window_shown(TITLE)
    })
    .await;
    app.to_rebuilt_window().await;
    app.screen(screen).await;
}

/// How many WebKit web processes run under the app process `app`.
fn web_processes(app: u64) -> usize {
    let mut parent: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    let mut web = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u64>().ok())
        else {
            continue;
        };
        // "pid (comm) state ppid …": the name may hold spaces, not ')'.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((name, rest)) = stat.split_once(" (").and_then(|(_, r)| r.rsplit_once(") "))
        else {
            continue;
        };
        if let Some(ppid) = rest.split(' ').nth(1).and_then(|p| p.parse::<u64>().ok()) {
            parent.insert(pid, ppid);
        }
        if name.starts_with("WebKitWebProces") {
            web.push(pid);
        }
    }
    web.into_iter()
        .filter(|&p| {
            let mut at = p;
            while let Some(&up) = parent.get(&at) {
                if up == app {
                    return true;
                }
                if up <= 1 {
                    break;
                }
                at = up;
            }
            false
        })
        .count()
}

/// What `coffer agent status --json` says of the agent serving `vault`.
fn agent_status(vault: &std::path::Path) -> Value {
    let out = std::process::Command::new(coffer_bin())
        .arg("--vault")
        .arg(vault)
        .args(["agent", "status", "--json"])
        .output()
        .expect("coffer agent status");
    serde_json::from_slice(&out.stdout).expect("the status as JSON")
}

/// Adds an API key named `name` (holding [`SECRET`]) through the CLI.
fn cli_add(vault: &std::path::Path, name: &str) {
    let mut add = Command::new(coffer_bin())
        .arg("--vault")
        .arg(vault)
        .args(["add", name, "--kind", "api-key"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("coffer add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(format!(r#"{{"key": "{SECRET}"}}"#).as_bytes())
        .expect("the secret on stdin");
    assert!(add.wait().expect("coffer add").success(), "coffer add");
}

async fn in_the_tray(driver: &str) {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let path = dir.path().join("vault").join("vault.sqlite");
    let recovery = SecretValue::from("orbit-maple-velvet-quartz-tundra-tray");
    app::keyring_vault(&path, &recovery).close().expect("close");
    cli_add(&path, "quick/demo");

    // The panel is up before the app, as on a desktop.
    let panel = Panel::start().await;
    let app = App {
        c: launch(driver, &path).await,
    };
    app.screen("credentials").await;
    // Built hidden, the window is shown once its page has loaded.
    until("the window on screen", async || panel::window_shown(TITLE)).await;
    let labels: Vec<String> = panel.entries().await.into_iter().map(|e| e.label).collect();
    assert_eq!(
        labels,
        [
            "Coffer is unlocked",
            "Open Coffer",
            "Quick search…",
            "Lock",
            "Unlock",
            "Quit Coffer"
        ],
        "the tray menu"
    );
    assert!(
        !panel.find("Coffer is unlocked").await.enabled,
        "the state line is not an action"
    );
    assert!(!panel.find("Unlock").await.enabled, "Unlock while unlocked");
    let unlocked_icon = panel.icon().await;

    // Lock from the tray: the page shows its unlock screen, the icon greys.
    panel.click("Lock").await;
    app.screen("unlock").await;
    app.text_until("#lock-note", |t| t.contains("Locked from the tray"))
        .await;
    until("the menu says locked", async || {
        panel
            .entries()
            .await
            .iter()
            .any(|e| e.label == "Coffer is locked")
    })
    .await;
    assert!(!panel.find("Lock").await.enabled, "Lock while locked");
    let locked_icon = panel.icon().await;
    assert_ne!(locked_icon, unlocked_icon, "the icon shows the lock state");
    assert_eq!(
        agent_status(&path)["unlocked"],
        false,
        "the agent is locked too"
    );

    // The list's catalog is kept beside the vault (0600) for the next
    // read; a credential added meanwhile is listed after the unlock all
    // the same (its row is read, the rest comes from the file).
    let mut kept = path.clone().into_os_string();
    kept.push(".catalog");
    let kept = std::path::PathBuf::from(kept);
    let mode = std::fs::metadata(&kept)
        .expect("the catalog kept beside the vault")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the catalog file is private");
    cli_add(&path, "quick/while-locked");

    // Unlock from the tray (the keyring): the page follows without a click.
    panel.click("Unlock").await;
    app.screen("credentials").await;
    app.el("#credential-list [data-name=\"quick/while-locked\"]")
        .await;
    until("the menu says unlocked", async || {
        panel
            .entries()
            .await
            .iter()
            .any(|e| e.label == "Coffer is unlocked")
    })
    .await;
    assert_eq!(
        panel.icon().await,
        unlocked_icon,
        "the icon is in colour again"
    );

    // Quick search from the tray: type, Enter copies the secret, the window goes.
    panel.click("Quick search…").await;
    let main = app.to_new_window().await;
    app.type_in("#quick-search", "quick/").await;
    app.el("#quick-results [data-name=\"quick/demo\"][aria-selected=\"true\"]")
        .await;
    app.press(Key::Enter).await;
    app.back_to(main.clone()).await;
    assert_eq!(crate::clipboard(), SECRET, "quick search copied the secret");

    // A global shortcut, once set in Settings, opens it too; Escape closes it.
    app.click("#nav-settings").await;
    app.screen("settings").await;
    app.type_in("#setting-quick-shortcut", "Ctrl+Alt+Nope")
        .await;
    app.click("#settings-save").await;
    app.text_until("#error-quick-shortcut", |t| {
        t.contains("not a key combination")
    })
    .await;
    app.type_in("#setting-quick-shortcut", "Ctrl+Alt+K").await;
    app.click("#settings-save").await;
    app.text_until("#toast", |t| t.to_lowercase().contains("saved"))
        .await;
    let pressed = Command::new("xdotool")
        .args(["key", "ctrl+alt+k"])
        .status()
        .expect("xdotool");
    assert!(pressed.success(), "xdotool key");
    let main = app.to_new_window().await;
    app.el("#quick-search").await;
    // Escape, sent once the script has answered (the window closes at once).
    app.c
        .execute(
            "setTimeout(() => window.dispatchEvent(new KeyboardEvent('keydown', \
             { key: 'Escape', bubbles: true })), 50);",
            vec![],
        )
        .await
        .expect("Escape");
    app.back_to(main).await;
    app.click("#nav-credentials").await;
    app.screen("credentials").await;

    // Closing the window (as the window manager asks) keeps the app and the
    // agent it hosts; the tray brings the window back.
    let pid = agent_status(&path)["pid"]
        .as_u64()
        .expect("the agent's pid");
    close_until("the window hidden", async || !panel::window_shown(TITLE)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = agent_status(&path);
    assert_eq!(status["running"], true, "the agent still serves: {status}");
    assert_eq!(status["unlocked"], true, "{status}");
    assert_eq!(status["pid"].as_u64(), Some(pid), "the same app serves it");
    panel.click("Open Coffer").await;
    until("the window shown again", async || {
        panel::window_shown(TITLE)
    })
    .await;
    app.screen("credentials").await;

    // Hidden in the tray, a lock lets go of the window and its page: the
    // web process ends, the app and the agent it hosts stay. Open builds
    // the window again, on its unlock screen.
    assert!(
        web_processes(pid) > 0,
        "the window's page has a web process"
    );
    close_until("the window hidden again", async || {
        !panel::window_shown(TITLE)
    })
    .await;
    panel.click("Lock").await;
    until("the hidden window's web process ended", async || {
        web_processes(pid) == 0
    })
    .await;
    assert!(app::app_running(), "the app runs on without its window");
    let status = agent_status(&path);
    assert_eq!(
        status["pid"].as_u64(),
        Some(pid),
        "the same app serves: {status}"
    );
    assert_eq!(status["unlocked"], false, "{status}");
    open_again(&panel, &app, "unlock").await;
    assert!(web_processes(pid) > 0, "a new web process for the new page");
    // Closed to the tray over the locked vault, it is let go of at once;
    // the tray's Unlock needs no window, and Open then shows the list.
    close_until("the locked window hidden", async || {
        !panel::window_shown(TITLE)
    })
    .await;
    until("the locked window's web process ended", async || {
        web_processes(pid) == 0
    })
    .await;
    panel.click("Unlock").await;
    until("unlocked from the tray", async || {
        agent_status(&path)["unlocked"] == true
    })
    .await;
    assert_eq!(web_processes(pid), 0, "an unlock builds no window");
    open_again(&panel, &app, "credentials").await;

    // Where no panel shows tray icons, closing quits: a hidden window would
    // leave the app out of reach.
    panel.leave().await;
    close_until("the app quit with no panel", async || !app::app_running()).await;
    let _ = app.c.close().await;
    panel.come_back().await;

    // Turned off in Settings, closing the window quits.
    let app = App {
        c: launch(driver, &path).await,
    };
    app.screen("credentials").await;
    panel.item_after(1).await;
    app.click("#nav-settings").await;
    app.screen("settings").await;
    app.click("#setting-close-to-tray").await;
    app.click("#settings-save").await;
    app.text_until("#toast", |t| t.to_lowercase().contains("saved"))
        .await;
    close_until("the app quit on close", async || !app::app_running()).await;
    let _ = app.c.close().await;

    // Quit from the tray ends the app whatever the preference.
    let app = App {
        c: launch(driver, &path).await,
    };
    app.screen("credentials").await;
    panel.item_after(2).await;
    panel.click("Quit Coffer").await;
    until("the app quit from the tray", async || !app::app_running()).await;
    let _ = app.c.close().await;
    assert_eq!(agent_status(&path)["running"], false, "no agent after Quit");
}
