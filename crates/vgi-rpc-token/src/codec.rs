//! Compression inside the seal: a one-byte codec tag, then the payload.
//! zstd when it shrinks the payload, raw otherwise; decompression bounded.

use std::cell::RefCell;

use crate::TokenError;

thread_local! {
    // Creating a zstd context costs more than compressing a small token;
    // keep one of each per thread.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn compress(plain: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        slot.as_mut()?.compress(plain).ok()
    })
}

fn decompress(body: &[u8]) -> Result<Vec<u8>, TokenError> {
    // The frame header states the content size; refuse oversize frames before allocating.
    let declared = match zstd::zstd_safe::get_frame_content_size(body) {
        Ok(Some(n)) if n <= MAX_DECOMPRESSED as u64 => n as usize,
        _ => return Err(TokenError::Invalid),
    };
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = zstd::bulk::Decompressor::new().ok();
        }
        let d = slot.as_mut().ok_or(TokenError::Invalid)?;
        // Room for exactly the declared size: a frame that produces more fails.
        d.decompress(body, declared).map_err(|_| TokenError::Invalid)
    })
}

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
        if let Some(compressed) = compress(plain) {
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
        ZSTD => decompress(body),
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
