//! Streaming uploads into an object store: the payload is cut into parts
//! of a fixed size as it is written, each part goes out as one part of a
//! multipart upload while the next one fills, and at most a fixed number
//! of parts are in flight, so the memory one upload holds is bounded by
//! `part_size × (max_in_flight + 1)` whatever the payload's size. A payload
//! that fits in one part is stored with a single `PUT`. With zstd, the
//! bytes are compressed on the way in and the object says so with
//! `Content-Encoding: zstd` (local stores, which keep no attributes, mark
//! the key with a `.zst` suffix instead).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Arc;

use object_store::path::Path;
use object_store::{Attributes, MultipartUpload, ObjectStore, PutMultipartOptions, PutOptions, PutPayload};
use tokio::runtime::Handle;
use vgi_rpc_core::external::sink::io_error;
use vgi_rpc_core::external::{StorageError, UploadSink};

use super::runtime::{spawn, Pending};
use super::ObjectStorage;

/// Parts of one multipart upload, shipped as they fill.
struct Parts {
    store: Arc<dyn ObjectStore>,
    handle: Handle,
    path: Path,
    attributes: Attributes,
    part_size: usize,
    max_in_flight: usize,
    buf: Vec<u8>,
    /// Started when the first part fills; `None` again once completed.
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: VecDeque<Pending<object_store::Result<()>>>,
}

fn failed(what: &str, path: &Path, e: impl std::fmt::Display) -> StorageError {
    StorageError(format!("{what} of object {path} failed: {e}"))
}

impl Parts {
    /// Ship the full buffer as the next part, waiting for the oldest part
    /// first when too many are in flight.
    fn ship(&mut self) -> Result<(), StorageError> {
        if self.upload.is_none() {
            let (store, path) = (self.store.clone(), self.path.clone());
            let opts = PutMultipartOptions { attributes: self.attributes.clone(), ..Default::default() };
            let started = spawn(&self.handle, async move { store.put_multipart_opts(&path, opts).await })
                .wait()?
                .map_err(|e| failed("starting the multipart upload", &self.path, e))?;
            self.upload = Some(started);
        }
        while self.in_flight.len() >= self.max_in_flight {
            self.wait_oldest()?;
        }
        let part = std::mem::replace(&mut self.buf, Vec::with_capacity(self.part_size));
        if let Some(upload) = self.upload.as_mut() {
            let future = upload.put_part(PutPayload::from(part));
            self.in_flight.push_back(spawn(&self.handle, future));
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> Result<(), StorageError> {
        match self.in_flight.pop_front() {
            Some(part) => part.wait()?.map_err(|e| failed("uploading a part", &self.path, e)),
            None => Ok(()),
        }
    }

    /// Commit the object: one `PUT` when nothing was shipped yet, else the
    /// last part and the multipart completion.
    fn finish(mut self) -> Result<(), StorageError> {
        let Some(_) = self.upload else {
            let (store, path) = (self.store.clone(), self.path.clone());
            let payload = PutPayload::from(std::mem::take(&mut self.buf));
            let opts = PutOptions { attributes: self.attributes.clone(), ..Default::default() };
            spawn(&self.handle, async move { store.put_opts(&path, payload, opts).await })
                .wait()?
                .map_err(|e| failed("PUT", &self.path, e))?;
            return Ok(());
        };
        if !self.buf.is_empty() {
            self.ship()?;
        }
        while !self.in_flight.is_empty() {
            self.wait_oldest()?;
        }
        let Some(mut upload) = self.upload.take() else { return Ok(()) };
        let completed = spawn(&self.handle, async move {
            let result = upload.complete().await;
            if result.is_err() {
                let _ = upload.abort().await;
            }
            result
        });
        completed.wait()?.map_err(|e| failed("completing the multipart upload", &self.path, e))?;
        Ok(())
    }
}

impl Write for Parts {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.part_size - self.buf.len();
        let take = room.min(buf.len());
        self.buf.extend_from_slice(&buf[..take]);
        if self.buf.len() == self.part_size {
            self.ship().map_err(io_error)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Parts {
    /// An upload never completed (an encoding error, a refused size, a
    /// failed part) is aborted so the store drops its parts.
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            self.handle.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

/// What the payload's bytes pass through before the parts.
enum Coder {
    Plain(Parts),
    Zstd(zstd::stream::write::Encoder<'static, Parts>),
}

/// The [`UploadSink`] of an [`ObjectStorage`].
pub(crate) struct ObjectSink<'a> {
    storage: &'a ObjectStorage,
    path: Path,
    coder: Coder,
}

impl<'a> ObjectSink<'a> {
    pub(crate) fn new(storage: &'a ObjectStorage, path: Path, attributes: Attributes) -> Result<Self, StorageError> {
        let config = storage.config();
        let parts = Parts {
            store: storage.store().clone(),
            handle: storage.runtime().handle().clone(),
            path: path.clone(),
            attributes,
            part_size: config.part_size,
            max_in_flight: config.max_parts_in_flight.max(1),
            buf: Vec::with_capacity(config.part_size),
            upload: None,
            in_flight: VecDeque::new(),
        };
        let coder = match config.zstd_level {
            Some(level) => Coder::Zstd(
                zstd::stream::write::Encoder::new(parts, level)
                    .map_err(|e| StorageError(format!("cannot start zstd compression: {e}")))?,
            ),
            None => Coder::Plain(parts),
        };
        Ok(Self { storage, path, coder })
    }
}

impl Write for ObjectSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.coder {
            Coder::Plain(parts) => parts.write(buf),
            Coder::Zstd(encoder) => encoder.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl UploadSink for ObjectSink<'_> {
    fn finish(self: Box<Self>) -> Result<String, StorageError> {
        let ObjectSink { storage, path, coder } = *self;
        let parts = match coder {
            Coder::Plain(parts) => parts,
            Coder::Zstd(encoder) => encoder.finish().map_err(|e| vgi_rpc_core::external::sink::storage_error_of(&e))?,
        };
        parts.finish()?;
        storage.download_url(&path)
    }
}
