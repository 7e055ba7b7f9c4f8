//! Minting and verifying sealed grant tokens. Verification order is
//! normative: prefix, length, canonical base64url, key id, AEAD open,
//! strict payload, then lifetime (trusted only once the tag verified).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::XNonce;

use super::keys::{GrantKeys, KID_LEN};
use super::payload::{self, GrantClaims};
use super::{GRANT_TOKEN_PREFIX, MAX_GRANT_TOKEN_CHARS};

const ENVELOPE_VERSION: u8 = 0x01;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A `vgig1.` token that was not accepted. Deliberately without detail:
/// malformed, wrong key, wrong audience and tampered are one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// Not an authentic grant for this deployment.
    #[error("sealed grant rejected")]
    Invalid,
    /// Authentic, but expired or not yet valid beyond the skew allowance.
    #[error("sealed grant is outside its lifetime")]
    Expired,
}

/// Why a grant could not be minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantMintError {
    /// The requested lifetime is zero or negative.
    #[error("ttl_seconds must be positive")]
    NonPositiveTtl,
    /// A string over 65535 bytes or more than 65535 scopes.
    #[error("a grant field is too long to encode")]
    FieldTooLong,
    /// The system random source failed.
    #[error("no randomness available for the grant")]
    Random,
}

/// What to mint: the subject is always the authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct GrantRequest<'a> {
    /// The caller the grant is for.
    pub principal: &'a str,
    /// What it may do.
    pub scopes: &'a [String],
    /// Why it is minted.
    pub purpose: &'a str,
    /// Requested lifetime, capped at the configured ceiling.
    pub ttl_seconds: i64,
}

impl GrantKeys {
    /// Mint with the first key, a random 24-byte nonce and a random grant id
    /// (16 bytes as 32 lowercase hex), issued at `now_secs`.
    pub fn mint(&self, req: &GrantRequest<'_>, now_secs: i64) -> Result<(String, GrantClaims), GrantMintError> {
        let mut random = [0u8; NONCE_LEN + 16];
        getrandom::fill(&mut random).map_err(|_| GrantMintError::Random)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&random[..NONCE_LEN]);
        self.mint_with(req, now_secs, hex::encode(&random[NONCE_LEN..]), &nonce)
    }

    /// Mint with a fixed grant id and nonce: **for test vectors only**;
    /// reusing a nonce under one key destroys the cipher's guarantees.
    pub fn mint_with(
        &self,
        req: &GrantRequest<'_>,
        now_secs: i64,
        grant_id: String,
        nonce: &[u8; NONCE_LEN],
    ) -> Result<(String, GrantClaims), GrantMintError> {
        if req.ttl_seconds <= 0 {
            return Err(GrantMintError::NonPositiveTtl);
        }
        let claims = GrantClaims {
            principal: req.principal.to_owned(),
            scopes: req.scopes.to_vec(),
            purpose: req.purpose.to_owned(),
            grant_id,
            issued_at: now_secs,
            expires_at: now_secs.saturating_add(req.ttl_seconds.min(self.max_ttl_seconds())),
        };
        let plain = payload::encode(&claims).map_err(|_| GrantMintError::FieldTooLong)?;
        let key = self.minting();
        let aad = self.aad(&key.kid);
        let sealed = key
            .cipher
            .encrypt(XNonce::from_slice(nonce), Payload { msg: &plain, aad: &aad })
            .map_err(|_| GrantMintError::FieldTooLong)?;
        let mut raw = Vec::with_capacity(KID_LEN + 1 + NONCE_LEN + sealed.len());
        raw.extend_from_slice(&key.kid);
        raw.push(ENVELOPE_VERSION);
        raw.extend_from_slice(nonce);
        raw.extend_from_slice(&sealed);
        let mut token = String::with_capacity(GRANT_TOKEN_PREFIX.len() + raw.len().div_ceil(3) * 4);
        token.push_str(GRANT_TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&raw, &mut token);
        Ok((token, claims))
    }

    /// Verify `token` at `now` (seconds since the epoch) and return its claims.
    pub fn verify(&self, token: &str, now: f64) -> Result<GrantClaims, GrantError> {
        let body = token.strip_prefix(GRANT_TOKEN_PREFIX).ok_or(GrantError::Invalid)?;
        if token.len() > MAX_GRANT_TOKEN_CHARS {
            return Err(GrantError::Invalid);
        }
        let raw = canonical_b64url(body).ok_or(GrantError::Invalid)?;
        if raw.len() < KID_LEN + 1 + NONCE_LEN + TAG_LEN {
            return Err(GrantError::Invalid);
        }
        let (kid, envelope) = raw.split_at(KID_LEN);
        let key = self.by_kid(kid).ok_or(GrantError::Invalid)?;
        if envelope[0] != ENVELOPE_VERSION {
            return Err(GrantError::Invalid);
        }
        let (nonce, sealed) = envelope[1..].split_at(NONCE_LEN);
        let aad = self.aad(&key.kid);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: &aad })
            .map_err(|_| GrantError::Invalid)?;
        let claims = payload::decode(&plain).ok_or(GrantError::Invalid)?;
        if claims.principal.is_empty() {
            return Err(GrantError::Invalid);
        }
        let lifetime = i128::from(claims.expires_at) - i128::from(claims.issued_at);
        if lifetime <= 0 || lifetime > i128::from(self.max_ttl_seconds()) {
            return Err(GrantError::Invalid);
        }
        let skew = self.clock_skew_seconds() as f64;
        if claims.issued_at as f64 > now + skew || now >= claims.expires_at as f64 + skew {
            return Err(GrantError::Expired);
        }
        Ok(claims)
    }
}

