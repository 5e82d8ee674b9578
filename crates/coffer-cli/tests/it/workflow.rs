//! `coffer exec`, `env`, `inject`, `aws credential-process`, `vault-token-helper`.
