//! A POSIX shared-memory segment (`shm_open` + `mmap`, via rustix) laid out
//! as a VGIS segment: create one (and own its name), or attach to one a
//! peer names. Sizes come from the kernel (`fstat`), not from the peer's
//! hint, as the reference does; every region handed out is bounds-checked.

use std::ffi::c_void;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustix::fs::Mode;
use rustix::mm::{MapFlags, ProtFlags};
use rustix::shm;

use crate::header::{self, Allocator, HEADER_SIZE};
use crate::ShmError;

/// Longest name accepted (POSIX `NAME_MAX` less the leading slash).
const MAX_NAME: usize = 250;

/// One mapped segment. Dropping it unmaps (once no batch lent out of it
/// remains, see `Segment::lend`); [`Segment::unlink`] removes the name
/// (the creator's job).
pub struct Segment {
    /// Name without the leading slash (how the reference spells it).
    name: String,
    map: Arc<Mapping>,
    size: u64,
    owner: bool,
}

/// The `mmap`ed bytes, unmapped when the last holder drops: the segment
/// itself, or a region lent to zero-copy Arrow buffers.
pub(crate) struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; the lockstep
// protocol (one side active at a time) is what orders access with the peer,
// and lent regions are only read.
unsafe impl Send for Mapping {}
// SAFETY: as above; shared holders only read regions no one writes while
// they are lent (the allocator keeps them reserved).
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly the mapping made in `map`, and
        // nothing borrowed from it outlives the last `Arc` holder.
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast::<c_void>(), self.len) };
    }
}

impl std::panic::RefUnwindSafe for Mapping {}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("owner", &self.owner)
            .finish()
    }
}

fn os_name(name: &str) -> Result<String, ShmError> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    if bare.is_empty() || bare.len() > MAX_NAME || bare.contains('/') || bare.contains('\0') {
        return Err(ShmError::BadName(name.to_owned()));
    }
    Ok(format!("/{bare}"))
}

fn map(fd: &OwnedFd, name: &str, size: u64) -> Result<Arc<Mapping>, ShmError> {
    let len = usize::try_from(size).map_err(|_| ShmError::TooSmall { size, header: HEADER_SIZE })?;
    // SAFETY: a fresh shared mapping of `len` bytes of `fd`; no existing
    // memory is touched. It is unmapped exactly once, in Drop.
    let ptr = unsafe {
        rustix::mm::mmap(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, fd, 0)
    }
    .map_err(|e| ShmError::os("mmap", name, e))?;
    let base = NonNull::new(ptr.cast::<u8>())
        .ok_or_else(|| ShmError::os("mmap", name, std::io::Error::other("null mapping")))?;
    Ok(Arc::new(Mapping { base, len }))
}

fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut rnd = [0u8; 6];
    let salt = match getrandom::fill(&mut rnd) {
        Ok(()) => rnd.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        Err(_) => String::from("0"),
    };
    format!("vgi_rpc_{}_{}_{salt}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Segment {
    /// Create a new segment of `size` bytes (more than [`HEADER_SIZE`]) under
    /// a fresh unique name and write an empty header. The caller owns the
    /// name: call [`Segment::unlink`] when done.
    pub fn create(size: u64) -> Result<Segment, ShmError> {
        if size <= HEADER_SIZE {
            return Err(ShmError::TooSmall { size, header: HEADER_SIZE });
        }
        let name = unique_name();
        let path = os_name(&name)?;
        let fd =
            shm::open(&*path, shm::OFlags::CREATE | shm::OFlags::EXCL | shm::OFlags::RDWR, Mode::RUSR | Mode::WUSR)
                .map_err(|e| ShmError::os("shm_open", &name, e))?;
        let made = (|| {
            rustix::fs::ftruncate(&fd, size).map_err(|e| ShmError::os("ftruncate", &name, e))?;
            let actual = fstat_size(&fd, &name)?;
            let map = map(&fd, &name, actual)?;
            let mut seg = Segment { name: name.clone(), map, size: actual, owner: true };
            header::initialize(seg.header_mut(), actual)?;
            Ok(seg)
        })();
        if made.is_err() {
            let _ = shm::unlink(&*path);
        }
        made
    }

    /// Attach to the segment a peer created under `name` (with or without a
    /// leading slash) and check its header. The size is the kernel's
    /// (`fstat`), never a peer's claim.
    pub fn attach(name: &str) -> Result<Segment, ShmError> {
        let path = os_name(name)?;
        let fd = shm::open(&*path, shm::OFlags::RDWR, Mode::empty()).map_err(|e| ShmError::os("shm_open", name, e))?;
        let size = fstat_size(&fd, name)?;
        if size <= HEADER_SIZE {
            return Err(ShmError::TooSmall { size, header: HEADER_SIZE });
        }
        let map = map(&fd, name, size)?;
        let seg = Segment { name: path[1..].to_owned(), map, size, owner: false };
        header::validate(seg.header(), size)?;
        Ok(seg)
    }

    /// The segment's name as peers spell it (no leading slash).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Total mapped size in bytes, header included.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether this process created the segment.
    pub fn is_owner(&self) -> bool {
        self.owner
    }

    /// The header block.
    pub fn header(&self) -> &[u8; HEADER_SIZE as usize] {
        // SAFETY: the mapping is larger than HEADER_SIZE (checked on create
        // and attach) and lives as long as `self`.
        unsafe { &*self.map.base.as_ptr().cast::<[u8; HEADER_SIZE as usize]>() }
    }

    fn header_mut(&mut self) -> &mut [u8; HEADER_SIZE as usize] {
        // SAFETY: as in `header`; `&mut self` makes this the only view.
        unsafe { &mut *self.map.base.as_ptr().cast::<[u8; HEADER_SIZE as usize]>() }
    }

    /// The allocator over this segment's header.
    pub fn allocator(&mut self) -> Allocator<'_> {
        let size = self.size;
        Allocator::new(self.header_mut(), size)
    }

    fn check(&self, offset: u64, length: u64) -> Result<(usize, usize), ShmError> {
        let oob = || ShmError::OutOfBounds { offset, length, size: self.size };
        let end = offset.checked_add(length).ok_or_else(oob)?;
        if offset < HEADER_SIZE || end > self.size {
            return Err(oob());
        }
        // Both fit in usize: they are within a mapping of `size` bytes.
        Ok((offset as usize, length as usize))
    }

    /// The bytes of a data-region slice, bounds-checked.
    pub fn bytes(&self, offset: u64, length: u64) -> Result<&[u8], ShmError> {
        let (off, len) = self.check(offset, length)?;
        // SAFETY: [off, off+len) lies inside the mapping (checked above).
        Ok(unsafe { std::slice::from_raw_parts(self.map.base.as_ptr().add(off), len) })
    }

    /// A writable data-region slice, bounds-checked.
    pub fn bytes_mut(&mut self, offset: u64, length: u64) -> Result<&mut [u8], ShmError> {
        let (off, len) = self.check(offset, length)?;
        // SAFETY: as in `bytes`; `&mut self` makes this the only view.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.map.base.as_ptr().add(off), len) })
    }

    /// Lend the data-region slice `[offset, offset + length)` to a
    /// zero-copy Arrow buffer: its address, and the mapping to keep alive
    /// for as long as the buffer lives (the caller keeps the region
    /// allocated until then).
    pub(crate) fn lend(&self, offset: u64, length: u64) -> Result<(NonNull<u8>, usize, Arc<Mapping>), ShmError> {
        let (off, len) = self.check(offset, length)?;
        // SAFETY: [off, off+len) lies inside the mapping (checked above).
        let ptr = unsafe { NonNull::new_unchecked(self.map.base.as_ptr().add(off)) };
        Ok((ptr, len, self.map.clone()))
    }

    /// Remove the segment's name (the creator does this once it is done;
    /// existing mappings stay valid until unmapped).
    pub fn unlink(&self) -> Result<(), ShmError> {
        let path = os_name(&self.name)?;
        shm::unlink(&*path).map_err(|e| ShmError::os("shm_unlink", &self.name, e))
    }
}

fn fstat_size(fd: &OwnedFd, name: &str) -> Result<u64, ShmError> {
    let st = rustix::fs::fstat(fd).map_err(|e| ShmError::os("fstat", name, e))?;
    u64::try_from(st.st_size).map_err(|_| ShmError::os("fstat", name, std::io::Error::other("negative size")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_attach_share_one_header() {
        let mut a = Segment::create(HEADER_SIZE + 8192).unwrap();
        let off = a.allocator().allocate(100).unwrap().unwrap();
        a.bytes_mut(off, 5).unwrap().copy_from_slice(b"hello");
        let mut b = Segment::attach(a.name()).unwrap();
        assert_eq!(b.size(), a.size());
        assert_eq!(b.allocator().allocations().unwrap(), vec![(off, 100)]);
        assert_eq!(b.bytes(off, 5).unwrap(), b"hello");
        b.allocator().free(off).unwrap();
        assert!(a.allocator().allocations().unwrap().is_empty());
        let slashed = Segment::attach(&format!("/{}", a.name())).unwrap();
        assert_eq!(slashed.name(), a.name());
        a.unlink().unwrap();
        assert!(matches!(Segment::attach(a.name()), Err(ShmError::Os { .. })));
    }

    #[test]
    fn bounds_are_checked() {
        let a = Segment::create(HEADER_SIZE + 4096).unwrap();
        let size = a.size();
        assert!(a.bytes(0, 4).is_err(), "the header is not data");
        assert!(a.bytes(size - 4, 8).is_err());
        assert!(a.bytes(u64::MAX - 2, 8).is_err());
        assert!(a.bytes(HEADER_SIZE, size - HEADER_SIZE).is_ok());
        a.unlink().unwrap();
    }

    #[test]
    fn bad_names_and_sizes() {
        for bad in ["", "/", "a/b", "x\0y"] {
            assert!(matches!(Segment::attach(bad), Err(ShmError::BadName(_))), "{bad:?}");
        }
        assert!(matches!(Segment::create(HEADER_SIZE), Err(ShmError::TooSmall { .. })));
    }
}
