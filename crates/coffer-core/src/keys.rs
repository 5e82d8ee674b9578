//! The vault key and the sub-keys derived from it (HKDF-SHA256, salt = the
//! vault id, one label per purpose), held together while the vault is unlocked.

use crate::crypto;
use crate::error::Result;
use crate::secret::Key32;

pub(crate) const NAME_INDEX_LABEL: &str = "coffer/v1/name-index";
pub use crate::sealed::AUDIT_LABEL;
pub const ANCHOR_LABEL: &str = "coffer/v1/audit-anchor";
/// The list's catalog kept beside the vault (search/file.rs).
pub(crate) const CATALOG_LABEL: &str = "coffer/v1/list-catalog";

pub(crate) struct Keys {
    pub(crate) vault_key: Key32,
    pub(crate) name_key: Key32,
    pub(crate) audit_key: Key32,
    pub(crate) anchor_key: Key32,
}

impl Keys {
    pub(crate) fn new(vault_id: &[u8], vault_key: Key32) -> Result<Keys> {
        Ok(Keys {
            name_key: crypto::derive_subkey(&vault_key, vault_id, NAME_INDEX_LABEL)?,
            audit_key: crypto::derive_subkey(&vault_key, vault_id, AUDIT_LABEL)?,
            anchor_key: crypto::derive_subkey(&vault_key, vault_id, ANCHOR_LABEL)?,
            vault_key,
        })
    }
}
