//! The client side of sticky sessions (WIRE_PROTOCOL.md §17): inside a
//! session scope every request says `VGI-Session-Accept: true` and echoes
//! the current `VGI-Session` token and the `VGI-Echo-*` headers the opening
//! response named; a `VGI-Session-Close: true` answer drops both.
//!
//! Outside a scope nothing is sent, so the wire is as without the feature.
//! A token the server no longer honours surfaces as a `session_lost`
//! [`CallError`] ([`CallError::is_session_lost`]); it is never retried.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use vgi_rpc_core::CallError;

use super::HttpClient;

const SESSION: &str = "vgi-session";
const SESSION_ACCEPT: &str = "vgi-session-accept";
const SESSION_CLOSE: &str = "vgi-session-close";
const ECHO_PREFIX: &str = "vgi-echo-";

/// One session scope's client state.
#[derive(Debug, Default, Clone)]
pub(crate) struct SessionView {
    token: Option<String>,
    echo: Vec<(HeaderName, HeaderValue)>,
}

impl SessionView {
    /// Add the scope's headers to a request.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(SESSION_ACCEPT, HeaderValue::from_static("true"));
        if let Some(v) = self.token.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
            headers.insert(SESSION, v);
        }
        for (name, value) in &self.echo {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// Learn from a response: a new token (and its echo headers), or a close.
    pub(crate) fn capture(&mut self, headers: &HeaderMap) {
        if headers.get(SESSION_CLOSE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            self.token = None;
            self.echo.clear();
            return;
        }
        let Some(token) = headers.get(SESSION).and_then(|v| v.to_str().ok()) else { return };
        self.token = Some(token.to_owned());
        self.echo = headers
            .iter()
            .filter_map(|(name, value)| {
                let inner = name.as_str().strip_prefix(ECHO_PREFIX)?;
                Some((HeaderName::from_bytes(inner.as_bytes()).ok()?, value.clone()))
            })
            .collect();
    }
}

impl HttpClient {
    /// Enter a session scope: calls from here on may open a session
    /// (`VGI-Session-Accept: true`) and carry its token. `token` resumes a
    /// session detached earlier (possibly by another client of the same principal).
    pub fn begin_session(&mut self, token: Option<String>) {
        self.sticky = Some(Box::new(SessionView { token, echo: Vec::new() }));
    }

    /// Whether a session scope is active.
    pub fn in_session(&self) -> bool {
        self.sticky.is_some()
    }

    /// The current session token, when the server minted one.
    pub fn session_token(&self) -> Option<&str> {
        self.sticky.as_ref()?.token.as_deref()
    }

    /// The headers the client replays for the current session (name, value).
    pub fn session_echo_headers(&self) -> Vec<(String, String)> {
        let Some(view) = &self.sticky else { return Vec::new() };
        view.echo.iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect()
    }

    /// Leave the session scope without closing the session; returns its
    /// token, to resume later with [`HttpClient::begin_session`].
    pub fn end_session(&mut self) -> Option<String> {
        self.sticky.take().and_then(|v| v.token)
    }

    /// Close the current session on the server (`DELETE {prefix}/__session__`,
    /// idempotent) and leave the scope. `true` when the server closed a live
    /// session; `false` when it had none to close (or no token was held).
    pub fn close_session(&mut self) -> Result<bool, CallError> {
        let Some(view) = self.sticky.take() else { return Ok(false) };
        if view.token.is_none() {
            return Ok(false);
        }
        let mut headers = HeaderMap::new();
        view.apply(&mut headers);
        let uri = self.url(&format!("{}/__session__", self.prefix))?;
        let response = self.transport.request(Method::DELETE, uri, headers, bytes::Bytes::new(), Some(64 * 1024))?;
        match response.status {
            StatusCode::NO_CONTENT => Ok(true),
            StatusCode::OK => Ok(false),
            status => Err(super::response::http_error(status, &response.headers, &response.body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_captures_tokens_and_echo_headers_and_drops_them_on_close() {
        let mut view = SessionView::default();
        let mut opened = HeaderMap::new();
        opened.insert(SESSION, HeaderValue::from_static("tok"));
        opened.insert("vgi-echo-fly-force-instance-id", HeaderValue::from_static("m1"));
        opened.insert("x-other", HeaderValue::from_static("ignored"));
        view.capture(&opened);
        let mut sent = HeaderMap::new();
        view.apply(&mut sent);
        assert_eq!(sent.get(SESSION_ACCEPT).unwrap(), "true");
        assert_eq!(sent.get(SESSION).unwrap(), "tok");
        assert_eq!(sent.get("fly-force-instance-id").unwrap(), "m1");
        assert!(sent.get("x-other").is_none());

        let mut plain = HeaderMap::new();
        plain.insert("x-other", HeaderValue::from_static("x"));
        view.capture(&plain);
        assert_eq!(view.token.as_deref(), Some("tok"), "a response without a token keeps the session");

        let mut closed = HeaderMap::new();
        closed.insert(SESSION_CLOSE, HeaderValue::from_static("true"));
        view.capture(&closed);
        let mut after = HeaderMap::new();
        view.apply(&mut after);
        assert!(after.get(SESSION).is_none() && after.get("fly-force-instance-id").is_none());
        assert_eq!(after.get(SESSION_ACCEPT).unwrap(), "true", "still in the scope");
    }
}
