//! Import from a file the person picks in the shell's own open dialog (the
//! formats the CLI reads): a preview first (a dry run: how many, which names
//! are taken), then the import with the person's choice for taken names, and
//! the backup file a restore reads. The page never names the file read: it
//! is the one the person picked.

use chrono::Utc;
use coffer_core::transfer::{
    self, DotenvMode, Format, OnDuplicate, Outcome, Overrides, ParseOptions, Report,
};
use tauri::AppHandle;

use crate::confirm::{self, IMPORT_TITLE, RESTORE_TITLE};
use crate::dto::{ImportDone, ImportPreview};
use crate::error::IpcError;
use crate::guard::guard;
use crate::state::{blocking, AppState};

/// The names a preview lists.
const PREVIEW_NAMES: usize = 50;

/// Asks for a file of `format` and says what importing it would do.
#[tauri::command]
pub async fn import_preview(app: AppHandle, format: String) -> Result<ImportPreview, IpcError> {
    let format: Format = format.parse()?;
    let path = confirm::open_path(&app, IMPORT_TITLE, filter(format)).await?;
    blocking(&app, move |app| {
        let report = import(app, &path, format, None, true)?;
        *guard(&app.chosen_import) = Some((path, format));
        let taken = report.duplicates().iter().map(|n| n.to_string()).collect();
        Ok(ImportPreview {
            file: report
                .file
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            format: format.as_str().to_owned(),
            count: count(&report, |_| true),
            names: report
                .entries
                .iter()
                .take(PREVIEW_NAMES)
                .map(|e| e.name.clone())
                .collect(),
            taken,
            warnings: report.warnings,
        })
    })
    .await
}

/// Imports the file the preview read, `on_duplicate` (skip, rename,
/// overwrite) deciding for taken names; none refuses if any is taken.
#[tauri::command]
pub async fn import_apply(
    app: AppHandle,
    on_duplicate: Option<String>,
) -> Result<ImportDone, IpcError> {
    blocking(&app, move |app| {
        let policy = on_duplicate
            .as_deref()
            .map(str::parse::<OnDuplicate>)
            .transpose()?;
        let (path, format) = guard(&app.chosen_import)
            .take()
            .ok_or_else(|| IpcError::invalid("file", "choose the file to import first"))?;
        let report = import(app, &path, format, policy, false)?;
        let taken = report.duplicates();
        if !taken.is_empty() {
            let message = format!(
                "nothing was imported: {} taken ({}); choose what to do with them",
                taken.len(),
                taken.join(", ")
            );
            *guard(&app.chosen_import) = Some((path, format));
            return Err(IpcError::invalid("on_duplicate", message));
        }
        Ok(ImportDone {
            imported: count(&report, |o| *o == Outcome::Imported),
            overwritten: count(&report, |o| *o == Outcome::Overwritten),
            renamed: count(&report, |o| matches!(o, Outcome::Renamed { .. })),
            skipped: count(&report, |o| *o == Outcome::Skipped),
            unchanged: count(&report, |o| *o == Outcome::Unchanged),
        })
    })
    .await
}

/// Asks for the backup file a restore reads; the page shows its path and
/// sends it back with the backup's passphrase (`backup_restore`).
#[tauri::command]
pub async fn backup_choose(app: AppHandle) -> Result<String, IpcError> {
    let path = confirm::open_path(&app, RESTORE_TITLE, ("Coffer backup", &["cbk"])).await?;
    Ok(path.display().to_string())
}

fn import(
    app: &AppState,
    path: &std::path::Path,
    format: Format,
    policy: Option<OnDuplicate>,
    dry_run: bool,
) -> Result<Report, IpcError> {
    let options = ParseOptions {
        format,
        dotenv_mode: DotenvMode::One,
        name: None,
        prefix: None,
    };
    let batch = transfer::read_import(path, &options, &Overrides::default())?;
    app.with_vault(|v| v.import(&batch, policy, dry_run, Utc::now()))
}

fn count(report: &Report, pred: impl Fn(&Outcome) -> bool) -> u32 {
    u32::try_from(report.count(pred)).unwrap_or(u32::MAX)
}

/// The open dialog's filter for a format's files.
fn filter(format: Format) -> (&'static str, &'static [&'static str]) {
    match format {
        Format::AwsCredentials | Format::Dotenv => ("", &[]),
        Format::Json | Format::BitwardenJson => ("JSON", &["json"]),
        Format::Csv | Format::KeepassxcCsv | Format::BitwardenCsv | Format::OnepasswordCsv => {
            ("CSV", &["csv"])
        }
    }
}
