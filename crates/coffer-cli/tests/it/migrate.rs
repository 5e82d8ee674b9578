//! `coffer migrate aws` and `coffer scan`.
