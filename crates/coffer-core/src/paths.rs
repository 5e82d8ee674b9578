//! Where vaults live by default (`$XDG_DATA_HOME/coffer/vault.sqlite`), and
//! the few settings read before any vault is open
//! (`$XDG_CONFIG_HOME/coffer/`).

use std::path::PathBuf;

use crate::error::{Error, Result};

pub const DEFAULT_FILE_NAME: &str = "vault.sqlite";

/// The default vault path, following the XDG base directory convention.
pub fn default_vault_path() -> Result<PathBuf> {
    let base = directories::BaseDirs::new().ok_or_else(|| Error::Failure {
        what: "cannot find the home directory to place the default vault; pass --vault or set COFFER_VAULT".into(),
    })?;
    Ok(base.data_dir().join("coffer").join(DEFAULT_FILE_NAME))
}

/// `$XDG_CONFIG_HOME/coffer`: settings needed before a vault is unlocked
/// (whether commands use the agent), so not in the vault.
pub fn config_dir() -> Result<PathBuf> {
    let base = directories::BaseDirs::new().ok_or_else(|| Error::Failure {
        what: "cannot find the home directory for Coffer's settings".into(),
    })?;
    Ok(base.config_dir().join("coffer"))
}
