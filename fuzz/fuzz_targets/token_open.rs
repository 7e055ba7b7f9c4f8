//! `token_open`: opening sealed state tokens and decoding what they carry.
//!
//! The first input byte picks the path; the rest is the token text or bytes:
//!
//! * `Sealer::open` (cursor and call kinds) on the text, with the fixed key
//!   and clock: base64, version, length and AEAD checks;
//! * `codec::unpack` on raw bytes (the codec tag and bounded zstd);
//! * `CursorToken::decode` / `CallToken::decode` on raw bytes (the framing
//!   inside the seal);
//! * the HTTP transport's `SealedTokens::open_cursor` / `resolve_call` on the
//!   text, as an `/exchange` request presents them;
//! * sealed garbage: the bytes sealed with the fixed key as a call or cursor
//!   payload, then opened through `SealedTokens`, so the post-authentication
//!   decoders (call-token framing, embedded IPC schemas, the response-cap
//!   slot) see arbitrary payloads; and `open(seal(x)) == x`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgi_rpc_core::stateless::StateTokens;
use vgi_rpc_core::AuthContext;
use vgi_rpc_http::tokens::SealedTokens;
use vgi_rpc_token::{codec, CallToken, CursorToken, Sealer, TokenKind};

fn fixtures() -> &'static (Sealer, SealedTokens, AuthContext) {
    static F: std::sync::OnceLock<(Sealer, SealedTokens, AuthContext)> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        (
            vgi_rpc_fuzz::sealer(),
            SealedTokens::new(vgi_rpc_fuzz::sealer(), 0),
            AuthContext::authenticated("bearer", "fuzzer"),
        )
    })
}

fuzz_target!(init: vgi_rpc_fuzz::let_arrow_panics_unwind(), |data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    let (sealer, tokens, auth) = fixtures();
    let text = String::from_utf8_lossy(rest);
    let protocol = vgi_rpc_fuzz::PROTOCOL;
    match mode % 6 {
        0 => {
            for kind in [TokenKind::Cursor, TokenKind::Call] {
                if let Ok(payload) = sealer.open(kind, protocol, vgi_rpc_fuzz::IDENTITY, &text) {
                    let _ = CursorToken::decode(&payload);
                    let _ = CallToken::decode(&payload);
                }
            }
        }
        1 => {
            if let Ok(plain) = codec::unpack(rest) {
                assert!(plain.len() <= codec::MAX_DECOMPRESSED);
            }
        }
        2 => {
            if let Ok(c) = CursorToken::decode(rest) {
                assert_eq!(c.encode(), rest, "cursor framing is canonical");
            }
            if let Ok(c) = CallToken::decode(rest) {
                assert_eq!(c.encode(), rest, "call framing is canonical");
            }
        }
        3 => {
            if let Ok((call_id, _state)) = tokens.open_cursor(protocol, auth, &text) {
                let _ = tokens.resolve_call(protocol, auth, &call_id, None);
            }
            let _ = tokens.resolve_call(protocol, auth, &[0; 16], Some(&text));
        }
        4 => {
            let Ok(call) = sealer.seal(TokenKind::Call, protocol, vgi_rpc_fuzz::IDENTITY, rest) else { return };
            let call_id = CallToken::decode(rest).map(|c| c.call_id).unwrap_or([0; 16]);
            let _ = tokens.resolve_call(protocol, auth, &call_id, Some(&call));
            let Ok(cursor) = sealer.seal(TokenKind::Cursor, protocol, vgi_rpc_fuzz::IDENTITY, rest) else { return };
            let _ = tokens.open_cursor(protocol, auth, &cursor);
        }
        _ => {
            let kind = if rest.first().is_some_and(|b| b & 1 == 1) { TokenKind::Call } else { TokenKind::Cursor };
            let Ok(token) = sealer.seal(kind, protocol, vgi_rpc_fuzz::IDENTITY, rest) else { return };
            let opened = sealer.open(kind, protocol, vgi_rpc_fuzz::IDENTITY, &token);
            assert_eq!(opened.as_deref(), Ok(rest), "a sealed payload opens to itself");
        }
    }
});
