//! Sealing and opening: AES-256-GCM over `created_at || payload` (payload
//! compressed inside the seal), under a per-sealer epoch key, with
//! associated data naming the token kind, the protocol and the caller's
//! identity.
//!
//! ```text
//! token  = base64( version:u8 || epoch:16 || nonce:12 || ciphertext+tag )   (SIMD base64)
//! key    = HMAC-SHA256(master, purpose || epoch)       (see the epoch module)
//! nonce  = counter:u64le || 0:u32                     (per epoch, never repeats)
//! sealed = codec:u8 || compress( created_at:u64le || payload )
//! aad    = kind-prefix || len:u32le || protocol || identity
//! identity = 0x00 (anonymous) | 0x01 || len:u32le || domain || len:u32le || principal
//! ```
//!
//! Tokens of the previous format (XChaCha20-Poly1305 under a random 24-byte
//! nonce, versions 5 and 1) still open, so streams live across an upgrade
//! carry on; nothing seals them any more.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::epoch::{EpochOpener, SealingEpoch, EPOCH_BYTES, NONCE_BYTES, TAG_BYTES};
use crate::xchacha::XChaCha20Poly1305;
use vgi_rpc_core::Clock;

use crate::{codec, Keyring, TokenError};

/// `version || epoch || nonce`, before the ciphertext.
const HEADER_BYTES: usize = 1 + EPOCH_BYTES + NONCE_BYTES;

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
            TokenKind::Cursor => 6,
            TokenKind::Call | TokenKind::Session => 2,
        }
    }

    fn aad_prefix(self) -> &'static [u8] {
        match self {
            TokenKind::Cursor => b"vgi_rpc.state.v6\x00",
            TokenKind::Call => b"vgi_rpc.call.v2\x00",
            TokenKind::Session => b"vgi_rpc.session.v2\x00",
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
            push_counted(out, self.domain.as_bytes());
            push_counted(out, self.principal.as_bytes());
        } else {
            out.push(0x00);
        }
    }
}

/// `len:u32le || bytes`: no field can run into the next, whatever it holds.
fn push_counted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Seals and opens tokens with a keyring, a clock and a TTL.
#[derive(Clone)]
pub struct Sealer {
    /// This sealer's epoch (`None` only if the system had no randomness
    /// when it was built; sealing then fails, opening still works).
    epoch: Option<Arc<SealingEpoch>>,
    /// Opens tokens of any epoch under any key of the ring.
    opener: Arc<EpochOpener>,
    /// The previous format's ciphers, newest key first, to open tokens
    /// sealed before the upgrade.
    legacy: Arc<[XChaCha20Poly1305]>,
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
        let epoch = SealingEpoch::new(keyring.current()).ok().map(Arc::new);
        let opener = Arc::new(EpochOpener::new(keyring.all().cloned().collect()));
        let legacy = keyring.all().map(legacy::cipher).collect();
        Self { epoch, opener, legacy, clock, ttl }
    }

    fn aad(kind: TokenKind, protocol: &str, identity: Identity<'_>) -> Vec<u8> {
        let mut aad = Vec::with_capacity(32 + protocol.len() + identity.domain.len() + identity.principal.len());
        aad.extend_from_slice(kind.aad_prefix());
        push_counted(&mut aad, protocol.as_bytes());
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
        let epoch = self.epoch.as_ref().ok_or_else(|| TokenError::Key("no randomness for the epoch id".into()))?;
        let nonce = epoch.next_nonce();
        // One buffer: header, then the packed state sealed in place, then the tag.
        let mut token = Vec::with_capacity(HEADER_BYTES + 1 + 8 + payload.len().min(codec::MIN_COMPRESS) + TAG_BYTES);
        token.push(kind.version());
        token.extend_from_slice(epoch.id());
        token.extend_from_slice(&nonce);
        codec::pack_into(&mut token, &self.now_secs().to_le_bytes(), payload);
        let aad = Self::aad(kind, protocol, identity);
        let tag = epoch.seal_in_place(nonce, &aad, &mut token[HEADER_BYTES..]).map_err(|_| TokenError::Invalid)?;
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
        let body = match raw.first() {
            Some(&v) if v == kind.version() => self.open_current(kind, protocol, identity, &mut raw)?,
            Some(&v) if v == legacy::version(kind) => legacy::open(&self.legacy, kind, protocol, identity, &mut raw)?,
            _ => return Err(TokenError::Invalid),
        };
        let (start, end) = body;
        let mut framed = codec::unpack_range(raw, start, end)?;
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

    /// Authenticate and decrypt a current-format token in place; returns
    /// the range of the sealed body.
    fn open_current(
        &self,
        kind: TokenKind,
        protocol: &str,
        identity: Identity<'_>,
        raw: &mut [u8],
    ) -> Result<(usize, usize), TokenError> {
        if raw.len() < HEADER_BYTES + TAG_BYTES {
            return Err(TokenError::Invalid);
        }
        let body_end = raw.len() - TAG_BYTES;
        let mut epoch_id = [0u8; EPOCH_BYTES];
        epoch_id.copy_from_slice(&raw[1..1 + EPOCH_BYTES]);
        let mut nonce = [0u8; NONCE_BYTES];
        nonce.copy_from_slice(&raw[1 + EPOCH_BYTES..HEADER_BYTES]);
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&raw[body_end..]);
        let aad = Self::aad(kind, protocol, identity);
        let own = self.epoch.as_deref();
        self.opener
            .open_in_place(own, &epoch_id, nonce, &aad, &mut raw[HEADER_BYTES..body_end], tag)
            .map_err(|_| TokenError::Invalid)?;
        Ok((HEADER_BYTES, body_end))
    }
}

