//! The cryptographic primitives: random bytes, the AES-256-GCM envelope with
//! associated data, HKDF sub-keys and the Argon2id key-encryption key.
//!
//! Envelope format (version 1): `[0x01][nonce: 12 bytes][ciphertext || tag: 16 bytes]`.
//! The envelope version byte is part of the associated data, so changing it
//! fails authentication like any other flipped byte.

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::{Key32, SecretValue};

pub const ENVELOPE_V1: u8 = 1;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
/// Bytes an envelope adds to its plaintext.
pub const ENVELOPE_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Fills `buf` from the operating system's random number generator.
pub fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Failure {
        what: format!("the operating system's random number generator failed: {e}"),
    })
}

pub fn random_key() -> Result<Key32> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    random_bytes(bytes.as_mut())?;
    Ok(Key32::from_bytes(*bytes))
}

/// Encrypts `plaintext` under `key` with a fresh random nonce and `aad`.
pub fn seal(key: &Key32, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut nonce)?;
    seal_with_nonce(key, &nonce, aad, plaintext)
}

/// [`seal`] with a given nonce: only the known-answer tests call it directly
/// (a nonce must never be reused under one key).
pub(crate) fn seal_with_nonce(
    key: &Key32,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let cipher = cipher(key)?;
    let full_aad = envelope_aad(ENVELOPE_V1, aad);
    let ciphertext = cipher
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad: &full_aad,
            },
        )
        .map_err(|_| Error::Failure {
            what: "encryption failed".into(),
        })?;
    let mut out = Vec::with_capacity(ENVELOPE_OVERHEAD + plaintext.len());
    out.push(ENVELOPE_V1);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts an envelope made by [`seal`]. Any failure (unknown version,
/// short input, wrong key, wrong associated data, a flipped bit) is the same
/// opaque integrity error naming `what`.
pub fn open(key: &Key32, aad: &[u8], envelope: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>> {
    open_with(key, aad, envelope, || what.to_owned())
}

/// [`open`], naming what failed only when it fails (a bulk read decrypts
/// thousands of records and would otherwise format a name for each).
pub fn open_with(
    key: &Key32,
    aad: &[u8],
    envelope: &[u8],
    what: impl FnOnce() -> String,
) -> Result<Zeroizing<Vec<u8>>> {
    let integrity = || Error::Integrity {
        what: format!(
            "{}: decryption failed (the data is corrupt or was tampered with)",
            what()
        ),
    };
    if envelope.len() < ENVELOPE_OVERHEAD || envelope[0] != ENVELOPE_V1 {
        return Err(integrity());
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&envelope[1..1 + NONCE_LEN]);
    let full_aad = envelope_aad(envelope[0], aad);
    cipher(key)?
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &envelope[1 + NONCE_LEN..],
                aad: &full_aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| integrity())
}

/// An AES-256-GCM key made ready once for many envelopes (a bulk read),
/// opening each into a buffer the caller reuses.
pub struct Opener(Aes256Gcm);

impl Opener {
    pub fn new(key: &Key32) -> Result<Opener> {
        Ok(Opener(cipher(key)?))
    }

    /// Opens `envelope` like [`open_with`], into `out` (replacing what it
    /// held; the buffer wipes all it ever held when dropped).
    pub fn open_into(
        &self,
        aad: &[u8],
        envelope: &[u8],
        out: &mut Zeroizing<Vec<u8>>,
        what: impl FnOnce() -> String,
    ) -> Result<()> {
        let integrity = || Error::Integrity {
            what: format!(
                "{}: decryption failed (the data is corrupt or was tampered with)",
                what()
            ),
        };
        out.clear();
        if envelope.len() < ENVELOPE_OVERHEAD || envelope[0] != ENVELOPE_V1 {
            return Err(integrity());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&envelope[1..1 + NONCE_LEN]);
        out.extend_from_slice(&envelope[1 + NONCE_LEN..]);
        self.0
            .decrypt_in_place(&nonce.into(), &envelope_aad(envelope[0], aad), &mut **out)
            .map_err(|_| {
                out.clear();
                integrity()
            })
    }
}

/// Associated data made of `parts`, each prefixed with its length (u32 BE),
/// so where one part ends and the next begins is bound too. Every envelope's
/// associated data is built by this one function.
pub fn aad(parts: &[&[u8]]) -> Vec<u8> {
    let mut a = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        a.extend_from_slice(&(part.len() as u32).to_be_bytes());
        a.extend_from_slice(part);
    }
    a
}

