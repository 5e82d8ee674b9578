//! Secret-holding types: zeroized on drop, redacted in `Debug` and `Display`.
//!
//! Every place that needs the plaintext calls `expose_secret()`, so the call
//! sites that handle plaintext can be found with a grep.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A secret text value (a password, a token, a recovery passphrase).
#[derive(Clone)]
pub struct SecretValue(SecretString);

impl SecretValue {
    pub fn new(value: String) -> Self {
        // `SecretString` holds a `Box<str>`: a `String` with spare capacity
        // (one read from stdin, one built by pushing) is trimmed by a
        // reallocation, which may move it and free the old copy unwiped.
        // Copy it into an exact allocation and wipe the original instead.
        let value = if value.capacity() == value.len() {
            value
        } else {
            let exact = String::from(value.as_str());
            let mut original = value;
            zeroize::Zeroize::zeroize(&mut original);
            exact
        };
        Self(SecretString::from(value))
    }

    /// The plaintext. Call only where the value is used.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn len(&self) -> usize {
        self.expose_secret().len()
    }

    pub fn is_empty(&self) -> bool {
        self.expose_secret().is_empty()
    }
}

impl From<String> for SecretValue {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretValue {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl From<Zeroizing<String>> for SecretValue {
    fn from(value: Zeroizing<String>) -> Self {
        Self::new(value.as_str().to_owned())
    }
}

impl PartialEq for SecretValue {
    /// Equality for change detection; not constant-time, never use it to check a guess.
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SecretString::deserialize(deserializer).map(SecretValue)
    }
}

/// 32 bytes of key material: the vault key, a key-encryption key or a sub-key.
pub struct Key32(SecretBox<[u8; 32]>);

impl Key32 {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        // The array is moved into the box; the caller's copy is its own to wipe.
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// A key from a slice of exactly 32 bytes (as read back from the keyring).
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut array = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return None;
        }
        array.copy_from_slice(bytes);
        Some(Self(SecretBox::new(Box::new(*array))))
    }

    pub fn expose_secret(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let value = SecretValue::from("canary-hunter2");
        assert_eq!(format!("{value:?}"), "[REDACTED]");
        assert_eq!(format!("{value}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(&value)), "Some([REDACTED])");
        let key = Key32::from_bytes([7u8; 32]);
        assert_eq!(format!("{key:?}"), "[REDACTED]");
        assert_eq!(format!("{key}"), "[REDACTED]");
        assert_eq!(key.expose_secret(), &[7u8; 32]);
    }

    #[test]
    fn key_from_slice_needs_32_bytes() {
        assert!(Key32::from_slice(&[1u8; 31]).is_none());
        assert!(Key32::from_slice(&[1u8; 33]).is_none());
        assert!(Key32::from_slice(&[1u8; 32]).is_some());
    }

    #[test]
    fn secret_value_deserializes_from_json() {
        let v: SecretValue = serde_json::from_str("\"s3cr3t\"").expect("json");
        assert_eq!(v.expose_secret(), "s3cr3t");
    }
}