/// Decode unpadded base64url, accepting only its one canonical spelling
/// (alphabet `A-Z a-z 0-9 - _`, no `=`, no non-zero trailing bits).
fn canonical_b64url(text: &str) -> Option<Vec<u8>> {
    if text.is_empty()
        || text.len() % 4 == 1
        || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
    (URL_SAFE_NO_PAD.encode(&raw) == text).then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> GrantKeys {
        GrantKeys::new(&[[7u8; 32]]).expect("one key")
    }

    #[test]
    fn a_minted_grant_verifies_and_its_lifetime_is_capped() {
        let keys = keys().with_max_ttl_seconds(100).expect("positive");
        let scopes = vec!["read".to_owned()];
        let req = GrantRequest { principal: "alice", scopes: &scopes, purpose: "p", ttl_seconds: 1000 };
        let (token, claims) = keys.mint(&req, 1_000).expect("minted");
        assert_eq!(claims.expires_at, 1_100);
        assert_eq!(claims.grant_id.len(), 32);
        assert_eq!(keys.verify(&token, 1_050.0), Ok(claims));
        assert_eq!(keys.verify(&token, 1_160.0), Err(GrantError::Expired));
        assert_eq!(keys.verify(&token, 939.0), Err(GrantError::Expired));
    }

    #[test]
    fn zero_ttl_and_non_canonical_text_are_refused() {
        let req = GrantRequest { principal: "a", scopes: &[], purpose: "", ttl_seconds: 0 };
        assert_eq!(keys().mint(&req, 0).unwrap_err(), GrantMintError::NonPositiveTtl);
        let ok = GrantRequest { ttl_seconds: 10, ..req };
        let (token, _) = keys().mint(&ok, 0).expect("minted");
        for bad in [format!("{token}="), format!("{token}A"), token.replace("vgig1.", "vgig1.+"), "vgig1.".into()] {
            assert_eq!(keys().verify(&bad, 5.0), Err(GrantError::Invalid), "{bad}");
        }
        assert_eq!(keys().verify(&format!("{token}{}", "A".repeat(4096)), 5.0), Err(GrantError::Invalid));
    }
}
