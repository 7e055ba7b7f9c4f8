//! External storage on arrow-rs's `object_store`: Amazon S3 and
//! S3-compatible servers (feature `s3`), Google Cloud Storage (`gcs`),
//! Azure Blob Storage (`azure`) and local directories (`object-store`).
//!
//! [`ObjectStorage`] is an [`ExternalStorage`]: uploads stream into the
//! store as multipart uploads with bounded part buffers (`upload`) and
//! are answered with presigned `GET` URLs that expire after
//! [`ObjectConfig::presign_expiry`] (`sign`); cloud stores also vend
//! presigned `PUT` + `GET` pairs for `__upload_url__/init`. Local
//! directories hand out `file://` URLs, which only a
//! [`LocalFileResolver`] admitting that directory reads; they vend no
//! upload URLs.
//!
//! The trait is sync and `object_store` is async: the storage owns a small
//! tokio runtime (`runtime`) and waits on channels, never `block_on`, so
//! it works from plain threads and from inside another runtime's
//! `block_in_place` or blocking pool alike.
//!
//! Objects are never deleted here: give the bucket a lifecycle rule that
//! expires them (a day past the presign expiry is plenty).

mod local;
mod location;
mod runtime;
mod sign;
#[cfg(feature = "cloud")]
mod tls;
mod upload;

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_schema::SchemaRef;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore};
use vgi_rpc_core::external::{ExternalStorage, StorageError, UploadSink, UploadUrl};

pub use local::LocalFileResolver;
pub use location::StorageLocation;

use runtime::Background;
use sign::Urls;
use upload::ObjectSink;

/// The smallest part S3 accepts (every part but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// Tuning of an [`ObjectStorage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectConfig {
    /// How long presigned URLs (downloads and vended pairs) stay valid.
    pub presign_expiry: Duration,
    /// Bytes per multipart part (at least [`MIN_PART_SIZE`]); a payload
    /// no larger than one part is stored with a single `PUT`.
    pub part_size: usize,
    /// Parts uploading at once; one more part fills meanwhile, so one
    /// upload buffers at most `part_size × (max_parts_in_flight + 1)` bytes.
    pub max_parts_in_flight: usize,
    /// zstd level for payloads (`Content-Encoding: zstd`); `None` stores
    /// them uncompressed.
    pub zstd_level: Option<i32>,
}

impl Default for ObjectConfig {
    fn default() -> Self {
        Self {
            presign_expiry: Duration::from_secs(3600),
            part_size: 8 * 1024 * 1024,
            max_parts_in_flight: 4,
            zstd_level: None,
        }
    }
}

/// An [`ExternalStorage`] on an `object_store` backend.
#[derive(Debug)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    urls: Urls,
    prefix: Path,
    config: ObjectConfig,
    runtime: Background,
    next: AtomicU64,
    /// Whether the bucket was seen to exist (see [`ObjectStorage::ensure_bucket`]).
    bucket_seen: AtomicBool,
    /// Per-process random salt for object names.
    salt: u64,
}

impl ObjectStorage {
    /// Storage at a storage URL (`s3://bucket/prefix`, `gs://…`, `az://…`,
    /// `file:///dir`), with credentials and endpoints from the environment.
    pub fn from_url(url: &str, config: ObjectConfig) -> Result<Self, StorageError> {
        let location = StorageLocation::parse(url)?;
        Self::new(&location, config)
    }

    /// As [`ObjectStorage::from_url`], with builder options applied over
    /// the environment: `object_store`'s configuration keys for the store
    /// (`aws_access_key_id`, `aws_endpoint`, `aws_allow_http`,
    /// `google_service_account`, `azure_storage_account_key`, ...).
    pub fn from_url_with_options(
        url: &str,
        config: ObjectConfig,
        options: &[(String, String)],
    ) -> Result<Self, StorageError> {
        let location = StorageLocation::parse(url)?;
        Self::connect(&location, config, options)
    }

    /// Storage at `location`.
    pub fn new(location: &StorageLocation, config: ObjectConfig) -> Result<Self, StorageError> {
        Self::connect(location, config, &[])
    }

