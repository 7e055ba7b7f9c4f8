//! The HTTP worker flags (`--host`, `--port`, `--prefix`, the caps,
//! compression, CORS and token settings), flattened into a worker's own
//! `clap` parser, and their mapping onto [`HttpConfig`].

use std::net::{IpAddr, SocketAddr};

use std::sync::Arc;

use vgi_rpc_auth::{BearerTokens, Chain, XfccAuthenticator};
use vgi_rpc_token::{Key, Keyring};

use crate::auth::AuthSettings;
use crate::config::HttpConfig;

/// HTTP flags. The worker itself owns `--http [PORT]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HttpArgs {
    /// HTTP bind address.
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// HTTP port (0 picks a free one); `--http PORT` also sets it.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// URL prefix of every route (default: none).
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub prefix: String,
    /// Largest request body accepted, before and after decompression (413 beyond).
    #[arg(long, value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Hard cap on a response's Arrow IPC body (strict fail beyond).
    #[arg(long, value_name = "BYTES")]
    pub max_response_bytes: Option<u64>,
    /// Cap on externalized bytes per response (advertised).
    #[arg(long, value_name = "BYTES")]
    pub max_externalized_response_bytes: Option<u64>,
    /// Never compress responses (advertises an empty VGI-Supported-Encodings).
    #[arg(long)]
    pub no_compression: bool,
    /// Allow this origin cross-origin (repeatable); CORS is off without it.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,
    /// Hex-encoded 32-byte key sealing stream tokens (default: random per process).
    #[arg(long, value_name = "HEX")]
    pub token_key: Option<String>,
    /// Disable the resolved-call cache: every continuation opens its call token.
    #[arg(long)]
    pub no_call_state_cache: bool,
    /// Stream-token lifetime in seconds (0 disables expiry).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub token_ttl: u64,
    /// Require `Authorization: Bearer TOKEN`, naming PRINCIPAL (repeatable).
    #[arg(long, value_name = "PRINCIPAL=TOKEN")]
    pub bearer_token: Vec<String>,
    /// Accept mTLS identities from `x-forwarded-client-cert` sent by these proxies (IP or CIDR, repeatable).
    #[arg(long, value_name = "CIDR")]
    pub xfcc_trusted_proxy: Vec<String>,
}

impl HttpArgs {
    /// The address to bind; `port` from `--http PORT` wins over `--port`.
    pub fn bind_addr(&self, http_port: Option<u16>) -> Result<SocketAddr, String> {
        let ip: IpAddr = self.host.parse().map_err(|e| format!("--host {}: {e}", self.host))?;
        Ok(SocketAddr::new(ip, http_port.filter(|p| *p != 0).or(self.port).unwrap_or(0)))
    }

    /// The server configuration these flags describe.
    pub fn config(&self) -> Result<HttpConfig, String> {
        let keyring = match &self.token_key {
            Some(hex) => Some(Keyring::new(Key::from_hex(hex).map_err(|e| format!("--token-key: {e}"))?)),
            None => None,
        };
        let mut config = HttpConfig {
            prefix: self.prefix.clone(),
            max_request_bytes: self.max_request_bytes,
            max_response_bytes: self.max_response_bytes,
            max_externalized_response_bytes: self.max_externalized_response_bytes,
            cors_origins: self.cors_origin.clone(),
            keyring,
            token_ttl: std::time::Duration::from_secs(self.token_ttl),
            ..HttpConfig::default()
        };
        if self.no_compression {
            config.response_codecs.clear();
        }
        if self.no_call_state_cache {
            config.call_state_cache_entries = 0;
        }
        config.auth = self.auth()?;
        Ok(config)
    }

    /// Bearer tokens and/or XFCC identities; either one admits a caller.
    fn auth(&self) -> Result<Option<AuthSettings>, String> {
        let mut chain = Chain::new();
        if !self.bearer_token.is_empty() {
            let mut tokens = BearerTokens::new();
            for pair in &self.bearer_token {
                let Some((principal, token)) = pair.split_once('=').filter(|(p, t)| !p.is_empty() && !t.is_empty())
                else {
                    return Err(format!("--bearer-token {pair:?}: expected PRINCIPAL=TOKEN"));
                };
                tokens = tokens.with_token(token, principal);
            }
            chain = chain.or(tokens);
        }
        if !self.xfcc_trusted_proxy.is_empty() {
            let xfcc = XfccAuthenticator::new(self.xfcc_trusted_proxy.iter().map(String::as_str))
                .map_err(|e| format!("--xfcc-trusted-proxy: {e}"))?;
            chain = chain.or(xfcc);
        }
        Ok((!chain.is_empty()).then(|| AuthSettings::new(Arc::new(chain))))
    }
}
