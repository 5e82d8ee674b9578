//! Rotation: policies and the status they give (`policy`), and the guided,
//! resumable rotation run (`run`), automated for AWS IAM access keys (`aws`).

pub mod aws;
mod policy;
pub mod revoke;
pub mod run;
pub mod vault_token;
pub mod wizard;

pub use policy::*;

use std::future::Future;

use crate::error::{Error, Result};

/// Runs one provider call to completion on a small runtime of its own: the
/// core stays synchronous for the CLI and the app alike.
pub(crate) fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failure {
            what: format!("cannot start the network runtime: {e}"),
        })?;
    Ok(rt.block_on(f))
}
