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
/// Payloads below this size are sealed raw. Compressing a few KiB costs
/// several µs (more than the whole seal) to save at most that many bytes of
/// token, which rides in a batch's metadata, not in an HTTP header; above it,
/// a state's redundancy starts paying for the compressor.
pub const MIN_COMPRESS: usize = 4096;

/// Append `tag || maybe-compressed(prefix || plain)` to `out`. The
/// compressed form is used only when it is smaller; the raw form is never
/// larger than `prefix.len() + plain.len() + 1`, and is written without an
/// intermediate copy.
pub fn pack_into(out: &mut Vec<u8>, prefix: &[u8], plain: &[u8]) {
    let len = prefix.len() + plain.len();
    if len >= MIN_COMPRESS {
        let mut framed = Vec::with_capacity(len);
        framed.extend_from_slice(prefix);
        framed.extend_from_slice(plain);
        if let Some(compressed) = compress(&framed) {
            if compressed.len() < len {
                out.push(ZSTD);
                out.extend_from_slice(&compressed);
                return;
            }
        }
    }
    out.reserve(len + 1);
    out.push(RAW);
    out.extend_from_slice(prefix);
    out.extend_from_slice(plain);
}

/// Tag and (maybe) compress `plain`. Never larger than `plain.len() + 1`.
pub fn pack(plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    pack_into(&mut out, &[], plain);
    out
}

/// Undo [`pack`]; an unknown tag or a failed / oversized decompress is invalid.
pub fn unpack(packed: &[u8]) -> Result<Vec<u8>, TokenError> {
    unpack_range(packed.to_vec(), 0, packed.len())
}

/// Undo [`pack_into`] on `buf[start..end]`. A raw payload is returned in
/// `buf` itself (moved down in place, no new allocation).
pub fn unpack_range(mut buf: Vec<u8>, start: usize, end: usize) -> Result<Vec<u8>, TokenError> {
    if start >= end || end > buf.len() {
        return Err(TokenError::Invalid);
    }
    match buf[start] {
        RAW => {
            buf.truncate(end);
            buf.drain(..start + 1);
            Ok(buf)
        }
        ZSTD => decompress(&buf[start + 1..end]),
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
    fn states_under_the_threshold_stay_raw_and_unpack_in_place() {
        let state = b"row ".repeat(MIN_COMPRESS / 4 - 3);
        let mut sealed = vec![9, 9];
        pack_into(&mut sealed, b"12345678", &state);
        assert_eq!(sealed[2], RAW, "{} bytes stay raw", state.len() + 8);
        sealed.extend_from_slice(b"tag");
        let end = sealed.len() - 3;
        let framed = unpack_range(sealed, 2, end).unwrap();
        assert_eq!(&framed[..8], b"12345678");
        assert_eq!(&framed[8..], &state[..]);
        assert_eq!(unpack_range(vec![RAW], 1, 1), Err(TokenError::Invalid));
        assert_eq!(unpack_range(vec![RAW, 1], 0, 3), Err(TokenError::Invalid));
    }

    #[test]
    fn unknown_codecs_and_corrupt_frames_are_invalid() {
        assert_eq!(unpack(&[0x7f, 1, 2]), Err(TokenError::Invalid));
        assert_eq!(unpack(&[ZSTD, 1, 2, 3, 4]), Err(TokenError::Invalid));
        assert_eq!(unpack(&[]), Err(TokenError::Invalid));
    }
}
