//! The rotation wizard: start or continue a run one click at a time, read
//! where a run stands, abort it. Automated steps report progress as
//! `rotation-progress` events.

use chrono::{Duration, Utc};
use coffer_core::rotation::run::{self, Generate};
use coffer_core::rotation::wizard::Answers;
use tauri::{AppHandle, Emitter};

use crate::dto::{
    charset_of, finished_view, run_view, waiting_on, AdvanceInput, LeaseView, RotationProgress,
    RunView, Said,
};
use crate::error::IpcError;
use crate::state::blocking;

#[tauri::command]
pub async fn rotation_get(app: AppHandle, name: String) -> Result<Option<RunView>, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| {
            let kind = v.get(&name)?.meta.kind;
            Ok(v.running_rotation(&name)?
                .map(|r| run_view(&name, &r, waiting_on(kind, &r))))
        })
    })
    .await
}

/// The Vault leases recorded: held by a running `coffer exec`, or left
/// behind (revoked from the CLI: `coffer status --revoke-leases`).
#[tauri::command]
pub async fn leases_list(app: AppHandle) -> Result<Vec<LeaseView>, IpcError> {
    blocking(&app, |app| {
        app.with_vault(|v| {
            Ok(coffer_core::leases::list(v)?
                .iter()
                .map(LeaseView::from)
                .collect())
        })
    })
    .await
}

#[tauri::command]
pub async fn rotation_running(app: AppHandle) -> Result<Vec<RunView>, IpcError> {
    blocking(&app, |app| {
        app.with_vault(|v| {
            v.running_rotations()?
                .iter()
                .map(|(name, r)| Ok(run_view(name, r, waiting_on(v.get(name)?.meta.kind, r))))
                .collect()
        })
    })
    .await
}

#[tauri::command]
pub async fn rotation_advance(
    app: AppHandle,
    name: String,
    input: AdvanceInput,
) -> Result<RunView, IpcError> {
    let events = app.clone();
    blocking(&app, move |app| {
        let generate = match input.generate {
            Some(g) => Some(Generate {
                length: g.length,
                charset: charset_of(&g.charset)?,
            }),
            None => None,
        };
        let options = run::Options {
            grace: Duration::hours(i64::from(input.grace_hours.unwrap_or(24))),
            automate: input.automate,
            generate,
            delete_inactive: false,
            admin: None,
            alternate: None,
        };
        let values = input.values;
        let progress_name = name.clone();
        let mut answers = Answers::new(values, input.confirm, move |step, message| {
            let _ = events.emit(
                "rotation-progress",
                RotationProgress {
                    name: &progress_name,
                    step,
                    message,
                },
            );
        });
        app.with_vault(|v| {
            let outcome = run::rotate(v, &name, &options, &mut answers, Utc::now())?;
            let said = Said {
                outcome: Some(outcome),
                question: answers.question.take(),
                needs_values: std::mem::take(&mut answers.needs_values),
                messages: std::mem::take(&mut answers.messages),
            };
            // A finished run is no longer stored: show it as done.
            let run = v.running_rotation(&name)?;
            Ok(match run {
                Some(r) => run_view(&name, &r, said),
                None => finished_view(&name, said),
            })
        })
    })
    .await
}

#[tauri::command]
pub async fn rotation_abort(app: AppHandle, name: String) -> Result<(), IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| run::abort(v, &name, Utc::now()))
    })
    .await
}
