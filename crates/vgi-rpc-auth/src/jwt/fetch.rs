//! Fetching a JWKS over HTTP(S) with `ureq` (blocking, rustls with ring and
//! the webpki root set; no async runtime): from a fixed `jwks_uri` or by
//! OIDC discovery. Every request has an overall timeout, follows no
//! redirects, and reads at most the configured number of bytes;
//! `Cache-Control: max-age` is reported for the cache's TTL.

use std::io::Read as _;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::jwk::{JwksError, KeySet};
use super::remote::{Fetch, JwksSettings};

/// Where the key set is.
#[derive(Debug, Clone)]
pub(crate) enum Locator {
    /// A fixed JWKS URL.
    JwksUri(String),
    /// An issuer whose discovery document names the JWKS URL.
    Discovery(String),
}

/// One successful fetch.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) keys: KeySet,
    /// `Cache-Control: max-age` of the JWKS response, if any.
    pub(crate) max_age: Option<Duration>,
}

/// The HTTP side of [`super::RemoteJwks`].
pub(crate) struct HttpFetcher {
    agent: ureq::Agent,
    locator: Locator,
    /// The JWKS URL found by discovery, until a fetch from it fails.
    discovered: Mutex<Option<Url>>,
    max_bytes: usize,
    allow_http: bool,
}

/// Check a URL's scheme: `https`, or `http` to loopback (or anywhere when
/// allowed).
pub(crate) fn checked_url(text: &str, allow_http: bool) -> Result<Url, JwksError> {
    let url = Url::parse(text).map_err(|e| JwksError::Config(format!("bad URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http || loopback => Ok(url),
        "http" => Err(JwksError::Config("http:// is only allowed to loopback (see with_allow_http)".to_string())),
        other => Err(JwksError::Config(format!("unsupported URL scheme {other:?}"))),
    }
}

/// `max-age` from a `Cache-Control` value; `no-store`/`no-cache` mean 0.
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(value) = lower.strip_prefix("max-age=") {
            let secs = value.trim_matches('"').parse::<u64>().ok()?;
            found = Some(Duration::from_secs(secs));
        }
    }
    found
}

impl HttpFetcher {
    pub(crate) fn new(locator: Locator, settings: &JwksSettings) -> Result<Self, JwksError> {
        match &locator {
            Locator::JwksUri(url) | Locator::Discovery(url) => checked_url(url, settings.allow_http)?,
        };
        let agent = ureq::AgentBuilder::new()
            .timeout(settings.fetch_timeout)
            .redirects(0)
            .user_agent(concat!("vgi-rpc-auth/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            agent,
            locator,
            discovered: Mutex::new(None),
            max_bytes: settings.max_document_bytes,
            allow_http: settings.allow_http,
        })
    }

    /// GET `url` and return its body (capped) and `Cache-Control` header.
    fn get(&self, url: &Url) -> Result<(Vec<u8>, Option<String>), JwksError> {
        let shown = format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or(""), url.path());
        let resp = match self.agent.request_url("GET", url).set("Accept", "application/json").call() {
            Ok(resp) => resp,
            Err(ureq::Error::Status(code, _)) => return Err(JwksError::Fetch(format!("GET {shown}: HTTP {code}"))),
            Err(ureq::Error::Transport(t)) => return Err(JwksError::Fetch(format!("GET {shown}: {}", t.kind()))),
        };
        let too_big = || JwksError::Fetch(format!("GET {shown}: document larger than {} bytes", self.max_bytes));
        if resp
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_big());
        }
        let cache_control = resp.header("cache-control").map(str::to_string);
        let mut body = Vec::new();
        resp.into_reader()
            .take(self.max_bytes as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| JwksError::Fetch(format!("GET {shown}: {}", e.kind())))?;
        if body.len() > self.max_bytes {
            return Err(too_big());
        }
        Ok((body, cache_control))
    }

    /// The `jwks_uri` named by the issuer's discovery document.
    fn discover(&self, issuer: &str) -> Result<Url, JwksError> {
        let base = issuer.trim_end_matches('/');
        let url = checked_url(&format!("{base}/.well-known/openid-configuration"), self.allow_http)?;
        let (body, _) = self.get(&url)?;
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|e| JwksError::Fetch(format!("discovery document is not JSON: {e}")))?;
        let named = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
        if named.trim_end_matches('/') != base {
            return Err(JwksError::Fetch("discovery document names a different issuer".to_string()));
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| JwksError::Fetch("discovery document has no jwks_uri".to_string()))?;
        checked_url(jwks_uri, self.allow_http)
    }

    fn jwks_url(&self) -> Result<Url, JwksError> {
        match &self.locator {
            Locator::JwksUri(url) => checked_url(url, self.allow_http),
            Locator::Discovery(issuer) => {
                let mut discovered = self.discovered.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(url) = discovered.as_ref() {
                    return Ok(url.clone());
                }
                let url = self.discover(issuer)?;
                *discovered = Some(url.clone());
                Ok(url)
            }
        }
    }
}

impl Fetch for HttpFetcher {
    fn fetch(&self) -> Result<Fetched, JwksError> {
        let url = self.jwks_url()?;
        let result = self.get(&url).and_then(|(body, cache_control)| {
            let keys = KeySet::from_json(&body)?;
            Ok(Fetched { keys, max_age: cache_control.as_deref().and_then(max_age) })
        });
        if result.is_err() {
            // Re-discover next time: the issuer may have moved its keys.
            *self.discovered.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(checked_url("https://issuer.example/jwks", false).is_ok());
        for loopback in ["http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]:9/x", "http://127.9.9.9/"]
        {
            assert!(checked_url(loopback, false).is_ok(), "{loopback}");
        }
        assert!(matches!(checked_url("http://issuer.example/jwks", false), Err(JwksError::Config(_))));
        assert!(checked_url("http://issuer.example/jwks", true).is_ok());
        assert!(matches!(checked_url("file:///etc/passwd", true), Err(JwksError::Config(_))));
        assert!(matches!(checked_url("not a url", true), Err(JwksError::Config(_))));
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age("public, max-age=3600"), Some(Duration::from_secs(3600)));
        assert_eq!(max_age("Max-Age=\"60\", must-revalidate"), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("private, no-cache, max-age=100"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=-5"), None);
        assert_eq!(max_age("max-age=lots"), None);
    }
}
