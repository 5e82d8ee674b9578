//! Rotation: policies and the status they give (`policy`), and the guided,
//! resumable rotation run (`run`), automated for AWS IAM access keys (`aws`).

pub mod aws;
mod policy;
pub mod revoke;
pub mod run;
pub mod vault_token;

pub use policy::*;
