//! The desktop app in a real window: started by tauri-driver under Xvfb and
//! driven over WebDriver (WebKitWebDriver), against a vault sealed to the
//! real Secret Service. The README's test command provides all three and
//! sets COFFER_TEST_E2E=1; without it these tests are reported as skipped.
//! Here: one person's session over every screen; `concurrency` has the app
//! as one of several writers of a vault; `tray` drives the tray icon from a
//! stand-in panel (`panel`). They never overlap (`app`).

mod app;
mod concurrency;
mod panel;
mod signals;
mod tray;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use coffer_core::audit::{Action, Query};
use coffer_core::{Sealer, SecretService, Vault};
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::{json, Value};

use app::{driver_url, env, launch, Answer, App};

/// The clipboard as another X client sees it (empty when it holds nothing).
pub(crate) fn clipboard() -> String {
    let out = std::process::Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .output()
        .expect("xclip (installed by scripts/setup-debian.sh)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bao_read(path: &str) -> Value {
    let out = std::process::Command::new("curl")
        .args(["-sf", "-H"])
        .arg(format!("X-Vault-Token: {}", env("BAO_ROOT_TOKEN")))
        .arg(format!("{}/v1/secret/data/{path}", env("BAO_ADDR")))
        .output()
        .expect("curl");
    assert!(out.status.success(), "OpenBao has no {path}");
    serde_json::from_slice(&out.stdout).expect("OpenBao JSON")
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_below(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// The MFA device of the e2e AWS key (moto takes any six-digit code).
const MFA_DEVICE: &str = "arn:aws:iam::123456789012:mfa/e2e";

/// Adds a credential through the form and waits for its detail pane.
async fn add(app: &App, kind: &str, name: &str, fields: &[(&str, &str)], extra: &[(&str, &str)]) {
    app.click("#nav-credentials").await;
    app.click("#add-credential").await;
    app.el("#form").await;
    app.choose("#form-kind", kind).await;
    app.type_in("#form-name", name).await;
    for (field, value) in fields {
        app.type_in(&format!("#field-{field}"), value).await;
    }
    for (css, value) in extra {
        app.type_in(css, value).await;
    }
    app.click("#form-save").await;
    app.el(&format!("#detail[data-name=\"{name}\"]")).await;
    // Focus goes to the saved credential's heading, not <body>.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.focused().await != "detail-name" {
        assert!(
            Instant::now() < deadline,
            "focus after saving {name}: '{}'",
            app.focused().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_uses_every_screen_of_the_app() {
    let Some(driver) = driver_url() else {
        eprintln!("SKIP a_person_uses_every_screen_of_the_app: TAURI_DRIVER_URL is not set");
        return;
    };
    let _session = app::one_session_at_a_time().await;
    // About a minute when well; ten leaves room for a slow machine.
    app::within(Duration::from_secs(600), every_screen(&driver)).await;
}

async fn every_screen(driver: &str) {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let path = dir.path().join("vault").join("vault.sqlite");
    let recovery = "tundra-velvet-orbit-maple-quartz-e2e";
    // Canaries: values that must never reach a file outside the vault's ciphertext.
    let api_key = "CANARYe2eApiKey4f1c9a";
    let db_password = "CANARYe2eDbPass7d2b10";
    let db_password_2 = "CANARYe2eDbPassNext88";
    let aws_secret = "CANARYe2eAwsSecret5e3";
    let prefix = format!("e2e-{}/", std::process::id());

    // 1. First run: the vault is created sealed to the keyring, with a recovery passphrase.
    let app = App {
        c: launch(driver, &path).await,
    };
    app.screen("first-run").await;
    app.type_in("#recovery-passphrase", "password1").await;
    app.text_until("#strength", |t| t.contains("weak")).await;
    app.type_in("#recovery-passphrase", recovery).await;
    app.type_in("#recovery-confirm", recovery).await;
    app.text_until("#strength", |t| t.contains("strong")).await;
    app.shot("01-first-run").await;
    app.click("#create-vault").await;
    app.screen("credentials").await;
    assert!(path.exists(), "the vault file was created");

    // 1b. The empty vault offers Import: a 1Password export picked in the
    // shell's own file chooser (it starts in the person's documents folder,
    // from the XDG user dirs it reads when it asks), previewed, imported.
    let documents = dir.path().join("Documents");
    std::fs::create_dir_all(&documents).expect("documents");
    std::fs::write(
        Path::new(&env("XDG_CONFIG_HOME")).join("user-dirs.dirs"),
        format!("XDG_DOCUMENTS_DIR=\"{}\"\n", documents.display()),
    )
    .expect("user-dirs.dirs");
    let export = documents.join("1password-export.csv");
    std::fs::write(
        &export,
        "Title,Url,Username,Password,OTPAuth,Favorite,Archived,Tags,Notes\n\
         E2E import,https://one.example,e2e-user,CANARYe2eImported7,,false,false,,\n",
    )
    .expect("export");
    app.choose("#import-format", "1password-csv").await;
    let asked = app::answer(app::IMPORT, Answer::Pick);
    app.click("#import-choose").await;
    asked.await.expect("the file chooser was answered");
    app.text_until("#import-summary", |t| {
        t.contains("1password-export.csv") && t.contains("1 credential")
    })
    .await;
    app.shot("11-import-preview").await;
    app.click("#import-run").await;
    app.text_until("#toast", |t| t.contains("1 credential imported"))
        .await;
    std::fs::remove_file(&export).expect("the export goes");

    // 1c. Delete goes to the trash with an Undo; the trash empties for good
    // only after the shell's own dialog.
    app.click("#credential-list [data-name=\"E2E import\"]")
        .await;
    app.el("#detail[data-name=\"E2E import\"]").await;
    app.click("#delete").await;
    app.text_until("#toast", |t| t.contains("Moved E2E import to the trash"))
        .await;
    app.click("#toast-action").await;
    app.el("#detail[data-name=\"E2E import\"]").await;
    app.click("#delete").await;
    app.text_until("#toast", |t| t.contains("Moved E2E import to the trash"))
        .await;
    app.click("#nav-settings").await;
    app.screen("settings").await;
    app.text_until("#trash", |t| t.contains("E2E import")).await;
    app.c
        .execute(
            "document.getElementById('trash-panel').scrollIntoView({ block: 'center' });",
            vec![],
        )
        .await
        .expect("scroll");
    app.shot("12-trash").await;
    let asked = app::answer(app::CONFIRM, Answer::Accept("alt+d"));
    app.click("#trash-purge-all").await;
    asked.await.expect("the purge's confirmation was answered");
    app.el("#trash-none").await;
    app.click("#nav-credentials").await;
    app.screen("credentials").await;

    // 2. Settings: a short clipboard timeout for this run.
    app.click("#nav-settings").await;
    app.screen("settings").await;
    app.type_in("#setting-clipboard", "5").await;
    app.click("#settings-save").await;
    app.text_until("#toast", |t| t.to_lowercase().contains("saved"))
        .await;
    app.shot("09-settings").await;

    // 3. Bad input is caught next to the field, and what was typed stays.
    app.click("#nav-credentials").await;
    app.click("#add-credential").await;
    app.choose("#form-kind", "api-key").await;
    app.type_in("#form-name", "/bad name/").await;
    app.type_in("#field-key", api_key).await;
    app.click("#form-save").await;
    app.el("#error-name").await;
    let kept = app.attr("#form-name", "value").await;
    assert_eq!(
        app.c
            .execute("return document.querySelector('#form-name').value", vec![])
            .await
            .expect("value"),
        json!("/bad name/"),
        "{kept:?}"
    );
    app.shot("05-add-form-errors").await;
    // What was typed is not dropped without a question.
    assert!(
        app.cancel_form().await,
        "cancelling a half-typed form asks first"
    );

    // 4. Credentials of four kinds; the database passwords expire in five
    // days. One is a PostgreSQL role of the test run's cluster, which the
    // wizard later changes in the database.
    let soon = (Utc::now() + chrono::Duration::days(5))
        .format("%Y-%m-%d")
        .to_string();
    let pg_role = format!("e2e_{:08x}", std::process::id());
    let pg_old = "e2e-Pg-old-password";
    let psql = |role: &str, password: &str, sql: &str| {
        std::process::Command::new(env("PSQL_BIN"))
            .args(["-X", "-w", "-tA", "-h", "127.0.0.1", "-p", &env("PG_PORT")])
            .args(["-U", role, "-d", "postgres", "-c", sql])
            .env("PGPASSWORD", password)
            .output()
            .expect("psql")
    };
    let made = psql(
        "postgres",
        &env("PG_SUPERPASS"),
        &format!("CREATE ROLE {pg_role} LOGIN PASSWORD '{pg_old}'"),
    );
    assert!(made.status.success(), "{made:?}");
    add(
        &app,
        "api-key",
        "api/github-e2e",
        &[("key", api_key)],
        &[("#form-env", "prod"), ("#form-tags", "ci, github")],
    )
    .await;
    add(
        &app,
        "db-password",
        "db/prod/orders",
        &[
            ("host", "db.internal"),
            ("user", "orders"),
            ("password", db_password),
        ],
        &[("#form-env", "prod"), ("#form-expires", &soon)],
    )
    .await;
    add(
        &app,
        "db-password",
        "db/pg/app",
        &[
            ("host", "127.0.0.1"),
            ("port", &env("PG_PORT")),
            ("user", &pg_role),
            ("password", pg_old),
            ("database", "postgres"),
            ("engine", "postgres"),
        ],
        &[("#form-expires", &soon)],
    )
    .await;
    add(
        &app,
        "aws-access-key",
        "aws/dev/deploy",
        &[
            ("access_key_id", "AKIAE2ETEST000000001"),
            ("secret_access_key", aws_secret),
            ("mfa_serial", MFA_DEVICE),
        ],
        &[("#form-env", "dev")],
    )
    .await;
    add(
        &app,
        "vault-token",
        "bao/e2e-token",
        &[
            ("token", &env("BAO_ROOT_TOKEN")),
            ("addr", &env("BAO_ADDR")),
        ],
        &[],
    )
    .await;

    // 5. The names as folders: db/ holds the two database passwords, and
    // db/prod/ one; the trail goes back up.
    app.click("#nav-credentials").await;
    let folder =
        |label: &str| format!("nav[aria-label=\"Folders\"] button[aria-label^=\"{label}\"]");
    app.click(&folder("db/, 2 credentials")).await;
    app.text_until("#result-count", |t| t.starts_with("2 "))
        .await;
    app.click(&folder("prod/, 1 credential")).await;
    app.text_until("#result-count", |t| t.starts_with("1 "))
        .await;
    app.el("#credential-list [data-name=\"db/prod/orders\"]")
        .await;
    app.shot("13-folders").await;
    app.click(&folder("All folders")).await;
    app.text_until("#result-count", |t| t.starts_with("5 "))
        .await;

    // 5b. Search narrows the list on each keystroke, and never blanks it
    // on the way (an observer counts every moment without rows).
    app.c
        .execute(
            "window.__blanked = 0;
             new MutationObserver(() => {
               if (document.querySelectorAll('#credential-list [data-name]').length === 0) window.__blanked += 1;
             }).observe(document.getElementById('credential-list'), { childList: true, subtree: true });",
            vec![],
        )
        .await
        .expect("observer");
    app.type_in("#search", "orders").await;
    app.text_until("#result-count", |t| t.starts_with("1 "))
        .await;
    app.type_in("#search", "prod").await;
    app.text_until("#result-count", |t| t.starts_with("2 "))
        .await;
    let blanked = app
        .c
        .execute("return window.__blanked;", vec![])
        .await
        .expect("script");
    assert_eq!(
        blanked,
        json!(0),
        "the rows stayed while the search changed"
    );
    app.el("#credential-list [data-name=\"db/prod/orders\"] .badge[data-state=\"due_soon\"]")
        .await;
    app.shot("02-list").await;
    app.click("#credential-list [data-name=\"db/prod/orders\"]")
        .await;
    app.el("#detail[data-name=\"db/prod/orders\"]").await;

    // 6. Reveal (then hidden again by its timer) and copy (cleared after 5 s).
    app.click("#reveal-password").await;
    app.text_until("#value-password", |t| t == db_password)
        .await;
    app.shot("03-detail").await;
    app.click("#copy-password").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while clipboard() != db_password {
        assert!(
            Instant::now() < deadline,
            "the copy never reached the clipboard"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cleared = || async {
        let deadline = Instant::now() + Duration::from_secs(15);
        while clipboard() == db_password {
            assert!(
                Instant::now() < deadline,
                "the clipboard still holds the value"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    cleared().await;
    // From the search box, Down goes into the list, onto the open row,
    // where Ctrl+C copies that row's main secret, with the same clearing.
    app.el("#search")
        .await
        .click()
        .await
        .expect("focus the search box");
    app.press(Key::Down).await;
    app.ctrl('c').await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while clipboard() != db_password {
        assert!(
            Instant::now() < deadline,
            "Ctrl+C in the list did not copy the row's password"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.text_until("#toast", |t| {
        t.contains("Copied the password of db/prod/orders")
    })
    .await;
    cleared().await;

    // 7. Edit: new notes and a new password, as version 2.
    app.click("#edit").await;
    app.el("#form").await;
    app.type_in("#form-notes", "Edited by the e2e test").await;
    app.type_in("#field-password", db_password_2).await;
    app.click("#form-save").await;
    app.text_until("#detail-notes", |t| t.contains("Edited by the e2e test"))
        .await;
    app.click("#reveal-password").await;
    app.text_until("#value-password", |t| t == db_password_2)
        .await;

    // 8. History: roll back to version 1, which becomes version 3.
    app.el("#history [data-version=\"2\"]").await;
    app.click("#rollback-1").await;
    app.click("#confirm-yes").await;
    app.el("#history [data-version=\"3\"]").await;
    app.click("#reveal-password").await;
    app.text_until("#value-password", |t| t == db_password)
        .await;
    app.shot("04-history").await;

    // 9. The due credential is on the rotation dashboard; rotate it by hand.
    app.click("#nav-rotation").await;
    app.screen("rotation").await;
    app.el("#rotation-dashboard [data-name=\"db/prod/orders\"]")
        .await;
    app.shot("06-rotation-dashboard").await;
    app.click("#rotation-dashboard [data-name=\"db/prod/orders\"] .rotate")
        .await;
    app.el("#wizard[data-name=\"db/prod/orders\"]").await;
    app.type_in("#wizard-grace", "0").await;
    app.click("#wizard-start").await;
    app.el("#wizard-value-password").await;
    app.click("#wizard-generate").await;
    app.click("#wizard-continue").await;
    app.text_until("#wizard-question", |t| t.contains("work"))
        .await;
    app.click("#wizard-confirm").await;
    app.text_until("#wizard-question", |t| t.contains("revoked"))
        .await;
    app.shot("06-rotation-wizard").await;
    app.click("#wizard-confirm").await;
    app.text_until("#wizard-outcome", |t| t.to_lowercase().contains("done"))
        .await;
    app.el("#wizard-steps li[data-step=\"revoke\"][data-state=\"done\"]")
        .await;

    // 9b. The PostgreSQL password: the wizard offers to do it in the
    // database and shows what it did there; checked from outside with psql.
    app.click("#wizard-dashboard").await;
    app.click("#rotation-dashboard [data-name=\"db/pg/app\"] .rotate")
        .await;
    app.el("#wizard[data-name=\"db/pg/app\"]").await;
    app.text_until("#wizard", |t| t.contains("Let Coffer do it in PostgreSQL"))
        .await;
    app.click("#wizard-start").await;
    app.text_until("#wizard-outcome", |t| t.to_lowercase().contains("done"))
        .await;
    let said = app
        .text_until("#wizard-messages", |t| t.contains("Logged in afresh"))
        .await;
    assert!(
        said.contains(&format!("ALTER ROLE \"{pg_role}\" PASSWORD '••••••'")),
        "{said}"
    );
    assert!(said.contains("no longer logs in"), "{said}");
    app.shot("06-rotation-postgres").await;
    assert!(
        !psql(&pg_role, pg_old, "SELECT 1").status.success(),
        "the old password no longer logs in"
    );

    // 10. Sync: an OpenBao remote, tested, planned and pushed.
    app.click("#nav-sync").await;
    app.screen("sync").await;
    app.click("#remote-add").await;
    app.choose("#remote-type", "vault").await;
    app.type_in("#remote-name", "bao").await;
    app.type_in("#remote-addr", &env("BAO_ADDR")).await;
    app.type_in("#remote-mount", "secret").await;
    app.type_in("#remote-prefix", &prefix).await;
    app.choose("#remote-auth", "bao/e2e-token").await;
    // A remote holds nothing until told: this one holds every credential.
    app.click("#remote-holds-all").await;
    // The shell asks in its own dialog, naming where the remote is.
    let asked = app::answer(app::CONFIRM, Answer::Accept("alt+a"));
    app.click("#remote-save").await;
    asked.await.expect("the remote's confirmation was answered");
    app.click("[data-remote=\"bao\"]").await;
    app.click("#remote-test").await;
    app.el("#remote-checks [data-ok]").await;
    let failed = app
        .c
        .find_all(Locator::Css("#remote-checks [data-ok=\"false\"]"))
        .await
        .expect("checks");
    assert!(failed.is_empty(), "{}", app.text_of("#remote-checks").await);
    // Nothing is sent without a plan: the buttons wait for one.
    assert!(
        !app.el("#sync-push")
            .await
            .is_enabled()
            .await
            .expect("enabled"),
        "push before a plan"
    );
    app.click("#sync-plan").await;
    app.el("#plan [data-name=\"api/github-e2e\"][data-state=\"new_local\"]")
        .await;
    app.shot("07-sync-plan").await;
    let asked = app::answer(app::CONFIRM, Answer::Accept("alt+p"));
    app.click("#sync-push").await;
    asked.await.expect("the push's confirmation was answered");
    app.text_until("#sync-report", |t| t.contains("pushed 4"))
        .await;
    app.shot("07-sync-pushed").await;
    let pushed = bao_read(&format!("{prefix}api/github-e2e"));
    assert_eq!(pushed["data"]["data"]["key"], json!(api_key));

    // 10a. The remote edited in place: a narrower scope, after the shell's
    // own dialog; the same place, so what it holds stays linked.
    app.click("#remote-edit").await;
    app.text_until("#remote-form-title", |t| t.contains("Edit the remote bao"))
        .await;
    app.click("#remote-holds-all").await;
    app.type_in("#remote-holds", "api/ db/").await;
    let asked = app::answer(app::CONFIRM, Answer::Accept("alt+s"));
    app.click("#remote-save").await;
    asked.await.expect("the edit's confirmation was answered");
    app.text_until("#remote-holds-text", |t| {
        t.contains("names under api/, db/")
    })
    .await;
    app.text_until("[data-remote=\"bao\"]", |t| t.contains("4 linked"))
        .await;

    // 10b. A backup, written where the person picks in the shell's own file
    // chooser (the page never names the path).
    app.click("#nav-settings").await;
    app.screen("settings").await;
    // The person's documents folder (step 1b) is where the chooser starts.
    app.type_in("#backup-passphrase", "granite-lantern-willow-e2e-backup")
        .await;
    app.type_in("#backup-confirm", "granite-lantern-willow-e2e-backup")
        .await;
    let asked = app::answer(app::SAVE, Answer::Save);
    app.click("#backup-create").await;
    asked.await.expect("the file chooser was answered");
    let summary = app
        .text_until("#backup-summary", |t| t.contains("coffer-backup-"))
        .await;
    let written: Vec<PathBuf> = std::fs::read_dir(&documents)
        .expect("documents")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        written.len() == 1 && summary.contains(&written[0].display().to_string()),
        "the backup is where the chooser proposed: {written:?}, {summary}"
    );

    // 10c. While the app runs it is the agent: the CLI gets values from its
    // unlocked session (no unlock of its own), recorded with the process.
    // api/github-e2e is in env prod, which asks: the question appears in a
    // window of its own, where the person allows once, then denies.
    let cli = |args: &[&str]| {
        std::process::Command::new(concurrency::coffer_bin())
            .arg("--vault")
            .arg(&path)
            .args(args)
            .env("COFFER_AGENT", "required")
            .output()
            .expect("coffer")
    };
    let asking = |cli_path: PathBuf| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(concurrency::coffer_bin())
                .arg("--vault")
                .arg(&cli_path)
                .args(["get", "api/github-e2e", "--field", "key"])
                .env("COFFER_AGENT", "required")
                .output()
                .expect("coffer")
        })
    };
    let waiting = asking(path.clone());
    let main_window = app.to_new_window().await;
    let summary = app
        .text_until("#approval-summary", |t| t.contains("api/github-e2e"))
        .await;
    assert!(summary.contains("coffer (pid"), "{summary}");
    let rule = app.text_of("#approval-rule").await;
    assert!(rule.contains("ask") && rule.contains("prod"), "{rule}");
    let command = app.text_of("#approval-command").await;
    assert!(
        command.contains("get api/github-e2e --field key"),
        "{command}"
    );
    app.shot("11-approval").await;
    app.press_closing("#approval-once").await;
    app.back_to(main_window.clone()).await;
    let through_app = waiting.await.expect("join");
    assert_eq!(
        String::from_utf8_lossy(&through_app.stdout).trim(),
        api_key,
        "{}",
        String::from_utf8_lossy(&through_app.stderr)
    );
    assert!(
        String::from_utf8_lossy(&through_app.stderr).contains("waiting for your approval"),
        "the CLI says what it waits for"
    );

    // Again: while the question is open, script in the main page can
    // neither read it nor answer it; in its window the person denies.
    // (Staying on the main page until the window is there: one switch
    // fewer, as WebKitWebDriver once failed a switch back and forth.)
    let waiting = asking(path.clone());
    app.until_windows(2).await;
    for (command, args) in [
        ("approval_get", "{ nonce: 'x' }"),
        ("approval_answer", "{ nonce: 'x', answer: 'once' }"),
        ("approval_code", "{ nonce: 'x', code: '123456' }"),
    ] {
        let refused = app.invoke(command, args).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("not allowed")),
            "the main page called {command}: {refused:?}"
        );
    }
    assert_eq!(
        app.c.windows().await.expect("handles").len(),
        2,
        "the question is still open"
    );
    let main_window = app.to_new_window().await;
    app.press_closing("#approval-deny").await;
    app.back_to(main_window).await;
    let denied = waiting.await.expect("join");
    assert_eq!(denied.status.code(), Some(7), "{denied:?}");
    assert!(denied.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("was denied"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );

    // 10d. An AWS key whose MFA device must give a code: with the app as
    // the agent, the code is asked in a window of the app (a malformed one
    // refused there), and the AWS tool gets an STS session made by moto,
    // never the stored key.
    let asking_session = |cli_path: PathBuf| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(concurrency::coffer_bin())
                .arg("--vault")
                .arg(&cli_path)
                .args(["aws", "credential-process", "aws/dev/deploy"])
                .env("COFFER_AGENT", "required")
                .output()
                .expect("coffer")
        })
    };
    let waiting = asking_session(path.clone());
    let main_window = app.to_new_window().await;
    let device = app
        .text_until("#approval-device", |t| t.contains(MFA_DEVICE))
        .await;
    assert!(device.contains(MFA_DEVICE), "{device}");
    let in_window = app.axe().await;
    assert!(in_window.is_empty(), "axe, the MFA window: {in_window:#?}");
    app.type_in("#approval-code", "12345").await;
    assert_eq!(
        app.attr("#approval-code-send", "disabled").await.as_deref(),
        Some("true"),
        "five digits cannot be sent"
    );
    app.type_in("#approval-code", "123456").await;
    app.shot("11b-mfa-code").await;
    app.press_closing("#approval-code-send").await;
    app.back_to(main_window).await;
    let served = waiting.await.expect("join");
    let stderr = String::from_utf8_lossy(&served.stderr).into_owned();
    assert!(served.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for the code of MFA device"),
        "the CLI says what it waits for: {stderr}"
    );
    let doc: Value = serde_json::from_slice(&served.stdout).expect("credential_process JSON");
    let key_id = doc["AccessKeyId"].as_str().unwrap_or_default();
    assert!(
        !key_id.is_empty() && key_id != "AKIAE2ETEST000000001",
        "a session's key (moto gives GetSessionToken a fixed one), not the stored one: {key_id}"
    );
    assert!(doc["SessionToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        !String::from_utf8_lossy(&served.stdout).contains(aws_secret),
        "the long-lived secret stays in the app"
    );

    // 11. The audit screen shows all of it, with the chain verified.
    app.click("#nav-audit").await;
    app.screen("audit").await;
    app.click("#audit-verify").await;
    app.text_until("#audit-verify-status", |t| t.contains("verified"))
        .await;
    assert_eq!(
        app.attr("#audit-verify-status", "data-ok").await.as_deref(),
        Some("true")
    );
    for action in [
        "create",
        "reveal",
        "copy",
        "update",
        "rollback",
        "rotation_step",
        "sync_push",
    ] {
        app.el(&format!("#audit-table tr[data-action=\"{action}\"]"))
            .await;
    }
    app.shot("08-audit").await;

    // 11b. A notice on show when the vault locks goes with it; locked by
    // hand, Enter in the empty passphrase field unlocks through the keyring.
    app.click("#nav-credentials").await;
    app.click("#credential-list [data-name=\"db/prod/orders\"]")
        .await;
    app.click("#copy-plain-user").await;
    app.text_until("#toast", |t| t.contains("Copied")).await;
    app.click("#lock").await;
    app.screen("unlock").await;
    app.text_until("#toast", |t| t.trim().is_empty()).await;
    app.el("#unlock-passphrase")
        .await
        .click()
        .await
        .expect("focus the field");
    app.press(Key::Enter).await;
    app.screen("credentials").await;
    app.click("#nav-audit").await;
    app.screen("audit").await;

    // 12. Lock, a wrong passphrase, then the right one.
    app.click("#lock").await;
    app.screen("unlock").await;
    // The app's agent now answers "locked": a command that requires it
    // fails (exit 5); without `required` it would unlock on its own.
    let locked = cli(&["get", "api/github-e2e", "--field", "key"]);
    assert_eq!(locked.status.code(), Some(5), "{locked:?}");
    assert!(locked.stdout.is_empty());
    app.type_in("#unlock-passphrase", "not the passphrase")
        .await;
    app.click("#unlock-submit").await;
    app.el("#unlock-error").await;
    app.shot("10-unlock").await;
    let unlock_violations: Vec<String> = app
        .axe()
        .await
        .into_iter()
        .map(|v| format!("unlock: {v}"))
        .collect();
    app.type_in("#unlock-passphrase", recovery).await;
    app.click("#unlock-submit").await;
    // Unlocking returns to where the person was.
    app.screen("audit").await;
    app.click("#nav-credentials").await;
    app.screen("credentials").await;
    app.text_until("#failed-attempts", |t| t.contains('1'))
        .await;
    app.type_in("#search", "").await;
    app.text_until("#result-count", |t| t.starts_with("5 "))
        .await;

    // 12a. Every screen passes axe-core's WCAG 2.1 A/AA rules with no
    // serious or critical violation (the unlock screen was checked above).
    // Credentials last: an unlock returns to the screen the person was on.
    // Then again in the dark theme (chosen in Settings, whatever the
    // system says), with screenshots of it.
    let mut violations = Vec::new();
    for dark in [false, true] {
        if dark {
            app.click("#nav-settings").await;
            app.screen("settings").await;
            app.choose("#setting-theme", "dark").await;
            let shown = app
                .c
                .execute("return document.documentElement.dataset.theme;", vec![])
                .await
                .expect("theme");
            assert_eq!(shown, json!("dark"));
        }
        for screen in ["rotation", "sync", "audit", "settings", "credentials"] {
            app.click(&format!("#nav-{screen}")).await;
            app.screen(screen).await;
            for v in app.axe().await {
                violations.push(format!(
                    "{screen}{}: {v}",
                    if dark { " (dark)" } else { "" }
                ));
            }
            if dark {
                app.shot(&format!("dark-{screen}")).await;
            }
        }
    }
    app.click("#nav-settings").await;
    app.screen("settings").await;
    app.choose("#setting-theme", "system").await;
    app.click("#nav-credentials").await;
    app.screen("credentials").await;
    eprintln!(
        "axe: 12 pages checked (6 screens and the MFA window, 5 screens again in the dark theme), \
         {} serious or critical violations",
        violations.len() + unlock_violations.len()
    );
    violations.extend(unlock_violations);
    assert!(violations.is_empty(), "axe: {violations:#?}");

    // 12b. Suspend and a screen lock lock the vault; after such an automatic
    // lock only the recovery passphrase opens it (the default preference):
    // the keyring would answer anyone at the unattended session.
    for (what, signal) in [("suspend", 0), ("screen lock", 1)] {
        let service = if signal == 0 {
            signals::prepare_for_sleep().await
        } else {
            signals::screen_locked().await
        };
        app.screen("unlock").await;
        app.el("#unlock-passphrase-required").await;
        let keyring = app
            .c
            .find_all(Locator::Css("#unlock-keyring"))
            .await
            .expect("find");
        assert!(keyring.is_empty(), "{what}: no keyring button");
        let refused = app.invoke("vault_unlock", "{}").await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("passphrase")),
            "{what}: the keyring alone must not open it: {refused:?}"
        );
        drop(service);
        app.type_in("#unlock-passphrase", recovery).await;
        app.click("#unlock-submit").await;
        app.screen("credentials").await;
    }

    // The web view may call only Coffer's own commands.
    let denied = app.invoke("plugin:window|title", "{ label: 'main' }").await;
    assert!(denied.is_err(), "{denied:?}");

    // Script in the page cannot read every value at once: reveals come in
    // a burst of at most 20, then one every 2 s (each still audited) ...
    let burst = app
        .c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             (async () => {
               let ok = 0, refused = '';
               for (let i = 0; i < 40; i++) {
                 try {
                   await window.__TAURI_INTERNALS__.invoke('credential_reveal', { name: 'api/github-e2e', field: 'key' });
                   ok++;
                 } catch (e) { refused = JSON.stringify(e); break; }
               }
               done({ ok, refused });
             })();",
            vec![],
        )
        .await
        .expect("script");
    let revealed = burst["ok"].as_u64().expect("count");
    assert!(
        revealed <= 20
            && burst["refused"]
                .as_str()
                .is_some_and(|r| r.contains("too many")),
        "{burst}"
    );
    // ... nor set a recovery passphrase it knows without the current one,
    // even when the person says yes to the shell's question ...
    for current in ["null", "'not the current one'"] {
        let asked = app::answer(app::CONFIRM, Answer::Accept("alt+p"));
        let refused = app
            .invoke(
                "passphrase_set",
                &format!("{{ passphrase: 'an attacker chose this long passphrase 42', current: {current} }}"),
            )
            .await;
        asked.await.expect("the question was answered");
        assert!(
            refused
                .as_ref()
                .is_err_and(|r| r.contains("\"field\":\"current\"")),
            "current {current}: {refused:?}"
        );
    }
    // ... nor, without the person saying yes in a dialog the shell draws,
    // add a remote it controls, push, overwrite a remote copy, write a
    // backup, change the passphrase or rekey (each answered "no" here, and
    // the vault file is byte for byte what it was) ...
    let before = app::fingerprint(&path);
    let backups = || std::fs::read_dir(&documents).expect("documents").count();
    let backups_before = backups();
    for (command, args, title) in [
        (
            "remote_add",
            format!(
                "{{ input: {{ type: 'vault', name: 'evil', addr: '{}', mount: 'secret', prefix: 'stolen/', namespace: '', scope: {{ names: [''], tags: [] }}, authCredential: 'bao/e2e-token', insecureHttp: false }} }}",
                env("BAO_ADDR")
            ),
            app::CONFIRM,
        ),
        ("sync_apply", "{ remote: 'bao', direction: 'push', prune: false }".into(), app::CONFIRM),
        ("sync_apply", "{ remote: 'bao', direction: 'both', prune: true }".into(), app::CONFIRM),
        ("sync_resolve", "{ remote: 'bao', name: 'api/github-e2e', keep: 'local' }".into(), app::CONFIRM),
        ("passphrase_set", "{ passphrase: 'an attacker chose this long passphrase 42', current: null }".into(), app::CONFIRM),
        ("vault_rekey", format!("{{ passphrase: '{recovery}' }}"), app::CONFIRM),
        ("backup_create", "{ passphrase: 'an attacker chose this long passphrase 42' }".into(), app::SAVE),
    ] {
        let asked = app::answer(title, Answer::Cancel);
        let said = app.invoke(command, &args).await;
        asked.await.expect("the dialog was answered");
        assert!(
            said.as_ref().is_err_and(|r| r.contains("\"code\":\"declined\"")),
            "{command} {args}: {said:?}"
        );
    }
    assert_eq!(
        app::fingerprint(&path),
        before,
        "a declined command wrote nothing"
    );
    assert_eq!(backups(), backups_before, "no backup was written");
    // The dialogs themselves are the shell's: the page may not open one.
    let denied = app
        .invoke(
            "plugin:dialog|message",
            "{ message: 'Push?', title: 'Coffer: confirm' }",
        )
        .await;
    assert!(denied.is_err(), "{denied:?}");
    // ... nor take the page elsewhere.
    app.c
        .execute(
            "window.location.href = 'https://example.com/'; return 1;",
            vec![],
        )
        .await
        .expect("script");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let here = app.c.current_url().await.expect("url");
    assert!(
        here.host_str() != Some("example.com"),
        "the page left the app: {here}"
    );
    app.el("#nav-credentials").await;
    app.c.close().await.expect("close");

    // 13. Started again, the app opens straight through the keyring. The
    // desktop now prefers dark (GTK's settings file, read at start, as a
    // desktop's appearance setting writes it): the app, left on "system",
    // follows it.
    let gtk = Path::new(&env("XDG_CONFIG_HOME")).join("gtk-3.0");
    std::fs::create_dir_all(&gtk).expect("gtk-3.0");
    std::fs::write(
        gtk.join("settings.ini"),
        "[Settings]\ngtk-application-prefer-dark-theme=1\n",
    )
    .expect("settings.ini");
    let again = App {
        c: launch(driver, &path).await,
    };
    again.screen("credentials").await;
    again
        .text_until("#result-count", |t| t.starts_with("5 "))
        .await;
    let seen = again
        .c
        .execute(
            "return [document.documentElement.dataset.theme, \
             matchMedia('(prefers-color-scheme: dark)').matches];",
            vec![],
        )
        .await
        .expect("theme");
    assert_eq!(
        seen,
        json!(["dark", true]),
        "the app follows the system's dark preference"
    );
    // (The failed attempt of step 12 is still reported; read, it goes.)
    again.click("#failed-attempts-dismiss").await;
    again.shot("dark-system").await;
    std::fs::remove_file(gtk.join("settings.ini")).expect("settings.ini goes");

    // 13b. The rotation dashboard asks for each severity on its own: with
    // 600 more credentials (an import by the CLI beside the app), one
    // compromised whose name sorts after all of them is still shown, first.
    let bulk = dir.path().join("bulk.json");
    let mut items: Vec<Value> = (0..600)
        .map(|i| json!({ "name": format!("bulk/{i:04}"), "kind": "api-key", "secrets": { "key": format!("bulk-{i}") } }))
        .collect();
    items.push(json!({ "name": "zzz/leaked", "kind": "api-key", "tags": ["leaked"], "secrets": { "key": "leaked" } }));
    std::fs::write(&bulk, serde_json::to_vec(&items).expect("json")).expect("bulk file");
    for args in [
        vec!["import", bulk.to_str().expect("utf-8"), "--format", "json"],
        vec!["revoke-all", "--tag", "leaked", "--yes"],
    ] {
        let run = std::process::Command::new(concurrency::coffer_bin())
            .arg("--vault")
            .arg(&path)
            .args(&args)
            .output()
            .expect("coffer");
        assert!(run.status.success(), "{args:?}: {run:?}");
    }
    std::fs::remove_file(&bulk).expect("the bulk file goes");
    again.click("#nav-rotation").await;
    again.screen("rotation").await;
    again
        .el("#rotation-dashboard [data-group=\"compromised\"] [data-name=\"zzz/leaked\"]")
        .await;
    let first_group = again
        .c
        .execute(
            "return document.querySelector('#rotation-dashboard [data-group]')?.dataset.group;",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(
        first_group,
        json!("compromised"),
        "the most severe group first"
    );
    again
        .click("#rotation-dashboard [data-name=\"zzz/leaked\"] .name")
        .await;
    again.el("#detail[data-name=\"zzz/leaked\"]").await;
    again.c.close().await.expect("close");

    // 14. No canary in any file the app or its web view wrote.
    let mut files = Vec::new();
    for var in [
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_RUNTIME_DIR",
    ] {
        if let Some(d) = std::env::var_os(var) {
            files_below(Path::new(&d), &mut files);
        }
    }
    files_below(dir.path(), &mut files);
    assert!(files.len() > 3, "the scan found files: {files:?}");
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        for canary in [api_key, db_password, db_password_2, aws_secret] {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} found in {}",
                file.display()
            );
        }
    }
    eprintln!("leak scan: {} files, no canary", files.len());

    // The reveal served by the app's agent names the CLI process that asked.
    let mut vault = Vault::open(&path).expect("open");
    let keyring = SecretService::connect().expect("keyring");
    vault
        .unlock_with_keyring(&keyring, Utc::now())
        .expect("unlock");
    let reveals = vault
        .audit_entries(&Query {
            action: Some(Action::Reveal),
            ..Query::default()
        })
        .expect("entries");
    assert!(
        reveals
            .iter()
            .any(|e| e.body.details["requester"]["cmdline"]
                .as_str()
                .is_some_and(|c| c.contains("get api/github-e2e --field key"))),
        "the agent's reveal names the asking process"
    );
    // Both answers are in the trail, with the process and who answered.
    let decisions: Vec<String> = vault
        .audit_entries(&Query {
            action: Some(Action::Access),
            ..Query::default()
        })
        .expect("entries")
        .iter()
        .rev()
        .map(|e| {
            let d = &e.body.details;
            assert_eq!(d["by"], "the person, in the Coffer window", "{d}");
            assert!(
                d["requester"]["cmdline"]
                    .as_str()
                    .is_some_and(|c| c.contains("get api/github-e2e")),
                "{d}"
            );
            d["decision"].as_str().unwrap_or("").to_owned()
        })
        .collect();
    assert_eq!(decisions, ["allowed once", "denied"]);
    keyring
        .remove(&vault.vault_id())
        .expect("clean up the keyring entry");
}
