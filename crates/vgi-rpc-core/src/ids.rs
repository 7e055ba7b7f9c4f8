//! Server and request identifiers (hex strings of random bits).

use std::sync::atomic::{AtomicU64, Ordering};

/// A 12-hex-character server instance id, generated once per process.
pub fn new_server_id() -> String {
    let mut bytes = [0u8; 6];
    fill_random(&mut bytes);
    hex::encode(bytes)
}

/// Generates 16-hex-character request ids: a random per-process prefix
/// mixed with a counter, so ids are unique without a syscall per call.
#[derive(Debug)]
pub struct RequestIds {
    seed: u64,
    counter: AtomicU64,
}

impl RequestIds {
    /// A generator with a random seed.
    pub fn new() -> Self {
        let mut bytes = [0u8; 8];
        fill_random(&mut bytes);
        Self { seed: u64::from_le_bytes(bytes), counter: AtomicU64::new(0) }
    }

    /// A generator with a fixed seed (for deterministic tests).
    pub fn with_seed(seed: u64) -> Self {
        Self { seed, counter: AtomicU64::new(0) }
    }

    /// The next id.
    pub fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}", splitmix64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fill_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        // No OS randomness: fall back to time and address entropy.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let mixed = splitmix64(t as u64 ^ (buf.as_ptr() as u64));
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (mixed >> ((i % 8) * 8)) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_wire_shape_and_differ() {
        assert_eq!(new_server_id().len(), 12);
        let ids = RequestIds::with_seed(7);
        let a = ids.next_id();
        let b = ids.next_id();
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
