//! Fetching the object a pointer names, under the fetch-safety rules of
//! WIRE_PROTOCOL.md §12: the URL policy on the first URL and on every
//! redirect target before that hop is requested, a bounded number of
//! redirects, the encoded-bytes cap enforced while the body streams in
//! (whatever `Content-Length` says), and the decoded-bytes cap enforced
//! while the named `Content-Encoding` is undone.
//!
//! Large objects come in parallel: the first request asks for the first
//! chunk by `Range`; when the answer (`206`, `Content-Range: bytes
//! 0-n/total`) shows more, the rest is fetched by up to
//! `max_parallel_requests` concurrent ranged `GET`s into one preallocated
//! buffer ([`crate::ranged`]). A server that ignores ranges (`200`) has
//! sent the whole object already; a content-coded object, or one whose
//! store refused the first range (`416`, as the reference's fake storage
//! does for a range past the end of a small object), is fetched with one
//! plain `GET`. Each request is retried with exponential backoff on
//! transient failures (connection failures, a body broken off, `5xx`),
//! never on a `4xx`, a policy refusal or a cap.

use std::io::Read;
use std::time::Duration;

use url::Url;
use vgi_rpc_core::external::{PointerResolver, StorageError};
use vgi_rpc_core::wire::pointer::redact_url;

pub use crate::fetch_error::FetchError;
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
    /// Size of one ranged request; an object larger than this is fetched
    /// in ranges of this size. `0` disables ranged fetching (one plain
    /// `GET` per object).
    pub range_chunk_bytes: u64,
    /// Most ranged requests in flight at once for one object.
    pub max_parallel_requests: usize,
    /// Attempts per request (first try included) on transient failures.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one (at most
    /// [`MAX_BACKOFF`]).
    pub retry_backoff: Duration,
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            max_fetch_bytes: 256 * 1024 * 1024,
            max_decompressed_bytes: None,
            max_redirects: 5,
            timeout: Duration::from_secs(60),
            policy: UrlPolicy::default(),
            range_chunk_bytes: 8 * 1024 * 1024,
            max_parallel_requests: 8,
            max_attempts: 3,
            retry_backoff: Duration::from_millis(250),
        }
    }
}

impl FetchConfig {
    fn decoded_cap(&self) -> u64 {
        self.max_decompressed_bytes.unwrap_or(self.max_fetch_bytes.saturating_mul(16))
    }

    /// The wait after failed attempt number `attempt` (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.retry_backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

/// A [`PointerResolver`] over blocking HTTP.
#[derive(Debug)]
pub struct HttpFetcher {
    pub(crate) config: FetchConfig,
    agent: ureq::Agent,
}

/// What the first request of a fetch brought back.
enum First {
    /// The whole object (range ignored, or the object fits one chunk),
    /// with its content coding.
    Whole(Vec<u8>, Option<String>),
    /// The first chunk of a larger, uncoded object: the rest comes in ranges.
    Partial(crate::ranged::Partial),
    /// Fetch it with one plain `GET`: a content-coded object answered in
    /// part, or a store that refused the range (`416`: some stores refuse a
    /// range reaching past the end instead of shortening it).
    Plain,
}

impl HttpFetcher {
    /// A fetcher with `config`.
    pub fn new(config: FetchConfig) -> Self {
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(config.timeout)
            .max_idle_connections_per_host(config.max_parallel_requests.max(1))
            .build();
        Self { config, agent }
    }

    /// The configuration in force.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    fn checked(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url)
            .map_err(|e| FetchError::Rejected { url: redact_url(url), reason: format!("unparseable URL: {e}") })?;
        self.config.policy.check(&parsed).map_err(|reason| FetchError::Rejected { url: redact_url(url), reason })?;
        Ok(parsed)
    }

