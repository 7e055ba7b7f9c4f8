//! Sealing and opening: XChaCha20-Poly1305 over `created_at || payload`
//! (payload compressed inside the seal), with associated data naming the
//! token kind, the protocol and the caller's identity.
//!
//! ```text
//! token  = base64( version:u8 || nonce:24 || ciphertext+tag )   (SIMD base64)
//! sealed = codec:u8 || compress( created_at:u64le || payload )
//! aad    = kind-prefix || protocol || 0x00 || identity-tail
//! ```

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::xchacha::{XChaCha20Poly1305, NONCE_BYTES, TAG_BYTES};
use vgi_rpc_core::Clock;

use crate::{codec, Keyring, TokenError};

/// `version || nonce`, before the ciphertext.
const HEADER_BYTES: usize = 1 + NONCE_BYTES;
const SUBKEY_PURPOSE: &str = "vgi_rpc.stream-token.v1";

/// Which of the two tokens; each has its own version line and AAD prefix,
/// so one can never be presented as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The per-turn cursor.
    Cursor,
    /// The call token minted once at `/init`.
    Call,
    /// A sticky session token (`VGI-Session`), scoped to the server rather
    /// than a protocol; base64url without padding, as the session spec asks.
    Session,
}

impl TokenKind {
    fn version(self) -> u8 {
        match self {
            TokenKind::Cursor => 5,
            TokenKind::Call | TokenKind::Session => 1,
        }
    }

    fn aad_prefix(self) -> &'static [u8] {
        match self {
            TokenKind::Cursor => b"vgi_rpc.state.v4\x00",
            TokenKind::Call => b"vgi_rpc.call.v1\x00",
            TokenKind::Session => b"vgi_rpc.session.v1\x00",
        }
    }

    fn engine(self) -> &'static base64_simd::Base64 {
        match self {
            TokenKind::Session => &base64_simd::URL_SAFE_NO_PAD,
            _ => &base64_simd::STANDARD,
        }
    }
}

/// The identity a token is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    /// Whether the caller authenticated (an anonymous caller's tokens open
    /// only for anonymous callers).
    pub authenticated: bool,
    /// The authenticator that vouched for the caller (`"bearer"`, `"jwt"`, ...).
    pub domain: &'a str,
    /// The caller's principal within that domain.
    pub principal: &'a str,
}

impl Identity<'_> {
    /// The anonymous caller.
    pub const ANONYMOUS: Identity<'static> = Identity { authenticated: false, domain: "", principal: "" };

    fn tail(&self, out: &mut Vec<u8>) {
        if self.authenticated {
            out.push(0x01);
            out.extend_from_slice(self.domain.as_bytes());
            out.push(0x00);
            out.extend_from_slice(self.principal.as_bytes());
        } else {
            out.extend_from_slice(b"\x00anonymous");
        }
    }
}

/// Seals and opens tokens with a keyring, a clock and a TTL.
#[derive(Clone)]
pub struct Sealer {
    /// One cipher per key of the ring, newest (the sealing key) first:
    /// deriving a subkey costs more than sealing a small state, so it is
    /// done once here rather than per token.
    ciphers: Arc<[XChaCha20Poly1305]>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// Default token lifetime.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

impl Sealer {
    /// A sealer; `ttl` of zero disables expiry.
    pub fn new(keyring: Keyring, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        let ciphers = keyring.all().map(Self::cipher).collect();
        Self { ciphers, clock, ttl }
    }

    fn cipher(key: &crate::Key) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(key.derive(SUBKEY_PURPOSE))
    }

    fn aad(kind: TokenKind, protocol: &str, identity: Identity<'_>) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64 + protocol.len());
        aad.extend_from_slice(kind.aad_prefix());
        aad.extend_from_slice(protocol.as_bytes());
        aad.push(0x00);
        identity.tail(&mut aad);
        aad
    }

