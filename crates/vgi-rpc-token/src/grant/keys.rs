//! A deployment's grant configuration: 32-byte keys (the first mints, all
//! verify), the audience, the lifetime ceiling and the clock-skew allowance.
//! Parsed from standard base64 or `VGI_RPC_GRANT_*`; anything malformed is
//! a startup error, never a silently weaker configuration.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use sha2::{Digest, Sha256};

use super::{
    DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_MAX_TTL_SECONDS, GRANT_AUDIENCE_ENV, GRANT_KEYS_ENV, GRANT_MAX_TTL_ENV,
};

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const KID_LEN: usize = 8;
const KID_DOMAIN: &[u8] = b"vgi_rpc.grant.kid.v1\x00";
const AAD_DOMAIN: &[u8] = b"vgi_rpc.grant.v1\x00";
const MAX_FIELD: usize = 0xFFFF;

/// Standard alphabet, padding optional (as operators paste keys both ways).
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a grant configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantConfigError {
    /// No key at all.
    #[error("grant configuration needs at least one key")]
    NoKey,
    /// Key number `index` (1-based) is not base64.
    #[error("grant key #{index} is not valid base64")]
    NotBase64 {
        /// 1-based position.
        index: usize,
    },
    /// Key number `index` has the wrong length.
    #[error("grant key #{index} is {len} bytes; exactly 32 are required")]
    WrongLength {
        /// 1-based position.
        index: usize,
        /// Decoded length.
        len: usize,
    },
    /// Two keys share one key id.
    #[error("grant keys must be distinct")]
    Duplicate,
    /// The lifetime ceiling is not positive.
    #[error("the grant lifetime ceiling must be positive, got {0}")]
    NonPositiveMaxTtl(i64),
    /// The skew allowance is negative.
    #[error("the grant clock-skew allowance must not be negative, got {0}")]
    NegativeSkew(i64),
    /// The audience does not fit a u16 length.
    #[error("the grant audience is longer than 65535 bytes")]
    AudienceTooLong,
    /// `VGI_RPC_GRANT_MAX_TTL_SECONDS` is not an integer.
    #[error("{GRANT_MAX_TTL_ENV}={0:?} is not an integer")]
    BadMaxTtl(String),
}

/// `SHA-256("vgi_rpc.grant.kid.v1" 0x00 || key)[0..8]`: how a token names its key.
pub fn grant_key_id(key: &[u8; KEY_LEN]) -> [u8; KID_LEN] {
    let digest = Sha256::new().chain_update(KID_DOMAIN).chain_update(key).finalize();
    let mut kid = [0u8; KID_LEN];
    kid.copy_from_slice(&digest[..KID_LEN]);
    kid
}

/// One configured key, with its id and a ready cipher.
#[derive(Clone)]
pub(crate) struct GrantKey {
    pub(crate) kid: [u8; KID_LEN],
    pub(crate) cipher: XChaCha20Poly1305,
}

/// The grant configuration. Rotation: add the new key first, keep the old
/// one after it until every grant it minted expired, then drop it.
#[derive(Clone)]
pub struct GrantKeys {
    keys: Vec<GrantKey>,
    audience: String,
    max_ttl_seconds: i64,
    clock_skew_seconds: i64,
}

impl std::fmt::Debug for GrantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantKeys")
            .field("keys", &self.keys.iter().map(|k| hex::encode(k.kid)).collect::<Vec<_>>())
            .field("audience", &self.audience)
            .field("max_ttl_seconds", &self.max_ttl_seconds)
            .field("clock_skew_seconds", &self.clock_skew_seconds)
            .finish()
    }
}

impl GrantKeys {
    /// Raw 32-byte keys, minting key first, with the default audience (`""`),
    /// lifetime ceiling (7 days) and skew (60 s).
    pub fn new(keys: &[[u8; KEY_LEN]]) -> Result<Self, GrantConfigError> {
        if keys.is_empty() {
            return Err(GrantConfigError::NoKey);
        }
        let mut parsed: Vec<GrantKey> = Vec::with_capacity(keys.len());
        for key in keys {
            let kid = grant_key_id(key);
            if parsed.iter().any(|k| k.kid == kid) {
                return Err(GrantConfigError::Duplicate);
            }
            parsed.push(GrantKey { kid, cipher: XChaCha20Poly1305::new(key.into()) });
        }
        Ok(Self {
            keys: parsed,
            audience: String::new(),
            max_ttl_seconds: DEFAULT_MAX_TTL_SECONDS,
            clock_skew_seconds: DEFAULT_CLOCK_SKEW_SECONDS,
        })
    }

    /// Keys as standard base64 text (padding optional), minting key first.
    pub fn parse<S: AsRef<str>>(encoded: &[S]) -> Result<Self, GrantConfigError> {
        let mut keys = Vec::with_capacity(encoded.len());
        for (i, text) in encoded.iter().enumerate() {
            let index = i + 1;
            let bytes = KEY_BASE64.decode(text.as_ref().trim()).map_err(|_| GrantConfigError::NotBase64 { index })?;
            let key: [u8; KEY_LEN] =
                bytes.as_slice().try_into().map_err(|_| GrantConfigError::WrongLength { index, len: bytes.len() })?;
            keys.push(key);
        }
        Self::new(&keys)
    }

