//! Authentication at the HTTP edge (§10 "Authentication",
//! `docs/unauthorized-spec.md`): the configured authenticator runs before
//! the body is read; a refusal is a `401` with a reason code, never Arrow.
//! `{prefix}/health`, `/.well-known/…` and every `OPTIONS` are exempt (they
//! are served as the anonymous caller); a proxy-proof gate inherits exactly
//! these exemptions (`docs/proxy-proof-spec.md` §2.3). An authenticator that
//! could not reach its authority ([`AuthFailure::unavailable`]) is a `503`
//! with `Retry-After`, never a `401`.

use std::sync::Arc;

use axum::response::Response;
use http::header::{HeaderName, HeaderValue, ACCEPT};
use http::{HeaderMap, StatusCode};
use vgi_rpc_auth::{unauthorized, AuthFailure, AuthRequest, Authenticator, ProtectedResourceMetadata};
use vgi_rpc_core::{AuthContext, DispatchHook};

use crate::app::response;

/// How requests are authenticated.
#[derive(Clone)]
pub struct AuthSettings {
    /// Decides who is calling; a refusal is a `401`.
    pub authenticator: Arc<dyn Authenticator>,
    /// Headers a reverse proxy must inject, beyond those the authenticator
    /// declares itself (for custom authenticators the server cannot inspect).
    pub proxy_headers: Vec<String>,
    /// RFC 9728 metadata served at `/.well-known/oauth-protected-resource`.
    pub resource_metadata: Option<ProtectedResourceMetadata>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings").field("proxy_headers", &self.proxy_headers).finish_non_exhaustive()
    }
}

impl AuthSettings {
    /// Settings around one authenticator.
    pub fn new(authenticator: Arc<dyn Authenticator>) -> Self {
        Self { authenticator, proxy_headers: Vec::new(), resource_metadata: None }
    }

    /// Every header the service's authentication depends on a proxy for.
    pub(crate) fn all_proxy_headers(&self) -> Vec<String> {
        let mut all = self.authenticator.proxy_headers();
        for h in &self.proxy_headers {
            if !all.iter().any(|a| a.eq_ignore_ascii_case(h)) {
                all.push(h.clone());
            }
        }
        all
    }
}

/// Authenticate a request, or build its `401` (telling `hooks` of each
/// refusal; an unreachable authority's `503` is not a refusal).
pub(crate) fn authenticate(
    settings: &AuthSettings,
    hooks: &[Arc<dyn DispatchHook>],
    headers: &HeaderMap,
    remote: Option<std::net::SocketAddr>,
    path: &str,
) -> Result<AuthContext, Response> {
    let req = AuthRequest { headers, remote_addr: remote, path };
    settings.authenticator.authenticate(&req).map_err(|failure| {
        if failure.retry_after.is_none() && !hooks.is_empty() {
            let addr = remote.map(|a| a.to_string());
            for hook in hooks {
                hook.on_auth_failure(addr.as_deref(), failure.reason.as_str());
            }
        }
        refusal(settings, headers, &failure)
    })
}

fn refusal(settings: &AuthSettings, headers: &HeaderMap, failure: &AuthFailure) -> Response {
    if let Some(delay) = failure.retry_after {
        // Not a rejection: the authority could not answer. A 401 would make
        // every caller re-authenticate against a service that is merely down.
        let body = serde_json::json!({"error": "Service Unavailable", "description": "authentication unavailable"});
        let mut resp = response(StatusCode::SERVICE_UNAVAILABLE, "application/json", body.to_string());
        let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        resp.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        return resp;
    }
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    let challenge = settings.authenticator.challenge();
    let rendered = unauthorized(failure, accept, &settings.all_proxy_headers(), challenge.as_deref());
    let mut resp = response(StatusCode::UNAUTHORIZED, rendered.content_type, rendered.body);
    for (name, value) in rendered.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}

/// `GET /.well-known/oauth-protected-resource`, when configured.
pub(crate) fn resource_metadata(settings: Option<&AuthSettings>) -> Option<Response> {
    let metadata = settings?.resource_metadata.as_ref()?;
    Some(response(StatusCode::OK, "application/json", metadata.to_json().to_string()))
}
