//! Content coding on the client side (§10 "Content-encoding negotiation"):
//! compressing request bodies and undoing the coding a server applied to a
//! response, named by `Content-Encoding` or `X-VGI-Content-Encoding`.

use bytes::Bytes;
use http::header::CONTENT_ENCODING;
use http::HeaderMap;
use vgi_rpc_core::CallError;

use crate::encoding::{decode_body, encode_body, Codec};
use crate::headers::VGI_CONTENT_ENCODING;

/// Compress a request body with `codec`.
pub(crate) fn encode_request(codec: Codec, body: &[u8]) -> Result<Vec<u8>, CallError> {
    encode_body(codec, body).map_err(CallError::from)
}

/// The codec a response declares, from either coding header.
fn response_codec(headers: &HeaderMap) -> Result<Option<Codec>, CallError> {
    let mut codec = None;
    for name in [CONTENT_ENCODING.as_str(), VGI_CONTENT_ENCODING] {
        let Some(value) = headers.get(name) else { continue };
        let text = value.to_str().map_err(|_| CallError::Protocol(format!("unreadable {name} header")))?;
        let named = match text.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => None,
            "zstd" => Some(Codec::Zstd),
            "gzip" => Some(Codec::Gzip),
            other => return Err(CallError::Protocol(format!("response uses unsupported {name} {other:?}"))),
        };
        match (codec, named) {
            (Some(a), Some(b)) if a != b => {
                return Err(CallError::Protocol("response names two different content codings".into()));
            }
            (None, Some(b)) => codec = Some(b),
            _ => {}
        }
    }
    Ok(codec)
}

/// Default cap on a decoded response body when the client sets none (1 GiB):
/// a compressed response never expands without bound.
pub(crate) const DEFAULT_MAX_DECODED_RESPONSE_BYTES: usize = 1 << 30;

/// The decoded response body, never larger than `limit` bytes
/// ([`DEFAULT_MAX_DECODED_RESPONSE_BYTES`] when `None`). An uncoded body is
/// returned as is, without a copy.
pub(crate) fn decode_response(headers: &HeaderMap, body: &Bytes, limit: Option<usize>) -> Result<Bytes, CallError> {
    match response_codec(headers)? {
        None => Ok(body.clone()),
        Some(codec) => decode_body(codec, body, limit.unwrap_or(DEFAULT_MAX_DECODED_RESPONSE_BYTES))
            .map(Bytes::from)
            .map_err(|e| CallError::Protocol(format!("cannot decode the {} response body: {e}", codec.token()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn decodes_either_header_and_refuses_unknown_codings() {
        let plain = b"arrow bytes".repeat(50);
        for (name, codec) in [("content-encoding", Codec::Zstd), (VGI_CONTENT_ENCODING, Codec::Gzip)] {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static(codec.token()));
            let packed = encode_request(codec, &plain).expect("encodes");
            let packed = Bytes::from(packed);
            assert_eq!(decode_response(&headers, &packed, None).expect("decodes"), plain);
            assert!(decode_response(&headers, &packed, Some(10)).is_err(), "the limit applies while decoding");
        }
        let mut headers = HeaderMap::new();
        headers.insert("content-encoding", HeaderValue::from_static("br"));
        assert!(matches!(decode_response(&headers, &Bytes::from_static(b"x"), None), Err(CallError::Protocol(_))));
        let raw = Bytes::from_static(b"raw");
        assert_eq!(decode_response(&HeaderMap::new(), &raw, None).expect("identity"), raw);
    }
}
