//! Black-box tests of the `coffer` binary: one integration-test binary with
//! a module per concern.

mod audit;
mod bad_input;
mod concurrency;
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
mod unlock;