/// The previous token format, kept for opening only.
mod legacy {
    use super::{Identity, TokenKind};
    use crate::xchacha::{XChaCha20Poly1305, NONCE_BYTES, TAG_BYTES};
    use crate::TokenError;

    const HEADER_BYTES: usize = 1 + NONCE_BYTES;
    const SUBKEY_PURPOSE: &str = "vgi_rpc.stream-token.v1";

    pub(super) fn cipher(key: &crate::Key) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(key.derive(SUBKEY_PURPOSE))
    }

    pub(super) fn version(kind: TokenKind) -> u8 {
        match kind {
            TokenKind::Cursor => 5,
            TokenKind::Call | TokenKind::Session => 1,
        }
    }

    fn aad(kind: TokenKind, protocol: &str, identity: Identity<'_>) -> Vec<u8> {
        let prefix: &[u8] = match kind {
            TokenKind::Cursor => b"vgi_rpc.state.v4\x00",
            TokenKind::Call => b"vgi_rpc.call.v1\x00",
            TokenKind::Session => b"vgi_rpc.session.v1\x00",
        };
        let mut aad = prefix.to_vec();
        aad.extend_from_slice(protocol.as_bytes());
        aad.push(0x00);
        if identity.authenticated {
            aad.push(0x01);
            aad.extend_from_slice(identity.domain.as_bytes());
            aad.push(0x00);
            aad.extend_from_slice(identity.principal.as_bytes());
        } else {
            aad.extend_from_slice(b"\x00anonymous");
        }
        aad
    }

    /// Authenticate and decrypt a previous-format token in place; returns
    /// the range of the sealed body.
    pub(super) fn open(
        ciphers: &[XChaCha20Poly1305],
        kind: TokenKind,
        protocol: &str,
        identity: Identity<'_>,
        raw: &mut [u8],
    ) -> Result<(usize, usize), TokenError> {
        if raw.len() < HEADER_BYTES + TAG_BYTES {
            return Err(TokenError::Invalid);
        }
        let body_end = raw.len() - TAG_BYTES;
        let mut nonce = [0u8; NONCE_BYTES];
        nonce.copy_from_slice(&raw[1..HEADER_BYTES]);
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&raw[body_end..]);
        let aad = aad(kind, protocol, identity);
        // A key that fails may leave the buffer scrambled: with older keys
        // still in the ring, each attempt but the last works on a copy.
        let (last, earlier) = ciphers.split_last().ok_or(TokenError::Invalid)?;
        for cipher in earlier {
            let mut attempt = raw[HEADER_BYTES..body_end].to_vec();
            if cipher.open_in_place(&nonce, &aad, &mut attempt, &tag).is_ok() {
                raw[HEADER_BYTES..body_end].copy_from_slice(&attempt);
                return Ok((HEADER_BYTES, body_end));
            }
        }
        last.open_in_place(&nonce, &aad, &mut raw[HEADER_BYTES..body_end], &tag).map_err(|_| TokenError::Invalid)?;
        Ok((HEADER_BYTES, body_end))
    }

    /// Seal in the previous format (tests only: nothing seals it any more).
    #[cfg(test)]
    pub(super) fn seal(
        cipher: &XChaCha20Poly1305,
        kind: TokenKind,
        protocol: &str,
        identity: Identity<'_>,
        framed: &[u8],
    ) -> String {
        let nonce = [7u8; NONCE_BYTES];
        let mut token = vec![version(kind)];
        token.extend_from_slice(&nonce);
        token.push(crate::codec::RAW);
        token.extend_from_slice(framed);
        let tag = cipher.seal_in_place(&nonce, &aad(kind, protocol, identity), &mut token[HEADER_BYTES..]).unwrap();
        token.extend_from_slice(&tag);
        kind.engine().encode_to_string(token)
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
    fn another_worker_with_the_same_key_opens_and_a_different_key_does_not() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let worker_a = sealer(&clock);
        let worker_b = sealer(&clock);
        let t = worker_a.seal(TokenKind::Cursor, "p.v1", ALICE, b"moved").unwrap();
        assert_eq!(worker_b.open(TokenKind::Cursor, "p.v1", ALICE, &t).unwrap(), b"moved");
        assert_eq!(worker_b.open(TokenKind::Cursor, "p.v1", ALICE, &t).unwrap(), b"moved", "cached epoch");
        assert_eq!(worker_b.open(TokenKind::Cursor, "p.v1", BOB, &t), Err(TokenError::Invalid));
        let stranger =
            Sealer::new(Keyring::new(Key::from_bytes(&[8; 32]).unwrap()), Arc::new(clock.clone()), DEFAULT_TTL);
        assert_eq!(stranger.open(TokenKind::Cursor, "p.v1", ALICE, &t), Err(TokenError::Invalid));
        let t1 = worker_a.seal(TokenKind::Cursor, "p.v1", ALICE, b"moved").unwrap();
        assert_ne!(t, t1, "the nonce moves on");
    }

    #[test]
    fn fields_with_nul_bytes_cannot_stand_in_for_each_other() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let s = sealer(&clock);
        // Under a NUL-separated layout these two would share associated data.
        let a = Identity { authenticated: true, domain: "x\0y", principal: "z" };
        let b = Identity { authenticated: true, domain: "x", principal: "y\0z" };
        let t = s.seal(TokenKind::Call, "p.v1", a, b"call").unwrap();
        assert_eq!(s.open(TokenKind::Call, "p.v1", b, &t), Err(TokenError::Invalid));
        let anon = s.seal(TokenKind::Call, "p\0\x01", Identity::ANONYMOUS, b"call").unwrap();
        let crafted = Identity { authenticated: false, domain: "", principal: "" };
        assert_eq!(s.open(TokenKind::Call, "p", crafted, &anon), Err(TokenError::Invalid));
    }

    #[test]
    fn tokens_of_the_previous_format_still_open_and_expire() {
        let clock = FakeClock::at_unix(1_700_000_000);
        let ring = Keyring::new(Key::from_bytes(&[7; 32]).unwrap()).with_previous(Key::from_bytes(&[5; 32]).unwrap());
        let s = Sealer::new(ring, Arc::new(clock.clone()), DEFAULT_TTL);
        let mut framed = 1_700_000_000u64.to_le_bytes().to_vec();
        framed.extend_from_slice(b"old state");
        for key in [7u8, 5] {
            let cipher = legacy::cipher(&Key::from_bytes(&[key; 32]).unwrap());
            for kind in [TokenKind::Cursor, TokenKind::Call, TokenKind::Session] {
                let t = legacy::seal(&cipher, kind, "p.v1", ALICE, &framed);
                assert_eq!(s.open(kind, "p.v1", ALICE, &t).unwrap(), b"old state", "{kind:?} under key {key}");
                assert_eq!(s.open(kind, "p.v1", BOB, &t), Err(TokenError::Invalid));
            }
        }
        let cipher = legacy::cipher(&Key::from_bytes(&[7; 32]).unwrap());
        let t = legacy::seal(&cipher, TokenKind::Cursor, "p.v1", ALICE, &framed);
        clock.advance(Duration::from_secs(3601));
        assert_eq!(s.open(TokenKind::Cursor, "p.v1", ALICE, &t), Err(TokenError::Expired));
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
