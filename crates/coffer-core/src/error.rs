//! The core's error type. Messages are lowercase fragments that name what
//! failed and, where there is one, what to do; none ever carries a secret.

use std::path::PathBuf;

use crate::seal::SealError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no vault at {path}; create one with `coffer init` or point --vault/COFFER_VAULT at an existing one")]
    VaultMissing { path: PathBuf },

    #[error("a vault already exists at {path}; refusing to overwrite it")]
    VaultExists { path: PathBuf },

    #[error("{path} is not a Coffer vault ({reason})")]
    NotAVault { path: PathBuf, reason: String },

    #[error("the vault at {path} has format version {found}, newer than this Coffer reads (up to {supported}); upgrade Coffer")]
    NewerFormat {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// Data failed authentication or is structurally corrupt. Deliberately
    /// opaque: it names the place, never the cryptographic detail.
    #[error("integrity error: {what}")]
    Integrity { what: String },

    /// The vault file and its audit anchor disagree; nothing was read or
    /// written. Only a deliberate acceptance (`Vault::accept_anchor`) gets past it.
    #[error("integrity error: {problem}; the vault does not match its audit anchor {}, and nothing was read or changed", anchor.display())]
    AnchorMismatch { anchor: PathBuf, problem: String },

    #[error("wrong passphrase (the vault is unchanged)")]
    WrongPassphrase,

    #[error("cannot unlock the vault: {reason}")]
    CannotUnlock { reason: String },

    /// Every way in the caller offered failed or was missing.
    #[error("{}", no_way_in(path, keyring.as_deref(), *passphrase_slot))]
    NoWayIn {
        path: PathBuf,
        /// Why the keyring did not open it, if it was tried.
        keyring: Option<String>,
        /// Whether the vault has a recovery passphrase (which was not given).
        passphrase_slot: bool,
    },

    #[error("the vault is locked; unlock it first")]
    Locked,

    #[error("OS keyring: {0}")]
    Keyring(#[from] SealError),

    #[error("credential '{name}' not found")]
    NotFound { name: String },

    #[error("version {version} of credential '{name}' not found")]
    VersionNotFound { name: String, version: u64 },

    #[error("no remote named '{name}'; see `coffer remote list`")]
    RemoteNotFound { name: String },

    #[error(
        "no request {id} waits for an answer (it was answered, or expired: run the command \
         again for a new one; `coffer agent pending` lists those waiting)"
    )]
    RequestNotFound { id: String },

    #[error("a credential named '{name}' already exists")]
    AlreadyExists { name: String },

    #[error("credential '{name}' changed since version {expected} (it is now at version {actual}); nothing was written, reload it and apply the change again")]
    Stale {
        name: String,
        expected: u64,
        actual: u64,
    },

    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },

    #[error(
        "the vault at {path} is busy: another process held its write lock for too long; try again"
    )]
    Busy { path: PathBuf },

    #[error("the vault at {path} cannot be written ({reason})")]
    ReadOnly { path: PathBuf, reason: String },

    #[error("database error on {path}")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} exists; refusing to overwrite it")]
    FileExists { path: PathBuf },

    #[error("{what}")]
    Failure { what: String },

    /// The person (or a rule) said no to a process asking the agent.
    #[error("{what}")]
    Denied { what: String },

    /// The agent needs the person's yes and has no window to ask in: the
    /// message says how to give it (`coffer agent approve ID`).
    #[error("{what}")]
    NeedsApproval { what: String },

    /// An STS call needs a code from an MFA device and nothing could give
    /// one (no terminal, no `mfa_process`).
    #[error(
        "a session for '{credential}' needs a code from MFA device {serial}: run the command on \
         a terminal to be asked for it, or set the credential's mfa_process field to a command \
         that prints one"
    )]
    MfaNeeded { credential: String, serial: String },

    /// An error the agent met serving a request, passed on as it was
    /// worded, with its class (the CLI's exit code follows from it).
    #[error("{message}")]
    Relayed { class: ErrorClass, message: String },
}

fn no_way_in(path: &std::path::Path, keyring: Option<&str>, passphrase_slot: bool) -> String {
    let path = path.display();
    match (keyring, passphrase_slot) {
        (keyring, false) => format!(
            "cannot unlock the vault at {path}: {}; this vault has no recovery passphrase, so only its keyring entry opens it",
            keyring.unwrap_or("it has no way in")
        ),
        (Some(keyring), true) => format!(
            "cannot unlock the vault at {path}: {keyring}; the recovery passphrase is needed and none was given"
        ),
        (None, true) => format!(
            "cannot unlock the vault at {path}: the recovery passphrase is needed and none was given"
        ),
    }
}

/// What kind of failure an error is; the CLI maps it to its exit code and
/// the app to the error code the UI switches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Something failed (I/O, a busy database, an existing vault).
    Failure,
    /// The request or its input is wrong.
    InvalidInput,
    /// The request needs a person's attention (a stale edit, a conflict).
    Attention,
    /// The vault, a credential or a version does not exist.
    NotFound,
    /// Wrong passphrase, no keyring entry, no keyring service.
    CannotUnlock,
    /// Tampered or corrupt data.
    Integrity,
    /// The person (or an access rule) refused a process the credential.
    Denied,
    /// An access rule asks the person, who has not answered yet.
    NeedsApproval,
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Relayed { class, .. } => *class,
            Error::VaultMissing { .. }
            | Error::NotFound { .. }
            | Error::VersionNotFound { .. }
            | Error::RemoteNotFound { .. }
            | Error::RequestNotFound { .. } => ErrorClass::NotFound,
            Error::Integrity { .. } => ErrorClass::Integrity,
            Error::WrongPassphrase
            | Error::CannotUnlock { .. }
            | Error::NoWayIn { .. }
            | Error::Locked
            | Error::Keyring(_) => ErrorClass::CannotUnlock,
            Error::AnchorMismatch { .. } => ErrorClass::Integrity,
            Error::Invalid { .. } => ErrorClass::InvalidInput,
            Error::Denied { .. } => ErrorClass::Denied,
            Error::NeedsApproval { .. } | Error::MfaNeeded { .. } => ErrorClass::NeedsApproval,
            Error::Stale { .. } => ErrorClass::Attention,
            Error::VaultExists { .. }
            | Error::NotAVault { .. }
            | Error::NewerFormat { .. }
            | Error::AlreadyExists { .. }
            | Error::Busy { .. }
            | Error::ReadOnly { .. }
            | Error::Database { .. }
            | Error::Io { .. }
            | Error::FileExists { .. }
            | Error::Failure { .. } => ErrorClass::Failure,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn integrity(what: impl Into<String>) -> Self {
        Error::Integrity { what: what.into() }
    }
}
