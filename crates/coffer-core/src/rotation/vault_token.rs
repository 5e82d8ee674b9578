//! Vault/OpenBao tokens: `revoke-self` for an emergency revoke. The address
//! comes from the credential's `addr` field, else `VAULT_ADDR`; plain
//! `http://` is accepted only to a loopback address.

use crate::credential::{Credential, Secrets};
use crate::error::{Error, Result};
use crate::secret::SecretValue;

pub fn revoke_self(credential: &Credential, secrets: &Secrets) -> Result<String> {
    let addr = credential
        .meta
        .fields
        .get("addr")
        .cloned()
        .or_else(|| std::env::var("VAULT_ADDR").ok())
        .ok_or_else(|| {
            Error::invalid(
                format!("credential '{}'", credential.meta.name),
                "has no addr field and VAULT_ADDR is not set",
            )
        })?;
    crate::sync::remote::check_url("Vault address", &addr, false)?;
    let token = secrets
        .0
        .get("token")
        .cloned()
        .unwrap_or_else(|| SecretValue::from(""));
    let namespace = credential.meta.fields.get("namespace").cloned();
    crate::runtime::block_on(crate::sync::kv::revoke_self(&addr, namespace, token))??;
    Ok(format!("token revoked at {addr}"))
}
