//! The approval window's two commands (granted only to windows labelled
//! `approve-*`, by capabilities/approval.json): read its question, answer it.

use coffer_core::agent::approval::Answer;
use tauri::{State, WebviewWindow};

use crate::approval::Approvals;
use crate::dto::{ApprovalAnswer, ApprovalView};
use crate::error::IpcError;

#[tauri::command]
pub async fn approval_get(
    window: WebviewWindow,
    approvals: State<'_, Approvals>,
    nonce: String,
) -> Result<ApprovalView, IpcError> {
    let question = approvals.question(window.label(), &nonce)?;
    Ok((&question).into())
}

#[tauri::command]
pub async fn approval_answer(
    window: WebviewWindow,
    approvals: State<'_, Approvals>,
    nonce: String,
    answer: ApprovalAnswer,
) -> Result<(), IpcError> {
    let question = approvals.question(window.label(), &nonce)?;
    let answer = match answer {
        ApprovalAnswer::Once => Answer::Once,
        ApprovalAnswer::ForTerminal if question.remember_minutes > 0 => Answer::ForMinutes {
            minutes: question.remember_minutes,
        },
        ApprovalAnswer::ForTerminal => {
            return Err(IpcError::invalid(
                "answer",
                "this credential's rule asks every time: allow it once or deny it",
            ))
        }
        ApprovalAnswer::Deny => Answer::Deny,
    };
    approvals.answer(window.label(), &nonce, answer)?;
    let _ = window.close();
    Ok(())
}
