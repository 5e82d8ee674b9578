//! The IPC commands, one file per area of the core.

pub mod vault;
