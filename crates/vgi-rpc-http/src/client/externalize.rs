//! Client-side externalization over HTTP: the upload-URL flow
//! (WIRE_PROTOCOL.md §10 *Upload URL generation*, §12).
//!
//! The server's capability headers (on every response) say whether it vends
//! upload URLs and how large a request body may be. A request body over
//! `VGI-Max-Request-Bytes` (or the client's own threshold) is not sent:
//! the client asks `POST {prefix}/__upload_url__/init` for one URL pair,
//! `PUT`s the body as it would have been sent (one IPC stream, uncompressed)
//! to the upload URL, and sends instead a zero-row pointer batch on the same
//! schema whose metadata is the original batch's (routing keys, state
//! tokens) plus `vgi_rpc.location` (the download URL) and
//! `vgi_rpc.location.sha256`. A `413` for an inline body is retried once
//! the same way, as the reference client does. A body over
//! [`PROBE_ABOVE_BYTES`] is not sent before the capabilities are known.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use vgi_rpc_core::external::{pointer_metadata, sha256_hex, StorageError, UploadPutter, UploadUrl};
use vgi_rpc_core::wire::pointer::redact_url;
use vgi_rpc_core::wire::{keys, Metadata, REQUEST_VERSION};
use vgi_rpc_core::CallError;

use super::request::single_batch_stream;
use super::{coding, response, HttpClient};
use crate::headers::ARROW_CONTENT_TYPE;

/// The method name and path segment of the upload-URL endpoint.
const UPLOAD_URL_METHOD: &str = "__upload_url__";
/// Most bytes read from a `PUT` answer (storage answers are small).
const MAX_PUT_ANSWER_BYTES: usize = 64 * 1024;
/// A body larger than this is not sent before the server's capabilities
/// are known: a server refusing it may answer `413` and close before the
/// body is written, and a large write into a closed connection can lose
/// that answer, so the capabilities are asked for first (`OPTIONS`).
pub const PROBE_ABOVE_BYTES: usize = 1024 * 1024;

/// What the server's capability headers say about client uploads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadCapabilities {
    /// `VGI-Max-Request-Bytes`: larger request bodies are refused (`413`).
    pub max_request_bytes: Option<u64>,
    /// `VGI-Upload-URL-Support: true`: `__upload_url__/init` is served.
    pub upload_url_support: bool,
    /// `VGI-Max-Upload-Bytes`: the most one upload may hold.
    pub max_upload_bytes: Option<u64>,
}

impl UploadCapabilities {
    /// The capabilities in `headers`; `None` when they carry none of the
    /// three headers (not a vgi-rpc server's answer).
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let number = |name: &str| text(name).and_then(|v| v.parse::<u64>().ok());
        let support = text("vgi-upload-url-support");
        let max_request = number("vgi-max-request-bytes");
        let max_upload = number("vgi-max-upload-bytes");
        if support.is_none() && max_request.is_none() && max_upload.is_none() {
            return None;
        }
        Some(Self {
            max_request_bytes: max_request,
            upload_url_support: support.is_some_and(|v| v.eq_ignore_ascii_case("true")),
            max_upload_bytes: max_upload,
        })
    }
}

/// The client's upload settings.
#[derive(Default, Clone)]
pub(crate) struct UploadSettings {
    /// Capabilities from the last response that carried them.
    pub caps: Option<UploadCapabilities>,
    /// Externalize bodies of at least this many bytes even under the
    /// server's request cap.
    pub threshold: Option<u64>,
    /// `PUT`s through this instead of the client's own transport.
    pub putter: Option<Arc<dyn UploadPutter>>,
}

fn upload_error(message: String) -> CallError {
    CallError::Upload(StorageError(message))
}