    fn now_secs(&self) -> u64 {
        self.clock.now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    /// Seal `payload` as a base64 token of `kind` for `protocol` and `identity`.
    pub fn seal(
        &self,
        kind: TokenKind,
        protocol: &str,
        identity: Identity<'_>,
        payload: &[u8],
    ) -> Result<String, TokenError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| TokenError::Key(format!("no randomness: {e}")))?;
        // One buffer: header, then the packed state sealed in place, then the tag.
        let mut token = Vec::with_capacity(HEADER_BYTES + 1 + 8 + payload.len().min(codec::MIN_COMPRESS) + TAG_BYTES);
        token.push(kind.version());
        token.extend_from_slice(&nonce);
        codec::pack_into(&mut token, &self.now_secs().to_le_bytes(), payload);
        let aad = Self::aad(kind, protocol, identity);
        let tag =
            self.ciphers[0].seal_in_place(&nonce, &aad, &mut token[HEADER_BYTES..]).map_err(|_| TokenError::Invalid)?;
        token.extend_from_slice(&tag);
        Ok(kind.engine().encode_to_string(token))
    }

    /// Open a token: version, then authenticity (any key of the ring), then
    /// codec, then TTL. Returns the payload.
    pub fn open(
        &self,
        kind: TokenKind,
        protocol: &str,
        identity: Identity<'_>,
        token: &str,
    ) -> Result<Vec<u8>, TokenError> {
        let mut raw = kind.engine().decode_to_vec(token.trim()).map_err(|_| TokenError::Invalid)?;
        if raw.len() < HEADER_BYTES + TAG_BYTES || raw[0] != kind.version() {
            return Err(TokenError::Invalid);
        }
        let body_end = raw.len() - TAG_BYTES;
        let mut nonce = [0u8; NONCE_BYTES];
        nonce.copy_from_slice(&raw[1..HEADER_BYTES]);
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&raw[body_end..]);
        let aad = Self::aad(kind, protocol, identity);
        // A key that fails may leave the buffer scrambled: with older keys
        // still in the ring, each attempt but the last works on a copy.
        let (last, earlier) = self.ciphers.split_last().ok_or(TokenError::Invalid)?;
        let mut opened = false;
        for cipher in earlier {
            let mut attempt = raw[HEADER_BYTES..body_end].to_vec();
            if cipher.open_in_place(&nonce, &aad, &mut attempt, &tag).is_ok() {
                raw[HEADER_BYTES..body_end].copy_from_slice(&attempt);
                opened = true;
                break;
            }
        }
        if !opened {
            last.open_in_place(&nonce, &aad, &mut raw[HEADER_BYTES..body_end], &tag)
                .map_err(|_| TokenError::Invalid)?;
        }
        let mut framed = codec::unpack_range(raw, HEADER_BYTES, body_end)?;
        if framed.len() < 8 {
            return Err(TokenError::Invalid);
        }
        let mut created = [0u8; 8];
        created.copy_from_slice(&framed[..8]);
        let created_at = u64::from_le_bytes(created);
        if !self.ttl.is_zero() && self.now_secs().saturating_sub(created_at) > self.ttl.as_secs() {
            return Err(TokenError::Expired);
        }
        framed.drain(..8);
        Ok(framed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;
    use base64::Engine;
    use vgi_rpc_core::FakeClock;

    fn sealer(clock: &FakeClock) -> Sealer {
        Sealer::new(Keyring::new(Key::from_bytes(&[7; 32]).unwrap()), Arc::new(clock.clone()), DEFAULT_TTL)
    }

    const ALICE: Identity<'static> = Identity { authenticated: true, domain: "bearer", principal: "alice" };
    const BOB: Identity<'static> = Identity { authenticated: true, domain: "bearer", principal: "bob" };

    #[test]
    fn session_tokens_are_url_safe_and_distinct_from_call_tokens() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let s = sealer(&clock);
        let t = s.seal(TokenKind::Session, "", ALICE, &[0xfb; 40]).unwrap();
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{t}");
        assert_eq!(s.open(TokenKind::Session, "", ALICE, &t).unwrap(), vec![0xfb; 40]);
        assert_eq!(s.open(TokenKind::Session, "", BOB, &t), Err(TokenError::Invalid));
        let call = s.seal(TokenKind::Call, "", ALICE, &[0xfb; 40]).unwrap();
        let as_url = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(base64::engine::general_purpose::STANDARD.decode(&call).unwrap());
        assert_eq!(s.open(TokenKind::Session, "", ALICE, &as_url), Err(TokenError::Invalid), "kinds never cross");
    }

    #[test]
    fn round_trips_for_the_same_identity_kind_and_protocol() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let s = sealer(&clock);
        let t = s.seal(TokenKind::Cursor, "p.v1", ALICE, b"state").unwrap();
        assert_eq!(s.open(TokenKind::Cursor, "p.v1", ALICE, &t).unwrap(), b"state");
    }

    #[test]
    fn cross_principal_anonymous_kind_and_protocol_replays_fail() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let s = sealer(&clock);
        let t = s.seal(TokenKind::Cursor, "p.v1", ALICE, b"state").unwrap();
        assert_eq!(s.open(TokenKind::Cursor, "p.v1", BOB, &t), Err(TokenError::Invalid));
        assert_eq!(s.open(TokenKind::Cursor, "p.v1", Identity::ANONYMOUS, &t), Err(TokenError::Invalid));
        assert_eq!(s.open(TokenKind::Call, "p.v1", ALICE, &t), Err(TokenError::Invalid));
        assert_eq!(s.open(TokenKind::Cursor, "q.v1", ALICE, &t), Err(TokenError::Invalid));
        let anon = s.seal(TokenKind::Cursor, "p.v1", Identity::ANONYMOUS, b"x").unwrap();
        assert_eq!(s.open(TokenKind::Cursor, "p.v1", ALICE, &anon), Err(TokenError::Invalid));
    }

    #[test]
    fn corrupt_tokens_are_invalid() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let s = sealer(&clock);
        let t = s.seal(TokenKind::Cursor, "p.v1", ALICE, b"state").unwrap();
        let mut raw = base64::engine::general_purpose::STANDARD.decode(&t).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let bad = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(s.open(TokenKind::Cursor, "p.v1", ALICE, &bad), Err(TokenError::Invalid));
        assert_eq!(s.open(TokenKind::Cursor, "p.v1", ALICE, "not base64!"), Err(TokenError::Invalid));
        assert_eq!(s.open(TokenKind::Cursor, "p.v1", ALICE, "AAAA"), Err(TokenError::Invalid));
    }

    #[test]
    fn expiry_is_checked_after_authenticity() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let s = sealer(&clock);
        let t = s.seal(TokenKind::Call, "p.v1", ALICE, b"call").unwrap();
        clock.advance(Duration::from_secs(3599));
        assert!(s.open(TokenKind::Call, "p.v1", ALICE, &t).is_ok());
        clock.advance(Duration::from_secs(2));
        assert_eq!(s.open(TokenKind::Call, "p.v1", ALICE, &t), Err(TokenError::Expired));
        assert_eq!(s.open(TokenKind::Call, "p.v1", BOB, &t), Err(TokenError::Invalid), "forgery is not 'expired'");
        let forever =
            Sealer::new(Keyring::new(Key::from_bytes(&[7; 32]).unwrap()), Arc::new(clock.clone()), Duration::ZERO);
        assert!(forever.open(TokenKind::Call, "p.v1", ALICE, &t).is_ok(), "ttl 0 disables expiry");
    }

    #[test]
    fn rotation_keeps_old_tokens_open() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let mut ring = Keyring::new(Key::from_bytes(&[1; 32]).unwrap());
        let old = Sealer::new(ring.clone(), Arc::new(clock.clone()), DEFAULT_TTL);
        let t = old.seal(TokenKind::Cursor, "p.v1", ALICE, b"live").unwrap();
        ring.rotate(Key::from_bytes(&[2; 32]).unwrap());
        let new = Sealer::new(ring, Arc::new(clock.clone()), DEFAULT_TTL);
        assert_eq!(new.open(TokenKind::Cursor, "p.v1", ALICE, &t).unwrap(), b"live");
        let fresh = new.seal(TokenKind::Cursor, "p.v1", ALICE, b"new").unwrap();
        assert_eq!(old.open(TokenKind::Cursor, "p.v1", ALICE, &fresh), Err(TokenError::Invalid));
    }

    #[test]
    fn large_states_are_compressed_inside_the_seal() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let s = sealer(&clock);
        let state = b"the same row again; ".repeat(400);
        let t = s.seal(TokenKind::Call, "p.v1", ALICE, &state).unwrap();
        assert!(t.len() < state.len() / 4, "token {} bytes for {} bytes of state", t.len(), state.len());
        assert_eq!(s.open(TokenKind::Call, "p.v1", ALICE, &t).unwrap(), state);
    }
}
