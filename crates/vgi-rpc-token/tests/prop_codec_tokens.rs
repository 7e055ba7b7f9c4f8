//! Property tests: the compression codec (`pack` / `unpack`) and the
//! call / cursor token payload framing round trip any value, and malformed
//! input is refused without panicking.

mod prop_support;

use prop_support::{config, payload, text};
use proptest::collection::vec;
use proptest::prelude::*;
use vgi_rpc_token::codec::{pack, unpack, RAW, ZSTD};
use vgi_rpc_token::{CallToken, CursorToken, TokenError};

fn cursor() -> impl Strategy<Value = CursorToken> {
    (any::<[u8; 16]>(), payload(512, 2_000)).prop_map(|(call_id, state)| CursorToken { call_id, state })
}

fn call() -> impl Strategy<Value = CallToken> {
    (any::<[u8; 16]>(), text(24), payload(256, 1_000), vec(any::<u8>(), 0..200), vec(any::<u8>(), 0..200), text(36))
        .prop_map(|(call_id, method, call_state, output_schema, input_schema, stream_id)| CallToken {
            call_id,
            method,
            call_state,
            output_schema,
            input_schema,
            stream_id,
        })
}

proptest! {
    #![proptest_config(config(256, "proptest-regressions/prop_codec_tokens.txt"))]

    #[test]
    fn pack_then_unpack_is_identity(plain in payload(4096, 20_000)) {
        let packed = pack(&plain);
        prop_assert!(packed.len() <= plain.len() + 1, "never grows beyond the tag");
        match packed[0] {
            RAW => prop_assert_eq!(&packed[1..], &plain[..]),
            ZSTD => prop_assert!(plain.len() >= 64 && packed.len() <= plain.len(), "compressed only when it pays"),
            other => prop_assert!(false, "unknown codec tag {}", other),
        }
        prop_assert_eq!(unpack(&packed), Ok(plain));
    }

    #[test]
    fn unpack_refuses_or_decodes_arbitrary_bytes(tag in prop_oneof![Just(RAW), Just(ZSTD), any::<u8>()], body in vec(any::<u8>(), 0..256)) {
        let mut packed = vec![tag];
        packed.extend_from_slice(&body);
        match unpack(&packed) {
            Ok(plain) => prop_assert!(tag == ZSTD || (tag == RAW && plain == body)),
            Err(e) => prop_assert!(tag != RAW && e == TokenError::Invalid),
        }
    }

    #[test]
    fn cursor_tokens_round_trip(token in cursor()) {
        let bytes = token.encode();
        prop_assert_eq!(CursorToken::decode(&bytes), Ok(token));
    }

    #[test]
    fn call_tokens_round_trip(token in call()) {
        let bytes = token.encode();
        prop_assert_eq!(CallToken::decode(&bytes), Ok(token));
    }

    #[test]
    fn short_or_padded_payloads_are_invalid(call in call(), cursor in cursor(), cut in any::<prop::sample::Index>(), extra in vec(any::<u8>(), 1..8)) {
        let call_bytes = call.encode();
        let cursor_bytes = cursor.encode();
        prop_assert_eq!(CallToken::decode(&call_bytes[..cut.index(call_bytes.len())]), Err(TokenError::Invalid));
        prop_assert_eq!(CursorToken::decode(&cursor_bytes[..cut.index(cursor_bytes.len())]), Err(TokenError::Invalid));
        prop_assert_eq!(CallToken::decode(&[call_bytes.as_slice(), &extra].concat()), Err(TokenError::Invalid));
        prop_assert_eq!(CursorToken::decode(&[cursor_bytes.as_slice(), &extra].concat()), Err(TokenError::Invalid));
    }

    /// Decoding arbitrary bytes never panics, and whatever decodes is the
    /// only encoding of its value (the framing is canonical).
    #[test]
    fn decoding_arbitrary_bytes_is_total_and_canonical(bytes in vec(any::<u8>(), 0..96)) {
        if let Ok(t) = CallToken::decode(&bytes) {
            prop_assert_eq!(t.encode(), bytes.clone());
        }
        if let Ok(t) = CursorToken::decode(&bytes) {
            prop_assert_eq!(t.encode(), bytes);
        }
    }
}

proptest! {
    #![proptest_config(config(16, "proptest-regressions/prop_codec_tokens.txt"))]

    /// Multi-megabyte compressible states shrink and come back intact.
    #[test]
    fn large_compressible_payloads_round_trip(pattern in vec(any::<u8>(), 1..32), repeats in 100_000usize..200_000) {
        let plain = pattern.repeat(repeats);
        let packed = pack(&plain);
        prop_assert_eq!(packed[0], ZSTD);
        prop_assert!(packed.len() < plain.len() / 10);
        prop_assert_eq!(unpack(&packed), Ok(plain));
    }
}