    /// GET `start` with `headers`, following allowed redirects by hand; the
    /// URL that answered comes back with the answer.
    pub(crate) fn request(&self, start: &Url, headers: &[(&str, &str)]) -> Result<(Url, ureq::Response), FetchError> {
        let mut url = start.clone();
        for hop in 0..=self.config.max_redirects {
            let mut req = self.agent.request_url("GET", &url);
            for (name, value) in headers {
                req = req.set(name, value);
            }
            let response = match req.call() {
                Ok(r) => r,
                Err(ureq::Error::Status(status, _)) => {
                    return Err(FetchError::Status { url: redact_url(url.as_str()), status });
                }
                Err(ureq::Error::Transport(t)) => {
                    return Err(FetchError::Transport { url: redact_url(url.as_str()), kind: t.kind().to_string() });
                }
            };
            if !(300..400).contains(&response.status()) {
                return Ok((url, response));
            }
            if hop == self.config.max_redirects {
                break;
            }
            let Some(target) = response.header("location") else {
                return Err(FetchError::RedirectWithoutLocation {
                    url: redact_url(url.as_str()),
                    status: response.status(),
                });
            };
            let next = url.join(target).map_err(|e| FetchError::Rejected {
                url: redact_url(url.as_str()),
                reason: format!("bad redirect target: {e}"),
            })?;
            url = self.checked(next.as_str())?;
        }
        Err(FetchError::RedirectLimit { url: redact_url(start.as_str()), limit: self.config.max_redirects })
    }