impl HttpClient {
    /// Whether a `len`-byte body for `batch` leaves by pointer before it is
    /// sent. Zero-row batches (ticks, cancels) never do.
    pub(crate) fn wants_upload(&mut self, batch: &RecordBatch, len: usize) -> Result<bool, CallError> {
        if batch.num_rows() == 0 {
            return Ok(false);
        }
        let large = len > PROBE_ABOVE_BYTES;
        let len = len as u64;
        let over_threshold = self.uploads.threshold.is_some_and(|t| len >= t);
        let caps = match self.uploads.caps {
            Some(caps) => caps,
            // Ask before the first answer only when it matters.
            None if over_threshold || large => self.discover_capabilities()?,
            None => return Ok(false),
        };
        let over_cap = caps.max_request_bytes.is_some_and(|m| len > m);
        Ok(caps.upload_url_support && (over_cap || over_threshold))
    }

    /// After a `413` for an inline body: whether the server vends upload
    /// URLs (learned from the answer's headers, else asked for).
    pub(crate) fn upload_after_refusal(&mut self, headers: &HeaderMap) -> Result<bool, CallError> {
        let caps = match UploadCapabilities::from_headers(headers) {
            Some(caps) => {
                self.uploads.caps = Some(caps);
                caps
            }
            None => self.discover_capabilities()?,
        };
        Ok(caps.upload_url_support)
    }

    /// `OPTIONS {prefix}/health`: the capability headers, remembered.
    fn discover_capabilities(&mut self) -> Result<UploadCapabilities, CallError> {
        let uri = self.url(&format!("{}/health", self.prefix))?;
        let response =
            self.transport.request(Method::OPTIONS, uri, HeaderMap::new(), Bytes::new(), Some(MAX_PUT_ANSWER_BYTES))?;
        let caps = UploadCapabilities::from_headers(&response.headers).unwrap_or_default();
        self.uploads.caps = Some(caps);
        Ok(caps)
    }

    /// Upload `body` (the inline request body for `batch` with `metadata`)
    /// and return the pointer body to send instead.
    pub(crate) fn upload_request(
        &mut self,
        batch: &RecordBatch,
        metadata: &Metadata,
        body: &Bytes,
    ) -> Result<Bytes, CallError> {
        if let Some(max) = self.uploads.caps.and_then(|c| c.max_upload_bytes) {
            if body.len() as u64 > max {
                return Err(upload_error(format!(
                    "the request body ({} bytes) exceeds the server's VGI-Max-Upload-Bytes ({max})",
                    body.len()
                )));
            }
        }
        let pair = self
            .upload_urls(1)?
            .into_iter()
            .next()
            .ok_or_else(|| CallError::Protocol("the server returned no upload URLs".into()))?;
        self.put(&pair.upload_url, body.clone())?;
        let md = pointer_metadata(metadata, &pair.download_url, Some(sha256_hex(body)));
        Ok(Bytes::from(single_batch_stream(&RecordBatch::new_empty(batch.schema()), &md)?))
    }

