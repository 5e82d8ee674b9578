//! Key slots: the vault key wrapped under a key-encryption key (KEK).
//!
//! Slot body, format version 1 (stored in `slots.body`):
//! - keyring:    `[0x01][envelope: 61 bytes][checksum: 32 bytes]`
//! - passphrase: `[0x01][m: u32 BE][t: u32 BE][p: u32 BE][salt: 16 bytes][envelope: 61 bytes][checksum: 32 bytes]`
//!
//! The envelope is the vault key sealed by [`crate::crypto::seal`] with
//! associated data binding the vault id, the slot kind and the header (version,
//! Argon2id parameters, salt). The checksum is SHA-256 over the kind and the
//! rest of the body: it tells a damaged slot (integrity error) from a wrong
//! passphrase before Argon2 runs. Parameters are bounds-checked on every read.

use std::fmt;

use crate::crypto::{self, KdfParams, ENVELOPE_OVERHEAD};
use crate::error::{Error, Result};
use crate::secret::{Key32, SecretValue};

pub const SLOT_V1: u8 = 1;
const SALT_LEN: usize = 16;
const WRAPPED_LEN: usize = 32 + ENVELOPE_OVERHEAD;
const CHECKSUM_LEN: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    Keyring,
    Passphrase,
}

impl SlotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SlotKind::Keyring => "keyring",
            SlotKind::Passphrase => "passphrase",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "keyring" => Some(SlotKind::Keyring),
            "passphrase" => Some(SlotKind::Passphrase),
            _ => None,
        }
    }
}

impl fmt::Display for SlotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoded, checksum-verified key slot. `Debug` leaves out the wrapped key.
#[derive(Clone)]
pub struct Slot {
    pub kind: SlotKind,
    pub kdf: Option<(KdfParams, [u8; SALT_LEN])>,
    wrapped: Vec<u8>,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("kind", &self.kind)
            .field("kdf", &self.kdf.map(|(params, _)| params))
            .finish_non_exhaustive()
    }
}

impl Slot {
    /// A keyring slot: the vault key wrapped under a random KEK that the
    /// caller stores in the OS keyring.
    pub fn keyring(vault_id: &[u8], vault_key: &Key32, kek: &Key32) -> Result<Slot> {
        let header = vec![SLOT_V1];
        let wrapped = crypto::seal(
            kek,
            &aad(vault_id, SlotKind::Keyring, &header),
            vault_key.expose_secret(),
        )?;
        Ok(Slot {
            kind: SlotKind::Keyring,
            kdf: None,
            wrapped,
        })
    }

    /// A passphrase slot: KEK = Argon2id(passphrase, fresh salt).
    pub fn passphrase(
        vault_id: &[u8],
        vault_key: &Key32,
        passphrase: &SecretValue,
        params: KdfParams,
    ) -> Result<Slot> {
        params
            .check()
            .map_err(|reason| Error::invalid("passphrase parameters", reason))?;
        if passphrase.is_empty() {
            return Err(Error::invalid("passphrase", "the passphrase is empty"));
        }
        let mut salt = [0u8; SALT_LEN];
        crypto::random_bytes(&mut salt)?;
        let kek = crypto::passphrase_kek(passphrase, &salt, params)?;
        let header = passphrase_header(params, &salt);
        let wrapped = crypto::seal(
            &kek,
            &aad(vault_id, SlotKind::Passphrase, &header),
            vault_key.expose_secret(),
        )?;
        Ok(Slot {
            kind: SlotKind::Passphrase,
            kdf: Some((params, salt)),
            wrapped,
        })
    }

    fn header(&self) -> Vec<u8> {
        match &self.kdf {
            Some((params, salt)) => passphrase_header(*params, salt),
            None => vec![SLOT_V1],
        }
    }

