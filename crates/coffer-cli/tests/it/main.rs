//! Black-box tests of the `coffer` binary: one integration-test binary with
//! a module per concern.

mod agent;
mod audit;
mod backup;
mod bad_input;
mod bounds;
mod concurrency;
mod crash;
mod faults;
mod harness;
mod hostile_fields;
mod hostile_remote;
mod hostile_vault;
mod leaks;
mod leases;
mod migrate;
mod moto;
mod postgres;
mod remotes;
mod revoke;
mod rotation;
mod scenario;
mod sessions;
mod status;
mod stress;
mod support;
mod sync_aws;
mod sync_bao;
mod tamper;
mod tampering;
mod transfer;
mod trash;
mod unlock;
mod vault_rotation;
mod workflow;
