//! The parallel half of a large fetch: after the first ranged answer
//! showed the object's size, the remaining bytes are cut into ranges of
//! `range_chunk_bytes` and fetched by at most `max_parallel_requests`
//! workers, each `GET` writing straight into its own slice of one
//! preallocated buffer. Every range is checked (`206`, the exact
//! `Content-Range` asked for, no coding, exactly that many bytes) and
//! pinned to the first answer's `ETag` with `If-Match`; each is retried on
//! transient failures, and the first hard failure stops the others.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use url::Url;
use vgi_rpc_core::wire::pointer::redact_url;

use crate::fetch::{FetchError, HttpFetcher};

/// An object whose first chunk has arrived.
pub(crate) struct Partial {
    /// The URL that answered (after redirects); the rest is asked there.
    pub url: Url,
    /// The first chunk.
    pub first: Vec<u8>,
    /// The object's size from `Content-Range`.
    pub total: u64,
    /// The object's `ETag`, when the store sent one.
    pub etag: Option<String>,
}

/// `bytes start-end/total` → `(start, end, total)`.
pub(crate) fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end, total) = (start.trim().parse().ok()?, end.trim().parse().ok()?, total.trim().parse().ok()?);
    (start <= end).then_some((start, end, total))
}

/// Read exactly `len` bytes of a range answer; fewer is a broken-off read
/// (worth a retry), more is an inconsistent answer.
pub(crate) fn read_exact_range(reader: impl Read, len: u64, url: &str) -> Result<Vec<u8>, FetchError> {
    let size = usize::try_from(len).map_err(|_| FetchError::Read("range too large for memory".into()))?;
    let mut out = vec![0u8; size];
    fill_range(reader, &mut out, url)?;
    Ok(out)
}

/// Fill `slot` from `reader`, which must then be at its end.
fn fill_range(mut reader: impl Read, slot: &mut [u8], url: &str) -> Result<(), FetchError> {
    reader
        .read_exact(slot)
        .map_err(|e| FetchError::Read(format!("{} after at most {} bytes", e.kind(), slot.len())))?;
    let mut extra = [0u8; 1];
    match reader.read(&mut extra) {
        Ok(0) => Ok(()),
        Ok(_) => Err(FetchError::Range { url: url.to_owned(), detail: "more bytes than the range asked for".into() }),
        Err(e) => Err(FetchError::Read(e.kind().to_string())),
    }
}

impl HttpFetcher {
    /// Fetch everything after `partial.first` and return the whole object.
    pub(crate) fn fetch_rest(&self, partial: Partial) -> Result<Vec<u8>, FetchError> {
        let total =
            usize::try_from(partial.total).map_err(|_| FetchError::Read("object too large for memory".into()))?;
        let chunk = usize::try_from(self.config.range_chunk_bytes).unwrap_or(usize::MAX).max(1);
        let done = partial.first.len();
        let mut buffer = partial.first;
        buffer.resize(total, 0);
        // Jobs in object order; workers take them from the front.
        let mut jobs: Vec<(u64, &mut [u8])> =
            buffer[done..].chunks_mut(chunk).enumerate().map(|(i, s)| ((done + i * chunk) as u64, s)).collect();
        jobs.reverse();
        let workers = self.config.max_parallel_requests.clamp(1, jobs.len().max(1));
        let jobs = Mutex::new(jobs);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<FetchError>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    while !failed.load(Ordering::Relaxed) {
                        let job = jobs.lock().map(|mut j| j.pop()).unwrap_or(None);
                        let Some((start, slot)) = job else { break };
                        let result = self.with_retries(|| self.range_into(&partial.url, start, slot, &partial.etag));
                        if let Err(e) = result {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut first) = first_error.lock() {
                                first.get_or_insert(e);
                            }
                            break;
                        }
                    }
                });
            }
        });
        drop(jobs);
        match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e),
            None => Ok(buffer),
        }
    }

    /// One ranged `GET` of `slot.len()` bytes from `start` into `slot`.
    fn range_into(&self, url: &Url, start: u64, slot: &mut [u8], etag: &Option<String>) -> Result<(), FetchError> {
        let end = start + slot.len() as u64 - 1;
        let range = format!("bytes={start}-{end}");
        let mut headers = vec![("Range", range.as_str())];
        if let Some(tag) = etag {
            headers.push(("If-Match", tag.as_str()));
        }
        let (answered, response) = match self.request(url, &headers) {
            Err(FetchError::Status { status: 412, url }) => return Err(FetchError::Changed { url }),
            other => other?,
        };
        let shown = redact_url(answered.as_str());
        let inconsistent = |detail: String| FetchError::Range { url: shown.clone(), detail };
        if response.status() != 206 {
            return Err(inconsistent(format!("HTTP {} to {range}", response.status())));
        }
        if response.header("content-encoding").is_some_and(|c| !c.trim().eq_ignore_ascii_case("identity")) {
            return Err(inconsistent("a content coding on a range of an uncoded object".into()));
        }
        let content_range = response.header("content-range").unwrap_or_default().to_owned();
        match parse_content_range(&content_range) {
            Some((s, e, _)) if s == start && e == end => {}
            _ => return Err(inconsistent(format!("asked for {range}, got {content_range:?}"))),
        }
        fill_range(response.into_reader(), slot, &shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 0-9/100"), Some((0, 9, 100)));
        assert_eq!(parse_content_range(" bytes 10-19/20 "), Some((10, 19, 20)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("bytes 9-0/100"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn a_range_answer_must_be_exactly_as_long_as_asked() {
        assert_eq!(read_exact_range(&b"abc"[..], 3, "u").unwrap(), b"abc");
        assert!(matches!(read_exact_range(&b"ab"[..], 3, "u"), Err(FetchError::Read(_))), "short is a broken read");
        assert!(matches!(read_exact_range(&b"abcd"[..], 3, "u"), Err(FetchError::Range { .. })));
    }
}
