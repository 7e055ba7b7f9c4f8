//! The shared-memory side channel of vgi-rpc (WIRE_PROTOCOL.md §11), byte
//! for byte the reference's: a POSIX segment whose first 64 KiB hold the
//! `VGIS` header and a first-fit allocation table ([`header`]), Arrow
//! batches stored as IPC streams in its data region ([`batch`]), and the
//! core's [`vgi_rpc_core::SharedMemory`] seam on top ([`PosixSharedMemory`]),
//! so a pipe worker attaches the segment a client names and answers its
//! large results through it.
//!
//! Everything read from a segment or a pointer batch is bounds-checked and
//! reported as [`ShmError`]; nothing panics on a hostile peer.

#![warn(missing_docs, unreachable_pub)]

pub mod batch;
mod channel;
mod error;
pub mod header;
mod lease;
mod segment;

pub use batch::{encoded_size_bound, min_batch_bytes, Encoded};
pub use channel::{ClientSegment, PosixSharedMemory};
pub use error::ShmError;
pub use header::{Allocator, HEADER_SIZE, MAX_ALLOCS};
pub use segment::Segment;
