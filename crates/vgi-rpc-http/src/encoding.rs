//! Content-encoding negotiation (§10): bounded decoding of compressed
//! request bodies and the choice and application of a response codec.

use std::io::{Read, Write};

/// A content coding this crate can produce and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Zstandard (`zstd`), preferred when the client accepts it.
    Zstd,
    /// gzip (`gzip`).
    Gzip,
}

impl Codec {
    /// The HTTP token.
    pub fn token(self) -> &'static str {
        match self {
            Codec::Zstd => "zstd",
            Codec::Gzip => "gzip",
        }
    }
}

/// Compression levels of the response codecs. The defaults (zstd 1, gzip 1)
/// favour speed: on Arrow IPC bodies zstd level 1 is both faster and
/// smaller than level 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionLevels {
    /// zstd level, 1 (fastest) to 22.
    pub zstd: i32,
    /// gzip (deflate) level, 0 (store) to 9.
    pub gzip: u32,
}

impl Default for CompressionLevels {
    fn default() -> Self {
        Self { zstd: 1, gzip: 1 }
    }
}

/// A compression level outside its codec's range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LevelError {
    /// The zstd level given is outside 1..=22.
    #[error("zstd compression level {0} is outside 1..=22")]
    Zstd(i32),
    /// The gzip level given is outside 0..=9.
    #[error("gzip compression level {0} is outside 0..=9")]
    Gzip(u32),
}

impl CompressionLevels {
    /// These levels, when each is within its codec's range.
    pub fn validated(self) -> Result<Self, LevelError> {
        if !(1..=22).contains(&self.zstd) {
            return Err(LevelError::Zstd(self.zstd));
        }
        if self.gzip > 9 {
            return Err(LevelError::Gzip(self.gzip));
        }
        Ok(self)
    }
}

/// An offered coding: one we know, or `identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offered {
    Identity,
    Codec(Codec),
}

/// Known codings in `value`, in order, without duplicates; parameters (`;q=`) are ignored.
fn parse_list(value: &str) -> Vec<Offered> {
    let mut out = Vec::new();
    for raw in value.split(',') {
        let token = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let offered = match token.as_str() {
            "zstd" => Offered::Codec(Codec::Zstd),
            "gzip" => Offered::Codec(Codec::Gzip),
            "identity" => Offered::Identity,
            _ => continue,
        };
        if !out.contains(&offered) {
            out.push(offered);
        }
    }
    out
}

/// The response coding chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseCoding {
    /// The codec, or `None` for an untransformed body.
    pub codec: Option<Codec>,
    /// Stamp `X-VGI-Content-Encoding` instead of `Content-Encoding`.
    pub custom_header: bool,
}

/// Pick the first offered coding this server produces. `X-VGI-Accept-Encoding`
/// takes precedence over `Accept-Encoding`; a first match of `identity` means
/// an uncompressed body.
pub fn pick_response_coding(accept: Option<&str>, vgi_accept: Option<&str>, enabled: &[Codec]) -> ResponseCoding {
    let standard = parse_list(accept.unwrap_or(""));
    let custom = parse_list(vgi_accept.unwrap_or(""));
    let ordered = custom.iter().chain(standard.iter().filter(|e| !custom.contains(e)));
    for offered in ordered {
        match offered {
            Offered::Identity => return ResponseCoding::default(),
            Offered::Codec(c) if enabled.contains(c) => {
                let custom_header = custom.contains(offered) && !standard.contains(offered);
                return ResponseCoding { codec: Some(*c), custom_header };
            }
            Offered::Codec(_) => {}
        }
    }
    ResponseCoding::default()
}

/// Why a request body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The named coding is not one this server decodes (`415`).
    #[error("Content-Encoding {0:?} is not supported by this server")]
    Unsupported(String),
    /// Decoding would exceed the request cap (`413`).
    #[error("Decompressed {codec} request body exceeds the server's advertised max_request_bytes={limit}.")]
    TooLarge {
        /// The coding's HTTP token.
        codec: &'static str,
        /// The request cap, in bytes.
        limit: usize,
    },
    /// The body names a supported coding but does not decode (`400`).
    #[error("Failed to decompress {codec} request body: {detail}")]
    Corrupt {
        /// The coding's HTTP token.
        codec: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
}

/// The codec a `Content-Encoding` value names (`None` for none / identity).
pub fn request_codec(content_encoding: Option<&str>) -> Result<Option<Codec>, DecodeError> {
    let value = content_encoding.unwrap_or("").trim().to_ascii_lowercase();
    match value.as_str() {
        "" | "identity" => Ok(None),
        "zstd" => Ok(Some(Codec::Zstd)),
        "gzip" => Ok(Some(Codec::Gzip)),
        _ => Err(DecodeError::Unsupported(value)),
    }
}

