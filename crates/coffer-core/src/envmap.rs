//! Credentials as environment variables (per-kind defaults for `exec`/`env`)
//! and `{{ coffer://NAME/FIELD }}` templates (`inject`).
