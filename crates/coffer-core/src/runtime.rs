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
