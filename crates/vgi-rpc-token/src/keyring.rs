//! Keys: one seals, earlier ones still open (rotation without dropping live
//! streams). Loaded from bytes, hex, base64 or an environment variable;
//! per-purpose subkeys derived with HMAC-SHA256.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::TokenError;

/// A 32-byte master key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    /// A key from raw bytes: 32 bytes are used as is; any other length
    /// (at least 16) is stretched with HMAC-SHA256.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TokenError> {
        match bytes.len() {
            32 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(bytes);
                Ok(Key(k))
            }
            n if n >= 16 => Ok(Key(hmac_sha256(b"vgi_rpc.token.key.v1", bytes))),
            n => Err(TokenError::Key(format!("a key needs at least 16 bytes, got {n}"))),
        }
    }

    /// A key from hex.
    pub fn from_hex(text: &str) -> Result<Self, TokenError> {
        let bytes = hex::decode(text.trim()).map_err(|e| TokenError::Key(format!("not hex: {e}")))?;
        Self::from_bytes(&bytes)
    }

    /// A key from standard or URL-safe base64.
    pub fn from_base64(text: &str) -> Result<Self, TokenError> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
            .map_err(|e| TokenError::Key(format!("not base64: {e}")))?;
        Self::from_bytes(&bytes)
    }

    /// A key from the environment variable `name` (hex, else base64).
    pub fn from_env(name: &str) -> Result<Self, TokenError> {
        let value = std::env::var(name).map_err(|_| TokenError::Key(format!("{name} is not set")))?;
        Self::from_hex(&value).or_else(|_| Self::from_base64(&value))
    }

    /// A fresh random key.
    pub fn random() -> Result<Self, TokenError> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(Key(k))
    }

    /// The subkey for `purpose` (e.g. `"stream-state"`).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        self.derive_bytes(purpose.as_bytes())
    }

    /// The subkey for binary `info` (a purpose followed by an id).
    pub(crate) fn derive_bytes(&self, info: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.0, info)
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The sealing key and the keys that may still open tokens.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl Keyring {
    /// A ring with one key.
    pub fn new(current: Key) -> Self {
        Self { current, previous: Vec::new() }
    }

    /// Rotate: `next` seals from now on; the old key still opens.
    pub fn rotate(&mut self, next: Key) {
        let old = std::mem::replace(&mut self.current, next);
        self.previous.insert(0, old);
    }

    /// Keep `key` able to open tokens without sealing with it.
    pub fn with_previous(mut self, key: Key) -> Self {
        self.previous.push(key);
        self
    }

    /// The sealing key.
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// Every key that may open a token, newest first.
    pub fn all(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_load_from_hex_base64_and_env() {
        let hex_key = "00".repeat(32);
        assert_eq!(Key::from_hex(&hex_key).unwrap(), Key([0; 32]));
        assert_eq!(Key::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap(), Key([0; 32]));
        assert!(Key::from_bytes(b"short").is_err());
        std::env::set_var("VGI_TOKEN_KEY_TEST", &hex_key);
        assert_eq!(Key::from_env("VGI_TOKEN_KEY_TEST").unwrap(), Key([0; 32]));
        assert_ne!(Key([0; 32]).derive("a"), Key([0; 32]).derive("b"));
    }
}
