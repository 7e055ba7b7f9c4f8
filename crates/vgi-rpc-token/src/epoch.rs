//! Epoch keys: the AES-256-GCM keys tokens are sealed under.
//!
//! Every [`Sealer`](crate::Sealer) draws a random 16-byte epoch id when it
//! is built and derives its sealing key from the master key and that id
//! (HMAC-SHA256). Nonces are then a counter under that key, so they never
//! repeat, without a random draw (a system call) per token; the epoch id
//! travels in the token so any worker holding the master key can derive the
//! same key to open it. Keys derived for other workers' epochs are cached,
//! but only once a token under them has authenticated, so forged epoch ids
//! cannot push real ones out of the cache.
//!
//! The counter lives in process memory: a process that `fork`s without
//! `exec` and keeps sealing in both halves would repeat nonces. Nothing in
//! this project does that (workers are spawned, and forking a threaded
//! process without exec is not sound Rust anyway).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM};

use crate::Key;

/// Length of an epoch id.
pub(crate) const EPOCH_BYTES: usize = 16;
/// Length of a GCM nonce.
pub(crate) const NONCE_BYTES: usize = 12;
/// Length of a GCM tag.
pub(crate) const TAG_BYTES: usize = 16;
/// At most this many foreign epochs stay cached (one per live worker that
/// shares the key is what a deployment needs).
const CACHED_EPOCHS: usize = 256;
const PURPOSE: &[u8] = b"vgi_rpc.stream-token.v6\x00";

/// Sealing or opening failed (for opening: not authentic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AeadError;

/// The key derived from a master key for one epoch.
fn derive(master: &Key, epoch: &[u8; EPOCH_BYTES]) -> Result<LessSafeKey, AeadError> {
    let mut info = [0u8; PURPOSE.len() + EPOCH_BYTES];
    info[..PURPOSE.len()].copy_from_slice(PURPOSE);
    info[PURPOSE.len()..].copy_from_slice(epoch);
    let subkey = master.derive_bytes(&info);
    UnboundKey::new(&AES_256_GCM, &subkey).map(LessSafeKey::new).map_err(|_| AeadError)
}

/// This sealer's epoch: its id, key and nonce counter.
pub(crate) struct SealingEpoch {
    id: [u8; EPOCH_BYTES],
    key: LessSafeKey,
    counter: AtomicU64,
}

impl SealingEpoch {
    /// A fresh epoch under `master`.
    pub(crate) fn new(master: &Key) -> Result<Self, AeadError> {
        let mut id = [0u8; EPOCH_BYTES];
        getrandom::fill(&mut id).map_err(|_| AeadError)?;
        Ok(Self { id, key: derive(master, &id)?, counter: AtomicU64::new(0) })
    }

    /// The epoch id sealed tokens carry.
    pub(crate) fn id(&self) -> &[u8; EPOCH_BYTES] {
        &self.id
    }

    /// The next nonce: the counter, little-endian, then zeros. 2^64 tokens
    /// per epoch before it could wrap.
    pub(crate) fn next_nonce(&self) -> [u8; NONCE_BYTES] {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut nonce = [0u8; NONCE_BYTES];
        nonce[..8].copy_from_slice(&n.to_le_bytes());
        nonce
    }

    /// Encrypt `buf` in place under `nonce`; returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: [u8; NONCE_BYTES],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_BYTES], AeadError> {
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), buf)
            .map_err(|_| AeadError)?;
        let mut out = [0u8; TAG_BYTES];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }
}

fn open_with(
    key: &LessSafeKey,
    nonce: [u8; NONCE_BYTES],
    aad: &[u8],
    buf: &mut [u8],
    tag: [u8; TAG_BYTES],
) -> Result<(), AeadError> {
    key.open_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), Tag::from(tag), buf, 0..)
        .map(|_| ())
        .map_err(|_| AeadError)
}

/// Opens tokens of any epoch under the keys of a ring.
pub(crate) struct EpochOpener {
    masters: Vec<Key>,
    cache: RwLock<Vec<([u8; EPOCH_BYTES], LessSafeKey)>>,
}

impl EpochOpener {
    /// An opener for tokens sealed under any of `masters` (newest first).
    pub(crate) fn new(masters: Vec<Key>) -> Self {
        Self { masters, cache: RwLock::new(Vec::new()) }
    }

