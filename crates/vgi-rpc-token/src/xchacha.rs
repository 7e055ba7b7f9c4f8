//! XChaCha20-Poly1305 built from HChaCha20 and ring's ChaCha20-Poly1305.
//!
//! The construction (draft-irtf-cfrg-xchacha): the first 16 nonce bytes and
//! the key give a subkey through HChaCha20; the subkey seals with IETF
//! ChaCha20-Poly1305 under the nonce `0000 || nonce[16..24]`. The output is
//! byte-identical to the `chacha20poly1305` crate's `XChaCha20Poly1305` (a
//! test checks it), so tokens sealed before still open. ring's assembly is
//! several times faster here than that crate, whose AVX2 backend does not
//! get its intrinsics inlined without compile-time target features.

use chacha20::cipher::consts::U10;
use chacha20::hchacha;
use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, CHACHA20_POLY1305};

/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_BYTES: usize = 24;
/// Length of the Poly1305 tag.
pub const TAG_BYTES: usize = 16;

/// A 32-byte XChaCha20-Poly1305 key.
#[derive(Clone)]
pub struct XChaCha20Poly1305 {
    key: [u8; 32],
}

impl std::fmt::Debug for XChaCha20Poly1305 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("XChaCha20Poly1305(<redacted>)")
    }
}

/// Sealing or opening failed (for opening: not authentic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AeadError;

impl XChaCha20Poly1305 {
    /// The cipher for `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The ChaCha20-Poly1305 key and nonce for one XChaCha nonce.
    fn inner(&self, nonce: &[u8; NONCE_BYTES]) -> Result<(LessSafeKey, Nonce), AeadError> {
        let subkey = hchacha::<U10>(&self.key.into(), nonce[..16].into());
        let key = UnboundKey::new(&CHACHA20_POLY1305, &subkey).map_err(|_| AeadError)?;
        let mut inner_nonce = [0u8; 12];
        inner_nonce[4..].copy_from_slice(&nonce[16..]);
        Ok((LessSafeKey::new(key), Nonce::assume_unique_for_key(inner_nonce)))
    }

    /// Encrypt `buf` in place; returns the tag.
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_BYTES],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_BYTES], AeadError> {
        let (key, nonce) = self.inner(nonce)?;
        let tag: Tag = key.seal_in_place_separate_tag(nonce, Aad::from(aad), buf).map_err(|_| AeadError)?;
        let mut out = [0u8; TAG_BYTES];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Check `tag` over `buf` and `aad`, then decrypt `buf` in place. On
    /// failure the contents of `buf` are unspecified (ring may overwrite it).
    pub fn open_in_place(
        &self,
        nonce: &[u8; NONCE_BYTES],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_BYTES],
    ) -> Result<(), AeadError> {
        let (key, nonce) = self.inner(nonce)?;
        let tag = Tag::from(*tag);
        key.open_in_place_separate_tag(nonce, Aad::from(aad), tag, buf, 0..).map(|_| ()).map_err(|_| AeadError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};

    fn reference(key: &[u8; 32]) -> chacha20poly1305::XChaCha20Poly1305 {
        chacha20poly1305::XChaCha20Poly1305::new(key.into())
    }

    #[test]
    fn matches_the_chacha20poly1305_crate_byte_for_byte() {
        for (len, seed) in [(0usize, 1u8), (1, 2), (63, 3), (64, 4), (1000, 5), (70_000, 6)] {
            let key = [seed.wrapping_mul(37); 32];
            let nonce: [u8; NONCE_BYTES] = std::array::from_fn(|i| seed ^ (i as u8 * 11));
            let aad = vec![seed; (len % 40) + 3];
            let plain: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
            let expected =
                reference(&key).encrypt(nonce[..].into(), Payload { msg: &plain, aad: &aad }).expect("reference seals");
            let mut buf = plain.clone();
            let tag = XChaCha20Poly1305::new(key).seal_in_place(&nonce, &aad, &mut buf).expect("seals");
            assert_eq!([&buf[..], &tag[..]].concat(), expected, "length {len}");
            XChaCha20Poly1305::new(key).open_in_place(&nonce, &aad, &mut buf, &tag).expect("opens");
            assert_eq!(buf, plain);
        }
    }

    #[test]
    fn a_wrong_key_or_aad_fails_to_open() {
        let cipher = XChaCha20Poly1305::new([7; 32]);
        let nonce = [3; NONCE_BYTES];
        let mut buf = b"state".to_vec();
        let tag = cipher.seal_in_place(&nonce, b"aad", &mut buf).unwrap();
        let sealed = buf.clone();
        let other = XChaCha20Poly1305::new([8; 32]);
        assert_eq!(other.open_in_place(&nonce, b"aad", &mut buf.clone(), &tag), Err(AeadError));
        assert_eq!(cipher.open_in_place(&nonce, b"other aad", &mut buf.clone(), &tag), Err(AeadError));
        assert_eq!(cipher.open_in_place(&[4; NONCE_BYTES], b"aad", &mut buf.clone(), &tag), Err(AeadError));
        assert_eq!(buf, sealed);
        cipher.open_in_place(&nonce, b"aad", &mut buf, &tag).unwrap();
        assert_eq!(buf, b"state");
    }
}
