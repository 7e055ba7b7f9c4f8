//! Streaming uploads: [`UploadSink`], the byte sink an externalized payload
//! is encoded straight into, and `Buffered`, the sink every storage gets
//! by default (it collects the payload and hands it to
//! [`ExternalStorage::upload`] at the end),
//! plus [`HashingWriter`], which digests and counts the raw bytes on their
//! way into a sink.

use std::io::{self, Write};

use arrow_schema::SchemaRef;
use sha2::{Digest, Sha256};

use super::{ExternalStorage, StorageError};

/// Where one externalized payload is written as it is encoded.
///
/// The bytes written are the uncompressed Arrow IPC stream; the sink may
/// apply a content coding on the way. [`UploadSink::finish`] commits the
/// object and returns the URL a reader fetches it from. A sink dropped
/// without `finish` abandons the upload (implementations clean up what
/// they can: an object store aborts its multipart upload).
pub trait UploadSink: Write {
    /// Commit the object and return its download URL.
    fn finish(self: Box<Self>) -> Result<String, StorageError>;
}

/// The default sink: the whole payload in memory, then one
/// [`ExternalStorage::upload`] call.
pub(crate) struct Buffered<'a, S: ?Sized> {
    storage: &'a S,
    schema: SchemaRef,
    payload: Vec<u8>,
}

impl<'a, S: ExternalStorage + ?Sized> Buffered<'a, S> {
    pub(crate) fn new(storage: &'a S, schema: &SchemaRef) -> Self {
        Self { storage, schema: schema.clone(), payload: Vec::new() }
    }
}

impl<S: ?Sized> Write for Buffered<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.payload.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.payload.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: ExternalStorage + ?Sized> UploadSink for Buffered<'_, S> {
    fn finish(self: Box<Self>) -> Result<String, StorageError> {
        self.storage.upload(&self.payload, &self.schema)
    }
}

/// A writer that forwards to `inner` while hashing (SHA-256) and counting
/// everything written: the digest and size of the raw IPC stream, taken
/// before any content coding the sink applies.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Hash and count what goes into `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new(), written: 0 }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The inner writer, the lowercase hex SHA-256 of everything written,
    /// and its length.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.hasher.update(buf);
        self.written += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A sink failure as an I/O error, so encoders writing into a sink can
/// carry it; [`storage_error_of`] recovers the original text.
pub fn io_error(err: StorageError) -> io::Error {
    io::Error::other(err)
}

/// The storage error an I/O error from a sink carries, or the I/O error's
/// own text.
pub fn storage_error_of(err: &io::Error) -> StorageError {
    match err.get_ref().and_then(|inner| inner.downcast_ref::<StorageError>()) {
        Some(storage) => storage.clone(),
        None => StorageError(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_writer_digests_what_passes_through() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"ab").unwrap();
        w.write_all(b"c").unwrap();
        assert_eq!(w.written(), 3);
        let (inner, digest, n) = w.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(n, 3);
        assert_eq!(digest, hex::encode(Sha256::digest(b"abc")));
    }

    #[test]
    fn a_storage_error_survives_the_io_round_trip() {
        let io = io_error(StorageError("bucket gone".into()));
        assert_eq!(storage_error_of(&io).0, "bucket gone");
        assert_eq!(storage_error_of(&io::Error::other("plain")).0, "plain");
    }
}
