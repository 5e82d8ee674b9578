//! Errors as the web view receives them: `{ code, message, field }`, where
//! `code` is a closed set the UI switches on and `field` names the input
//! that was wrong, when the core said which.

use coffer_core::{Error, ErrorClass};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct IpcError {
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl IpcError {
    pub fn failure(message: impl Into<String>) -> IpcError {
        IpcError {
            code: "failure",
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> IpcError {
        IpcError {
            code: "invalid_input",
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }
}

impl From<Error> for IpcError {
    fn from(e: Error) -> Self {
        let field = match &e {
            // The core names CLI flags ("--length"); the UI's fields have no dashes.
            Error::Invalid { what, .. } => Some(what.trim_start_matches("--").replace('-', "_")),
            Error::AlreadyExists { .. } => Some("name".to_owned()),
            Error::WrongPassphrase => Some("passphrase".to_owned()),
            _ => None,
        };
        let code = match (&e, e.class()) {
            (Error::WrongPassphrase, _) => "wrong_passphrase",
            (Error::Locked, _) => "locked",
            (_, ErrorClass::Failure) => "failure",
            (_, ErrorClass::InvalidInput) => "invalid_input",
            (_, ErrorClass::Attention) => "conflict",
            (_, ErrorClass::NotFound) => "not_found",
            (_, ErrorClass::CannotUnlock) => "cannot_unlock",
            (_, ErrorClass::Integrity) => "integrity",
        };
        IpcError {
            code,
            message: e.to_string(),
            field,
        }
    }
}