fn envelope_aad(version: u8, aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(aad.len() + 1);
    full.push(version);
    full.extend_from_slice(aad);
    full
}

fn cipher(key: &Key32) -> Result<Aes256Gcm> {
    Aes256Gcm::new_from_slice(key.expose_secret()).map_err(|_| Error::Failure {
        what: "invalid key length".into(),
    })
}

/// A sub-key of the vault key for one purpose (HKDF-SHA256, salt = vault id).
pub fn derive_subkey(vault_key: &Key32, vault_id: &[u8], label: &str) -> Result<Key32> {
    let hk = Hkdf::<Sha256>::new(Some(vault_id), vault_key.expose_secret());
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand(label.as_bytes(), out.as_mut())
        .map_err(|_| Error::Failure {
            what: "key derivation failed".into(),
        })?;
    Ok(Key32::from_bytes(*out))
}

/// HMAC-SHA256 of `parts` (each length-prefixed, so part boundaries count).
pub fn mac(key: &Key32, parts: &[&[u8]]) -> [u8; 32] {
    MacKey::new(key).mac(parts)
}

/// An HMAC-SHA256 key made ready once for many MACs (the audit chain):
/// each MAC then starts from a copy of the keyed state instead of hashing
/// the key again.
pub struct MacKey(Hmac<Sha256>);

impl MacKey {
    pub fn new(key: &Key32) -> MacKey {
        MacKey(
            <Hmac<Sha256>>::new_from_slice(key.expose_secret())
                .expect("HMAC accepts keys of any length"),
        )
    }

    /// The same MAC as [`mac`] gives under this key.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.0.clone();
        for part in parts {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part);
        }
        m.finalize().into_bytes().into()
    }
}

/// SHA-256 of `parts`, length-prefixed like [`mac`].
pub fn digest(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Argon2id cost parameters of a passphrase slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// The default for new slots: 64 MiB, 3 passes, 4 lanes.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };
    /// OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane); weaker slots are refused.
    pub const MIN: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    /// Upper bounds a real machine meets (1 GiB, 16 passes, 16 lanes: many
    /// seconds, not hours), so an edited slot or backup header cannot make
    /// an unlock exhaust the machine.
    pub const MAX: KdfParams = KdfParams {
        memory_kib: 1024 * 1024,
        iterations: 16,
        parallelism: 16,
    };
    /// Every parameter set Coffer has written (its default, and the minimum
    /// used by tests and `KdfParams::MIN` vaults). When the default changes,
    /// the old one stays here: a slot that does not open and holds other
    /// parameters was edited or damaged, not opened with a wrong passphrase.
    pub const WRITTEN: [KdfParams; 2] = [Self::DEFAULT, Self::MIN];

    /// Checks the parameters against [`Self::MIN`] and [`Self::MAX`].
    pub fn check(&self) -> std::result::Result<(), String> {
        let (min, max) = (Self::MIN, Self::MAX);
        if self.memory_kib < min.memory_kib
            || self.iterations < min.iterations
            || self.parallelism < min.parallelism
        {
            return Err(format!(
                "Argon2id parameters m={} KiB, t={}, p={} are below the minimum (m={} KiB, t={}, p={})",
                self.memory_kib, self.iterations, self.parallelism, min.memory_kib, min.iterations, min.parallelism
            ));
        }
        if self.memory_kib > max.memory_kib
            || self.iterations > max.iterations
            || self.parallelism > max.parallelism
        {
            return Err(format!(
                "Argon2id parameters m={} KiB, t={}, p={} exceed the maximum (m={} KiB, t={}, p={})",
                self.memory_kib, self.iterations, self.parallelism, max.memory_kib, max.iterations, max.parallelism
            ));
        }
        Ok(())
    }
}