    /// Ask the server for `count` upload/download URL pairs
    /// (`POST {prefix}/__upload_url__/init`, 1–100 pairs). A server without
    /// upload support answers `404`, reported as [`CallError::Upload`].
    pub fn upload_urls(&mut self, count: u32) -> Result<Vec<UploadUrl>, CallError> {
        let schema = Arc::new(Schema::new(vec![Field::new("count", DataType::Int64, false)]));
        let params = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![i64::from(count)]))])
            .map_err(|e| CallError::Protocol(format!("cannot build the __upload_url__ request: {e}")))?;
        let md = Metadata::new().with(keys::METHOD, UPLOAD_URL_METHOD).with(keys::REQUEST_VERSION, REQUEST_VERSION);
        let body = Bytes::from(single_batch_stream(&params, &md)?);
        let uri = self.url(&format!("{}/{UPLOAD_URL_METHOD}/init", self.prefix))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ARROW_CONTENT_TYPE));
        let answer = self.transport.post(uri, headers, body, self.max_response_bytes)?;
        if let Some(caps) = UploadCapabilities::from_headers(&answer.headers) {
            self.uploads.caps = Some(caps);
        }
        if answer.status == StatusCode::NOT_FOUND {
            return Err(upload_error("the server does not vend upload URLs (__upload_url__/init: HTTP 404)".into()));
        }
        let decoded = coding::decode_response(&answer.headers, &answer.body, self.max_response_bytes)?;
        let streams = response::interpret(answer.status, &answer.headers, &decoded, self.limits)?;
        let mut logs = Vec::new();
        let mut pairs = Vec::new();
        for stream in streams {
            for b in response::split_control(stream.batches, &mut logs)? {
                pairs.extend(read_pairs(&b.batch)?);
            }
        }
        Ok(pairs)
    }

    /// `PUT` `body` to `url`: through the configured putter, else a request
    /// of its own on this client's transport (https with the `tls` feature).
    fn put(&mut self, url: &str, body: Bytes) -> Result<(), CallError> {
        if let Some(putter) = &self.uploads.putter {
            return putter.put(url, &body).map_err(CallError::Upload);
        }
        let uri: Uri = url.parse().map_err(|_| upload_error(format!("bad upload URL {}", redact_url(url))))?;
        let speaks =
            matches!(uri.scheme_str(), Some("http")) || (cfg!(feature = "tls") && uri.scheme_str() == Some("https"));
        if !speaks {
            return Err(upload_error(format!(
                "upload URL {} has a scheme this client does not speak: set an upload putter (HttpClient::set_upload_putter) that speaks it",
                redact_url(url)
            )));
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ARROW_CONTENT_TYPE));
        let answer = self.transport.request(Method::PUT, uri, headers, body, Some(MAX_PUT_ANSWER_BYTES))?;
        if !answer.status.is_success() {
            return Err(upload_error(format!("PUT {} failed: HTTP {}", redact_url(url), answer.status.as_u16())));
        }
        Ok(())
    }
}

/// The URL pairs in one `__upload_url__` answer batch.
fn read_pairs(batch: &RecordBatch) -> Result<Vec<UploadUrl>, CallError> {
    let bad = |what: &str| CallError::Protocol(format!("__upload_url__ answer: {what}"));
    let text = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| bad(&format!("no utf8 column {name:?}")))
    };
    let uploads = text("upload_url")?;
    let downloads = text("download_url")?;
    let expiries = batch.column_by_name("expires_at").and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>());
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        if uploads.is_null(i) || downloads.is_null(i) {
            return Err(bad("a null URL"));
        }
        let micros = expiries.filter(|e| !e.is_null(i)).map_or(0, |e| e.value(i));
        out.push(UploadUrl {
            upload_url: uploads.value(i).to_owned(),
            download_url: downloads.value(i).to_owned(),
            expires_at: UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(0)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_read_from_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(UploadCapabilities::from_headers(&headers), None);
        headers.insert("vgi-max-request-bytes", HeaderValue::from_static("1024"));
        headers.insert("vgi-upload-url-support", HeaderValue::from_static("true"));
        headers.insert("vgi-max-upload-bytes", HeaderValue::from_static("99"));
        let caps = UploadCapabilities::from_headers(&headers).unwrap();
        assert_eq!(
            caps,
            UploadCapabilities { max_request_bytes: Some(1024), upload_url_support: true, max_upload_bytes: Some(99) }
        );
        headers.remove("vgi-upload-url-support");
        assert!(!UploadCapabilities::from_headers(&headers).unwrap().upload_url_support);
    }

    #[test]
    fn pairs_are_read_with_their_expiry() {
        use arrow_array::{StringArray, TimestampMicrosecondArray};
        let batch = RecordBatch::try_from_iter([
            ("upload_url", Arc::new(StringArray::from(vec!["http://h/u"])) as _),
            ("download_url", Arc::new(StringArray::from(vec!["http://h/d"])) as _),
            ("expires_at", Arc::new(TimestampMicrosecondArray::from(vec![2_000_000]).with_timezone("UTC")) as _),
        ])
        .unwrap();
        let pairs = read_pairs(&batch).unwrap();
        assert_eq!(pairs[0].download_url, "http://h/d");
        assert_eq!(pairs[0].expires_at, UNIX_EPOCH + Duration::from_secs(2));
        let missing = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1])) as _)]).unwrap();
        assert!(read_pairs(&missing).is_err());
    }
}