    /// Check `tag` and decrypt `buf` in place. `own` (this sealer's epoch)
    /// is tried without locking; then the cache; then every master key,
    /// caching the one that authenticates. On failure `buf` is unspecified.
    pub(crate) fn open_in_place(
        &self,
        own: Option<&SealingEpoch>,
        epoch: &[u8; EPOCH_BYTES],
        nonce: [u8; NONCE_BYTES],
        aad: &[u8],
        buf: &mut [u8],
        tag: [u8; TAG_BYTES],
    ) -> Result<(), AeadError> {
        if let Some(own) = own.filter(|own| own.id() == epoch) {
            return open_with(&own.key, nonce, aad, buf, tag);
        }
        if let Ok(cache) = self.cache.read() {
            if let Some((_, key)) = cache.iter().find(|(id, _)| id == epoch) {
                return open_with(key, nonce, aad, buf, tag);
            }
        }
        // A failed attempt may scramble the buffer: with more than one key
        // to try, each but the last works on a copy.
        let (last, earlier) = self.masters.split_last().ok_or(AeadError)?;
        for master in earlier {
            let key = derive(master, epoch)?;
            let mut attempt = buf.to_vec();
            if open_with(&key, nonce, aad, &mut attempt, tag).is_ok() {
                buf.copy_from_slice(&attempt);
                self.remember(*epoch, key);
                return Ok(());
            }
        }
        let key = derive(last, epoch)?;
        open_with(&key, nonce, aad, buf, tag)?;
        self.remember(*epoch, key);
        Ok(())
    }

    fn remember(&self, epoch: [u8; EPOCH_BYTES], key: LessSafeKey) {
        if let Ok(mut cache) = self.cache.write() {
            if cache.iter().any(|(id, _)| *id == epoch) {
                return;
            }
            if cache.len() >= CACHED_EPOCHS {
                cache.remove(0);
            }
            cache.push((epoch, key));
        }
    }

    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        self.cache.read().map(|c| c.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(b: u8) -> Key {
        Key::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn nonces_count_up_and_epochs_differ() {
        let a = SealingEpoch::new(&master(1)).unwrap();
        let b = SealingEpoch::new(&master(1)).unwrap();
        assert_ne!(a.id(), b.id());
        assert_eq!(a.next_nonce()[..8], 0u64.to_le_bytes());
        assert_eq!(a.next_nonce()[..8], 1u64.to_le_bytes());
    }

    #[test]
    fn another_epoch_opens_after_derivation_and_only_authentic_epochs_are_cached() {
        let worker_a = SealingEpoch::new(&master(1)).unwrap();
        let worker_b = SealingEpoch::new(&master(1)).unwrap();
        let opener_b = EpochOpener::new(vec![master(1)]);
        let nonce = worker_a.next_nonce();
        let mut buf = b"state".to_vec();
        let tag = worker_a.seal_in_place(nonce, b"aad", &mut buf).unwrap();

        let mut forged = buf.clone();
        let mut wrong_epoch = *worker_a.id();
        wrong_epoch[0] ^= 1;
        assert_eq!(
            opener_b.open_in_place(Some(&worker_b), &wrong_epoch, nonce, b"aad", &mut forged, tag),
            Err(AeadError)
        );
        assert_eq!(opener_b.cached(), 0, "a forged epoch is not cached");

        let mut opened = buf.clone();
        opener_b.open_in_place(Some(&worker_b), worker_a.id(), nonce, b"aad", &mut opened, tag).unwrap();
        assert_eq!(opened, b"state");
        assert_eq!(opener_b.cached(), 1);
        let mut again = buf.clone();
        opener_b.open_in_place(Some(&worker_b), worker_a.id(), nonce, b"aad", &mut again, tag).unwrap();
        assert_eq!(opener_b.cached(), 1);

        let mut tampered = buf.clone();
        assert_eq!(
            opener_b.open_in_place(Some(&worker_b), worker_a.id(), nonce, b"other", &mut tampered, tag),
            Err(AeadError),
            "a cached epoch still checks the tag"
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let opener = EpochOpener::new(vec![master(3)]);
        let own = SealingEpoch::new(&master(3)).unwrap();
        for _ in 0..CACHED_EPOCHS + 5 {
            let other = SealingEpoch::new(&master(3)).unwrap();
            let nonce = other.next_nonce();
            let mut buf = vec![1, 2, 3];
            let tag = other.seal_in_place(nonce, b"", &mut buf).unwrap();
            opener.open_in_place(Some(&own), other.id(), nonce, b"", &mut buf, tag).unwrap();
        }
        assert_eq!(opener.cached(), CACHED_EPOCHS);
    }
}
