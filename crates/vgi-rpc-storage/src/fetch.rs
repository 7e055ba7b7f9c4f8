//! Fetching the object a pointer names, under the fetch-safety rules of
//! WIRE_PROTOCOL.md §12: the URL policy on the first URL and on every
//! redirect target before that hop is requested, a bounded number of
//! redirects, the encoded-bytes cap enforced while the body streams in
//! (whatever `Content-Length` says), and the decoded-bytes cap enforced
//! while the named `Content-Encoding` is undone.

use std::io::Read;
use std::time::Duration;

use url::Url;
use vgi_rpc_core::external::{PointerResolver, StorageError};
use vgi_rpc_core::wire::pointer::redact_url;

use crate::http::{agent, failure};
use crate::UrlPolicy;

/// Limits and policy for pointer fetches.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Most bytes read off the wire for one object (before decoding).
    pub max_fetch_bytes: u64,
    /// Most bytes after undoing the content coding; `None` is 16 ×
    /// `max_fetch_bytes` (the reference's historical default).
    pub max_decompressed_bytes: Option<u64>,
    /// Redirect hops followed before failing.
    pub max_redirects: u32,
    /// Overall per-request timeout.
    pub timeout: Duration,
    /// Which URLs may be requested.
    pub policy: UrlPolicy,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            max_fetch_bytes: 256 * 1024 * 1024,
            max_decompressed_bytes: None,
            max_redirects: 5,
            timeout: Duration::from_secs(60),
            policy: UrlPolicy::default(),
        }
    }
}

impl FetchConfig {
    fn decoded_cap(&self) -> u64 {
        self.max_decompressed_bytes.unwrap_or(self.max_fetch_bytes.saturating_mul(16))
    }
}

/// A [`PointerResolver`] over blocking HTTP.
#[derive(Debug)]
pub struct HttpFetcher {
    config: FetchConfig,
    agent: ureq::Agent,
}

impl HttpFetcher {
    /// A fetcher with `config`.
    pub fn new(config: FetchConfig) -> Self {
        let agent = agent(config.timeout);
        Self { config, agent }
    }

    fn checked(&self, url: &str) -> Result<Url, StorageError> {
        let parsed = Url::parse(url).map_err(|e| StorageError(format!("ExternalLocation URL rejected: {e}")))?;
        self.config
            .policy
            .check(&parsed)
            .map_err(|reason| StorageError(format!("ExternalLocation URL rejected: {reason} ({})", redact_url(url))))?;
        Ok(parsed)
    }

    /// GET `location`, following allowed redirects by hand.
    fn get(&self, location: &str) -> Result<ureq::Response, StorageError> {
        let mut url = self.checked(location)?;
        for hop in 0..=self.config.max_redirects {
            let response = self.agent.request_url("GET", &url).call().map_err(|e| failure("GET", url.as_str(), e))?;
            if !(300..400).contains(&response.status()) {
                return Ok(response);
            }
            if hop == self.config.max_redirects {
                break;
            }
            let Some(target) = response.header("location") else {
                return Err(StorageError(format!(
                    "GET {} failed: HTTP {} without a Location",
                    redact_url(url.as_str()),
                    response.status()
                )));
            };
            let next = url
                .join(target)
                .map_err(|e| StorageError(format!("ExternalLocation URL rejected: bad redirect target: {e}")))?;
            url = self.checked(next.as_str())?;
        }
        Err(StorageError(format!(
            "ExternalLocation fetch exceeded the redirect limit ({}) for {}",
            self.config.max_redirects,
            redact_url(location)
        )))
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

impl PointerResolver for HttpFetcher {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        let response = self.get(location)?;
        let coding = response.header("content-encoding").map(|c| c.trim().to_ascii_lowercase());
        let encoded = read_capped(response.into_reader(), self.config.max_fetch_bytes, "max_fetch_bytes")?;
        let decoded_cap = self.config.decoded_cap();
        match coding.as_deref() {
            None | Some("") | Some("identity") => {
                if encoded.len() as u64 > decoded_cap {
                    return Err(StorageError(format!(
                        "ExternalLocation fetch exceeded max_decompressed_bytes ({decoded_cap} bytes)"
                    )));
                }
                Ok(encoded)
            }
            Some("zstd") => {
                let decoder = zstd::stream::read::Decoder::new(encoded.as_slice())
                    .map_err(|e| StorageError(format!("ExternalLocation zstd decode failed: {}", e.kind())))?;
                read_capped(decoder, decoded_cap, "max_decompressed_bytes")
            }
            Some(other) => Err(StorageError(format!("ExternalLocation has unsupported Content-Encoding {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_enforced_on_read() {
        assert_eq!(read_capped(&b"abcd"[..], 4, "max_fetch_bytes").unwrap(), b"abcd");
        let err = read_capped(&b"abcde"[..], 4, "max_fetch_bytes").unwrap_err();
        assert!(err.0.contains("max_fetch_bytes"), "{err}");
    }

    #[test]
    fn decoded_cap_defaults_to_sixteen_times_the_encoded_cap() {
        let config = FetchConfig { max_fetch_bytes: 10, ..FetchConfig::default() };
        assert_eq!(config.decoded_cap(), 160);
    }

    #[test]
    fn policy_rejection_is_checked_before_any_request() {
        let fetcher = HttpFetcher::new(FetchConfig::default());
        let err = fetcher.fetch("http://127.0.0.1:9/blob?sig=secret").unwrap_err();
        assert!(err.0.contains("URL rejected"), "{err}");
        assert!(!err.0.contains("secret"), "{err}");
    }
}