    /// The body as stored, checksum included.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = self.header();
        body.extend_from_slice(&self.wrapped);
        let sum = checksum(self.kind, &body);
        body.extend_from_slice(&sum);
        body
    }

    /// Decodes and checks a stored slot. `label` names it in errors.
    pub fn decode(kind: &str, body: &[u8], label: &str) -> Result<Slot> {
        let corrupt = |why: &str| Error::integrity(format!("{label} is corrupt ({why})"));
        let kind = SlotKind::parse(kind).ok_or_else(|| corrupt("unknown slot kind"))?;
        if body.len() < 1 + WRAPPED_LEN + CHECKSUM_LEN {
            return Err(corrupt("too short"));
        }
        let (content, sum) = body.split_at(body.len() - CHECKSUM_LEN);
        if checksum(kind, content) != sum {
            return Err(corrupt("checksum mismatch: it was altered or damaged"));
        }
        if content[0] != SLOT_V1 {
            return Err(Error::integrity(format!(
                "{label} has format version {}, which this Coffer does not read",
                content[0]
            )));
        }
        let (kdf, rest) = match kind {
            SlotKind::Keyring => (None, &content[1..]),
            SlotKind::Passphrase => {
                if content.len() != 1 + 12 + SALT_LEN + WRAPPED_LEN {
                    return Err(corrupt("wrong length"));
                }
                let word = |i: usize| {
                    u32::from_be_bytes([content[i], content[i + 1], content[i + 2], content[i + 3]])
                };
                let params = KdfParams {
                    memory_kib: word(1),
                    iterations: word(5),
                    parallelism: word(9),
                };
                params.check().map_err(|reason| {
                    Error::integrity(format!(
                        "{label} is refused: {reason}; it was weakened or damaged"
                    ))
                })?;
                let mut salt = [0u8; SALT_LEN];
                salt.copy_from_slice(&content[13..13 + SALT_LEN]);
                (Some((params, salt)), &content[13 + SALT_LEN..])
            }
        };
        if rest.len() != WRAPPED_LEN {
            return Err(corrupt("wrong length"));
        }
        Ok(Slot {
            kind,
            kdf,
            wrapped: rest.to_vec(),
        })
    }

    /// Unwraps the vault key with the KEK read from the keyring. A failure
    /// here means the slot or the keyring entry was altered.
    pub fn open_with_kek(&self, vault_id: &[u8], kek: &Key32, label: &str) -> Result<Key32> {
        let plain = crypto::open(kek, &aad(vault_id, self.kind, &self.header()), &self.wrapped, label).map_err(|_| {
            Error::integrity(format!(
                "{label} does not open with the key held in the OS keyring: the slot or the keyring entry was altered"
            ))
        })?;
        Key32::from_slice(&plain)
            .ok_or_else(|| Error::integrity(format!("{label} holds a key of the wrong size")))
    }

    /// Unwraps the vault key with a passphrase (runs Argon2id).
    pub fn open_with_passphrase(
        &self,
        vault_id: &[u8],
        passphrase: &SecretValue,
        label: &str,
    ) -> Result<Key32> {
        let Some((params, salt)) = &self.kdf else {
            return Err(Error::Failure {
                what: format!("{label} is not a passphrase slot"),
            });
        };
        let kek = crypto::passphrase_kek(passphrase, salt, *params)?;
        let plain = crypto::open(
            &kek,
            &aad(vault_id, self.kind, &self.header()),
            &self.wrapped,
            label,
        )
        .map_err(|_| {
            if KdfParams::WRITTEN.contains(params) {
                Error::WrongPassphrase
            } else {
                Error::integrity(format!(
                    "{label} does not open, and its Argon2id parameters (m={} KiB, t={}, p={}) \
                     are not ones Coffer writes: the slot was edited or damaged",
                    params.memory_kib, params.iterations, params.parallelism
                ))
            }
        })?;
        Key32::from_slice(&plain)
            .ok_or_else(|| Error::integrity(format!("{label} holds a key of the wrong size")))
    }
}

