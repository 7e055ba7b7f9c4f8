//! The axum application: one fallback handler that routes on the raw path
//! (so a `%` in a protocol segment is seen, never decoded), the framework
//! endpoints, and the headers every response carries. An unknown path
//! answers a browser with the HTML 404 page and everyone else with JSON.
//!
//! CORS and request ids are stamped here rather than by `tower-http`
//! layers: its `CorsLayer` adds a `Vary` header the reference does not send,
//! and the request id must be known to the handler (access log, error
//! batches) with the server's own id format; a deployment's other concerns
//! go in the caller's own layers on [`HttpApp::router`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Method, StatusCode};
use vgi_rpc_core::stateless::Route;
use vgi_rpc_core::{AuthContext, Server};
use vgi_rpc_token::{Key, Keyring, Sealer};

use crate::config::HttpConfig;
use crate::headers::{self, REQUEST_ID};
use crate::sticky::{SessionsHandle, Sticky, SESSION_SEGMENT};
use crate::tokens::SealedTokens;
use crate::{pages, rpc};

/// Everything a request handler needs, shared by all requests.
pub struct HttpApp {
    pub(crate) server: Arc<Server>,
    pub(crate) config: HttpConfig,
    pub(crate) prefix: String,
    pub(crate) tokens: SealedTokens,
    pub(crate) capabilities: Vec<(HeaderName, HeaderValue)>,
    pub(crate) cors: Vec<(HeaderName, HeaderValue)>,
    pub(crate) sticky: Option<Sticky>,
    pub(crate) pages: pages::Pages,
    pub(crate) inline: crate::inline::InlineHandlers,
    health_body: bytes::Bytes,
}

