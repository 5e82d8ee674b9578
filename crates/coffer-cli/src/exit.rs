//! Exit codes and how errors map to them.

use std::fmt;

use coffer_core::ErrorClass;

/// The documented exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Failure = 1,
    Usage = 2,
    Attention = 3,
    NotFound = 4,
    CannotUnlock = 5,
    Integrity = 6,
    Denied = 7,
    NeedsApproval = 8,
}

impl From<ErrorClass> for Exit {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::Failure => Exit::Failure,
            ErrorClass::InvalidInput => Exit::Usage,
            ErrorClass::Attention => Exit::Attention,
            ErrorClass::NotFound => Exit::NotFound,
            ErrorClass::CannotUnlock => Exit::CannotUnlock,
            ErrorClass::Integrity => Exit::Integrity,
            ErrorClass::Denied => Exit::Denied,
            ErrorClass::NeedsApproval => Exit::NeedsApproval,
        }
    }
}

/// An error raised by the CLI itself, with its exit code.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

pub fn usage(message: impl Into<String>) -> CliError {
    CliError {
        exit: Exit::Usage,
        message: message.into(),
    }
}

pub fn cannot_unlock(message: impl Into<String>) -> CliError {
    CliError {
        exit: Exit::CannotUnlock,
        message: message.into(),
    }
}

/// The exit code for an error chain: the first CLI or core error in it decides.
pub fn classify(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.exit;
        }
        if let Some(e) = cause.downcast_ref::<coffer_core::Error>() {
            return e.class().into();
        }
    }
    Exit::Failure
}

/// Whether the error is a closed stdout (`coffer list | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
