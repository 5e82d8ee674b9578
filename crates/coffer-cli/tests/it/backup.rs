//! `coffer backup`, `backup verify` and `restore`.
