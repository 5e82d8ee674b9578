//! Rotation: policies and the status they give (`policy`), and the guided,
//! resumable rotation run (`run`), automated for AWS IAM access keys (`aws`).

pub mod aws;
mod policy;
pub mod run;

pub use policy::*;