/// Decode `body`, never producing more than `max_decoded` bytes.
///
/// The cap is not optional: a few bytes of zstd or gzip can expand without
/// bound, and a zstd frame may declare any content size. A declared size is
/// trusted only up to the cap; below it, the streaming path's buffer grows
/// as output is produced.
pub fn decode_body(codec: Codec, body: &[u8], max_decoded: usize) -> Result<Vec<u8>, DecodeError> {
    let corrupt = |detail: String| DecodeError::Corrupt { codec: codec.token(), detail };
    let cap = max_decoded;
    if codec == Codec::Zstd {
        if let Some(decoded) = zstd_decompress_sized(body, cap)? {
            return Ok(decoded);
        }
    }
    let reader: Box<dyn Read + '_> = match codec {
        Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(body).map_err(|e| corrupt(e.to_string()))?),
        Codec::Gzip => Box::new(flate2::read::GzDecoder::new(body)),
    };
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(cap).min(STREAMING_PREALLOC));
    let read = reader.take((cap as u64).saturating_add(1)).read_to_end(&mut out).map_err(|e| corrupt(e.to_string()))?;
    if read > cap {
        return Err(DecodeError::TooLarge { codec: codec.token(), limit: cap });
    }
    Ok(out)
}

/// First allocation of the streaming decoders; beyond it the output grows
/// as it is produced.
const STREAMING_PREALLOC: usize = 1 << 20;

/// A frame declaring more than this many output bytes per input byte is
/// decoded by the streaming path (which allocates as output appears) rather
/// than trusted for a one-shot allocation of the declared size.
const MAX_TRUSTED_RATIO: usize = 1024;

thread_local! {
    /// One zstd compression context per thread, reused: creating one costs
    /// more than compressing a small response.
    static ZSTD: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { std::cell::RefCell::new(None) };
    /// Likewise for decompression.
    static UNZSTD: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { std::cell::RefCell::new(None) };
}

/// Decode a single zstd frame that declares its content size, with a reused
/// context; `None` when the frame does not say (the streaming path decodes it).
fn zstd_decompress_sized(body: &[u8], cap: usize) -> Result<Option<Vec<u8>>, DecodeError> {
    let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(body) else { return Ok(None) };
    if zstd::zstd_safe::find_frame_compressed_size(body).ok() != Some(body.len()) {
        return Ok(None);
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size > cap {
        return Err(DecodeError::TooLarge { codec: "zstd", limit: cap });
    }
    if size > STREAMING_PREALLOC && size / MAX_TRUSTED_RATIO > body.len() {
        return Ok(None);
    }
    UNZSTD.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new().map_err(|e| corrupt_zstd(e.to_string()))?),
        };
        decompressor.decompress(body, size).map(Some).map_err(|e| corrupt_zstd(e.to_string()))
    })
}

fn corrupt_zstd(detail: String) -> DecodeError {
    DecodeError::Corrupt { codec: "zstd", detail }
}

fn zstd_compress(body: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    ZSTD.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (current, compressor) = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert((level, zstd::bulk::Compressor::new(level)?)),
        };
        if *current != level {
            compressor.set_compression_level(level)?;
            *current = level;
        }
        // The bulk API writes the frame's content size, as eager decoders need.
        compressor.compress(body)
    })
}

/// Encode a body at the default levels (a client's request body).
pub fn encode_body(codec: Codec, body: &[u8]) -> std::io::Result<Vec<u8>> {
    encode_body_with(codec, body, CompressionLevels::default())
}

