//! Black-box tests of the `coffer` binary: one integration-test binary with
//! a module per concern.

mod audit;
mod backup;
mod bad_input;
mod concurrency;
mod migrate;
mod moto;
mod remotes;
mod revoke;
mod rotation;
mod scenario;
mod status;
mod support;
mod sync_aws;
mod sync_bao;
mod tamper;
mod transfer;
mod unlock;
mod workflow;
