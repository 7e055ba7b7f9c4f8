//! The segment header (WIRE_PROTOCOL.md §11): a 64 KiB block at the start of
//! every segment holding `VGIS`, version 1, the data size, and a table of
//! live allocations sorted by offset, all little-endian; and the first-fit
//! allocator that edits that table in place.
//!
//! Layout (offsets in bytes):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `VGIS` |
//! | 4 | 4 | version `u32` = 1 |
//! | 8 | 8 | data_size `u64` = segment size − 65 536 |
//! | 16 | 4 | num_allocs `u32` |
//! | 20 | 4 | padding = 0 |
//! | 24 | 16·N | `(offset u64, length u64)` per allocation, sorted by offset |
//!
//! Offsets are absolute (from the segment start); the data region starts at
//! [`HEADER_SIZE`]. Everything read from the table is checked: a corrupt or
//! hostile header yields [`ShmError`], never a panic or an access outside
//! the segment.

use crate::ShmError;

/// Size of the header block; the data region starts here.
pub const HEADER_SIZE: u64 = 65_536;
/// The header's first four bytes.
pub const MAGIC: [u8; 4] = *b"VGIS";
/// The header version this crate reads and writes.
pub const VERSION: u32 = 1;
/// Bytes of the fixed fields before the allocation table.
pub const FIXED_HEADER: usize = 24;
/// Bytes of one allocation entry.
pub const ENTRY_SIZE: usize = 16;
/// How many allocations the table can hold: `(65536 - 24) / 16`.
pub const MAX_ALLOCS: usize = (HEADER_SIZE as usize - FIXED_HEADER) / ENTRY_SIZE;

const NUM_ALLOCS_AT: usize = 16;

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Write a fresh header (no allocations) for a segment of `total` bytes.
/// `header` must be the segment's first [`HEADER_SIZE`] bytes.
pub fn initialize(header: &mut [u8; HEADER_SIZE as usize], total: u64) -> Result<(), ShmError> {
    if total <= HEADER_SIZE {
        return Err(ShmError::TooSmall { size: total, header: HEADER_SIZE });
    }
    header[0..4].copy_from_slice(&MAGIC);
    header[4..8].copy_from_slice(&VERSION.to_le_bytes());
    header[8..16].copy_from_slice(&(total - HEADER_SIZE).to_le_bytes());
    header[16..20].copy_from_slice(&0u32.to_le_bytes());
    header[20..24].copy_from_slice(&0u32.to_le_bytes());
    Ok(())
}

/// Check magic, version and data size of a header against the segment's
/// real size `total`.
pub fn validate(header: &[u8; HEADER_SIZE as usize], total: u64) -> Result<(), ShmError> {
    if total <= HEADER_SIZE {
        return Err(ShmError::TooSmall { size: total, header: HEADER_SIZE });
    }
    let mut magic = [0u8; 4];
    magic.copy_from_slice(&header[0..4]);
    if magic != MAGIC {
        return Err(ShmError::BadMagic(magic));
    }
    let version = u32_at(header, 4);
    if version != VERSION {
        return Err(ShmError::BadVersion(version));
    }
    let data_size = u64_at(header, 8);
    if data_size != total - HEADER_SIZE {
        return Err(ShmError::DataSize { header: data_size, actual: total - HEADER_SIZE });
    }
    Ok(())
}

/// The header's `data_size` field, as written.
pub fn data_size(header: &[u8; HEADER_SIZE as usize]) -> u64 {
    u64_at(header, 8)
}

/// The allocation count, checked against [`MAX_ALLOCS`].
pub fn num_allocs(header: &[u8; HEADER_SIZE as usize]) -> Result<usize, ShmError> {
    let n = u32_at(header, NUM_ALLOCS_AT) as usize;
    if n > MAX_ALLOCS {
        return Err(ShmError::CorruptTable(format!("num_allocs {n} exceeds the maximum {MAX_ALLOCS}")));
    }
    Ok(n)
}

/// The allocation table in header order (entries are not otherwise checked;
/// see [`Allocator`] for the checked view).
pub fn allocations(header: &[u8; HEADER_SIZE as usize]) -> Result<Vec<(u64, u64)>, ShmError> {
    let n = num_allocs(header)?;
    Ok((0..n)
        .map(|i| {
            let at = FIXED_HEADER + i * ENTRY_SIZE;
            (u64_at(header, at), u64_at(header, at + 8))
        })
        .collect())
}

/// The first-fit allocator over a segment's header (§11 *Allocation
/// strategy*): the table tracks occupied regions only, so freed neighbours
/// coalesce by themselves.
pub struct Allocator<'a> {
    header: &'a mut [u8; HEADER_SIZE as usize],
    total: u64,
}

impl<'a> Allocator<'a> {
    /// An allocator over `header` for a segment of `total` bytes (the header
    /// must already be valid; see [`validate`]).
    pub fn new(header: &'a mut [u8; HEADER_SIZE as usize], total: u64) -> Self {
        Allocator { header, total }
    }

    /// The table, each entry checked to lie in the data region and after
    /// its predecessor.
    pub fn allocations(&self) -> Result<Vec<(u64, u64)>, ShmError> {
        let allocs = allocations(self.header)?;
        let mut prev_end = HEADER_SIZE;
        for &(off, len) in &allocs {
            let end = off.checked_add(len).filter(|&e| off >= prev_end && e <= self.total).ok_or_else(|| {
                ShmError::CorruptTable(format!("entry ({off}, {len}) overlaps or leaves the data region"))
            })?;
            prev_end = end;
        }
        Ok(allocs)
    }