    /// Read `VGI_RPC_GRANT_KEYS` (comma-separated), `VGI_RPC_GRANT_AUDIENCE`
    /// and `VGI_RPC_GRANT_MAX_TTL_SECONDS` through `get`; `Ok(None)` when no
    /// key is set (grants off).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, GrantConfigError> {
        let raw = get(GRANT_KEYS_ENV).unwrap_or_default();
        let parts: Vec<&str> = raw.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return Ok(None);
        }
        let mut keys = Self::parse(&parts)?;
        if let Some(audience) = get(GRANT_AUDIENCE_ENV) {
            keys = keys.with_audience(audience)?;
        }
        let ttl = get(GRANT_MAX_TTL_ENV).unwrap_or_default();
        let ttl = ttl.trim();
        if !ttl.is_empty() {
            let secs: i64 = ttl.parse().map_err(|_| GrantConfigError::BadMaxTtl(ttl.to_owned()))?;
            keys = keys.with_max_ttl_seconds(secs)?;
        }
        Ok(Some(keys))
    }

    /// [`GrantKeys::from_lookup`] over the process environment.
    pub fn from_env() -> Result<Option<Self>, GrantConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Bind `audience` into every token: deployments that (against advice)
    /// share a key still refuse each other's grants when audiences differ.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Result<Self, GrantConfigError> {
        let audience = audience.into();
        if audience.len() > MAX_FIELD {
            return Err(GrantConfigError::AudienceTooLong);
        }
        self.audience = audience;
        Ok(self)
    }

    /// Ceiling on a grant's lifetime, at minting and at verification.
    pub fn with_max_ttl_seconds(mut self, secs: i64) -> Result<Self, GrantConfigError> {
        if secs <= 0 {
            return Err(GrantConfigError::NonPositiveMaxTtl(secs));
        }
        self.max_ttl_seconds = secs;
        Ok(self)
    }

    /// Tolerance applied to `issued_at` and `expires_at` when verifying.
    pub fn with_clock_skew_seconds(mut self, secs: i64) -> Result<Self, GrantConfigError> {
        if secs < 0 {
            return Err(GrantConfigError::NegativeSkew(secs));
        }
        self.clock_skew_seconds = secs;
        Ok(self)
    }

    /// The bound audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The lifetime ceiling in seconds.
    pub fn max_ttl_seconds(&self) -> i64 {
        self.max_ttl_seconds
    }

    /// The skew allowance in seconds.
    pub fn clock_skew_seconds(&self) -> i64 {
        self.clock_skew_seconds
    }

    /// Key ids, minting key first.
    pub fn key_ids(&self) -> Vec<[u8; KID_LEN]> {
        self.keys.iter().map(|k| k.kid).collect()
    }

    pub(crate) fn minting(&self) -> &GrantKey {
        // `new` refuses an empty key list, so the first key always exists.
        &self.keys[0]
    }

    pub(crate) fn by_kid(&self, kid: &[u8]) -> Option<&GrantKey> {
        self.keys.iter().find(|k| k.kid[..] == *kid)
    }

    /// The associated data a token under `kid` is sealed with:
    /// `"vgi_rpc.grant.v1" 0x00 || kid || audience`.
    pub fn aad(&self, kid: &[u8; KID_LEN]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + KID_LEN + self.audience.len());
        aad.extend_from_slice(AAD_DOMAIN);
        aad.extend_from_slice(kid);
        aad.extend_from_slice(self.audience.as_bytes());
        aad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn keys_parse_with_or_without_padding_and_refuse_bad_ones() {
        let padded = GrantKeys::parse(&[KEY_A]).expect("padded");
        let bare = GrantKeys::parse(&[KEY_A.trim_end_matches('=')]).expect("unpadded");
        assert_eq!(padded.key_ids(), bare.key_ids());
        assert_eq!(hex::encode(padded.key_ids()[0]), "9c8d333473aa0319");
        assert_eq!(GrantKeys::parse(&["not base64!"]).unwrap_err(), GrantConfigError::NotBase64 { index: 1 });
        assert_eq!(GrantKeys::parse(&[KEY_A, "AAAA"]).unwrap_err(), GrantConfigError::WrongLength { index: 2, len: 3 });
        assert_eq!(GrantKeys::parse(&[KEY_A, KEY_A]).unwrap_err(), GrantConfigError::Duplicate);
        assert_eq!(GrantKeys::parse::<&str>(&[]).unwrap_err(), GrantConfigError::NoKey);
    }

    #[test]
    fn the_environment_configures_keys_audience_and_ceiling() {
        let env = |name: &str| match name {
            GRANT_KEYS_ENV => Some(format!(" {KEY_A} , ")),
            GRANT_AUDIENCE_ENV => Some("conformance".to_owned()),
            GRANT_MAX_TTL_ENV => Some("3600".to_owned()),
            _ => None,
        };
        let keys = GrantKeys::from_lookup(env).expect("valid").expect("configured");
        assert_eq!((keys.audience(), keys.max_ttl_seconds(), keys.clock_skew_seconds()), ("conformance", 3600, 60));
        assert!(GrantKeys::from_lookup(|_| None).expect("valid").is_none(), "no key means grants off");
        let bad_ttl = |name: &str| match name {
            GRANT_KEYS_ENV => Some(KEY_A.to_owned()),
            GRANT_MAX_TTL_ENV => Some("soon".to_owned()),
            _ => None,
        };
        assert_eq!(GrantKeys::from_lookup(bad_ttl).unwrap_err(), GrantConfigError::BadMaxTtl("soon".into()));
        let zero_ttl = |name: &str| match name {
            GRANT_KEYS_ENV => Some(KEY_A.to_owned()),
            GRANT_MAX_TTL_ENV => Some("0".to_owned()),
            _ => None,
        };
        assert_eq!(GrantKeys::from_lookup(zero_ttl).unwrap_err(), GrantConfigError::NonPositiveMaxTtl(0));
    }
}
