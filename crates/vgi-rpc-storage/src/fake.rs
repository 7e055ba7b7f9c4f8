//! The fake-storage backend: the reference conformance suite's object
//! store contract. `POST {base}/alloc` (JSON body, optionally naming the
//! content coding) answers `upload_url` / `download_url` (older services:
//! only `object_url`); the payload is `PUT` to the upload URL with its
//! `Content-Encoding`, which the service echoes back on `GET`.

use std::time::{Duration, SystemTime};

use arrow_schema::SchemaRef;
use serde_json::Value;
use vgi_rpc_core::external::{ExternalStorage, StorageError, UploadUrl};

use crate::http::{agent, failure};

/// How long vended upload URL pairs are said to last.
const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(3600);

/// An [`ExternalStorage`] on a running fake-storage service.
#[derive(Debug)]
pub struct FakeStorage {
    base: String,
    /// zstd level applied to uploaded payloads; `None` uploads them raw.
    zstd_level: Option<i32>,
    agent: ureq::Agent,
}

impl FakeStorage {
    /// Bind to the service at `base_url` (e.g. `http://127.0.0.1:8123`).
    pub fn new(base_url: &str) -> Self {
        Self {
            base: base_url.trim_end_matches('/').to_owned(),
            zstd_level: None,
            agent: agent(Duration::from_secs(30)),
        }
    }

    /// Compress uploaded payloads with zstd at `level` (announced as
    /// `Content-Encoding: zstd`; readers decode before verifying digests).
    pub fn with_zstd(mut self, level: i32) -> Self {
        self.zstd_level = Some(level);
        self
    }

    /// `POST /alloc`: the `(upload, download)` URL pair of a new object.
    fn allocate(&self, content_encoding: Option<&str>) -> Result<(String, String), StorageError> {
        let url = format!("{}/alloc", self.base);
        let body = match content_encoding {
            Some(coding) => serde_json::json!({ "content_encoding": coding }),
            None => serde_json::json!({}),
        };
        let response = self
            .agent
            .post(&url)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
            .map_err(|e| failure("POST", &url, e))?;
        let text = response
            .into_string()
            .map_err(|e| StorageError(format!("fake storage /alloc read failed: {}", e.kind())))?;
        let parsed: Value = serde_json::from_str(&text)
            .map_err(|e| StorageError(format!("fake storage /alloc answered bad JSON: {e}")))?;
        let field = |name: &str| parsed.get(name).and_then(Value::as_str).map(str::to_owned);
        let legacy = field("object_url");
        let upload = field("upload_url").or_else(|| legacy.clone());
        let download = field("download_url").or(legacy);
        match (upload, download) {
            (Some(u), Some(d)) => Ok((u, d)),
            _ => Err(StorageError("fake storage /alloc answered no object URLs".to_owned())),
        }
    }
}

impl ExternalStorage for FakeStorage {
    fn upload(&self, payload: &[u8], _schema: &SchemaRef) -> Result<String, StorageError> {
        let coding = self.zstd_level.map(|_| "zstd");
        let compressed;
        let body = match self.zstd_level {
            Some(level) => {
                compressed = zstd::bulk::compress(payload, level)
                    .map_err(|e| StorageError(format!("zstd compression failed: {e}")))?;
                compressed.as_slice()
            }
            None => payload,
        };
        let (upload_url, download_url) = self.allocate(coding)?;
        let mut put = self.agent.put(&upload_url).set("Content-Type", "application/octet-stream");
        if let Some(coding) = coding {
            put = put.set("Content-Encoding", coding);
        }
        put.send_bytes(body).map_err(|e| failure("PUT", &upload_url, e))?;
        Ok(download_url)
    }

    fn vends_upload_urls(&self) -> bool {
        true
    }

    fn upload_url(&self) -> Result<UploadUrl, StorageError> {
        let (upload_url, download_url) = self.allocate(None)?;
        Ok(UploadUrl { upload_url, download_url, expires_at: SystemTime::now() + UPLOAD_URL_LIFETIME })
    }
}