/// The key-encryption key of a passphrase slot: Argon2id(passphrase, salt).
/// The caller checks the parameters first.
pub fn passphrase_kek(passphrase: &SecretValue, salt: &[u8], params: KdfParams) -> Result<Key32> {
    let argon_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| Error::Failure {
        what: format!("invalid Argon2id parameters: {e}"),
    })?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.expose_secret().as_bytes(), salt, out.as_mut())
        .map_err(|e| Error::Failure {
            what: format!("Argon2id failed: {e}"),
        })?;
    Ok(Key32::from_bytes(*out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let key = random_key().expect("rng");
        let env = seal(&key, b"aad-1", b"hello").expect("seal");
        assert_eq!(env.len(), 5 + ENVELOPE_OVERHEAD);
        assert_eq!(
            &open(&key, b"aad-1", &env, "t").expect("open")[..],
            b"hello"
        );
        assert!(matches!(
            open(&key, b"aad-2", &env, "t"),
            Err(Error::Integrity { .. })
        ));
        let other = random_key().expect("rng");
        assert!(matches!(
            open(&other, b"aad-1", &env, "t"),
            Err(Error::Integrity { .. })
        ));
        assert!(matches!(
            open(&key, b"aad-1", &env[..10], "t"),
            Err(Error::Integrity { .. })
        ));
    }

    #[test]
    fn the_opener_opens_what_seal_sealed_and_nothing_else() {
        let key = random_key().expect("rng");
        let opener = Opener::new(&key).expect("opener");
        let mut out = Zeroizing::new(Vec::new());
        for text in [&b"first, a longer text"[..], b"", b"short"] {
            let env = seal(&key, b"aad", text).expect("seal");
            opener
                .open_into(b"aad", &env, &mut out, || "t".into())
                .expect("open");
            assert_eq!(&out[..], text);
            assert!(opener
                .open_into(b"other", &env, &mut out, || "t".into())
                .is_err());
            assert!(out.is_empty());
            let mut bad = env.clone();
            *bad.last_mut().expect("tag") ^= 1;
            assert!(matches!(
                opener.open_into(b"aad", &bad, &mut out, || "t".into()),
                Err(Error::Integrity { .. })
            ));
        }
    }

    #[test]
    fn every_flipped_bit_fails() {
        let key = random_key().expect("rng");
        let env = seal(&key, b"a", b"some plaintext").expect("seal");
        for i in 0..env.len() {
            for bit in 0..8 {
                let mut bad = env.clone();
                bad[i] ^= 1 << bit;
                assert!(open(&key, b"a", &bad, "t").is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn nonces_are_fresh() {
        let key = random_key().expect("rng");
        let a = seal(&key, b"", b"x").expect("seal");
        let b = seal(&key, b"", b"x").expect("seal");
        assert_ne!(a[1..13], b[1..13]);
    }

    #[test]
    fn kdf_bounds() {
        assert!(KdfParams::DEFAULT.check().is_ok());
        assert!(KdfParams::MIN.check().is_ok());
        let weak = KdfParams {
            memory_kib: 1024,
            ..KdfParams::DEFAULT
        };
        assert!(weak.check().unwrap_err().contains("below the minimum"));
        let weak_t = KdfParams {
            iterations: 1,
            ..KdfParams::DEFAULT
        };
        assert!(weak_t.check().is_err());
        let huge = KdfParams {
            memory_kib: u32::MAX,
            ..KdfParams::DEFAULT
        };
        assert!(huge.check().unwrap_err().contains("exceed the maximum"));
    }

    #[test]
    fn passphrase_kek_is_deterministic_per_salt() {
        let pw = SecretValue::from("correct horse");
        let a = passphrase_kek(&pw, &[1u8; 16], KdfParams::MIN).expect("kdf");
        let b = passphrase_kek(&pw, &[1u8; 16], KdfParams::MIN).expect("kdf");
        let c = passphrase_kek(&pw, &[2u8; 16], KdfParams::MIN).expect("kdf");
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_ne!(a.expose_secret(), c.expose_secret());
    }

    #[test]
    fn subkeys_differ_by_label() {
        let vk = random_key().expect("rng");
        let a = derive_subkey(&vk, b"id", "one").expect("hkdf");
        let b = derive_subkey(&vk, b"id", "two").expect("hkdf");
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
