//! Server settings: route prefix, request/response caps, compression,
//! CORS and stream-token keys.

use std::time::Duration;

use vgi_rpc_token::Keyring;

use crate::auth::AuthSettings;
use crate::encoding::Codec;

/// How the HTTP server behaves. `Default` matches the reference worker's
/// `--http` mode: no prefix, no caps, zstd and gzip responses, no CORS.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Route prefix (`""` or `"/vgi"`, no trailing slash).
    pub prefix: String,
    /// Largest request body accepted, encoded and decoded (`413` beyond).
    pub max_request_bytes: Option<usize>,
    /// Hard cap on a response's Arrow IPC body.
    pub max_response_bytes: Option<u64>,
    /// Cap on bytes uploaded to external storage per response (advertised;
    /// this server has no storage backend, so nothing is uploaded).
    pub max_externalized_response_bytes: Option<u64>,
    /// Codings the server produces for responses; empty disables response compression.
    pub response_codecs: Vec<Codec>,
    /// Origins allowed cross-origin; empty disables CORS entirely.
    pub cors_origins: Vec<String>,
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
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            max_request_bytes: None,
            max_response_bytes: None,
            max_externalized_response_bytes: None,
            response_codecs: vec![Codec::Zstd, Codec::Gzip],
            cors_origins: Vec::new(),
            call_state_cache_entries: 4096,
            keyring: None,
            token_ttl: vgi_rpc_token::seal::DEFAULT_TTL,
            auth: None,
            proxy_proof_required: false,
        }
    }
}

impl HttpConfig {
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