impl std::fmt::Debug for HttpApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpApp").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// Why an app could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The stream-state token key is unusable (wrong length, no randomness).
    #[error("token key: {0}")]
    Key(#[from] vgi_rpc_token::TokenError),
    /// `max_externalized_response_bytes` would be advertised but not
    /// enforced: the server's externalization policy carries another cap.
    #[error(
        "max_externalized_response_bytes is {advertised:?} in the HTTP config but {enforced:?} in the server's \
         externalization policy; set the same cap on both (Externalization::with_max_response_bytes)"
    )]
    ExternalCap {
        /// The cap in the HTTP config, in bytes.
        advertised: Option<u64>,
        /// The cap in the server's externalization policy, in bytes.
        enforced: Option<u64>,
    },
    /// The sticky-session settings cannot be served.
    #[error(transparent)]
    Sticky(#[from] crate::sticky::StickyError),
    /// The landing / describe page settings are invalid.
    #[error("pages: {0}")]
    Pages(#[from] pages::PageSettingsError),
    /// A response compression level is out of range.
    #[error("compression: {0}")]
    Compression(#[from] crate::encoding::LevelError),
}

impl HttpApp {
    /// An application serving `server` as `config` says.
    pub fn new(server: Arc<Server>, config: HttpConfig) -> Result<Self, AppError> {
        if let Some(policy) = server.externalization() {
            let advertised = config.max_externalized_response_bytes;
            if advertised.is_some() && advertised != policy.max_response_bytes {
                return Err(AppError::ExternalCap { advertised, enforced: policy.max_response_bytes });
            }
        }
        config.compression.validated()?;
        let prefix = config.normalized_prefix();
        let pages = pages::Pages::new(&server, &prefix, &config.pages)?;
        let keyring = match &config.keyring {
            Some(k) => k.clone(),
            None => Keyring::new(Key::random()?),
        };
        let sticky = match &config.sticky {
            Some(settings) => Some(Sticky::new(settings.clone(), keyring.clone(), &server)?),
            None => None,
        };
        let sealer = Sealer::new(keyring, server.clock().clone(), config.token_ttl);
        let tokens = SealedTokens::new(sealer, config.call_state_cache_entries);
        let capabilities = headers::capability_headers(&config, server.externalization());
        let cors = headers::cors_headers(&capabilities, config.sticky.as_ref());
        let health_body = serde_json::json!({
            "status": "ok",
            "server_id": server.server_id().as_ref(),
            "protocol": server.primary().map(|p| p.name()).unwrap_or(""),
        })
        .to_string()
        .into();
        let inline = crate::inline::InlineHandlers::new(&server, config.inline_handler_limit);
        Ok(Self { prefix, server, config, tokens, capabilities, cors, sticky, pages, inline, health_body })
    }

    /// The handle on this app's sticky sessions (drain, shutdown), when
    /// sessions are enabled.
    pub fn sessions(&self) -> Option<SessionsHandle> {
        self.sticky.as_ref().map(|s| SessionsHandle::new(s.registry.clone()))
    }

    /// The axum router. It is a tower `Service`, so the caller's own
    /// `tower::Layer`s (rate limits, tracing, auth gates) wrap it with
    /// `.layer(..)`; [`serve_http_with`](crate::serve_http_with) hands it to
    /// a hook for the same purpose.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower::limit::ConcurrencyLimitLayer;
    /// use vgi_rpc_core::{Protocol, Server};
    /// use vgi_rpc_http::{HttpApp, HttpConfig};
    ///
    /// let server = Server::builder().protocol(Protocol::new("Demo")).build()?;
    /// let router = HttpApp::new(Arc::new(server), HttpConfig::default())?
    ///     .router()
    ///     .layer(ConcurrencyLimitLayer::new(64));
    /// # drop(router);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn router(self) -> Router {
        Router::new().fallback(handle).with_state(Arc::new(self))
    }
}

/// A response with a body and content type.
pub(crate) fn response(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A JSON `{title, description}` error (the non-Arrow framework answers).
pub(crate) fn json_error(status: StatusCode, title: &str, description: &str) -> Response {
    let body = serde_json::json!({ "title": title, "description": description }).to_string();
    response(status, "application/json", body)
}

fn plain_not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "404 Not Found", "")
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut resp = json_error(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed", "");
    resp.headers_mut().insert(http::header::ALLOW, HeaderValue::from_static(allow));
    resp
}

async fn handle(State(app): State<Arc<HttpApp>>, req: Request) -> Response {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| app.server.next_request_id());
    let origin = req.headers().get(http::header::ORIGIN).cloned();
    let preflight = req.method() == Method::OPTIONS && req.headers().contains_key("access-control-request-method");
    let requested_headers = req.headers().get("access-control-request-headers").cloned();
    let mut resp = if preflight && !app.config.cors_origins.is_empty() {
        let mut resp = response(StatusCode::NO_CONTENT, "text/plain", Body::empty());
        let h = resp.headers_mut();
        h.insert("access-control-allow-methods", HeaderValue::from_static("GET, HEAD, POST, OPTIONS, DELETE"));
        h.insert(
            "access-control-allow-headers",
            requested_headers.unwrap_or_else(|| HeaderValue::from_static("Content-Type")),
        );
        if let Some(age) = app.config.cors_max_age {
            h.insert("access-control-max-age", HeaderValue::from(age));
        }
        resp
    } else {
        route(&app, req, &request_id).await
    };
    let h = resp.headers_mut();
    headers::stamp(h, &app.capabilities);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(REQUEST_ID, v);
    }
    if let Some(origin) = origin {
        let allowed =
            origin.to_str().map(|o| app.config.cors_origins.iter().any(|a| a == o || a == "*")).unwrap_or(false);
        if allowed {
            h.insert("access-control-allow-origin", origin);
            headers::stamp(h, &app.cors);
        }
    }
    resp
}

/// The 404 for a request: the HTML page for a browser (when on), else JSON.
fn not_found(app: &HttpApp, req: &Request) -> Response {
    app.pages.not_found(req.method(), req.headers(), req.uri().path()).unwrap_or_else(plain_not_found)
}

