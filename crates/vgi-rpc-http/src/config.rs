//! Server settings: route prefix, request/response caps, compression
//! (codecs and levels), CORS (origins, preflight max-age), stream-token
//! keys, the human pages, and the connection limits (cap, idle timeout).
//!
//! Safe defaults: even with no advertised `max_request_bytes`, a request
//! body is capped at [`DEFAULT_HOSTING_MAX_REQUEST_BYTES`] before and after
//! decompression; at most [`DEFAULT_MAX_CONNECTIONS`] connections are served
//! at once (further ones wait in the listen backlog), never more than the
//! process's descriptor limit allows; and a keep-alive connection idle for
//! [`DEFAULT_IDLE_TIMEOUT`] is closed.

use std::time::Duration;

use vgi_rpc_token::Keyring;

use crate::auth::AuthSettings;
use crate::encoding::{Codec, CompressionLevels};
use crate::pages::PageSettings;

/// Default hosting cap on a request body (256 MiB), encoded and decoded.
/// Larger inputs belong in external storage (the upload-URL flow).
pub const DEFAULT_HOSTING_MAX_REQUEST_BYTES: usize = 256 * 1024 * 1024;
/// Default most connections served at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default idle timeout of a keep-alive connection (also the time a client
/// has to send a request's headers).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time a client has to send a request body once its head arrived.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `Access-Control-Max-Age` of a CORS preflight answer (2 hours).
pub const DEFAULT_CORS_MAX_AGE: u32 = 7200;
/// Default time a draining server waits for in-flight requests before it
/// closes every connection and returns.
pub const DEFAULT_DRAIN_GRACE: Duration = Duration::from_secs(30);
/// The default [`HttpConfig::inline_handler_limit`]: the time tokio suggests
/// a task may run between yields.
pub const DEFAULT_INLINE_HANDLER_LIMIT: Duration = Duration::from_micros(100);

