//! The audit trail: filtered entries, newest first, and chain verification.

use chrono::{DateTime, Utc};
use coffer_core::audit::{Action, Query};
use serde::{Deserialize, Serialize};
use tauri::AppHandle;

use crate::error::IpcError;
use crate::state::blocking;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditFilter {
    credential: Option<String>,
    action: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: usize,
}

#[derive(Debug, Serialize)]
pub struct AuditRow {
    seq: u64,
    at: String,
    action: &'static str,
    target: Option<String>,
    outcome: &'static str,
    user: String,
    interface: String,
    details: String,
}

/// `{"fields":["password"],"version":3}` → "fields: password · version: 3".
fn details_text(details: &serde_json::Value) -> String {
    let Some(map) = details.as_object() else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            format!("{}: {v}", k.replace('_', " "))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[tauri::command]
pub async fn audit_list(app: AppHandle, filter: AuditFilter) -> Result<Vec<AuditRow>, IpcError> {
    blocking(&app, move |app| {
        let query = Query {
            since: filter.since,
            until: filter.until,
            credential: filter.credential.filter(|c| !c.is_empty()),
            action: match filter.action.filter(|a| !a.is_empty()) {
                Some(a) => Some(Action::parse(&a)?),
                None => None,
            },
            limit: Some(filter.limit.clamp(1, 10_000)),
        };
        let entries = app.with_vault(|v| v.audit_entries(&query))?;
        Ok(entries
            .into_iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: e.at.to_rfc3339(),
                action: e.body.action.as_str(),
                target: e.body.target_name,
                outcome: e.body.outcome.as_str(),
                user: e.body.actor.user,
                interface: e.body.actor.interface,
                details: details_text(&e.body.details),
            })
            .collect())
    })
    .await
}

#[derive(Debug, Serialize)]
pub struct Verification {
    ok: bool,
    entries: u64,
    anchored: Option<u64>,
    message: Option<String>,
}

#[tauri::command]
pub async fn audit_verify(app: AppHandle) -> Result<Verification, IpcError> {
    blocking(&app, |app| {
        let result = app.with_vault(|v| v.verify_audit())?;
        Ok(match result {
            Ok(ok) => Verification {
                ok: true,
                entries: ok.entries,
                anchored: ok.anchored,
                message: None,
            },
            Err(broken) => Verification {
                ok: false,
                entries: 0,
                anchored: None,
                message: Some(broken.to_string()),
            },
        })
    })
    .await
}

#[tauri::command]
pub fn audit_actions() -> Vec<&'static str> {
    Action::ALL.iter().map(|a| a.as_str()).collect()
}