async fn route(app: &Arc<HttpApp>, req: Request, request_id: &str) -> Response {
    let path = req.uri().path().to_owned();
    if path == vgi_rpc_auth::WELL_KNOWN_PATH && req.method() == Method::GET {
        return crate::auth::resource_metadata(app.config.auth.as_ref()).unwrap_or_else(|| not_found(app, &req));
    }
    let Some(rest) = path.strip_prefix(app.prefix.as_str()) else {
        return not_found(app, &req);
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    // Everything but the health probe, `OPTIONS` and `/.well-known/` is
    // authenticated, before any body is read.
    let exempt = segments.as_slice() == ["health"] || method == Method::OPTIONS || path.starts_with("/.well-known/");
    let auth = match &app.config.auth {
        Some(settings) if !exempt => {
            let run = || crate::auth::authenticate(settings, app.server.hooks(), req.headers(), peer(&req), &path);
            match off_reactor_if(settings.authenticator.may_block(), run) {
                Ok(ctx) => Arc::new(ctx),
                Err(refusal) => return refusal,
            }
        }
        _ => Arc::new(AuthContext::anonymous()),
    };
    match (segments.as_slice(), &method) {
        ([""], &Method::GET) | ([""], &Method::HEAD) => app.pages.landing().unwrap_or_else(|| not_found(app, &req)),
        (["health"], m) if m == Method::GET || m == Method::HEAD || m == Method::OPTIONS => {
            let mut resp = response(StatusCode::OK, "application/json", app.health_body.clone());
            if m != Method::GET {
                let len = app.health_body.len();
                *resp.body_mut() = Body::empty();
                if m == Method::HEAD {
                    resp.headers_mut().insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
                }
            }
            resp
        }
        (["health"], _) => method_not_allowed("GET, HEAD, OPTIONS"),
        (["describe"], &Method::GET) | (["describe"], &Method::HEAD) => {
            app.pages.describe().unwrap_or_else(|| not_found(app, &req))
        }
        ([crate::upload::UPLOAD_URL_SEGMENT, "init"], &Method::POST) => {
            crate::upload::serve(app, req, request_id).await
        }
        ([SESSION_SEGMENT], &Method::DELETE) if app.sticky.is_some() => {
            delete_session(app, req.headers().clone(), auth).await
        }
        ([name], &Method::POST) if name.starts_with("__") && name.ends_with("__") => {
            rpc::reserved(app, name, request_id)
        }
        ([protocol, name], &Method::POST) => rpc::serve(app, req, protocol, name, Route::Unary, request_id, auth).await,
        ([protocol, name, "init"], &Method::POST) => {
            rpc::serve(app, req, protocol, name, Route::Init, request_id, auth).await
        }
        ([protocol, name, "exchange"], &Method::POST) => {
            rpc::serve(app, req, protocol, name, Route::Exchange, request_id, auth).await
        }
        ([protocol, _], _) | ([protocol, _, "init" | "exchange"], _) => {
            let hosted = !protocol.contains('%') && app.server.protocol(protocol).is_some();
            if hosted {
                method_not_allowed("POST")
            } else {
                not_found(app, &req)
            }
        }
        _ => not_found(app, &req),
    }
}

/// `DELETE {prefix}/__session__`: `204` when the caller's live session was
/// closed, `200` on every failure alike (no probing with a stolen token).
async fn delete_session(app: &Arc<HttpApp>, headers: http::HeaderMap, auth: Arc<AuthContext>) -> Response {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let delete = {
        let app = app.clone();
        move || app.sticky.as_ref().is_some_and(|s| s.delete(&headers, &auth))
    };
    // Closing waits for an in-flight call on the session: off the reactor.
    let closed = if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        tokio::task::block_in_place(delete)
    } else {
        tokio::task::spawn_blocking(delete).await.unwrap_or(false)
    };
    if closed {
        let mut resp = response(StatusCode::NO_CONTENT, "text/plain", Body::empty());
        resp.headers_mut().insert(crate::sticky::SESSION_CLOSE, HeaderValue::from_static("true"));
        resp
    } else {
        response(StatusCode::OK, "text/plain", Body::empty())
    }
}

/// The peer's socket address, when the router was served with connect info.
pub(crate) fn peer(req: &Request) -> Option<SocketAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr)
}

/// Run `f` with `block_in_place` when it may block and the runtime allows it
/// (multi-threaded), so a key fetch or a remote resolver does not stall the
/// other connections this reactor thread serves; inline otherwise.
fn off_reactor_if<R>(may_block: bool, f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let multi = Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if may_block && multi {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}
