//! Compression inside the seal: a one-byte codec tag, then the payload.
//! zstd when it shrinks the payload, raw otherwise; decompression bounded.

use std::io::Read;

use crate::TokenError;

/// Payload stored as is.
pub const RAW: u8 = 0x00;
/// Payload compressed with zstd.
pub const ZSTD: u8 = 0x01;
/// Largest decompressed payload accepted.
pub const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;
const LEVEL: i32 = 3;
/// Payloads this small are never worth a compressor call.
const MIN_COMPRESS: usize = 64;

/// Tag and (maybe) compress `plain`. Never larger than `plain.len() + 1`.
pub fn pack(plain: &[u8]) -> Vec<u8> {
    if plain.len() >= MIN_COMPRESS {
        if let Ok(compressed) = zstd::bulk::compress(plain, LEVEL) {
            if compressed.len() < plain.len() {
                let mut out = Vec::with_capacity(compressed.len() + 1);
                out.push(ZSTD);
                out.extend_from_slice(&compressed);
                return out;
            }
        }
    }
    let mut out = Vec::with_capacity(plain.len() + 1);
    out.push(RAW);
    out.extend_from_slice(plain);
    out
}

/// Undo [`pack`]; an unknown tag or a failed / oversized decompress is invalid.
pub fn unpack(packed: &[u8]) -> Result<Vec<u8>, TokenError> {
    let (&tag, body) = packed.split_first().ok_or(TokenError::Invalid)?;
    match tag {
        RAW => Ok(body.to_vec()),
        ZSTD => {
            let decoder = zstd::stream::read::Decoder::new(body).map_err(|_| TokenError::Invalid)?;
            let mut out = Vec::new();
            decoder.take(MAX_DECOMPRESSED as u64 + 1).read_to_end(&mut out).map_err(|_| TokenError::Invalid)?;
            if out.len() > MAX_DECOMPRESSED {
                return Err(TokenError::Invalid);
            }
            Ok(out)
        }
        _ => Err(TokenError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_redundant_payloads_compress() {
        let plain = b"column value ".repeat(600);
        let packed = pack(&plain);
        assert_eq!(packed[0], ZSTD);
        assert!(packed.len() < plain.len() / 4);
        assert_eq!(unpack(&packed).unwrap(), plain);
    }

    #[test]
    fn tiny_payloads_stay_raw_and_never_grow_beyond_the_tag() {
        let packed = pack(b"abc");
        assert_eq!(packed, vec![RAW, b'a', b'b', b'c']);
        let noise: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(pack(&noise).len() <= noise.len() + 1);
    }

    #[test]
    fn unknown_codecs_and_corrupt_frames_are_invalid() {
        assert_eq!(unpack(&[0x7f, 1, 2]), Err(TokenError::Invalid));
        assert_eq!(unpack(&[ZSTD, 1, 2, 3, 4]), Err(TokenError::Invalid));
        assert_eq!(unpack(&[]), Err(TokenError::Invalid));
    }
}
