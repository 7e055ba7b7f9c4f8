//! External storage for vgi-rpc (WIRE_PROTOCOL.md §12), the I/O half of the
//! core's [`vgi_rpc_core::external`] traits:
//!
//! * [`FakeStorage`]: the reference's fake-storage HTTP contract
//!   (`POST /alloc`, then `PUT` to the vended upload URL), as an
//!   [`ExternalStorage`](vgi_rpc_core::ExternalStorage) that also vends
//!   upload URL pairs, with optional zstd content coding of payloads.
//! * [`HttpFetcher`]: a [`PointerResolver`](vgi_rpc_core::PointerResolver)
//!   that fetches a pointer's URL under the fetch-safety rules: a URL policy
//!   applied to the first URL and every redirect hop before it is
//!   requested, a bounded redirect count, an encoded-bytes cap enforced
//!   while streaming, and an independent decoded-bytes cap.
//! * [`object`] (feature `object-store`, plus `s3`, `gcs`, `azure`):
//!   [`object::ObjectStorage`] on arrow-rs's `object_store`,
//!   streaming multipart uploads answered with presigned URLs.
//!
//! HTTP is blocking (`ureq`, plain HTTP only in this build: no TLS feature
//! yet), so these run on the caller's thread. Nothing here is needed by a
//! pipe-only deployment that does not externalize.

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod fake;
mod fetch;
mod fetch_error;
mod http;
#[cfg(feature = "object-store")]
#[cfg_attr(docsrs, doc(cfg(feature = "object-store")))]
pub mod object;
mod policy;
mod put;
mod ranged;

pub use fake::FakeStorage;
pub use fetch::{FetchConfig, FetchError, HttpFetcher, MAX_BACKOFF};
#[cfg(feature = "object-store")]
#[cfg_attr(docsrs, doc(cfg(feature = "object-store")))]
pub use object::{LocalFileResolver, ObjectConfig, ObjectStorage, StorageLocation};
pub use policy::{UrlCheck, UrlPolicy};
pub use put::HttpPut;
