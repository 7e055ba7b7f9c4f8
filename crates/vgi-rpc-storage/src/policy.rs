//! Which URLs a fetch may touch: checked on the pointer's URL and on every
//! redirect target before that hop is requested.

use std::sync::Arc;

use url::{Host, Url};

/// A caller-supplied URL check: `Err(reason)` rejects.
pub type UrlCheck = Arc<dyn Fn(&Url) -> Result<(), String> + Send + Sync>;

/// A URL policy. Rejections read `URL rejected: …` with the URL redacted.
#[derive(Clone)]
pub enum UrlPolicy {
    /// Any `http` / `https` URL (what a fixture with its own loopback
    /// storage uses; never the right choice for untrusted pointers).
    AllowAll,
    /// `https` only, plus plain `http` to loopback hosts when allowed.
    HttpsOnly {
        /// Admit `http://127.0.0.1`, `http://[::1]` and `http://localhost`.
        allow_loopback_http: bool,
    },
    /// Only URLs whose host is exactly this one (any scheme of http/https):
    /// the conformance fixture's `--reject-localhost-redirects` policy.
    HostOnly(String),
    /// A caller-supplied check returning the reason for a rejection.
    Custom(UrlCheck),
}

impl Default for UrlPolicy {
    fn default() -> Self {
        UrlPolicy::HttpsOnly { allow_loopback_http: false }
    }
}

impl std::fmt::Debug for UrlPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlPolicy::AllowAll => f.write_str("AllowAll"),
            UrlPolicy::HttpsOnly { allow_loopback_http } => {
                f.debug_struct("HttpsOnly").field("allow_loopback_http", allow_loopback_http).finish()
            }
            UrlPolicy::HostOnly(h) => f.debug_tuple("HostOnly").field(h).finish(),
            UrlPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl UrlPolicy {
    /// `Ok` when `url` may be requested, else the reason.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(format!("scheme {scheme:?} is not http or https"));
        }
        match self {
            UrlPolicy::AllowAll => Ok(()),
            UrlPolicy::HttpsOnly { allow_loopback_http } => {
                if scheme == "https" || (*allow_loopback_http && is_loopback(url)) {
                    Ok(())
                } else {
                    Err("only https URLs are allowed".to_owned())
                }
            }
            UrlPolicy::HostOnly(host) => match url.host_str() {
                Some(h) if h == host => Ok(()),
                _ => Err(format!("only host {host} is allowed")),
            },
            UrlPolicy::Custom(check) => check(url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn https_only_admits_loopback_http_only_when_asked() {
        let strict = UrlPolicy::default();
        assert!(strict.check(&url("https://s.example/k")).is_ok());
        assert!(strict.check(&url("http://127.0.0.1:9/k")).is_err());
        let loopback = UrlPolicy::HttpsOnly { allow_loopback_http: true };
        assert!(loopback.check(&url("http://127.0.0.1:9/k")).is_ok());
        assert!(loopback.check(&url("http://[::1]:9/k")).is_ok());
        assert!(loopback.check(&url("http://10.0.0.1/k")).is_err());
        assert!(UrlPolicy::AllowAll.check(&url("file:///etc/passwd")).is_err());
    }

    #[test]
    fn host_only_rejects_an_alias() {
        let policy = UrlPolicy::HostOnly("127.0.0.1".into());
        assert!(policy.check(&url("http://127.0.0.1:1/x")).is_ok());
        assert!(policy.check(&url("http://localhost:1/x")).is_err());
    }
}