/// How the HTTP server behaves. `Default` matches the reference worker's
/// `--http` mode (no prefix, no advertised request cap, zstd and gzip
/// responses, no CORS) plus the safe defaults in the module docs.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Route prefix (`""` or `"/vgi"`, no trailing slash).
    pub prefix: String,
    /// Largest request body accepted, encoded and decoded (`413` beyond).
    pub max_request_bytes: Option<usize>,
    /// Hosting cap on a request body, encoded and decoded, applied even when
    /// `max_request_bytes` is unset; the effective and advertised cap is the
    /// smaller of the two ([`HttpConfig::effective_max_request_bytes`]).
    pub hosting_max_request_bytes: usize,
    /// Most connections served at once; further clients wait in the listen
    /// backlog. Clamped at bind time to what the descriptor limit allows.
    pub max_connections: usize,
    /// Close a keep-alive connection after this long without a request
    /// (and a connection whose request headers take longer); `None` never.
    pub idle_timeout: Option<Duration>,
    /// Hard cap on a response's Arrow IPC body.
    pub max_response_bytes: Option<u64>,
    /// Cap on bytes uploaded to external storage per response, advertised
    /// (`VGI-Max-Externalized-Response-Bytes`); the server's
    /// [`Externalization`](vgi_rpc_core::Externalization) policy enforces
    /// its own `max_response_bytes`, so set both to the same value.
    pub max_externalized_response_bytes: Option<u64>,
    /// Largest object a client may put through a vended upload URL,
    /// advertised as `VGI-Max-Upload-Bytes` when upload URLs are served.
    pub max_upload_bytes: Option<u64>,
    /// Codings the server produces for responses; empty disables response compression.
    pub response_codecs: Vec<Codec>,
    /// Levels the response codecs compress at.
    pub compression: CompressionLevels,
    /// Origins allowed cross-origin; empty disables CORS entirely.
    pub cors_origins: Vec<String>,
    /// `Access-Control-Max-Age` of a preflight answer in seconds; `None`
    /// omits the header.
    pub cors_max_age: Option<u32>,
    /// The human pages (landing, describe, browser 404) and their branding.
    pub pages: PageSettings,
    /// Resolved calls cached per process; 0 makes every continuation open its call token.
    pub call_state_cache_entries: usize,
    /// Keys sealing stream tokens; `None` draws a random key per process.
    pub keyring: Option<Keyring>,
    /// Token lifetime; zero disables expiry.
    pub token_ttl: Duration,
    /// Authentication; `None` serves every caller as anonymous.
    pub auth: Option<AuthSettings>,
    /// Advertise `VGI-Proxy-Proof-Required: true` on every response. Set it
    /// beside a `require`-mode proof gate in `auth`: the server cannot infer
    /// the posture from an opaque authenticator (`docs/proxy-proof-spec.md` §2.2).
    pub proxy_proof_required: bool,
    /// Sticky sessions (WIRE_PROTOCOL.md §17); `None` disables them and
    /// leaves the wire exactly as without the feature.
    pub sticky: Option<crate::sticky::StickySettings>,
    /// Time a client has to send a request's headers; `None` uses `idle_timeout`.
    pub header_read_timeout: Option<Duration>,
    /// Time a client has to send a request body after its head; `None` never.
    pub body_read_timeout: Option<Duration>,
    /// How long a drain (SIGTERM, or [`crate::serve::Drain::start`]) waits for
    /// in-flight requests before closing every connection.
    pub drain_grace: Duration,
    /// A method whose latest calls all finished within this time runs its
    /// handler inline on the runtime thread (see `inline`); the rest run on
    /// the blocking pool (`spawn_blocking`: one pool thread per slow call in
    /// flight; on [`crate::serve::serve_http`]'s runtime, gone after 100 ms
    /// idle). `None` (`--no-inline-handlers`):
    /// never inline, every handler under `block_in_place`. Inline dispatch
    /// saves a quick call the hand-off between threads (about 6 context
    /// switches per call, a quarter of a small HTTP call's server CPU). Turn
    /// it off when a handler is usually quick but sometimes waits for another
    /// request to the same server (a rendezvous between two callers):
    /// inline handlers that all wait at once hold every runtime thread.
    pub inline_handler_limit: Option<Duration>,
    /// Worker threads of the runtime that [`crate::serve::serve_http`]
    /// starts; `None`: one per core. One thread costs a latency-bound client
    /// fewer cross-thread wake-ups per call (handlers that block still move
    /// off it under `block_in_place`), at the price of serving every
    /// connection's I/O from one core.
    pub runtime_threads: Option<std::num::NonZeroUsize>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            max_request_bytes: None,
            hosting_max_request_bytes: DEFAULT_HOSTING_MAX_REQUEST_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_response_bytes: None,
            max_externalized_response_bytes: None,
            max_upload_bytes: None,
            response_codecs: vec![Codec::Zstd, Codec::Gzip],
            compression: CompressionLevels::default(),
            cors_origins: Vec::new(),
            cors_max_age: Some(DEFAULT_CORS_MAX_AGE),
            pages: PageSettings::default(),
            call_state_cache_entries: 4096,
            keyring: None,
            token_ttl: vgi_rpc_token::seal::DEFAULT_TTL,
            auth: None,
            proxy_proof_required: false,
            sticky: None,
            header_read_timeout: None,
            body_read_timeout: Some(DEFAULT_BODY_READ_TIMEOUT),
            drain_grace: DEFAULT_DRAIN_GRACE,
            inline_handler_limit: Some(DEFAULT_INLINE_HANDLER_LIMIT),
            runtime_threads: None,
        }
    }
}

impl HttpConfig {
    /// The request cap in force: `max_request_bytes` when set, never above
    /// the hosting cap.
    pub fn effective_max_request_bytes(&self) -> usize {
        self.max_request_bytes.map_or(self.hosting_max_request_bytes, |n| n.min(self.hosting_max_request_bytes))
    }

    /// Apply a worker's shared connection flags (`--max-connections`,
    /// `--connection-idle-timeout`): `None` keeps the HTTP default, and an
    /// idle timeout of `Some(None)` means never.
    pub fn apply_connection_flags(&mut self, max_connections: Option<usize>, idle_timeout: Option<Option<Duration>>) {
        if let Some(n) = max_connections {
            self.max_connections = n;
        }
        if let Some(idle) = idle_timeout {
            self.idle_timeout = idle;
        }
    }

    /// Normalise the prefix: leading slash, no trailing slash, `"/"` → `""`.
    pub fn normalized_prefix(&self) -> String {
        let trimmed = self.prefix.trim_matches('/');
        if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        }
    }
}
