//! `PUT`ting a payload to a vended upload URL (the second step of the
//! upload-URL flow), for clients whose own transport cannot reach the URL
//! (an https presigned object-store URL from a plain-http client): an
//! [`UploadPutter`] over blocking HTTP, https with the `tls` feature.

use std::time::Duration;

use vgi_rpc_core::external::{StorageError, UploadPutter};
use vgi_rpc_core::wire::pointer::redact_url;

/// The content type of an uploaded request body (one Arrow IPC stream).
const ARROW_CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream";

/// An [`UploadPutter`] on `ureq`: one `PUT` per upload, no redirects
/// followed, any non-`2xx` answer an error naming the redacted URL.
#[derive(Debug)]
pub struct HttpPut {
    agent: ureq::Agent,
}

impl HttpPut {
    /// A putter whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { agent: ureq::AgentBuilder::new().redirects(0).timeout(timeout).build() }
    }
}

impl Default for HttpPut {
    fn default() -> Self {
        Self::new(Duration::from_secs(300))
    }
}

impl UploadPutter for HttpPut {
    fn put(&self, url: &str, payload: &[u8]) -> Result<(), StorageError> {
        let shown = redact_url(url);
        let answer = self.agent.put(url).set("Content-Type", ARROW_CONTENT_TYPE).send_bytes(payload);
        match answer {
            Ok(r) if (200..300).contains(&r.status()) => Ok(()),
            Ok(r) => Err(StorageError(format!("PUT {shown} failed: HTTP {}", r.status()))),
            Err(ureq::Error::Status(code, _)) => Err(StorageError(format!("PUT {shown} failed: HTTP {code}"))),
            Err(ureq::Error::Transport(t)) => Err(StorageError(format!("PUT {shown} failed: {}", t.kind()))),
        }
    }
}
