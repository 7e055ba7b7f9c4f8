//! Property tests: sealing then opening returns the payload for the same
//! kind, protocol and identity; any other kind, protocol, identity or key,
//! and any single flipped byte, fails; expiry follows the TTL on a fake
//! clock and is only reported for authentic tokens.

mod prop_support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use prop_support::{config, name, payload, who, Who};
use proptest::prelude::*;
use vgi_rpc_core::FakeClock;
use vgi_rpc_token::{CallToken, Key, Keyring, Sealer, TokenError, TokenKind};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const START: u64 = 1_700_000_000;

fn kind() -> impl Strategy<Value = TokenKind> {
    prop_oneof![Just(TokenKind::Cursor), Just(TokenKind::Call)]
}

fn other(kind: TokenKind) -> TokenKind {
    match kind {
        TokenKind::Cursor => TokenKind::Call,
        TokenKind::Call | TokenKind::Session => TokenKind::Cursor,
    }
}

fn sealer_with(key: [u8; 32], clock: &FakeClock, ttl: Duration) -> Sealer {
    let key = Key::from_bytes(&key).expect("32 bytes are a key");
    Sealer::new(Keyring::new(key), Arc::new(clock.clone()), ttl)
}

fn sealer(clock: &FakeClock) -> Sealer {
    sealer_with([7; 32], clock, Duration::from_secs(3600))
}

