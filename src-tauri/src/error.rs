//! Errors as the web view receives them: `{ code, message }`, where `code`
//! is a closed set the UI switches on.

use coffer_core::ErrorClass;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct IpcError {
    pub code: &'static str,
    pub message: String,
}

impl From<coffer_core::Error> for IpcError {
    fn from(e: coffer_core::Error) -> Self {
        let code = match e.class() {
            ErrorClass::Failure => "failure",
            ErrorClass::InvalidInput => "invalid_input",
            ErrorClass::Attention => "conflict",
            ErrorClass::NotFound => "not_found",
            ErrorClass::CannotUnlock => "cannot_unlock",
            ErrorClass::Integrity => "integrity",
        };
        IpcError {
            code,
            message: e.to_string(),
        }
    }
}