    fn connect(
        location: &StorageLocation,
        config: ObjectConfig,
        options: &[(String, String)],
    ) -> Result<Self, StorageError> {
        if config.part_size < MIN_PART_SIZE {
            return Err(StorageError(format!(
                "part size {} is below the object stores' minimum of {MIN_PART_SIZE} bytes",
                config.part_size
            )));
        }
        let client = location::connect(location, config.presign_expiry, options)?;
        let salt = std::collections::hash_map::RandomState::new().build_hasher().finish();
        Ok(Self {
            store: client.store,
            urls: client.urls,
            prefix: location.prefix(),
            config,
            runtime: Background::new()?,
            next: AtomicU64::new(0),
            bucket_seen: AtomicBool::new(false),
            salt,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ObjectConfig {
        &self.config
    }

    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) fn runtime(&self) -> &Background {
        &self.runtime
    }

    /// Whether objects are local files (`file://` URLs).
    pub fn is_local(&self) -> bool {
        matches!(self.urls, Urls::Local { .. })
    }

    /// A fresh object key under the prefix; local zstd objects end in `.zst`.
    fn fresh_path(&self, compressed: bool) -> Path {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let mut mix = std::collections::hash_map::DefaultHasher::new();
        mix.write_u64(self.salt);
        mix.write_u64(n);
        let suffix = if compressed && self.is_local() { ".arrows.zst" } else { ".arrows" };
        let name = format!("vgi-rpc-{nanos:x}-{:016x}{suffix}", mix.finish());
        self.prefix.parts().chain(std::iter::once(name.as_str().into())).collect()
    }

    /// The object attributes uploads carry (the content coding, for stores
    /// that keep attributes).
    fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        if self.config.zstd_level.is_some() && !self.is_local() {
            attributes.insert(Attribute::ContentEncoding, "zstd".into());
        }
        attributes
    }

    /// Before the first upload, list the prefix once: a bucket that does
    /// not exist fails the upload with a message saying so (some
    /// S3-compatible servers create buckets implicitly on `PUT`, and a
    /// multipart upload would otherwise fail only at its first part). Any
    /// other listing failure (credentials allowed to write but not to
    /// list, say) is left to the upload itself to report.
    pub fn ensure_bucket(&self) -> Result<(), StorageError> {
        if self.bucket_seen.load(Ordering::Acquire) {
            return Ok(());
        }
        let (store, prefix) = (self.store.clone(), self.prefix.clone());
        let listed = self.runtime.run(async move { store.list_with_delimiter(Some(&prefix)).await.map(|_| ()) })?;
        if let Err(e) = listed {
            if bucket_missing(&e) {
                return Err(StorageError(format!("the bucket of {} does not exist: {e}", self.store)));
            }
        }
        self.bucket_seen.store(true, Ordering::Release);
        Ok(())
    }

    pub(crate) fn download_url(&self, path: &Path) -> Result<String, StorageError> {
        self.urls.download(&self.runtime, path)
    }
}

/// Whether a listing failed because the bucket (container) is missing:
/// `object_store` reports a listing's 404 as a generic error, so the
/// stores' own error codes are looked for in its text.
fn bucket_missing(e: &object_store::Error) -> bool {
    if matches!(e, object_store::Error::NotFound { .. }) {
        return true;
    }
    let text = e.to_string();
    ["NoSuchBucket", "ContainerNotFound", "specified bucket does not exist"].iter().any(|code| text.contains(code))
}

impl ExternalStorage for ObjectStorage {
    fn upload(&self, payload: &[u8], schema: &SchemaRef) -> Result<String, StorageError> {
        let mut sink = self.begin_upload(schema)?;
        sink.write_all(payload).map_err(|e| vgi_rpc_core::external::sink::storage_error_of(&e))?;
        sink.finish()
    }

    fn begin_upload(&self, _schema: &SchemaRef) -> Result<Box<dyn UploadSink + '_>, StorageError> {
        self.ensure_bucket()?;
        let path = self.fresh_path(self.config.zstd_level.is_some());
        Ok(Box::new(ObjectSink::new(self, path, self.attributes())?))
    }

    fn vends_upload_urls(&self) -> bool {
        !self.is_local()
    }

    fn upload_url(&self) -> Result<UploadUrl, StorageError> {
        let path = self.fresh_path(false);
        let expires_at = SystemTime::now() + self.config.presign_expiry;
        let upload_url = self.urls.upload(&self.runtime, &path)?;
        let download_url = self.urls.download(&self.runtime, &path)?;
        Ok(UploadUrl { upload_url, download_url, expires_at })
    }
}

#[cfg(test)]
mod tests;
