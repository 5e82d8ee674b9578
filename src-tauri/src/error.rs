//! Errors as the web view receives them: `{ code, message, field }`, where
//! `code` is a closed set the UI switches on and `field` names the input
//! that was wrong, when the core said which.

use coffer_core::{Error, ErrorClass};
use serde::Serialize;

/// What kind of failure it was: the closed set the UI switches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "IpcErrorCode")]
pub enum ErrorCode {
    Failure,
    InvalidInput,
    Conflict,
    NotFound,
    CannotUnlock,
    WrongPassphrase,
    Locked,
    Integrity,
    /// The person said no in one of the shell's own confirmations
    /// (`confirm.rs`); nothing was changed.
    Declined,
}

#[derive(Debug, Serialize)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

impl IpcError {
    pub fn failure(message: impl Into<String>) -> IpcError {
        IpcError {
            code: ErrorCode::Failure,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> IpcError {
        IpcError {
            code: ErrorCode::InvalidInput,
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }
}

impl From<Error> for IpcError {
    fn from(e: Error) -> Self {
        let field = match &e {
            Error::Invalid { what, .. } => Some(what.replace('-', "_")),
            Error::AlreadyExists { .. } => Some("name".to_owned()),
            Error::WrongPassphrase => Some("passphrase".to_owned()),
            _ => None,
        };
        let code = match (&e, e.class()) {
            (Error::WrongPassphrase, _) => ErrorCode::WrongPassphrase,
            (Error::Locked, _) => ErrorCode::Locked,
            (_, ErrorClass::Failure) => ErrorCode::Failure,
            (_, ErrorClass::InvalidInput) => ErrorCode::InvalidInput,
            (_, ErrorClass::Attention) => ErrorCode::Conflict,
            (_, ErrorClass::NotFound) => ErrorCode::NotFound,
            (_, ErrorClass::CannotUnlock) => ErrorCode::CannotUnlock,
            (_, ErrorClass::Integrity) => ErrorCode::Integrity,
            // The app's own commands are not subject to access rules; these
            // come only from the agent's side.
            (_, ErrorClass::Denied) => ErrorCode::Declined,
            (_, ErrorClass::NeedsApproval) => ErrorCode::Failure,
        };
        IpcError {
            code,
            message: e.to_string(),
            field,
        }
    }
}
