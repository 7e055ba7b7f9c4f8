//! The [`Authenticator`] trait, the framework-independent view of a request
//! it receives ([`AuthRequest`]), and [`FnAuthenticator`] for wrapping a
//! closure with declared proxy headers and challenge (§5.1: an operator must
//! be able to state header names for an authenticator the framework cannot
//! introspect).

use std::net::SocketAddr;
use std::sync::Arc;

use vgi_rpc_core::AuthContext;

use crate::reason::AuthFailure;

/// What an authenticator may look at: the request headers, the socket peer,
/// and the request path. The body is never read before authentication.
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The request headers as received.
    pub headers: &'a http::HeaderMap,
    /// The physical socket peer (not a forwarded address), when known.
    pub remote_addr: Option<SocketAddr>,
    /// The request path.
    pub path: &'a str,
}

impl<'a> AuthRequest<'a> {
    /// A request view with no peer address and path `/`.
    pub fn new(headers: &'a http::HeaderMap) -> Self {
        Self { headers, remote_addr: None, path: "/" }
    }
}

/// Decides who is calling, or refuses with a reason (`docs/unauthorized-spec.md`).
pub trait Authenticator: Send + Sync {
    /// Identify the caller or refuse the request.
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure>;

    /// Headers a reverse proxy must inject for this authenticator to ever
    /// succeed (drives the §5 proxy note).
    fn proxy_headers(&self) -> Vec<String> {
        Vec::new()
    }

    /// `WWW-Authenticate` challenge to send on a 401, if any.
    fn challenge(&self) -> Option<String> {
        None
    }

    /// Whether this is a precondition (such as a proxy proof) rather than a
    /// credential. A gate must be ANDed through
    /// [`RequireAll`](crate::RequireAll); [`Chain`](crate::Chain) refuses it.
    fn precondition_gate(&self) -> bool {
        false
    }

    /// Whether [`Authenticator::authenticate`] may wait on I/O (fetching
    /// keys from an issuer, asking a remote resolver). The HTTP server then
    /// runs it off its reactor threads.
    fn may_block(&self) -> bool {
        false
    }
}

impl<A: Authenticator + ?Sized> Authenticator for Arc<A> {
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        (**self).authenticate(req)
    }
    fn proxy_headers(&self) -> Vec<String> {
        (**self).proxy_headers()
    }
    fn challenge(&self) -> Option<String> {
        (**self).challenge()
    }
    fn precondition_gate(&self) -> bool {
        (**self).precondition_gate()
    }
    fn may_block(&self) -> bool {
        (**self).may_block()
    }
}

impl<A: Authenticator + ?Sized> Authenticator for Box<A> {
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        (**self).authenticate(req)
    }
    fn proxy_headers(&self) -> Vec<String> {
        (**self).proxy_headers()
    }
    fn challenge(&self) -> Option<String> {
        (**self).challenge()
    }
    fn precondition_gate(&self) -> bool {
        (**self).precondition_gate()
    }
    fn may_block(&self) -> bool {
        (**self).may_block()
    }
}

/// An authenticator built from a closure, optionally declaring the proxy
/// headers it depends on and a challenge.
pub struct FnAuthenticator<F> {
    f: F,
    proxy_headers: Vec<String>,
    challenge: Option<String>,
}

/// Wrap a closure as an [`Authenticator`].
pub fn from_fn<F>(f: F) -> FnAuthenticator<F>
where
    F: Fn(&AuthRequest<'_>) -> Result<AuthContext, AuthFailure> + Send + Sync,
{
    FnAuthenticator { f, proxy_headers: Vec::new(), challenge: None }
}

impl<F> FnAuthenticator<F> {
    /// Declare headers a reverse proxy must inject for this to succeed.
    pub fn with_proxy_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = headers.into_iter().map(Into::into).collect();
        merge_header_names(&mut self.proxy_headers, names);
        self
    }

    /// The `WWW-Authenticate` challenge to send on a 401.
    pub fn with_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.challenge = Some(challenge.into());
        self
    }
}

impl<F> std::fmt::Debug for FnAuthenticator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnAuthenticator")
            .field("proxy_headers", &self.proxy_headers)
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl<F> Authenticator for FnAuthenticator<F>
where
    F: Fn(&AuthRequest<'_>) -> Result<AuthContext, AuthFailure> + Send + Sync,
{
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        (self.f)(req)
    }
    fn proxy_headers(&self) -> Vec<String> {
        self.proxy_headers.clone()
    }
    fn challenge(&self) -> Option<String> {
        self.challenge.clone()
    }
}

/// Append `more` to `into`, skipping names already present (header names
/// compare case-insensitively); first-seen order is kept.
pub fn merge_header_names(into: &mut Vec<String>, more: impl IntoIterator<Item = String>) {
    for name in more {
        if !into.iter().any(|have| have.eq_ignore_ascii_case(&name)) {
            into.push(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::AuthReason;

    #[test]
    fn closure_authenticator_declares() {
        let auth = from_fn(|req| {
            if req.headers.contains_key("x-ok") {
                Ok(AuthContext::authenticated("custom", "alice"))
            } else {
                Err(AuthFailure::missing("no x-ok"))
            }
        })
        .with_proxy_headers(["X-Proxy-Id", "x-proxy-id", "X-Other"])
        .with_challenge("Bearer");
        assert_eq!(auth.proxy_headers(), ["X-Proxy-Id", "X-Other"]);
        assert_eq!(auth.challenge().as_deref(), Some("Bearer"));

        let mut headers = http::HeaderMap::new();
        let err = auth.authenticate(&AuthRequest::new(&headers)).unwrap_err();
        assert_eq!(err.reason, AuthReason::MissingCredential);
        headers.insert("x-ok", http::HeaderValue::from_static("1"));
        let ctx = auth.authenticate(&AuthRequest::new(&headers)).unwrap();
        assert_eq!(ctx.principal, "alice");

        // Shared and boxed forms delegate everything.
        let shared: Arc<dyn Authenticator> = Arc::new(auth);
        assert_eq!(shared.proxy_headers().len(), 2);
        let boxed: Box<dyn Authenticator> = Box::new(shared);
        assert_eq!(boxed.challenge().as_deref(), Some("Bearer"));
        assert!(boxed.authenticate(&AuthRequest::new(&headers)).is_ok());
    }
}
