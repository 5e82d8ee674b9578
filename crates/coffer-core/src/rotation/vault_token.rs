//! Vault/OpenBao tokens: `revoke-self` for an emergency revoke. The address
//! comes from the credential's `addr` field, else `VAULT_ADDR`; plain
//! `http://` is accepted only to a loopback address.

use crate::credential::{Credential, Secrets};
use crate::error::{Error, Result};

fn loopback(addr: &str) -> bool {
    let rest = addr.trim_start_matches("http://");
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

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
    if addr.starts_with("http://") && !loopback(&addr) {
        return Err(Error::invalid(
            "Vault address",
            format!("{addr} is plain http to a non-loopback host; use https"),
        ));
    }
    let token = secrets
        .0
        .get("token")
        .map(|t| t.expose_secret())
        .unwrap_or_default();
    let mut settings = vaultrs::client::VaultClientSettingsBuilder::default();
    settings.address(&addr).token(token);
    if let Some(ns) = credential.meta.fields.get("namespace") {
        settings.namespace(Some(ns.clone()));
    }
    let settings = settings.build().map_err(|e| Error::Failure {
        what: format!("invalid Vault settings for {addr}: {e}"),
    })?;
    let client = vaultrs::client::VaultClient::new(settings).map_err(|e| Error::Failure {
        what: format!("cannot make a Vault client for {addr}: {e}"),
    })?;
    super::block_on(vaultrs::token::revoke_self(&client))?.map_err(|e| Error::Failure {
        what: format!("Vault token revoke-self at {addr} failed: {e}"),
    })?;
    Ok(format!("token revoked at {addr}"))
}
