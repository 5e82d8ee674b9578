//! Runs one provider call (AWS, Vault) to completion on a small runtime of its
//! own: the core stays synchronous for the CLI and the app alike.

use std::future::Future;

use crate::error::{Error, Result};

pub(crate) fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failure {
            what: format!("cannot start the network runtime: {e}"),
        })?;
    Ok(rt.block_on(f))
}

/// Whether `COFFER_OFFLINE` asks Coffer not to reach AWS on its own (set to
/// anything but empty or `0`): what would need the network is skipped, or
/// refused with a word on how to do without.
pub fn offline() -> bool {
    std::env::var_os("COFFER_OFFLINE").is_some_and(|v| !v.is_empty() && v != "0")
}
