//! `http_body`: decoding compressed HTTP request bodies.
//!
//! `vgi_rpc_http::encoding::decode_body` for zstd or gzip (picked by the low
//! bit of the first byte) over the rest of the input, with a decoded cap of
//! 8 MiB: the output never exceeds the cap, whatever size a frame declares.
//! Small inputs also round-trip through `encode_body`, and the text of the
//! input goes through the `Content-Encoding` / `Accept-Encoding` parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgi_rpc_http::encoding::{decode_body, encode_body, pick_response_coding, request_codec, Codec};

const CAP: usize = 8 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let [first, body @ ..] = data else { return };
    let codec = if first & 1 == 0 { Codec::Zstd } else { Codec::Gzip };
    if let Ok(decoded) = decode_body(codec, body, CAP) {
        assert!(decoded.len() <= CAP, "decoded {} bytes past the {CAP} cap", decoded.len());
    }
    if first & 2 != 0 && body.len() <= 4096 {
        let packed = encode_body(codec, body).unwrap_or_else(|e| unreachable!("encoding into memory: {e}"));
        let back = decode_body(codec, &packed, body.len());
        assert_eq!(back.ok().as_deref(), Some(body), "{codec:?} round trip");
    }
    if first & 4 != 0 {
        let text = String::from_utf8_lossy(body);
        let _ = request_codec(Some(&text));
        let _ = pick_response_coding(Some(&text), Some(&text), &[Codec::Zstd, Codec::Gzip]);
    }
});