    fn store(&mut self, allocs: &[(u64, u64)], from: usize) {
        let n = allocs.len() as u32;
        self.header[NUM_ALLOCS_AT..NUM_ALLOCS_AT + 4].copy_from_slice(&n.to_le_bytes());
        for (i, &(off, len)) in allocs.iter().enumerate().skip(from) {
            let at = FIXED_HEADER + i * ENTRY_SIZE;
            self.header[at..at + 8].copy_from_slice(&off.to_le_bytes());
            self.header[at + 8..at + 16].copy_from_slice(&len.to_le_bytes());
        }
    }

    /// Reserve `size` bytes in the first gap that holds them; `Ok(None)` when
    /// no gap does or the table is full. Returns the absolute offset.
    pub fn allocate(&mut self, size: u64) -> Result<Option<u64>, ShmError> {
        if size == 0 {
            return Err(ShmError::ZeroAllocation);
        }
        let mut allocs = self.allocations()?;
        if allocs.len() >= MAX_ALLOCS {
            return Ok(None);
        }
        let mut prev_end = HEADER_SIZE;
        let mut slot = allocs.len();
        for (i, &(off, len)) in allocs.iter().enumerate() {
            if off - prev_end >= size {
                slot = i;
                break;
            }
            prev_end = off + len;
        }
        if slot == allocs.len() && self.total - prev_end < size {
            return Ok(None);
        }
        allocs.insert(slot, (prev_end, size));
        self.store(&allocs, slot);
        Ok(Some(prev_end))
    }

    /// Release the allocation starting at `offset`.
    pub fn free(&mut self, offset: u64) -> Result<(), ShmError> {
        let mut allocs = allocations(self.header)?;
        let i = allocs.iter().position(|&(off, _)| off == offset).ok_or(ShmError::NoAllocation(offset))?;
        allocs.remove(i);
        self.store(&allocs, i);
        Ok(())
    }

    /// Drop every allocation.
    pub fn reset(&mut self) {
        self.header[NUM_ALLOCS_AT..NUM_ALLOCS_AT + 4].copy_from_slice(&0u32.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(total: u64) -> Box<[u8; HEADER_SIZE as usize]> {
        let mut h = Box::new([0u8; HEADER_SIZE as usize]);
        initialize(&mut h, total).unwrap();
        h
    }

    #[test]
    fn golden_layout() {
        // Two entries with a freed gap between them: the same state and bytes
        // the reference pins (tests/test_shm_header_format.py).
        let total = HEADER_SIZE + 16_384;
        let mut h = fresh(total);
        let mut a = Allocator::new(&mut h, total);
        assert_eq!(a.allocate(100).unwrap(), Some(HEADER_SIZE));
        let gap = a.allocate(156).unwrap().unwrap();
        assert_eq!(a.allocate(50).unwrap(), Some(HEADER_SIZE + 256));
        a.free(gap).unwrap();
        let want = concat!(
            "56474953",
            "01000000",
            "0040000000000000",
            "02000000",
            "00000000",
            "0000010000000000",
            "6400000000000000",
            "0001010000000000",
            "3200000000000000"
        );
        let got: String = h[..56].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want);
        assert_eq!(MAX_ALLOCS, 4094);
    }

    #[test]
    fn first_fit_reuses_gaps_and_refuses_what_does_not_fit() {
        let total = HEADER_SIZE + 1000;
        let mut h = fresh(total);
        let mut a = Allocator::new(&mut h, total);
        let x = a.allocate(400).unwrap().unwrap();
        let y = a.allocate(400).unwrap().unwrap();
        assert_eq!(a.allocate(400).unwrap(), None);
        a.free(x).unwrap();
        assert_eq!(a.allocate(300).unwrap(), Some(x));
        assert_eq!(a.allocate(150).unwrap(), Some(y + 400));
        assert!(matches!(a.free(12345), Err(ShmError::NoAllocation(12345))));
        assert!(matches!(a.allocate(0), Err(ShmError::ZeroAllocation)));
        a.reset();
        assert!(a.allocations().unwrap().is_empty());
    }

    #[test]
    fn full_table_refuses() {
        let total = HEADER_SIZE + 10 * MAX_ALLOCS as u64;
        let mut h = fresh(total);
        let mut a = Allocator::new(&mut h, total);
        for _ in 0..MAX_ALLOCS {
            assert!(a.allocate(1).unwrap().is_some());
        }
        assert_eq!(a.allocate(1).unwrap(), None);
    }

    #[test]
    fn hostile_headers_are_errors() {
        let total = HEADER_SIZE + 4096;
        let mut h = fresh(total);
        assert!(validate(&h, total).is_ok());
        assert!(matches!(validate(&h, total + 1), Err(ShmError::DataSize { .. })));
        assert!(matches!(validate(&h, HEADER_SIZE), Err(ShmError::TooSmall { .. })));
        h[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(Allocator::new(&mut h, total).allocate(8), Err(ShmError::CorruptTable(_))));
        // One entry pointing past the end, one overflowing.
        for (off, len) in [(HEADER_SIZE, 1u64 << 40), (u64::MAX - 1, 4), (0, 8)] {
            h[16..20].copy_from_slice(&1u32.to_le_bytes());
            h[24..32].copy_from_slice(&off.to_le_bytes());
            h[32..40].copy_from_slice(&len.to_le_bytes());
            assert!(matches!(Allocator::new(&mut h, total).allocate(8), Err(ShmError::CorruptTable(_))));
        }
        h[0] = b'X';
        assert!(matches!(validate(&h, total), Err(ShmError::BadMagic(_))));
    }
}
