//! The approval window's commands (granted only to windows labelled
//! `approve-*`, by capabilities/approval.json): read its question, answer
//! it, or give the MFA code it asks for.

use coffer_core::agent::approval::Answer;
use coffer_core::SecretValue;
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
        ApprovalAnswer::Once | ApprovalAnswer::ForTerminal if question.mfa_serial.is_some() => {
            return Err(IpcError::invalid(
                "answer",
                "this request asks for the MFA code: give it, or decline",
            ))
        }
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

/// The code of an MFA device, for a question that asks for one. A
/// malformed code is refused here, with the window still open.
#[tauri::command]
pub async fn approval_code(
    window: WebviewWindow,
    approvals: State<'_, Approvals>,
    nonce: String,
    code: SecretValue,
) -> Result<(), IpcError> {
    let question = approvals.question(window.label(), &nonce)?;
    if question.mfa_serial.is_none() {
        return Err(IpcError::invalid(
            "code",
            "this request does not ask for a code",
        ));
    }
    let name = question.names.join(", ");
    if let Err(e) = coffer_core::sessions::mfa::check(&name, &code) {
        return Err(IpcError::invalid("code", e.to_string()));
    }
    approvals.give_code(window.label(), &nonce, code)?;
    let _ = window.close();
    Ok(())
}
