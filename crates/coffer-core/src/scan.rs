//! Finding plaintext credentials in files (`coffer scan`).
