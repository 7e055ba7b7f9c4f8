//! External storage (WIRE_PROTOCOL.md §12): the traits I/O crates implement
//! and the policy the server applies, without doing any I/O here.
//!
//! * [`ExternalStorage`]: upload one serialized payload, get its download
//!   URL back; optionally vend upload/download URL pairs for clients.
//! * [`PointerResolver`]: fetch the bytes a pointer names (with whatever
//!   fetch-safety rules the implementation enforces).
//! * [`Externalization`]: the server's policy (storage, threshold, request
//!   pointer resolver), injected through [`crate::ServerBuilder`].
//!
//! Writing pointers lives in [`write`](mod@write) (streaming into a [`sink`]); reading
//! them back in [`resolve`].

pub mod resolve;
pub mod sink;
pub mod upload;
pub mod write;

use std::sync::Arc;
use std::time::SystemTime;

use arrow_schema::SchemaRef;
use thiserror::Error;

pub use resolve::{resolve_batches, resolve_pointer, resolve_request_batch, ResolveError, Resolved};
pub use sink::{HashingWriter, UploadSink};
pub use upload::{pointer_metadata, sha256_hex, InputExternalization, UploadPutter};
pub(crate) use write::Externalizer;
pub use write::{batch_size, publish, ExternalBudget};

/// A storage or fetch failure, with any URL already redacted by the implementation.
#[derive(Debug, Clone, Error)]
#[error("{0}")]
pub struct StorageError(pub String);

/// One upload/download URL pair vended to a client (`__upload_url__`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadUrl {
    /// Where the client `PUT`s the payload.
    pub upload_url: String,
    /// Where the server later fetches it from (the pointer's location).
    pub download_url: String,
    /// When the pair stops working.
    pub expires_at: SystemTime,
}

/// Somewhere to put payloads too large for the response that carries them.
pub trait ExternalStorage: Send + Sync {
    /// Store `payload` (a complete Arrow IPC stream on `schema`, uncompressed)
    /// and return the URL a reader fetches it from. The implementation may
    /// apply a content coding on the way (announced by the object store's
    /// `Content-Encoding`, which readers undo before verifying the digest).
    fn upload(&self, payload: &[u8], schema: &SchemaRef) -> Result<String, StorageError>;

    /// Start a streaming upload of one payload on `schema`: the server
    /// encodes the IPC stream straight into the returned sink, so a backend
    /// that streams (multipart uploads) never holds the whole payload. The
    /// default buffers the payload and calls [`ExternalStorage::upload`].
    fn begin_upload(&self, schema: &SchemaRef) -> Result<Box<dyn UploadSink + '_>, StorageError> {
        Ok(Box::new(sink::Buffered::new(self, schema)))
    }

    /// Whether [`ExternalStorage::upload_url`] works (the server then
    /// serves and advertises `__upload_url__`).
    fn vends_upload_urls(&self) -> bool {
        false
    }

    /// Vend an upload/download pair for client-side externalization.
    fn upload_url(&self) -> Result<UploadUrl, StorageError> {
        Err(StorageError("this storage backend does not vend upload URLs".to_owned()))
    }
}

/// Fetches the object a pointer names.
pub trait PointerResolver: Send + Sync {
    /// The object's bytes with any content coding already undone, under the
    /// implementation's size caps and URL policy.
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError>;
}

/// The server's externalization policy.
#[derive(Clone)]
pub struct Externalization {
    /// Where oversized output goes.
    pub storage: Arc<dyn ExternalStorage>,
    /// A data batch whose buffers total at least this many bytes leaves by
    /// pointer (zero-row batches never do). `1` externalizes every
    /// non-empty batch.
    pub threshold_bytes: u64,
    /// Resolves pointer batches clients send in requests (the upload-URL
    /// flow); `None` refuses them.
    pub resolver: Option<Arc<dyn PointerResolver>>,
    /// Most bytes one stateless (HTTP) response may upload
    /// (`max_externalized_response_bytes`); a response that would upload
    /// more fails with no continuation instead. `None` is unbounded.
    pub max_response_bytes: Option<u64>,
}

impl std::fmt::Debug for Externalization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Externalization")
            .field("threshold_bytes", &self.threshold_bytes)
            .field("resolver", &self.resolver.is_some())
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// Resolve a pointer batch a client sent in a request, when the server's
/// policy has a resolver; without one, the batch passes through unchanged
/// (as the reference does with no external configuration).
pub(crate) fn resolve_incoming(
    server: &crate::Server,
    batch: arrow_array::RecordBatch,
    metadata: vgi_rpc_wire::Metadata,
) -> Result<(arrow_array::RecordBatch, vgi_rpc_wire::Metadata), crate::RpcError> {
    let Some(resolver) = server.externalization().and_then(|p| p.resolver.as_deref()) else {
        return Ok((batch, metadata));
    };
    resolve_request_batch(Some(resolver), batch, metadata, server.clock().as_ref(), server.read_limits())
        .map_err(|e| e.to_rpc_error())
}

impl Externalization {
    /// Externalize through `storage` above `threshold_bytes`, resolving no request pointers.
    pub fn new(storage: Arc<dyn ExternalStorage>, threshold_bytes: u64) -> Self {
        Self { storage, threshold_bytes, resolver: None, max_response_bytes: None }
    }

    /// Cap the bytes one HTTP response may upload.
    pub fn with_max_response_bytes(mut self, cap: Option<u64>) -> Self {
        self.max_response_bytes = cap;
        self
    }

    /// Resolve request pointers with `resolver`.
    pub fn with_resolver(mut self, resolver: Arc<dyn PointerResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }
}
