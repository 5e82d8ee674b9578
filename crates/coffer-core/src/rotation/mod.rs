//! Rotation: the guided, resumable rotation run (`run`), automated for AWS
//! IAM access keys (`aws`) and PostgreSQL passwords (`postgres`); emergency
//! revocation (`revoke`); Vault/OpenBao tokens and AppRole secret ids,
//! rotated and revoked (`vault_auth`); the app's step-by-step guide
//! (`wizard`). The policies and the status they give are model types
//! (`crate::policy`), re-exported here.

pub mod aws;
pub mod postgres;
pub mod run;
pub mod vault_auth;
pub mod wizard;

pub use crate::policy::*;