pub(crate) fn passphrase_header(params: KdfParams, salt: &[u8; SALT_LEN]) -> Vec<u8> {
    let mut h = Vec::with_capacity(13 + SALT_LEN);
    h.push(SLOT_V1);
    h.extend_from_slice(&params.memory_kib.to_be_bytes());
    h.extend_from_slice(&params.iterations.to_be_bytes());
    h.extend_from_slice(&params.parallelism.to_be_bytes());
    h.extend_from_slice(salt);
    h
}

pub(crate) fn aad(vault_id: &[u8], kind: SlotKind, header: &[u8]) -> Vec<u8> {
    crypto::aad(&[
        b"coffer/v1/slot",
        vault_id,
        kind.as_str().as_bytes(),
        header,
    ])
}

pub(crate) fn checksum(kind: SlotKind, content: &[u8]) -> [u8; 32] {
    crypto::digest(&[
        b"coffer/v1/slot-checksum",
        kind.as_str().as_bytes(),
        content,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &[u8] = b"0123456789abcdef";

    #[test]
    fn keyring_slot_round_trip_and_every_flip_fails() {
        let vk = crypto::random_key().expect("rng");
        let kek = crypto::random_key().expect("rng");
        let body = Slot::keyring(ID, &vk, &kek).expect("slot").encode();
        let slot = Slot::decode("keyring", &body, "slot").expect("decode");
        assert_eq!(
            slot.open_with_kek(ID, &kek, "slot")
                .expect("open")
                .expose_secret(),
            vk.expose_secret()
        );
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] ^= 0x01;
            let res = Slot::decode("keyring", &bad, "slot")
                .and_then(|s| s.open_with_kek(ID, &kek, "slot"));
            assert!(matches!(res, Err(Error::Integrity { .. })), "byte {i}");
        }
        // The same slot does not open in another vault.
        let res = slot.open_with_kek(b"fedcba9876543210", &kek, "slot");
        assert!(matches!(res, Err(Error::Integrity { .. })));
    }

    #[test]
    fn passphrase_slot_wrong_passphrase_and_flips() {
        let vk = crypto::random_key().expect("rng");
        let pw = SecretValue::from("correct horse battery staple");
        let body = Slot::passphrase(ID, &vk, &pw, KdfParams::MIN)
            .expect("slot")
            .encode();
        let slot = Slot::decode("passphrase", &body, "slot").expect("decode");
        assert_eq!(
            slot.open_with_passphrase(ID, &pw, "slot")
                .expect("open")
                .expose_secret(),
            vk.expose_secret()
        );
        let wrong = slot.open_with_passphrase(ID, &SecretValue::from("nope"), "slot");
        assert!(matches!(wrong, Err(Error::WrongPassphrase)));
        // Every flipped byte is caught by the checksum, before Argon2 runs.
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] ^= 0x80;
            assert!(
                matches!(
                    Slot::decode("passphrase", &bad, "slot"),
                    Err(Error::Integrity { .. })
                ),
                "byte {i}"
            );
        }
    }

    #[test]
    fn weakened_parameters_are_refused_even_with_a_fixed_checksum() {
        let vk = crypto::random_key().expect("rng");
        let pw = SecretValue::from("pw");
        let body = Slot::passphrase(ID, &vk, &pw, KdfParams::MIN)
            .expect("slot")
            .encode();
        let mut content = body[..body.len() - CHECKSUM_LEN].to_vec();
        content[1..5].copy_from_slice(&8u32.to_be_bytes());
        let mut forged = content.clone();
        forged.extend_from_slice(&checksum(SlotKind::Passphrase, &content));
        let err = Slot::decode("passphrase", &forged, "key slot 2").unwrap_err();
        assert!(matches!(err, Error::Integrity { .. }));
        assert!(err.to_string().contains("below the minimum"), "{err}");
    }

    #[test]
    fn weak_parameters_cannot_be_created() {
        let vk = crypto::random_key().expect("rng");
        let weak = KdfParams {
            memory_kib: 1024,
            ..KdfParams::MIN
        };
        assert!(Slot::passphrase(ID, &vk, &SecretValue::from("pw"), weak).is_err());
    }
}
