//! The blocking HTTP agent shared by uploads and fetches, and error text
//! that never carries a URL's credentials.

use std::time::Duration;

use vgi_rpc_core::external::StorageError;
use vgi_rpc_core::wire::pointer::redact_url;

/// An agent that follows no redirects itself (fetches follow them by hand,
/// checking each hop).
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).timeout(timeout).build()
}

/// A transport or status failure of `what` on `url`, redacted. ureq's own
/// error text names the full URL, so it is never used.
pub(crate) fn failure(what: &str, url: &str, err: ureq::Error) -> StorageError {
    match err {
        ureq::Error::Status(code, _) => StorageError(format!("{what} {} failed: HTTP {code}", redact_url(url))),
        ureq::Error::Transport(t) => StorageError(format!("{what} {} failed: {}", redact_url(url), t.kind())),
    }
}
