//! Coffer's engine: the encrypted vault, its key slots, the credential model
//! and search. No Tauri, no terminal I/O: the CLI and the desktop app are
//! thin layers over this crate.

pub mod access;
pub mod agent;
pub mod audit;
pub mod away;
pub mod backup;
mod bounds;
pub mod credential;
pub mod crypto;
pub mod doctor;
pub mod envmap;
pub mod error;
pub mod fsx;
#[cfg(feature = "fuzz-hooks")]
#[doc(hidden)]
pub mod fuzz_hooks;
pub mod input;
pub(crate) mod keys;
pub mod kind;
pub mod leases;
pub mod migrate;
pub mod overview;
mod par;
pub mod paths;
pub mod policy;
pub mod preferences;
pub mod process;
pub mod review;
pub mod revoke;
pub mod rotation;
mod rows;
mod runtime;
pub mod scan;
pub mod seal;
pub(crate) mod sealed;
pub mod search;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod slot;
pub mod store;
pub mod strength;
pub mod sync;
pub mod time;
pub mod totp;
pub mod transfer;
pub mod vault;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod testkit;

pub use credential::{Credential, CredentialId, CredentialMeta, Draft, Patch, Secrets};
pub use crypto::KdfParams;
pub use error::{Error, ErrorClass, Result};
pub use kind::Kind;
pub use seal::{SealError, Sealer, SecretService};
pub use secret::SecretValue;
pub use vault::{
    CreateOptions, History, SlotInfo, Trashed, UnlockReport, UnlockWith, Unlocked, Updated, Vault,
    VaultInfo, VersionInfo, TRASH_DAYS,
};
