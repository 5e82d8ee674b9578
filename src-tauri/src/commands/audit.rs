//! The audit trail: filtered entries, newest first, and chain verification.

use coffer_core::audit::{Action, Query};
use tauri::AppHandle;

use crate::dto::{details_text, AuditFilter, AuditRow, Verification};
use crate::error::IpcError;
use crate::state::blocking;

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
