//! The list, a credential's detail, reveal and copy, add, edit, history
//! and rollback, kinds and the generator (delete is in trash.rs).

use std::time::Duration;

use chrono::Utc;
use coffer_core::audit::Action;
use coffer_core::rotation::run::{self, Generate};
use coffer_core::rotation::{self};
use coffer_core::search::{Find, Found};
use coffer_core::{Kind, Patch};
use tauri::AppHandle;

use crate::dto::{
    charset_of, detail, field_label, kind_label, kind_of, rotation_state, summary, CredentialEdit,
    CredentialInput, Detail, FacetsView, FieldFormat, FieldSchema, FindPage, FindQuery, FolderView,
    HistoryPage, KindSchema, Revealed,
};
use crate::error::IpcError;
use crate::guard::guard;
use crate::state::blocking;

#[tauri::command]
pub async fn credential_find(app: AppHandle, query: FindQuery) -> Result<FindPage, IpcError> {
    blocking(&app, move |app| {
        let find = Find {
            query: query.query,
            kind: query.kind.as_deref().map(kind_of).transpose()?,
            env: query.env,
            tag: query.tag,
            states: query
                .states
                .iter()
                .map(|s| rotation_state(s))
                .collect::<Result<_, _>>()?,
            folder: query.folder,
            folders: query.folders,
            offset: query.offset,
            limit: query.limit.min(1000),
        };
        let Found {
            total,
            items,
            facets,
            folders,
        } = app.with_vault(|v| v.find(&find, Utc::now()))?;
        Ok(FindPage {
            total,
            items: items.iter().map(|(c, s)| summary(c, s)).collect(),
            facets: FacetsView {
                kinds: facets.kinds,
                envs: facets.envs,
                tags: facets.tags,
                needs_action: facets.needs_action,
                due_soon: facets.due_soon,
            },
            folders: folders
                .into_iter()
                .map(|(path, count)| FolderView {
                    name: path
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    path,
                    count,
                })
                .collect(),
        })
    })
    .await
}

#[tauri::command]
pub async fn credential_get(app: AppHandle, name: String) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| v.overview(&name, Utc::now()).map(detail))
    })
    .await
}

#[tauri::command]
pub async fn credential_reveal(
    app: AppHandle,
    name: String,
    field: String,
) -> Result<Revealed, IpcError> {
    blocking(&app, move |app| {
        app.allow_reveal()?;
        let value =
            app.with_vault(|v| v.reveal_field(&name, &field, Action::Reveal, Utc::now()))?;
        Ok(Revealed(value))
    })
    .await
}

#[tauri::command]
pub async fn credential_copy(app: AppHandle, name: String, field: String) -> Result<u32, IpcError> {
    blocking(&app, move |app| {
        app.allow_reveal()?;
        let value = app.with_vault(|v| v.copy_field(&name, &field, Action::Copy, Utc::now()))?;
        let seconds = guard(&app.preferences).clipboard_seconds;
        app.clipboard
            .copy(&value, Duration::from_secs(u64::from(seconds)))
            .map_err(IpcError::failure)?;
        Ok(seconds)
    })
    .await
}

#[tauri::command]
pub async fn credential_validate(app: AppHandle, input: CredentialInput) -> Result<(), IpcError> {
    blocking(&app, move |app| {
        let draft = input.draft()?;
        app.with_vault(|v| v.check_new(draft))
    })
    .await
}

#[tauri::command]
pub async fn credential_add(app: AppHandle, input: CredentialInput) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        let draft = input.draft()?;
        app.with_vault(|v| {
            let c = v.add(draft, Utc::now())?;
            v.overview(&c.meta.name, Utc::now()).map(detail)
        })
    })
    .await
}

#[tauri::command]
pub async fn credential_update(
    app: AppHandle,
    name: String,
    edit: CredentialEdit,
) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| {
            let patch = Patch {
                rename: edit.rename.filter(|r| *r != name),
                env: Some(edit.env.filter(|e| !e.is_empty())),
                tags: Some(edit.tags),
                notes: Some(edit.notes.filter(|n| !n.is_empty())),
                fields: edit.fields,
                values: edit.values,
                unset: edit.unset,
                expires_at: Some(edit.expires_at),
                expected_version: Some(edit.expected_version),
                ..Patch::default()
            };
            let updated = v.update(&name, &patch, Utc::now())?;
            v.overview(&updated.credential.meta.name, Utc::now())
                .map(detail)
        })
    })
    .await
}

/// The latest `limit` versions (every one without a limit), newest first.
#[tauri::command]
pub async fn credential_history(
    app: AppHandle,
    name: String,
    limit: Option<u32>,
) -> Result<HistoryPage, IpcError> {
    blocking(&app, move |app| {
        let newest = limit.map(|limit| limit as usize);
        Ok(app.with_vault(|v| v.recent_history(&name, newest))?.into())
    })
    .await
}

/// The person has looked at the fields that arrived by a pull or an import.
#[tauri::command]
pub async fn credential_reviewed(app: AppHandle, name: String) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| {
            v.mark_reviewed(&name, Utc::now())?;
            v.overview(&name, Utc::now()).map(detail)
        })
    })
    .await
}

#[tauri::command]
pub async fn credential_rollback(
    app: AppHandle,
    name: String,
    version: u64,
) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| {
            v.rollback(&name, version, Utc::now())?;
            v.overview(&name, Utc::now()).map(detail)
        })
    })
    .await
}

#[tauri::command]
pub fn kind_schemas() -> Vec<KindSchema> {
    Kind::ALL
        .iter()
        .map(|&kind| KindSchema {
            kind,
            label: kind_label(kind),
            fields: kind
                .schema()
                .iter()
                .map(|f| FieldSchema {
                    name: f.name,
                    label: field_label(f.name),
                    secret: f.secret,
                    required: f.required,
                    format: FieldFormat::of(f),
                })
                .collect(),
            default_max_age_days: rotation::default_policy(kind).map(|p| p.max_age_days),
        })
        .collect()
}

#[tauri::command]
pub fn generate_secret(length: usize, charset: String) -> Result<Revealed, IpcError> {
    let charset = charset_of(&charset)?;
    Ok(Revealed(run::generate(Generate { length, charset })?))
}
