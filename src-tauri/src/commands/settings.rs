//! Preferences, rotation policies, the recovery passphrase, rekey, backup
//! and (on first run) restore.

use std::path::PathBuf;

use chrono::Utc;
use coffer_core::audit::Actor;
use coffer_core::backup::{self, Backup};
use coffer_core::preferences::Preferences;
use coffer_core::rotation::{Policy, Scope};
use coffer_core::slot::SlotKind;
use coffer_core::strength;
use coffer_core::{CreateOptions, KdfParams, Sealer, SecretService, SecretValue, Vault};
use tauri::AppHandle;

use super::vault::status;
use crate::confirm::{self, confirm};
use crate::dto::{
    kind_of, rows, BackupSummary, PolicyView, PreferencesInput, ScopeView, SettingsView,
    VaultStatus,
};
use crate::error::{ErrorCode, IpcError};
use crate::guard::guard;
use crate::quick;
use crate::state::{blocking, AppState};

#[tauri::command]
pub async fn settings_get(app: AppHandle) -> Result<SettingsView, IpcError> {
    blocking(&app, settings).await
}

#[tauri::command]
pub async fn preferences_set(
    app: AppHandle,
    preferences: PreferencesInput,
) -> Result<SettingsView, IpcError> {
    let handle = app.clone();
    blocking(&app, move |app| {
        let p = Preferences {
            auto_lock_minutes: preferences.auto_lock_minutes,
            clipboard_seconds: preferences.clipboard_seconds,
            reveal_seconds: preferences.reveal_seconds,
            notifications: preferences.notifications,
            passphrase_after_auto_lock: preferences.passphrase_after_auto_lock,
            close_to_tray: preferences.close_to_tray,
            quick_search_shortcut: preferences.quick_search_shortcut.trim().to_owned(),
        };
        let old = guard(&app.preferences).quick_search_shortcut.clone();
        quick::change_shortcut(&handle, &old, &p.quick_search_shortcut, || {
            app.with_vault(|v| v.set_preferences(p.clone(), Utc::now()))
        })?;
        *guard(&app.preferences) = p;
        settings(app)
    })
    .await
}

#[tauri::command]
pub async fn policy_set(
    app: AppHandle,
    scope: ScopeView,
    policy: Option<PolicyView>,
) -> Result<SettingsView, IpcError> {
    blocking(&app, move |app| {
        let scope = match scope {
            ScopeView::Kind { kind } => Scope::Kind(kind_of(&kind)?),
            ScopeView::Env { env } => Scope::Env(env),
            ScopeView::Tag { tag } => Scope::Tag(tag),
        };
        let policy = policy
            .map(|p| Policy::new(p.max_age_days, p.warn_days))
            .transpose()?;
        app.with_vault(|v| v.set_policy(&scope, policy, Utc::now()))?;
        settings(app)
    })
    .await
}

#[tauri::command]
/// Adds or changes the recovery passphrase. A change needs the current one:
/// script injected into the page must not be able to set a passphrase it
/// knows on a vault whose passphrase it does not.
pub async fn passphrase_set(
    app: AppHandle,
    passphrase: SecretValue,
    current: Option<SecretValue>,
) -> Result<SettingsView, IpcError> {
    let adding = !blocking(&app, settings).await?.has_passphrase;
    let (question, accept) = if adding {
        (
            "Add a recovery passphrase to this vault?",
            "_Add passphrase",
        )
    } else {
        (
            "Change this vault's recovery passphrase?",
            "Change _passphrase",
        )
    };
    confirm(
        &app,
        question.into(),
        "Whoever knows the new passphrase can open the vault without the keyring.".into(),
        accept,
    )
    .await?;
    blocking(&app, move |app| {
        app.with_vault(|v| v.set_passphrase_knowing(current.as_ref(), &passphrase, Utc::now()))
            .map_err(|e| match e.code {
                // The passphrase that did not fit is the current one, not the new.
                ErrorCode::WrongPassphrase => IpcError {
                    field: Some("current".into()),
                    message: "that is not the current recovery passphrase (the vault is unchanged)"
                        .into(),
                    ..e
                },
                _ => e,
            })?;
        settings(app)
    })
    .await
}

#[tauri::command]
pub async fn vault_rekey(app: AppHandle, passphrase: Option<SecretValue>) -> Result<(), IpcError> {
    confirm(
        &app,
        "Replace the vault key and re-encrypt everything?".into(),
        "Coffer makes a new vault key and keyring key and re-encrypts every credential, its \
         history, the settings and the audit trail in one transaction. Backups keep working \
         with their own passphrase."
            .into(),
        "_Rekey",
    )
    .await?;
    blocking(&app, move |app| {
        let keyring = SecretService::connect().ok();
        app.with_vault(|v| {
            v.rekey(
                keyring.as_ref().map(|k| k as &dyn Sealer),
                passphrase.as_ref(),
                Utc::now(),
            )
        })
    })
    .await
}

#[tauri::command]
/// Writes a backup where the person chooses in the native save dialog: the
/// page gives only the backup's passphrase, never the path.
pub async fn backup_create(
    app: AppHandle,
    passphrase: SecretValue,
) -> Result<BackupSummary, IpcError> {
    // A weak passphrase is refused before the person is asked anything.
    strength::require_recovery(&passphrase)?;
    let path = confirm::backup_path(&app).await?;
    blocking(&app, move |app| {
        let written = app.with_vault(|v| {
            backup::write(v, &path, &passphrase, KdfParams::DEFAULT, false, Utc::now())
        })?;
        Ok(BackupSummary {
            path: path.display().to_string(),
            credentials: written.summary.credentials,
            audit_entries: written.summary.audit_entries,
        })
    })
    .await
}

#[tauri::command]
pub async fn backup_restore(
    app: AppHandle,
    path: String,
    passphrase: SecretValue,
) -> Result<VaultStatus, IpcError> {
    blocking(&app, move |app| {
        let file = PathBuf::from(path.trim());
        let backup = Backup::open(&file, &passphrase)?;
        let keyring = SecretService::connect().map_err(coffer_core::Error::from)?;
        let options = CreateOptions {
            sealer: Some(&keyring),
            passphrase: None,
            kdf: KdfParams::DEFAULT,
        };
        let label = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        backup::restore(
            &backup,
            &app.path,
            &options,
            Actor::current("app"),
            &label,
            Utc::now(),
        )?;
        let mut vault = Vault::open(&app.path)?;
        vault.unlock_with_keyring(&keyring, Utc::now())?;
        app.adopt(vault);
        status(app)
    })
    .await
}

fn settings(app: &AppState) -> Result<SettingsView, IpcError> {
    app.with_vault(|v| {
        let p = v.preferences()?;
        let slots = v.info()?.slots;
        Ok(SettingsView {
            auto_lock_minutes: p.auto_lock_minutes,
            clipboard_seconds: p.clipboard_seconds,
            reveal_seconds: p.reveal_seconds,
            notifications: p.notifications,
            passphrase_after_auto_lock: p.passphrase_after_auto_lock,
            close_to_tray: p.close_to_tray,
            quick_search_shortcut: p.quick_search_shortcut,
            policies: rows(v.policies()?),
            has_passphrase: slots.iter().any(|s| s.kind == SlotKind::Passphrase),
            has_keyring: slots.iter().any(|s| s.kind == SlotKind::Keyring),
        })
    })
}
