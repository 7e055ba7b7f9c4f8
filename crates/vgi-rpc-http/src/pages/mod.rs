//! The human-facing pages: a landing page at `{prefix}/`, the API
//! reference at `{prefix}/describe`, and a 404 page for browsers. None of
//! them carries a wire contract; an RPC client never sees them (the 404
//! page goes only to a `GET`/`HEAD` that accepts `text/html`).
//!
//! Landing and describe are rendered once, when the app is built (a
//! server's methods are fixed for its lifetime). Every page is
//! self-contained: one inline stylesheet admitted by hash in a strict
//! Content-Security-Policy, no scripts, no external assets, and every
//! operator- or client-supplied string escaped.

mod describe;
mod landing;
mod layout;
mod not_found;
mod settings;
mod style;

use axum::response::Response;
use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use vgi_rpc_core::reflection::REFLECTION_PROTOCOL;
use vgi_rpc_core::Server;

pub use settings::{Branding, Colour, PageSettings, PageSettingsError, MAX_LOGO_CHARS};

use layout::Site;

/// The pages an app serves, pre-rendered where they can be.
#[derive(Debug)]
pub(crate) struct Pages {
    site: Site,
    landing: Option<Bytes>,
    describe: Option<Bytes>,
    not_found: bool,
    csp: HeaderValue,
}

impl Pages {
    /// Render the pages `settings` turn on for `server` under `prefix`.
    pub(crate) fn new(server: &Server, prefix: &str, settings: &PageSettings) -> Result<Self, PageSettingsError> {
        settings.validate()?;
        let describe_on = settings.describe && server.protocol(REFLECTION_PROTOCOL).is_some();
        let site = Site::new(server, prefix, settings, describe_on);
        let csp =
            HeaderValue::from_str(&site.style.csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        let landing = settings.landing.then(|| Bytes::from(landing::render(&site, server)));
        let describe = describe_on.then(|| Bytes::from(describe::render(&site, server)));
        Ok(Self { site, landing, describe, not_found: settings.not_found, csp })
    }

    /// `GET {prefix}/`, when on.
    pub(crate) fn landing(&self) -> Option<Response> {
        self.landing.clone().map(|body| self.html(StatusCode::OK, body))
    }

    /// `GET {prefix}/describe`, when on.
    pub(crate) fn describe(&self) -> Option<Response> {
        self.describe.clone().map(|body| self.html(StatusCode::OK, body))
    }

    /// The browser 404 page for `path`, when on and the request is a
    /// browser's (`GET`/`HEAD` accepting `text/html`).
    pub(crate) fn not_found(&self, method: &Method, headers: &HeaderMap, path: &str) -> Option<Response> {
        if !self.not_found || !wants_html(method, headers) {
            return None;
        }
        Some(self.html(StatusCode::NOT_FOUND, Bytes::from(not_found::render(&self.site, path))))
    }

    fn html(&self, status: StatusCode, body: Bytes) -> Response {
        let mut resp = crate::app::response(status, "text/html; charset=utf-8", body);
        let h = resp.headers_mut();
        h.insert(CONTENT_SECURITY_POLICY, self.csp.clone());
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        debug_assert!(h.get(CONTENT_TYPE).is_some());
        resp
    }
}

/// Whether a request is a browser's page load: `GET` or `HEAD` with
/// `text/html` among its `Accept` media ranges.
pub(crate) fn wants_html(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    headers.get_all(http::header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|range| range.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("text/html"))
    })
}

/// Escape `text` for HTML text and double- or single-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