    /// Run `op` until it succeeds, fails for good, or runs out of attempts.
    pub(crate) fn with_retries<T>(&self, mut op: impl FnMut() -> Result<T, FetchError>) -> Result<T, FetchError> {
        let mut attempt = 1;
        loop {
            match op() {
                Err(e) if e.is_transient() && attempt < self.config.max_attempts => {
                    std::thread::sleep(self.config.backoff(attempt));
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    /// The object's bytes, content coding undone, or why not.
    pub fn fetch_bytes(&self, location: &str) -> Result<Vec<u8>, FetchError> {
        let url = self.checked(location)?;
        let chunk = self.config.range_chunk_bytes;
        if chunk == 0 {
            return self.plain(&url);
        }
        let (encoded, coding) = match self.with_retries(|| self.first(&url, chunk))? {
            First::Whole(body, coding) => (body, coding),
            First::Plain => return self.plain(&url),
            First::Partial(partial) => match self.fetch_rest(partial) {
                Ok(body) => (body, None),
                Err(e) if e.falls_back() => return self.plain(&url),
                Err(e) => return Err(e),
            },
        };
        self.decode(encoded, coding.as_deref())
    }

    /// One plain `GET` of the whole object.
    fn plain(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let (body, coding) = self.with_retries(|| {
            let (_, response) = self.request(url, &[])?;
            self.read_whole(response)
        })?;
        self.decode(body, coding.as_deref())
    }

    /// A `200` answer's body (capped) and its coding.
    fn read_whole(&self, response: ureq::Response) -> Result<(Vec<u8>, Option<String>), FetchError> {
        let cap = self.config.max_fetch_bytes;
        if response.header("content-length").and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > cap) {
            return Err(FetchError::TooLarge { cap_name: "max_fetch_bytes", cap });
        }
        let coding = coding_of(&response);
        let body = read_capped(response.into_reader(), cap, "max_fetch_bytes")?;
        Ok((body, coding))
    }

    /// The first request: the first `chunk` bytes by range.
    fn first(&self, url: &Url, chunk: u64) -> Result<First, FetchError> {
        let range = format!("bytes=0-{}", chunk - 1);
        let (answered, response) = match self.request(url, &[("Range", &range)]) {
            Err(FetchError::Status { status: 416, .. }) => return Ok(First::Plain),
            other => other?,
        };
        if response.status() != 206 {
            let (body, coding) = self.read_whole(response)?;
            return Ok(First::Whole(body, coding));
        }
        let shown = redact_url(answered.as_str());
        let content_range = response.header("content-range").unwrap_or_default();
        let (start, end, total) = crate::ranged::parse_content_range(content_range).ok_or_else(|| {
            FetchError::Range { url: shown.clone(), detail: format!("Content-Range {content_range:?}") }
        })?;
        if start != 0 || end >= total || end >= chunk {
            return Err(FetchError::Range { url: shown, detail: format!("asked for {range}, got {content_range}") });
        }
        let cap = self.config.max_fetch_bytes;
        if total > cap {
            return Err(FetchError::TooLarge { cap_name: "max_fetch_bytes", cap });
        }
        let coding = coding_of(&response);
        let etag = response.header("etag").map(str::to_owned);
        let whole = end + 1 == total;
        if coding.is_some() && !whole {
            return Ok(First::Plain);
        }
        let body = crate::ranged::read_exact_range(response.into_reader(), end + 1, &shown)?;
        if whole {
            return Ok(First::Whole(body, coding));
        }
        Ok(First::Partial(crate::ranged::Partial { url: answered, first: body, total, etag }))
    }

    /// Undo `coding` under the decoded cap.
    fn decode(&self, encoded: Vec<u8>, coding: Option<&str>) -> Result<Vec<u8>, FetchError> {
        let decoded_cap = self.config.decoded_cap();
        match coding {
            None => {
                if encoded.len() as u64 > decoded_cap {
                    return Err(FetchError::TooLarge { cap_name: "max_decompressed_bytes", cap: decoded_cap });
                }
                Ok(encoded)
            }
            Some("zstd") => {
                let decoder = zstd::stream::read::Decoder::new(encoded.as_slice())
                    .map_err(|e| FetchError::Decode(e.kind().to_string()))?;
                read_capped(decoder, decoded_cap, "max_decompressed_bytes").map_err(|e| match e {
                    FetchError::Read(m) => FetchError::Decode(m),
                    other => other,
                })
            }
            Some(other) => Err(FetchError::Encoding(other.to_owned())),
        }
    }
}

/// The answer's content coding, `None` for none or `identity`.
fn coding_of(response: &ureq::Response) -> Option<String> {
    let coding = response.header("content-encoding")?.trim().to_ascii_lowercase();
    (!coding.is_empty() && coding != "identity").then_some(coding)
}

/// Read at most `cap` bytes; one more is an error naming `cap_name`.
pub(crate) fn read_capped(reader: impl Read, cap: u64, cap_name: &'static str) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut out).map_err(|e| FetchError::Read(e.kind().to_string()))?;
    if out.len() as u64 > cap {
        return Err(FetchError::TooLarge { cap_name, cap });
    }
    Ok(out)
}

impl PointerResolver for HttpFetcher {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        self.fetch_bytes(location).map_err(|e| StorageError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_enforced_on_read() {
        assert_eq!(read_capped(&b"abcd"[..], 4, "max_fetch_bytes").unwrap(), b"abcd");
        let err = read_capped(&b"abcde"[..], 4, "max_fetch_bytes").unwrap_err();
        assert!(err.to_string().contains("max_fetch_bytes"), "{err}");
    }

    #[test]
    fn decoded_cap_defaults_to_sixteen_times_the_encoded_cap() {
        let config = FetchConfig { max_fetch_bytes: 10, ..FetchConfig::default() };
        assert_eq!(config.decoded_cap(), 160);
    }

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let config = FetchConfig { retry_backoff: Duration::from_millis(100), ..FetchConfig::default() };
        assert_eq!(config.backoff(1), Duration::from_millis(100));
        assert_eq!(config.backoff(2), Duration::from_millis(200));
        assert_eq!(config.backoff(3), Duration::from_millis(400));
        assert_eq!(config.backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn policy_rejection_is_checked_before_any_request() {
        let fetcher = HttpFetcher::new(FetchConfig::default());
        let err = fetcher.fetch("http://127.0.0.1:9/blob?sig=secret").unwrap_err();
        assert!(err.0.contains("URL rejected"), "{err}");
        assert!(!err.0.contains("secret"), "{err}");
    }
}
