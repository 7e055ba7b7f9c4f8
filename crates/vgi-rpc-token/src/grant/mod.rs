//! Sealed grants (WIRE_PROTOCOL.md §16 "Accepting identity credentials"):
//! the standing delegation credential `issue_grant` mints and HTTP accepts
//! back as a bearer, with no storage.
//!
//! ```text
//! token    = "vgig1." base64url_nopad(kid(8) || envelope)
//! kid      = SHA-256("vgi_rpc.grant.kid.v1" 0x00 || key)[0..8]
//! envelope = 0x01 || nonce(24) || XChaCha20-Poly1305(payload, aad)   (ciphertext || tag)
//! aad      = "vgi_rpc.grant.v1" 0x00 || kid || UTF-8(audience)
//! ```
//!
//! The payload is a strict little-endian record ([`payload`]). [`keys`]
//! holds the deployment's configuration (first key mints, every key
//! verifies); [`token`] mints and verifies. Every verification failure is
//! the one [`GrantError::Invalid`]; only an authentic grant outside its
//! lifetime is [`GrantError::Expired`], which tells a forger nothing.
//! Grants are not individually revocable: the levers are a short maximum
//! lifetime and removing a key.

pub mod keys;
pub mod payload;
pub mod token;

pub use keys::{grant_key_id, GrantConfigError, GrantKeys};
pub use payload::GrantClaims;
pub use token::{GrantError, GrantMintError, GrantRequest};

/// Token prefix. The format version lives in the prefix, so an incompatible
/// format is another prefix: routed elsewhere, never half-parsed.
pub const GRANT_TOKEN_PREFIX: &str = "vgig1.";
/// Comma-separated standard-base64 keys, minting key first.
pub const GRANT_KEYS_ENV: &str = "VGI_RPC_GRANT_KEYS";
/// Audience bound into every grant's associated data (default empty).
pub const GRANT_AUDIENCE_ENV: &str = "VGI_RPC_GRANT_AUDIENCE";
/// Lifetime ceiling in seconds (default [`DEFAULT_MAX_TTL_SECONDS`]).
pub const GRANT_MAX_TTL_ENV: &str = "VGI_RPC_GRANT_MAX_TTL_SECONDS";
/// Default lifetime ceiling: seven days. Expiry is a grant's only revocation.
pub const DEFAULT_MAX_TTL_SECONDS: i64 = 7 * 24 * 3600;
/// Default tolerance for clocks disagreeing between minter and verifier.
pub const DEFAULT_CLOCK_SKEW_SECONDS: i64 = 60;
/// Longest token text looked at, in bytes (the introspection cap too).
pub const MAX_GRANT_TOKEN_CHARS: usize = 4096;
