//! Delete into the trash, and the trash: list, restore (the delete's undo),
//! purge. A purge is the one way the app destroys a credential for good, so
//! the shell asks for it in its own dialog: script injected into the page
//! can delete, but not past the trash.

use chrono::Utc;
use coffer_core::credential::printable;
use tauri::AppHandle;

use crate::confirm::confirm;
use crate::dto::{detail, Detail, TrashEntry};
use crate::error::IpcError;
use crate::state::blocking;

/// Deletes a credential into the trash; the answer names it for an undo.
#[tauri::command]
pub async fn credential_delete(app: AppHandle, name: String) -> Result<TrashEntry, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| {
            let gone = v.remove(&name, Utc::now())?;
            coffer_core::Trashed::of(&gone).ok_or_else(|| coffer_core::Error::NotFound {
                name: format!("{name} in the trash"),
            })
        })
        .map(TrashEntry::from)
    })
    .await
}

#[tauri::command]
pub async fn trash_list(app: AppHandle) -> Result<Vec<TrashEntry>, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| v.trash())
            .map(|all| all.into_iter().map(TrashEntry::from).collect())
    })
    .await
}

/// Brings `id` back, under `rename` when given (its old name may be taken).
#[tauri::command]
pub async fn trash_restore(
    app: AppHandle,
    id: String,
    rename: Option<String>,
) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| {
            let back = v.restore(&id, rename.as_deref(), Utc::now())?;
            v.overview(&back.meta.name, Utc::now()).map(detail)
        })
    })
    .await
}

/// Purges `id`, or the whole trash (`None`), after the person's yes in the
/// shell's dialog (naming what goes, from the vault, not the page).
/// Returns how many went.
#[tauri::command]
pub async fn trash_purge(app: AppHandle, id: Option<String>) -> Result<u32, IpcError> {
    let listed = blocking(&app, |app| app.with_vault(|v| v.trash())).await?;
    let question = match &id {
        Some(id) => {
            let entry = listed
                .iter()
                .find(|t| t.id.to_string() == *id)
                .ok_or_else(|| {
                    IpcError::from(coffer_core::Error::NotFound {
                        name: format!("{id} in the trash"),
                    })
                })?;
            format!("Delete '{}' for good?", printable(&entry.name))
        }
        None if listed.is_empty() => return Ok(0),
        None => format!("Empty the trash ({} credential(s)) for good?", listed.len()),
    };
    confirm(
        &app,
        question,
        "Its values and every earlier version are deleted; there is no undo.".into(),
        "_Delete for good",
    )
    .await?;
    blocking(&app, move |app| {
        app.with_vault(|v| v.purge_trashed(id.as_deref(), Utc::now()))
            .map(|gone| u32::try_from(gone.len()).unwrap_or(u32::MAX))
    })
    .await
}
