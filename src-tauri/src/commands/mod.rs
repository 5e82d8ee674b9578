//! The IPC commands, one file per area of the core. Each only translates:
//! arguments in, one core call, a camelCase DTO or an `IpcError` out.

pub mod approval;
pub mod audit;
pub mod credentials;
pub mod rotation;
pub mod settings;
pub mod sync;
pub mod transfer;
pub mod trash;
pub mod vault;
