//! Reading `file://` pointers, which [`ObjectStorage`](super::ObjectStorage)
//! on a local directory hands out. A file URL is honoured only when it
//! resolves (after following links) inside the one directory this resolver
//! was given; anything else is refused, or passed to the fallback resolver
//! when it is not a file URL at all. Objects named `*.zst` are zstd
//! payloads and are decoded. Both the file's size and the decoded size are
//! capped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use url::Url;
use vgi_rpc_core::external::{PointerResolver, StorageError};

/// A [`PointerResolver`] for `file://` URLs under one directory.
pub struct LocalFileResolver {
    root: PathBuf,
    max_bytes: u64,
    max_decoded_bytes: u64,
    fallback: Option<Arc<dyn PointerResolver>>,
}

impl std::fmt::Debug for LocalFileResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalFileResolver")
            .field("root", &self.root)
            .field("max_bytes", &self.max_bytes)
            .field("max_decoded_bytes", &self.max_decoded_bytes)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

fn rejected(reason: &str) -> StorageError {
    StorageError(format!("ExternalLocation URL rejected: {reason}"))
}

impl LocalFileResolver {
    /// Admit files under `root` of at most `max_bytes` (decoded: 16 × that).
    pub fn new(root: impl AsRef<Path>, max_bytes: u64) -> Result<Self, StorageError> {
        let root = root.as_ref();
        let root = root
            .canonicalize()
            .map_err(|e| StorageError(format!("cannot resolve storage directory {}: {e}", root.display())))?;
        Ok(Self { root, max_bytes, max_decoded_bytes: max_bytes.saturating_mul(16), fallback: None })
    }

    /// Cap the decoded size of `*.zst` objects.
    pub fn with_max_decoded_bytes(mut self, cap: u64) -> Self {
        self.max_decoded_bytes = cap;
        self
    }

    /// Resolve URLs that are not `file://` with `fallback` (e.g. an
    /// [`HttpFetcher`](crate::HttpFetcher)).
    pub fn with_fallback(mut self, fallback: Arc<dyn PointerResolver>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// The file a URL names, if it lies inside the root.
    fn admitted(&self, url: &Url) -> Result<PathBuf, StorageError> {
        if url.host_str().is_some_and(|h| !h.is_empty() && h != "localhost") {
            return Err(rejected("file URL names a remote host"));
        }
        let path = url.to_file_path().map_err(|()| rejected("not a local file path"))?;
        let real =
            path.canonicalize().map_err(|e| StorageError(format!("ExternalLocation read failed: {}", e.kind())))?;
        if !real.starts_with(&self.root) {
            return Err(rejected("file is outside the storage directory"));
        }
        Ok(real)
    }
}

/// Read at most `cap` bytes; one more is an error naming `what`.
fn read_capped(reader: impl Read, cap: u64, what: &str) -> Result<Vec<u8>, StorageError> {
    let mut out = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| StorageError(format!("ExternalLocation read failed: {}", e.kind())))?;
    if out.len() as u64 > cap {
        return Err(StorageError(format!("ExternalLocation fetch exceeded {what} ({cap} bytes)")));
    }
    Ok(out)
}

impl PointerResolver for LocalFileResolver {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        let url = Url::parse(location).map_err(|e| rejected(&e.to_string()))?;
        if url.scheme() != "file" {
            return match &self.fallback {
                Some(fallback) => fallback.fetch(location),
                None => Err(rejected("only file URLs are resolved here")),
            };
        }
        let path = self.admitted(&url)?;
        let file = std::fs::File::open(&path)
            .map_err(|e| StorageError(format!("ExternalLocation read failed: {}", e.kind())))?;
        let encoded = read_capped(file, self.max_bytes, "max_fetch_bytes")?;
        if path.extension().is_some_and(|e| e == "zst") {
            let decoder = zstd::stream::read::Decoder::new(encoded.as_slice())
                .map_err(|e| StorageError(format!("ExternalLocation zstd decode failed: {}", e.kind())))?;
            return read_capped(decoder, self.max_decoded_bytes, "max_decompressed_bytes");
        }
        Ok(encoded)
    }
}
