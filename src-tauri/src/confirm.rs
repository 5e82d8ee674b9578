//! Confirmations the shell draws itself, outside the web view: the steps
//! that would let script injected into the page send credentials somewhere
//! (add a remote, push, keep the local side of a conflict), write them to a
//! file (a backup) or change who can open the vault (the recovery
//! passphrase, a rekey) wait for the person to say yes in a native dialog;
//! files to write or read (a backup, an import, a restore) are picked in the
//! native file chooser.
//! The page can neither draw these dialogs nor answer them: the dialog
//! plugin's own commands are not granted to it (capabilities/main.json).
//! The words come from the shell (a remote's stored address, not the page's
//! description of it).

use std::path::PathBuf;

use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_dialog::{
    DialogExt, FileDialogBuilder, FilePath, MessageDialogButtons, MessageDialogKind,
};

use crate::error::{ErrorCode, IpcError};

/// The dialogs' window titles (the e2e tests find them by these).
const TITLE: &str = "Coffer: confirm";
const SAVE_TITLE: &str = "Coffer: write the backup to";
pub const IMPORT_TITLE: &str = "Coffer: import from";
pub const RESTORE_TITLE: &str = "Coffer: restore from";

/// Asks "`question`" with `detail` below it; `accept` labels the button that
/// goes ahead (with a GTK mnemonic, e.g. "_Push"). `Err(Declined)` unless
/// the person pressed it.
pub async fn confirm(
    app: &AppHandle,
    question: String,
    detail: String,
    accept: &'static str,
) -> Result<(), IpcError> {
    let app = app.clone();
    let yes = tauri::async_runtime::spawn_blocking(move || {
        let mut dialog = app
            .dialog()
            .message(format!("{question}\n\n{detail}"))
            .title(TITLE)
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                accept.to_owned(),
                "_Cancel".to_owned(),
            ));
        if let Some(window) = app.get_webview_window("main") {
            dialog = dialog.parent(&window);
        }
        dialog.blocking_show()
    })
    .await
    .map_err(|e| IpcError::failure(format!("the confirmation did not open: {e}")))?;
    if yes {
        Ok(())
    } else {
        Err(declined())
    }
}

/// Asks where to write a backup, in the native save dialog. `Err(Declined)`
/// when the person closes it.
pub async fn backup_path(app: &AppHandle) -> Result<PathBuf, IpcError> {
    choose(app, |dialog| {
        let name = format!(
            "coffer-backup-{}.cbk",
            chrono::Local::now().format("%Y-%m-%d")
        );
        dialog
            .set_title(SAVE_TITLE)
            .set_file_name(name)
            .add_filter("Coffer backup", &["cbk"])
            .blocking_save_file()
    })
    .await
}

/// Asks which file to open, in the native open dialog titled `title`,
/// offering `filter` first and every file second. `Err(Declined)` when the
/// person closes it.
pub async fn open_path(
    app: &AppHandle,
    title: &'static str,
    filter: (&'static str, &'static [&'static str]),
) -> Result<PathBuf, IpcError> {
    choose(app, move |dialog| {
        let dialog = dialog.set_title(title);
        let dialog = if filter.1.is_empty() {
            dialog
        } else {
            dialog
                .add_filter(filter.0, filter.1)
                .add_filter("All files", &["*"])
        };
        dialog.blocking_pick_file()
    })
    .await
}

/// A native file chooser over the main window, starting in the documents
/// folder (else home), that `show` finishes and shows: the local path the
/// person picked.
async fn choose(
    app: &AppHandle,
    show: impl FnOnce(FileDialogBuilder<Wry>) -> Option<FilePath> + Send + 'static,
) -> Result<PathBuf, IpcError> {
    let app = app.clone();
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        let folder = app
            .path()
            .document_dir()
            .or_else(|_| app.path().home_dir())
            .ok();
        let mut dialog = app.dialog().file();
        if let Some(folder) = folder.filter(|f| f.is_dir()) {
            dialog = dialog.set_directory(folder);
        }
        if let Some(window) = app.get_webview_window("main") {
            dialog = dialog.set_parent(&window);
        }
        show(dialog)
    })
    .await
    .map_err(|e| IpcError::failure(format!("the file chooser did not open: {e}")))?;
    chosen
        .ok_or_else(declined)?
        .into_path()
        .map_err(|e| IpcError::failure(format!("that is not a local file: {e}")))
}

fn declined() -> IpcError {
    IpcError {
        code: ErrorCode::Declined,
        message: "nothing was changed".into(),
        field: None,
    }
}
