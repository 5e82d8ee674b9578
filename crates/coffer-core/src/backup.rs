//! Encrypted, self-contained, verifiable backups and restoring them into a new vault.
