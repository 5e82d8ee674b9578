//! What the app's end-to-end scenarios share: the WebDriver session with the
//! app (tauri-driver serves one at a time, so each scenario holds
//! [`one_session_at_a_time`] for its whole run) and the gestures a person
//! makes in it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};

/// Cargo runs the tests of one binary on parallel threads, but tauri-driver
/// (and the app's single-instance plugin) allow one app at a time.
static DRIVER: Mutex<()> = Mutex::const_new(());

/// Held by a scenario for its whole run, so no two overlap.
pub async fn one_session_at_a_time() -> MutexGuard<'static, ()> {
    DRIVER.lock().await
}

/// Runs a scenario under a time limit. WebDriver commands wait without end,
/// so one the app never answers (seen once with WebKit's compositing off)
/// would otherwise hold CI until its own limit; this fails it with a reason.
pub async fn within(limit: Duration, scenario: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(limit, scenario).await.is_err() {
        HUNG.store(true, Ordering::SeqCst);
        panic!(
            "the scenario did not finish within {} s: a WebDriver command stopped answering \
             (the last screenshot in COFFER_E2E_SHOTS shows where it was)",
            limit.as_secs()
        );
    }
}

pub fn driver_url() -> Option<String> {
    let required = std::env::var("COFFER_TEST_E2E").as_deref() == Ok("1");
    match std::env::var("TAURI_DRIVER_URL") {
        Ok(url) => Some(url),
        Err(_) if required => panic!("COFFER_TEST_E2E=1 but TAURI_DRIVER_URL is not set"),
        Err(_) => None,
    }
}

/// Set when a scenario's session hung: the driver still holds that session,
/// so a later scenario could only fail to start its own.
static HUNG: AtomicBool = AtomicBool::new(false);

/// Processes of the app binary that are still running.
fn running_apps() -> Vec<u32> {
    let app = std::fs::canonicalize(env!("CARGO_BIN_EXE_coffer-desktop")).ok();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .ok()
                .is_some_and(|exe| Some(exe) == app)
        })
        .collect()
}

/// Whether any process of the app is running.
pub fn app_running() -> bool {
    !running_apps().is_empty()
}

pub async fn launch(driver: &str, vault: &Path) -> Client {
    assert!(
        !HUNG.load(Ordering::SeqCst),
        "not started: an earlier scenario's WebDriver session hung and still holds the driver"
    );
    // The app is single-instance: a new one started while the last one is
    // still exiting forwards its arguments to it, gets no reply and quits,
    // and the WebDriver session then waits for a window that never comes.
    // An exiting app whose main thread has ended while others still run no
    // longer shows its executable in /proc, yet still holds its D-Bus name:
    // the pids seen at the last launch are followed until no thread is left.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let earlier: Vec<u32> = guard_pids().iter().copied().filter(|p| alive(*p)).collect();
        let running = running_apps();
        if earlier.is_empty() && running.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "an earlier instance of the app (pids {running:?} {earlier:?}) did not exit within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        json!({
            "application": env!("CARGO_BIN_EXE_coffer-desktop"),
            "args": ["--vault", vault],
        }),
    );
    caps.insert("browserName".into(), json!("wry"));
    let client = ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a WebDriver session with the app");
    *guard_pids() = running_apps();
    client
}

/// The app processes seen at the last launch.
static LAUNCHED: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn guard_pids() -> std::sync::MutexGuard<'static, Vec<u32>> {
    LAUNCHED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether any thread of process `pid` is still running (not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|task| {
            std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
                stat.rfind(')')
                    .and_then(|end| stat[end + 1..].split_whitespace().next())
                    .is_some_and(|state| state != "Z" && state != "X")
            })
        })
}

