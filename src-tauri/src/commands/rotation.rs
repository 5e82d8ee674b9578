//! The rotation wizard: start or continue a run one click at a time, read
//! where a run stands, abort it. Automated steps report progress as
//! `rotation-progress` events.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use coffer_core::rotation::run::{self, Generate, Outcome, Run, Step};
use coffer_core::rotation::wizard::{self, Answers};
use coffer_core::SecretValue;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter};

use super::credentials::charset_of;
use crate::error::IpcError;
use crate::state::blocking;

#[derive(Debug, Serialize)]
pub struct StepView {
    step: Step,
    label: &'static str,
    state: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    name: String,
    flow: run::Flow,
    step: Step,
    started_at: String,
    steps: Vec<StepView>,
    outcome: &'static str,
    reason: Option<String>,
    until: Option<String>,
    question: Option<String>,
    needs_values: Vec<String>,
    messages: Vec<String>,
}

/// What one call to the run left behind, beyond the stored run.
#[derive(Default)]
pub struct Said {
    pub outcome: Option<Outcome>,
    pub question: Option<String>,
    pub needs_values: Vec<String>,
    pub messages: Vec<String>,
}

/// What a stored run waits on, for a wizard opened on it.
pub fn waiting_on(kind: coffer_core::Kind, r: &Run) -> Said {
    let (question, needs_values) = wizard::pending(kind, r, Utc::now());
    Said {
        question: question.map(str::to_owned),
        needs_values,
        ..Said::default()
    }
}

pub fn run_view(name: &str, run: &Run, said: Said) -> RunView {
    let flow = run.state.flow;
    let at = run.state.step;
    let steps = wizard::STEPS
        .iter()
        .map(|&step| StepView {
            step,
            label: wizard::label(step, flow),
            state: if step < at || at == Step::Done {
                "done"
            } else if step == at {
                "current"
            } else {
                "pending"
            },
        })
        .collect();
    let (outcome, reason, until) = match said.outcome {
        Some(Outcome::Done) => ("done", None, None),
        Some(Outcome::Aborted) => ("aborted", None, None),
        Some(Outcome::Waiting { until, reason, .. }) => {
            ("waiting", Some(reason), until.map(|t| t.to_rfc3339()))
        }
        None if at == Step::Done => ("done", None, None),
        None => ("waiting", None, run.state.revoke_by.map(|t| t.to_rfc3339())),
    };
    RunView {
        name: name.to_owned(),
        flow,
        step: at,
        started_at: run.started_at.to_rfc3339(),
        steps,
        outcome,
        reason,
        until,
        question: said.question,
        needs_values: said.needs_values,
        messages: said.messages,
    }
}

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

#[derive(Debug, Deserialize)]
pub struct GenerateInput {
    length: usize,
    charset: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceInput {
    confirm: bool,
    values: Option<BTreeMap<String, String>>,
    generate: Option<GenerateInput>,
    automate: Option<bool>,
    grace_hours: Option<u32>,
}

#[derive(Clone, Serialize)]
struct Progress<'a> {
    name: &'a str,
    step: Option<Step>,
    message: &'a str,
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
        };
        let values = input.values.map(|m| {
            m.into_iter()
                .map(|(k, v)| (k, SecretValue::from(v)))
                .collect()
        });
        let progress_name = name.clone();
        let mut answers = Answers::new(values, input.confirm, move |step, message| {
            let _ = events.emit(
                "rotation-progress",
                Progress {
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

fn finished_view(name: &str, said: Said) -> RunView {
    let flow = run::Flow::Manual;
    RunView {
        name: name.to_owned(),
        flow,
        step: Step::Done,
        started_at: Utc::now().to_rfc3339(),
        steps: wizard::STEPS
            .iter()
            .map(|&step| StepView {
                step,
                label: wizard::label(step, flow),
                state: "done",
            })
            .collect(),
        outcome: match said.outcome {
            Some(Outcome::Aborted) => "aborted",
            _ => "done",
        },
        reason: None,
        until: None,
        question: None,
        needs_values: Vec::new(),
        messages: said.messages,
    }
}

#[tauri::command]
pub async fn rotation_abort(app: AppHandle, name: String) -> Result<(), IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| run::abort(v, &name, Utc::now()))
    })
    .await
}