proptest! {
    #![proptest_config(config(128, "proptest-regressions/prop_seal.txt"))]

    #[test]
    fn seal_then_open_returns_the_payload(kind in kind(), protocol in name(24), who in who(), data in payload(2048, 4000)) {
        let s = sealer(&FakeClock::at_unix(START));
        let token = s.seal(kind, &protocol, who.identity(), &data)?;
        prop_assert_eq!(s.open(kind, &protocol, who.identity(), &token), Ok(data));
    }

    #[test]
    fn another_kind_protocol_or_identity_cannot_open(
        kind in kind(),
        protocol in name(16),
        other_protocol in name(16),
        who in who(),
        other_who in who(),
        data in payload(256, 100),
    ) {
        let s = sealer(&FakeClock::at_unix(START));
        let token = s.seal(kind, &protocol, who.identity(), &data)?;
        prop_assert_eq!(s.open(other(kind), &protocol, who.identity(), &token), Err(TokenError::Invalid));
        if other_protocol != protocol {
            prop_assert_eq!(s.open(kind, &other_protocol, who.identity(), &token), Err(TokenError::Invalid));
        }
        if other_who.bound() != who.bound() {
            prop_assert_eq!(s.open(kind, &protocol, other_who.identity(), &token), Err(TokenError::Invalid));
        } else {
            prop_assert_eq!(s.open(kind, &protocol, other_who.identity(), &token), Ok(data));
        }
    }

    #[test]
    fn another_key_cannot_open_but_a_rotated_ring_can(
        old in any::<[u8; 32]>(),
        new in any::<[u8; 32]>(),
        kind in kind(),
        who in who(),
        data in payload(256, 100),
    ) {
        prop_assume!(old != new);
        let clock = FakeClock::at_unix(START);
        let ttl = Duration::from_secs(60);
        let token = sealer_with(old, &clock, ttl).seal(kind, "p", who.identity(), &data)?;
        prop_assert_eq!(sealer_with(new, &clock, ttl).open(kind, "p", who.identity(), &token), Err(TokenError::Invalid));
        let mut ring = Keyring::new(Key::from_bytes(&old)?);
        ring.rotate(Key::from_bytes(&new)?);
        let rotated = Sealer::new(ring, Arc::new(clock.clone()), ttl);
        prop_assert_eq!(rotated.open(kind, "p", who.identity(), &token), Ok(data.clone()));
        let fresh = rotated.seal(kind, "p", who.identity(), &data)?;
        prop_assert_eq!(sealer_with(old, &clock, ttl).open(kind, "p", who.identity(), &fresh), Err(TokenError::Invalid));
    }

    #[test]
    fn any_flipped_byte_fails_to_open(
        kind in kind(),
        who in who(),
        data in payload(512, 400),
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let s = sealer(&FakeClock::at_unix(START));
        let token = s.seal(kind, "p.v1", who.identity(), &data)?;
        let mut raw = B64.decode(&token).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let i = at.index(raw.len());
        raw[i] ^= mask;
        prop_assert_eq!(s.open(kind, "p.v1", who.identity(), &B64.encode(&raw)), Err(TokenError::Invalid), "raw byte {}", i);

        // The same on the base64 text itself, when the flip leaves text.
        let mut text = token.clone().into_bytes();
        let j = at.index(text.len());
        text[j] ^= mask;
        if let Ok(text) = String::from_utf8(text) {
            prop_assert_eq!(s.open(kind, "p.v1", who.identity(), &text), Err(TokenError::Invalid), "text byte {}", j);
        }
    }

    #[test]
    fn call_tokens_survive_the_seal(
        token in (any::<[u8; 16]>(), name(16), payload(512, 2000), name(36))
            .prop_map(|(call_id, method, call_state, stream_id)| CallToken {
                call_id,
                method,
                call_state,
                output_schema: vec![0xFF; 8],
                input_schema: Vec::new(),
                stream_id,
            }),
        who in who(),
    ) {
        let s = sealer(&FakeClock::at_unix(START));
        let sealed = s.seal(TokenKind::Call, "p", who.identity(), &token.encode())?;
        let opened = s.open(TokenKind::Call, "p", who.identity(), &sealed)?;
        prop_assert_eq!(CallToken::decode(&opened), Ok(token));
    }

    /// Expiry is judged in whole seconds on the injected clock:
    /// `floor(now) - floor(sealed_at) > ttl` is expired, anything else is valid.
    #[test]
    fn tokens_expire_after_the_ttl_and_not_before(
        start in 0u64..4_000_000_000,
        sub_second in 0u64..1_000_000_000,
        ttl_secs in 1u64..100_000,
        near_the_ttl in any::<bool>(),
        offset in -3_000_000_000i64..3_000_000_000,
        anywhere in 0u64..200_000 * 1_000_000_000,
        kind in kind(),
        who in who(),
    ) {
        let clock = FakeClock::at_unix(start);
        clock.advance(Duration::from_nanos(sub_second));
        let s = sealer_with([9; 32], &clock, Duration::from_secs(ttl_secs));
        let token = s.seal(kind, "p", who.identity(), b"state")?;
        // Half the cases land within three seconds of the ttl.
        let elapsed_nanos =
            if near_the_ttl { (ttl_secs as i64 * 1_000_000_000 + offset).max(0) as u64 } else { anywhere };
        clock.advance(Duration::from_nanos(elapsed_nanos));

        let whole_seconds = (sub_second + elapsed_nanos) / 1_000_000_000;
        let opened = s.open(kind, "p", who.identity(), &token);
        if whole_seconds > ttl_secs {
            prop_assert_eq!(opened, Err(TokenError::Expired));
            prop_assert!(elapsed_nanos > ttl_secs * 1_000_000_000, "never at or before the ttl");
            let stranger = Who { authenticated: true, domain: "other".into(), principal: "mallory".into() };
            prop_assume!(stranger.bound() != who.bound());
            prop_assert_eq!(s.open(kind, "p", stranger.identity(), &token), Err(TokenError::Invalid), "forgery is not 'expired'");
        } else {
            prop_assert_eq!(opened, Ok(b"state".to_vec()));
            prop_assert!(elapsed_nanos < (ttl_secs + 1) * 1_000_000_000, "never after the ttl plus a second");
        }
        // A ttl of zero disables expiry.
        let forever = sealer_with([9; 32], &clock, Duration::ZERO);
        prop_assert_eq!(forever.open(kind, "p", who.identity(), &token), Ok(b"state".to_vec()));
    }
}