pub async fn shot(c: &Client, name: &str) {
    let dir = std::env::var_os("COFFER_E2E_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("coffer-e2e-shots"));
    std::fs::create_dir_all(&dir).expect("shots dir");
    // WebKitWebDriver answers a screenshot after the page's next frame; with
    // compositing off (the app's choice without a GPU, as here) a page with
    // nothing changing never paints one and the screenshot never answers
    // (bench/webdriver-repro.py reduces it to the floor app). So the page is
    // kept painting, invisibly, while the screenshot is taken.
    c.execute(
        "const end = performance.now() + 2000; const b = document.body; \
         (function tick() { b.style.outline = b.style.outline ? '' : '1px solid transparent'; \
         if (performance.now() < end) requestAnimationFrame(tick); })();",
        vec![],
    )
    .await
    .expect("keep the page painting");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write shot");
}

/// The driven app, with the few gestures the scenario repeats.
pub struct App {
    pub c: Client,
}

/// With COFFER_E2E_TRACE=1, each gesture is printed as it starts, so a
/// WebDriver command that never answers is named (see `within`).
fn trace(gesture: &str, css: &str) {
    if std::env::var_os("COFFER_E2E_TRACE").is_some() {
        eprintln!("[e2e {:?}] {gesture} {css}", std::time::SystemTime::now());
    }
}

impl App {
    pub async fn el(&self, css: &str) -> fantoccini::elements::Element {
        trace("find", css);
        self.c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    }

    pub async fn click(&self, css: &str) {
        trace("click", css);
        // Ready means enabled too: a busy form disables its buttons.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let el = self.el(css).await;
            let why = match el.is_enabled().await {
                // A DOM click: WebKitWebDriver's native click reports errors
                // (without a message) for clicks it did deliver, so a retry
                // would click twice.
                Ok(true) => {
                    let arg = serde_json::to_value(&el).expect("element reference");
                    match self
                        .c
                        .execute(
                            "arguments[0].scrollIntoView({ block: 'center' }); arguments[0].click(); return 'ok';",
                            vec![arg],
                        )
                        .await
                    {
                        Ok(_) => return,
                        Err(e) => format!("{e:?}"),
                    }
                }
                Ok(false) => "disabled".to_owned(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                self.shot("failure").await;
                panic!("{css} never became clickable: {why}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn type_in(&self, css: &str, text: &str) {
        trace("type into", css);
        let el = self.el(css).await;
        el.clear().await.expect("clear");
        // WebDriver's clear fires no input event; the UI listens for one.
        let arg = serde_json::to_value(&el).expect("element reference");
        self.c
            .execute(
                "arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
                vec![arg],
            )
            .await
            .expect("input event");
        if !text.is_empty() {
            el.send_keys(text).await.expect("type");
        }
    }

    /// Presses `key` with Ctrl held, as keys a person types (WebDriver's
    /// key actions, to whatever has the focus).
    pub async fn ctrl(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        use fantoccini::key::Key;
        let control: char = Key::Control.into();
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: control })
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key })
            .then(KeyAction::Up { value: control });
        self.c.perform_actions(keys).await.expect("keys");
        self.c.release_actions().await.expect("release keys");
    }

    /// Presses `key` (Enter, Down…) where the focus is.
    pub async fn press(&self, key: fantoccini::key::Key) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let key: char = key.into();
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.c.perform_actions(keys).await.expect("keys");
        self.c.release_actions().await.expect("release keys");
    }

    /// The id of the element that has the focus ("" for none or `<body>`).
    pub async fn focused(&self) -> String {
        self.c
            .execute("return document.activeElement?.id ?? '';", vec![])
            .await
            .expect("script")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Sets a native `<select>` the way a person's choice would.
    pub async fn choose(&self, css: &str, value: &str) {
        self.el(css).await;
        let done = self
            .c
            .execute(
                "const el = document.querySelector(arguments[0]);
                 if (![...el.options].some(o => o.value === arguments[1])) return 'no option';
                 el.value = arguments[1];
                 el.dispatchEvent(new Event('change', { bubbles: true }));
                 el.dispatchEvent(new Event('input', { bubbles: true }));
                 return 'ok';",
                vec![json!(css), json!(value)],
            )
            .await
            .expect("select");
        assert_eq!(done, json!("ok"), "{css} has no option {value}");
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.el(css).await.text().await.unwrap_or_default()
    }

    /// Waits until the text of `css` satisfies `want`.
    pub async fn text_until(&self, css: &str, want: impl Fn(&str) -> bool) -> String {
        trace("read", css);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(el) = self.c.find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if want(&t) {
                        return t;
                    }
                    last = t;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.shot("failure").await;
        panic!("{css} never matched; last text: {last:?}");
    }

    /// axe-core's check of the page as it stands (WCAG 2.1 A and AA rules):
    /// the serious and critical violations, one line each with the first
    /// elements it names. axe is the UI's dev dependency, injected for the
    /// check only (the app never loads it).
    pub async fn axe(&self) -> Vec<String> {
        let source = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/node_modules/axe-core/axe.min.js"),
        )
        .expect("ui/node_modules/axe-core (npm ci in ui/)");
        self.c
            .execute(
                &format!("{source}\n;window.axe = axe; return true;"),
                vec![],
            )
            .await
            .expect("axe injected");
        let found = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.axe
                   .run(document, {
                     resultTypes: ['violations'],
                     runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
                   })
                   .then(
                     (r) => done(r.violations
                       .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                       .map((v) => `${v.impact} ${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`)),
                     (e) => done([`axe failed: ${e}`]),
                   );",
                vec![],
            )
            .await
            .expect("axe run");
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Cancels the add/edit form; with unsaved changes the app asks first,
    /// and the changes are discarded. Returns whether it asked.
    pub async fn cancel_form(&self) -> bool {
        self.click("#form-cancel").await;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            let shown = self
                .c
                .execute(
                    "return document.getElementById('confirm-yes') !== null;",
                    vec![],
                )
                .await
                .expect("script");
            if shown == json!(true) {
                self.click("#confirm-yes").await;
                return true;
            }
            let open = self
                .c
                .execute("return document.getElementById('form') !== null;", vec![])
                .await
                .expect("script");
            if open == json!(false) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the form neither closed nor asked about its changes within 2 s");
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.el(css).await.attr(name).await.expect("attribute")
    }

    pub async fn screen(&self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(el) = self.c.find(Locator::Css("#screen")).await {
                if el.attr("data-screen").await.ok().flatten().as_deref() == Some(want) {
                    return;
                }
            }
            if Instant::now() >= deadline {
                self.shot("failure").await;
                panic!("the {want} screen never showed");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A screenshot of the window as the README shows it: without a notice
    /// left over from the step before (dismissed, as a person would).
    pub async fn shot(&self, name: &str) {
        self.c
            .execute(
                "document.querySelector('#toast.shown #toast-dismiss')?.click();",
                vec![],
            )
            .await
            .expect("dismiss the notice");
        tokio::time::sleep(Duration::from_millis(100)).await;
        shot(&self.c, name).await;
    }

    /// Calls `command` from script in the page, as injected script would
    /// (`args` is a JavaScript object literal): what it resolved with, or
    /// the rejection as text (an IpcError as JSON).
    pub async fn invoke(&self, command: &str, args: &str) -> Result<serde_json::Value, String> {
        let said = self
            .c
            .execute_async(
                &format!(
                    "const done = arguments[arguments.length - 1];
                     window.__TAURI_INTERNALS__.invoke('{command}', {args})
                       .then((v) => done({{ ok: v ?? null }}),
                             (e) => done({{ err: typeof e === 'string' ? e : JSON.stringify(e) }}));"
                ),
                vec![],
            )
            .await
            .expect("script");
        match said.get("err").and_then(|e| e.as_str()) {
            Some(err) => Err(err.to_owned()),
            None => Ok(said["ok"].clone()),
        }
    }
}

impl App {
    /// Waits for a window other than the one in use (the agent's approval
    /// window), switches WebDriver to it, and returns the one left.
    pub async fn to_new_window(&self) -> fantoccini::wd::WindowHandle {
        let main = self.c.window().await.expect("current window");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let handles = self.c.windows().await.expect("window handles");
            if let Some(other) = handles.into_iter().find(|h| *h != main) {
                // A new window starts on an empty page and then loads its
                // own, which WebKit may give a new browsing context (and
                // WebDriver a new handle): the handle is taken again until
                // it shows the loaded page.
                let _ = self.c.switch_to_window(other).await;
                let loaded = self.page_state().await.is_some_and(|s| {
                    s.ends_with(".html|complete") && !s.starts_with("/index.html")
                });
                if loaded {
                    return main;
                }
                let _ = self.c.switch_to_window(main.clone()).await;
            }
            assert!(
                Instant::now() < deadline,
                "no second window appeared within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses a button that closes its own window (an approval answer),
    /// from script, retrying while the window does not answer: in the
    /// approval window WebKitWebDriver's find-element now and then failed
    /// with a bare error under load, while script ran fine. The click is
    /// put off until the script has answered: clicked inside the script,
    /// the window could be gone before WebKitWebDriver sent the script's
    /// result, which then failed although the press had landed (the answer
    /// given, the window closed), and the retry found nothing to press.
    pub async fn press_closing(&self, css: &str) {
        self.press_with(
            css,
            "const el = document.querySelector(arguments[0]);
             if (!el || el.disabled) return false;
             setTimeout(() => el.click(), 50);
             return true;",
        )
        .await
    }

    async fn press_with(&self, css: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let said = self.c.execute(script, vec![json!(css)]).await;
            if matches!(said, Ok(ref v) if v == &json!(true)) {
                return;
            }
            // The window's handle may have changed under us (see
            // `to_new_window`): the element is looked for in each window.
            for handle in self.c.windows().await.unwrap_or_default() {
                if self.c.switch_to_window(handle).await.is_err() {
                    continue;
                }
                let here = self.c.execute(script, vec![json!(css)]).await;
                if matches!(here, Ok(ref v) if v == &json!(true)) {
                    return;
                }
            }
            if Instant::now() >= deadline {
                // What each window shows, for the next person to look.
                let mut seen = Vec::new();
                for (i, handle) in self
                    .c
                    .windows()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                {
                    if self.c.switch_to_window(handle).await.is_ok() {
                        let text = self
                            .c
                            .execute("return location.pathname + ': ' + document.body.innerText.slice(0, 200)", vec![])
                            .await;
                        seen.push(format!("{text:?}"));
                        let _ = tokio::time::timeout(Duration::from_secs(5), async {
                            let png = self.c.screenshot().await;
                            if let Ok(png) = png {
                                let dir = std::env::var_os("COFFER_E2E_SHOTS")
                                    .map(std::path::PathBuf::from)
                                    .unwrap_or_else(|| {
                                        std::env::temp_dir().join("coffer-e2e-shots")
                                    });
                                let _ =
                                    std::fs::write(dir.join(format!("press-failed-{i}.png")), png);
                            }
                        })
                        .await;
                    }
                }
                panic!("{css} could not be pressed: {said:?}; the windows show: {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The window in use's page and load state, as `PATH|readyState`.
    async fn page_state(&self) -> Option<String> {
        self.c
            .execute(
                "return location.pathname + '|' + document.readyState",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// Switches to the main window built again after it was let go of (the
    /// handle in use is gone with the old one), once it shows its page.
    pub async fn to_rebuilt_window(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            for handle in self.c.windows().await.unwrap_or_default() {
                if self.c.switch_to_window(handle).await.is_err() {
                    continue;
                }
                let ready = self.page_state().await;
                if matches!(
                    ready.as_deref(),
                    Some("/index.html|complete" | "/|complete")
                ) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the main window was not built again within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the app has `n` windows, staying in the one in use.
    pub async fn until_windows(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.c.windows().await.expect("window handles").len() < n {
            assert!(
                Instant::now() < deadline,
                "the app did not have {n} windows within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Back to `main` once the window in use has closed.
    pub async fn back_to(&self, main: fantoccini::wd::WindowHandle) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.c.windows().await.expect("window handles").len() > 1 {
            assert!(
                Instant::now() < deadline,
                "the approval window did not close within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.c.switch_to_window(main).await.expect("switch back");
    }
}

/// A new vault at `path` sealed to the real keyring (the app unlocks with
/// it) with `recovery` as its passphrase at the lowest cost Coffer accepts.
pub fn keyring_vault(path: &Path, recovery: &coffer_core::SecretValue) -> coffer_core::Vault {
    let keyring = coffer_core::SecretService::connect().expect("the Secret Service");
    coffer_core::Vault::create(
        path,
        &coffer_core::CreateOptions {
            sealer: Some(&keyring),
            passphrase: Some(recovery),
            kdf: coffer_core::KdfParams::MIN,
        },
        chrono::Utc::now(),
    )
    .expect("create the vault")
}

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set by the test command"))
}

/// The titles of the shell's own dialogs (src-tauri/src/confirm.rs).
pub const CONFIRM: &str = "Coffer: confirm";
pub const SAVE: &str = "Coffer: write the backup to";
pub const IMPORT: &str = "Coffer: import from";

/// What a person does at one of the shell's native dialogs (drawn by GTK,
/// outside the web view, so WebDriver cannot reach it): the keys are typed
/// through the X server with xdotool.
pub enum Answer<'a> {
    /// The accept button's mnemonic, e.g. `alt+p` for "_Push".
    Accept(&'a str),
    /// Escape: the dialog closes without a yes.
    Cancel,
    /// In the save dialog: Return, saving under the name and in the folder
    /// it proposes (a typed path would open GTK's completion popup, which
    /// takes the Return).
    Save,
    /// In the open dialog: the first file of the folder it starts in (Down
    /// to it in the file list, which has the focus, then Return).
    Pick,
}

/// The dialog titled `title` is awaited (it appears once the page has
/// asked), focused and answered; the returned task ends when it has been.
/// Start it before the gesture that opens the dialog.
pub fn answer(title: &str, answer: Answer<'_>) -> tokio::task::JoinHandle<()> {
    // Keys go through XTEST to the focused window, as a person's would
    // (not sent to a window, which a toolkit may treat as forged).
    let keys: Vec<String> = match answer {
        Answer::Accept(mnemonic) => vec!["key".into(), "--clearmodifiers".into(), mnemonic.into()],
        Answer::Cancel => vec!["key".into(), "Escape".into()],
        Answer::Save => vec!["key".into(), "Return".into()],
        Answer::Pick => ["key", "--delay", "300", "Down", "Return"]
            .map(String::from)
            .to_vec(),
    };
    let title = title.to_owned();
    tokio::spawn(async move {
        let xdotool = |args: Vec<String>| async move {
            let out = tokio::process::Command::new("timeout")
                .arg("60")
                .arg("xdotool")
                .args(&args)
                .output()
                .await
                .expect("timeout + xdotool (installed by scripts/setup-debian.sh)");
            assert!(
                out.status.success(),
                "xdotool {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let found = xdotool(
            [
                "search",
                "--sync",
                "--onlyvisible",
                "--name",
                &format!("^{title}$"),
            ]
            .map(String::from)
            .to_vec(),
        )
        .await;
        let window = found
            .lines()
            .last()
            .unwrap_or_else(|| panic!("no window titled '{title}'"))
            .to_owned();
        // Without a window manager nothing focuses a new window: this is the
        // person's click on it.
        xdotool(vec!["windowfocus".into(), "--sync".into(), window]).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        xdotool(keys).await;
    })
}

/// Every row of every table of the vault file at `path`, as text: equal
/// before and after means nothing was written.
pub fn fingerprint(path: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the vault file");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    let mut rows = Vec::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
            .expect("select");
        let columns = stmt.column_count();
        let mut result = stmt.query([]).expect("query");
        while let Some(row) = result.next().expect("row") {
            let cells: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).expect("cell")))
                .collect();
            rows.push(format!("{table}: {}", cells.join(" | ")));
        }
    }
    rows
}