/// Encode a response body at `levels`. zstd frames carry their content
/// size, as eager decoders need.
pub fn encode_body_with(codec: Codec, body: &[u8], levels: CompressionLevels) -> std::io::Result<Vec<u8>> {
    match codec {
        Codec::Zstd => zstd_compress(body, levels.zstd),
        Codec::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::new(levels.gzip.min(9)),
            );
            enc.write_all(body)?;
            enc.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: &[Codec] = &[Codec::Zstd, Codec::Gzip];

    #[test]
    fn custom_header_wins_and_identity_stops_the_search() {
        let pick = pick_response_coding(Some("gzip"), Some("zstd"), BOTH);
        assert_eq!(pick, ResponseCoding { codec: Some(Codec::Zstd), custom_header: true });
        assert_eq!(pick_response_coding(Some("gzip"), None, BOTH).codec, Some(Codec::Gzip));
        assert_eq!(pick_response_coding(Some("identity, zstd"), None, BOTH).codec, None);
        assert_eq!(pick_response_coding(Some("br"), None, BOTH).codec, None);
        assert_eq!(pick_response_coding(Some("zstd;q=1.0"), None, &[]).codec, None);
        let both = pick_response_coding(Some("zstd"), Some("zstd"), BOTH);
        assert!(!both.custom_header, "offered on both headers: the standard one is stamped");
    }

    #[test]
    fn decoding_is_bounded_and_round_trips() {
        let body = vec![7u8; 100_000];
        for codec in [Codec::Zstd, Codec::Gzip] {
            let packed = encode_body(codec, &body).unwrap();
            assert!(packed.len() < body.len());
            assert_eq!(decode_body(codec, &packed, 100_000).unwrap(), body);
            assert!(matches!(decode_body(codec, &packed, 99_999), Err(DecodeError::TooLarge { .. })));
            assert!(matches!(decode_body(codec, b"not compressed", 1 << 20), Err(DecodeError::Corrupt { .. })));
        }
        assert!(matches!(request_codec(Some("br")), Err(DecodeError::Unsupported(_))));
        assert_eq!(request_codec(Some(" ZSTD ")).unwrap(), Some(Codec::Zstd));
    }

    /// A zstd frame header declaring a terabyte (the rest garbage) once made
    /// the decoder preallocate the declared size and abort the process.
    #[test]
    fn a_frame_declaring_a_terabyte_is_refused_not_allocated() {
        let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD]; // zstd magic
        frame.push(0xE0); // frame header: 8-byte content size, single segment
        frame.extend_from_slice(&(1u64 << 40).to_le_bytes());
        // One last raw block of 16 bytes: the frame is complete and well formed.
        frame.extend_from_slice(&[0x81, 0x00, 0x00]);
        frame.extend_from_slice(&[0u8; 16]);
        let err = decode_body(Codec::Zstd, &frame, 256 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { .. } | DecodeError::Corrupt { .. }), "{err}");
    }

    /// A well-formed frame that declares a size within the cap but far
    /// beyond what its bytes can hold is decoded by streaming, which notices
    /// the mismatch without reserving the declared size first.
    #[test]
    fn an_implausible_declared_size_within_the_cap_is_not_trusted() {
        let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
        frame.extend_from_slice(&(200u64 << 20).to_le_bytes());
        frame.extend_from_slice(&[0x81, 0x00, 0x00]);
        frame.extend_from_slice(&[0u8; 16]);
        assert!(zstd_decompress_sized(&frame, 256 << 20).expect("no error").is_none());
        assert!(decode_body(Codec::Zstd, &frame, 256 << 20).is_err());
    }

    #[test]
    fn levels_are_applied_and_validated() {
        let body: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let fast = encode_body_with(Codec::Zstd, &body, CompressionLevels { zstd: 1, gzip: 1 }).unwrap();
        let slow = encode_body_with(Codec::Zstd, &body, CompressionLevels { zstd: 19, gzip: 9 }).unwrap();
        assert_ne!(fast, slow, "the level reaches the cached compressor");
        assert_eq!(decode_body(Codec::Zstd, &slow, body.len()).unwrap(), body);
        let again = encode_body_with(Codec::Zstd, &body, CompressionLevels::default()).unwrap();
        assert_eq!(again, fast, "switching back restores level 1");
        let gz = encode_body_with(Codec::Gzip, &body, CompressionLevels { zstd: 1, gzip: 9 }).unwrap();
        assert_eq!(decode_body(Codec::Gzip, &gz, body.len()).unwrap(), body);
        assert_eq!(CompressionLevels { zstd: 0, gzip: 1 }.validated(), Err(LevelError::Zstd(0)));
        assert_eq!(CompressionLevels { zstd: 3, gzip: 10 }.validated(), Err(LevelError::Gzip(10)));
        assert!(CompressionLevels { zstd: 22, gzip: 0 }.validated().is_ok());
    }

    /// 1 GiB of zeros is about 33 KiB of zstd: the cap stops the expansion.
    #[test]
    fn a_compression_bomb_stops_at_the_cap() {
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("encoder");
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            enc.write_all(&zeros).expect("write");
        }
        let bomb = enc.finish().expect("finish");
        assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
        let err = decode_body(Codec::Zstd, &bomb, 8 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { limit, .. } if limit == 8 << 20), "{err}");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for _ in 0..64 {
            gz.write_all(&zeros).expect("write");
        }
        let gz_bomb = gz.finish().expect("finish");
        assert!(matches!(decode_body(Codec::Gzip, &gz_bomb, 8 << 20), Err(DecodeError::TooLarge { .. })));
    }
}
