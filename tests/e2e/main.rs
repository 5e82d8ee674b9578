//! The desktop app in a real window: started by tauri-driver under Xvfb and
//! driven over WebDriver (WebKitWebDriver), against a vault sealed to the
//! real Secret Service. The README's test command provides all three and
//! sets COFFER_TEST_E2E=1; without it this test is reported as skipped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use coffer_core::{CreateOptions, Draft, KdfParams, Kind, Sealer, SecretService, Vault};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

fn driver_url() -> Option<String> {
    let required = std::env::var("COFFER_TEST_E2E").as_deref() == Ok("1");
    match std::env::var("TAURI_DRIVER_URL") {
        Ok(url) => Some(url),
        Err(_) if required => panic!("COFFER_TEST_E2E=1 but TAURI_DRIVER_URL is not set"),
        Err(_) => None,
    }
}

async fn launch(driver: &str, vault: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        json!({
            "application": env!("CARGO_BIN_EXE_coffer-desktop"),
            "args": ["--vault", vault],
        }),
    );
    caps.insert("browserName".into(), json!("wry"));
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a WebDriver session with the app")
}

/// Waits until the element's text satisfies `want`, returning it.
async fn text_until(c: &Client, id: &str, want: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(el) = c.find(Locator::Id(id)).await {
            if let Ok(t) = el.text().await {
                if want(&t) {
                    return t;
                }
                last = t;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("#{id} never matched; last text: {last:?}");
}

async fn shot(c: &Client, name: &str) {
    let dir = std::env::var_os("COFFER_E2E_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("coffer-e2e-shots"));
    std::fs::create_dir_all(&dir).expect("shots dir");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write shot");
}

fn keyring_vault(path: &Path) -> (Vault, SecretService) {
    let service = SecretService::connect().expect("the test session's Secret Service");
    let mut vault = Vault::create(
        path,
        &CreateOptions {
            sealer: Some(&service),
            passphrase: None,
            kdf: KdfParams::DEFAULT,
        },
        Utc::now(),
    )
    .expect("create vault");
    for (name, key) in [("api/github", "ghp-e2e-1"), ("api/stripe", "sk-e2e-2")] {
        let mut draft = Draft::new(name, Kind::ApiKey);
        draft.values.insert("key".into(), key.into());
        vault.add(draft, Utc::now()).expect("add");
    }
    (vault, service)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_shows_the_vault_state_and_locks_and_unlocks() {
    let Some(driver) = driver_url() else {
        eprintln!("SKIP the_app_…: TAURI_DRIVER_URL is not set");
        return;
    };
    let dir = tempfile::TempDir::new().expect("tempdir");

    // No vault yet: the app says how to make one.
    let missing = dir.path().join("none").join("vault.sqlite");
    let c = launch(&driver, &missing).await;
    text_until(&c, "vault-state", |t| t == "No vault yet").await;
    let detail = text_until(&c, "vault-detail", |t| !t.is_empty()).await;
    assert!(detail.contains("coffer init"), "{detail}");
    shot(&c, "01-no-vault").await;
    c.close().await.expect("close");

    // A vault sealed to the keyring opens unlocked, without a prompt.
    let path = dir.path().join("vault.sqlite");
    let (vault, service) = keyring_vault(&path);
    let c = launch(&driver, &path).await;
    text_until(&c, "vault-state", |t| t == "Vault unlocked").await;
    let detail = text_until(&c, "vault-detail", |t| !t.is_empty()).await;
    assert!(detail.contains("2 credentials"), "{detail}");
    shot(&c, "02-unlocked").await;
    let action = c
        .find(Locator::Id("vault-action"))
        .await
        .expect("action button");
    assert_eq!(action.text().await.expect("button name"), "Lock vault");
    action.click().await.expect("lock");
    text_until(&c, "vault-state", |t| t == "Vault locked").await;
    shot(&c, "03-locked").await;
    c.find(Locator::Id("vault-action"))
        .await
        .expect("button")
        .click()
        .await
        .expect("unlock");
    text_until(&c, "vault-state", |t| t == "Vault unlocked").await;

    // The webview may call only Coffer's own commands.
    let denied = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke('plugin:window|title', { label: 'main' })
               .then(() => done('allowed'), (e) => done('denied: ' + e));",
            vec![],
        )
        .await
        .expect("script");
    assert!(
        denied.as_str().is_some_and(|s| s.starts_with("denied")),
        "{denied}"
    );
    c.close().await.expect("close");

    service
        .remove(&vault.vault_id())
        .expect("clean up the keyring entry");
}
