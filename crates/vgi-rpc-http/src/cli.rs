//! The HTTP worker flags (`--host`, `--port`, `--prefix`, the caps,
//! compression, CORS, token, authentication, proxy-proof and per-principal
//! quota settings, and the human pages), flattened into a worker's own
//! `clap` parser, and their mapping onto [`HttpConfig`].
//!
//! A proxy-proof gate (`--proof-mode allow|require`) is ANDed with the
//! credential flags as `RequireAll(gate, credential)`, gate first; alone, the
//! gate admits whoever carries a valid proof. A bad proof configuration is a
//! startup error, never a silent downgrade to `off`.

use std::net::{IpAddr, SocketAddr};

use std::sync::Arc;
use std::time::Duration;

use vgi_rpc_auth::proof::{parse_secrets, ProofMode, ProxyProofConfig, ProxyProofGate, DEFAULT_CAPACITY, SECRETS_ENV};
use vgi_rpc_auth::{Authenticator, BearerTokens, Chain, RequireAll, XfccAuthenticator};
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
    /// Hosting cap on a request body before and after decompression, applied
    /// even without --max-request-bytes (the advertised cap is the smaller;
    /// default 268435456, 256 MiB).
    #[arg(long, value_name = "BYTES")]
    pub hosting_max_request_bytes: Option<usize>,
    /// Hard cap on a response's Arrow IPC body (strict fail beyond).
    #[arg(long, value_name = "BYTES")]
    pub max_response_bytes: Option<u64>,
    /// Cap on externalized bytes per response (advertised).
    #[arg(long, value_name = "BYTES")]
    pub max_externalized_response_bytes: Option<u64>,
    /// Never compress responses (advertises an empty VGI-Supported-Encodings).
    #[arg(long)]
    pub no_compression: bool,
    /// zstd level of compressed responses (1-22).
    #[arg(long, value_name = "LEVEL", default_value_t = 1)]
    pub compression_level: i32,
    /// gzip level of compressed responses (0-9).
    #[arg(long, value_name = "LEVEL", default_value_t = 1)]
    pub gzip_level: u32,
    /// Allow this origin cross-origin (repeatable); CORS is off without it.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,
    /// Access-Control-Max-Age of a CORS preflight answer, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::config::DEFAULT_CORS_MAX_AGE)]
    pub cors_max_age: u32,
    /// The landing, describe and 404 pages.
    #[command(flatten)]
    pub pages: PageArgs,
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
    /// Proxy proof: `off` (no gate), `allow` (verify and record, never deny) or `require` (401 without a valid proof).
    #[arg(long, value_name = "MODE", default_value = "off", value_parser = parse_mode)]
    pub proof_mode: ProofMode,
    /// This worker's identifier, folded into every proof (required unless the mode is off).
    #[arg(long, value_name = "ID")]
    pub proof_origin_id: Option<String>,
    /// Accepted proof keys, `KID:HEX64,...` (default: the VGI_PROXY_PROOF_SECRETS environment variable).
    #[arg(long, value_name = "KID:HEX,...")]
    pub proof_secrets: Option<String>,
    /// Half-width of the proof timestamp window, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub proof_skew: u64,
    /// Do not reject replayed proof nonces (the timestamp window alone bounds replay).
    #[arg(long)]
    pub proof_no_replay_cache: bool,
    /// Hard cap on remembered proof nonces (oldest evicted beyond it).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CAPACITY)]
    pub proof_replay_capacity: usize,
    /// Seconds a draining worker (SIGTERM/SIGINT) waits for in-flight
    /// requests before closing every connection.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::config::DEFAULT_DRAIN_GRACE.as_secs_f64())]
    pub drain_grace: f64,
    /// Seconds a client has to send a request's headers (default: the idle timeout).
    #[arg(long, value_name = "SECONDS")]
    pub header_read_timeout: Option<f64>,
    /// Seconds a client has to send a request body after its headers (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::config::DEFAULT_BODY_READ_TIMEOUT.as_secs_f64())]
    pub body_read_timeout: f64,
    /// Worker threads of the HTTP runtime (default: one per core); 1 gives a
    /// few latency-bound clients fewer cross-thread wake-ups per call.
    #[arg(long, value_name = "N")]
    pub http_threads: Option<std::num::NonZeroUsize>,
    /// Run every handler off the runtime thread, even a method whose recent
    /// calls were all quick (within 100 µs), which by default runs inline.
    #[arg(long)]
    pub no_inline_handlers: bool,
    /// Per-principal quotas (they configure the server: build it with `quotas.settings()`).
    #[command(flatten)]
    pub quotas: crate::quota::QuotaArgs,
}

/// Flags of the human pages.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PageArgs {
    /// Do not serve the landing page at `{prefix}/`.
    #[arg(long)]
    pub no_landing_page: bool,
    /// Do not serve the API reference page at `{prefix}/describe`.
    #[arg(long)]
    pub no_describe_page: bool,
    /// Answer browsers with the JSON 404 instead of the HTML 404 page.
    #[arg(long)]
    pub no_not_found_page: bool,
    /// Link the pages to the service's source repository (http:// or https://).
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,
    /// Title of the pages (default: the primary protocol's name).
    #[arg(long, value_name = "TEXT")]
    pub page_title: Option<String>,
    /// Text of the pages' logo mark, at most 8 characters (default: the title's initials).
    #[arg(long, value_name = "TEXT")]
    pub page_logo_text: Option<String>,
    /// Accent colour of the pages, `#rgb` or `#rrggbb`.
    #[arg(long, value_name = "COLOUR", value_parser = parse_colour)]
    pub page_accent_color: Option<crate::pages::Colour>,
}

impl PageArgs {
    /// The page settings these flags describe.
    pub fn settings(&self) -> Result<crate::pages::PageSettings, String> {
        let settings = crate::pages::PageSettings {
            landing: !self.no_landing_page,
            describe: !self.no_describe_page,
            not_found: !self.no_not_found_page,
            repo_url: self.repo_url.clone(),
            branding: crate::pages::Branding {
                title: self.page_title.clone(),
                logo_text: self.page_logo_text.clone(),
                accent: self.page_accent_color.clone(),
            },
        };
        settings.validate().map_err(|e| e.to_string())?;
        Ok(settings)
    }
}

fn parse_colour(text: &str) -> Result<crate::pages::Colour, String> {
    crate::pages::Colour::parse(text).map_err(|e| e.to_string())
}

/// A non-negative, finite number of seconds.
fn seconds(flag: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("{flag} {value}: expected a non-negative number of seconds"))
}

fn parse_mode(text: &str) -> Result<ProofMode, String> {
    text.parse().map_err(|e: vgi_rpc_auth::ProofConfigError| e.to_string())
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
            hosting_max_request_bytes: self
                .hosting_max_request_bytes
                .unwrap_or(crate::config::DEFAULT_HOSTING_MAX_REQUEST_BYTES),
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
        config.compression = crate::encoding::CompressionLevels { zstd: self.compression_level, gzip: self.gzip_level }
            .validated()
            .map_err(|e| match e {
                crate::encoding::LevelError::Zstd(_) => format!("--compression-level: {e}"),
                crate::encoding::LevelError::Gzip(_) => format!("--gzip-level: {e}"),
            })?;
        config.cors_max_age = Some(self.cors_max_age);
        config.pages = self.pages.settings()?;
        config.drain_grace = seconds("--drain-grace", self.drain_grace)?;
        config.header_read_timeout =
            self.header_read_timeout.map(|s| seconds("--header-read-timeout", s)).transpose()?;
        config.body_read_timeout =
            Some(seconds("--body-read-timeout", self.body_read_timeout)?).filter(|t| !t.is_zero());
        config.runtime_threads = self.http_threads;
        if self.no_inline_handlers {
            config.inline_handler_limit = None;
        }
        if self.no_call_state_cache {
            config.call_state_cache_entries = 0;
        }
        let gate = self.proof_gate()?;
        config.proxy_proof_required = gate.as_ref().is_some_and(|g| g.mode() == ProofMode::Require);
        let credential = self.credential()?;
        let authenticator: Option<Arc<dyn Authenticator>> = match (gate, credential) {
            (Some(gate), Some(credential)) => Some(Arc::new(RequireAll::new().gate(gate).credential(credential))),
            (Some(gate), None) => Some(Arc::new(RequireAll::new().gate(gate))),
            (None, Some(credential)) => Some(Arc::new(credential)),
            (None, None) => None,
        };
        config.auth = authenticator.map(AuthSettings::new);
        Ok(config)
    }

    /// The proof gate, when `--proof-mode` is not `off`. Secrets come from
    /// `--proof-secrets`, else from `VGI_PROXY_PROOF_SECRETS`.
    fn proof_gate(&self) -> Result<Option<ProxyProofGate>, String> {
        if self.proof_mode == ProofMode::Off {
            return Ok(None);
        }
        let raw = match &self.proof_secrets {
            Some(raw) => raw.clone(),
            None => std::env::var(SECRETS_ENV).unwrap_or_default(),
        };
        let secrets = parse_secrets(&raw).map_err(|e| format!("--proof-secrets: {e}"))?;
        let config = ProxyProofConfig {
            mode: self.proof_mode,
            origin_id: self.proof_origin_id.clone().unwrap_or_default(),
            secrets,
            skew: Duration::from_secs(self.proof_skew),
            replay_capacity: (!self.proof_no_replay_cache).then_some(self.proof_replay_capacity),
        };
        ProxyProofGate::new(config).map(Some).map_err(|e| format!("--proof-mode {}: {e}", self.proof_mode))
    }

    /// Serve `server` as a worker: bind (`--http PORT` wins over `--port`),
    /// print `PORT:<n>` on stdout and flush, then serve until SIGTERM/SIGINT.
    /// `adjust` may change the configuration these flags describe.
    pub fn serve_worker(
        &self,
        server: vgi_rpc_core::Server,
        http_port: Option<u16>,
        adjust: impl FnOnce(&mut HttpConfig),
    ) -> Result<(), String> {
        self.serve_worker_with(server, http_port, adjust, |router, _| router)
    }

    /// [`HttpArgs::serve_worker`] with a hook that may extend the router
    /// (given the server's drain switch and sticky sessions).
    pub fn serve_worker_with(
        &self,
        server: vgi_rpc_core::Server,
        http_port: Option<u16>,
        adjust: impl FnOnce(&mut HttpConfig),
        extend: impl FnOnce(axum::Router, &crate::ServeHandles) -> axum::Router,
    ) -> Result<(), String> {
        let addr = self.bind_addr(http_port)?;
        let mut config = self.config()?;
        adjust(&mut config);
        let announce = |bound: std::net::SocketAddr| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "PORT:{}", bound.port());
            let _ = out.flush();
        };
        crate::serve_http_with(Arc::new(server), config, addr, announce, extend).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Bearer tokens and/or XFCC identities; either one admits a caller.
    fn credential(&self) -> Result<Option<Chain>, String> {
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
        Ok((!chain.is_empty()).then_some(chain))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        http: HttpArgs,
    }

    fn args(flags: &[&str]) -> HttpArgs {
        Cli::try_parse_from(std::iter::once("worker").chain(flags.iter().copied())).expect("flags").http
    }

    fn secrets() -> String {
        format!("edge:{}", "11".repeat(32))
    }

    #[test]
    fn proof_flags_build_the_gate_and_capability() {
        let s = secrets();
        let config = args(&["--proof-mode", "require", "--proof-origin-id", "w1", "--proof-secrets", &s])
            .config()
            .expect("config");
        assert!(config.proxy_proof_required);
        let auth = config.auth.expect("auth");
        assert_eq!(auth.authenticator.proxy_headers(), ["VGI-Proxy-Proof"]);

        let config = args(&["--proof-mode", "allow", "--proof-origin-id", "w1", "--proof-secrets", &s])
            .config()
            .expect("config");
        assert!(!config.proxy_proof_required);
        assert!(config.auth.expect("auth").authenticator.proxy_headers().is_empty());

        let off = args(&[]).config().expect("config");
        assert!(!off.proxy_proof_required && off.auth.is_none());
        assert_eq!(args(&[]).proof_mode, ProofMode::Off);
    }

    #[test]
    fn proof_gate_is_anded_with_a_bearer_token() {
        let s = secrets();
        let config = args(&[
            "--proof-mode",
            "require",
            "--proof-origin-id",
            "w1",
            "--proof-secrets",
            &s,
            "--bearer-token",
            "alice=t0k",
        ])
        .config()
        .expect("config");
        let auth = config.auth.expect("auth");
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", http::HeaderValue::from_static("Bearer t0k"));
        let refused = auth.authenticator.authenticate(&vgi_rpc_auth::AuthRequest::new(&headers));
        assert_eq!(refused.map(|c| c.principal).unwrap_err().reason, vgi_rpc_auth::AuthReason::ProxyRequired);
    }

    #[test]
    fn page_cors_and_compression_flags_reach_the_config() {
        let config = args(&[]).config().expect("defaults");
        assert!(config.pages.landing && config.pages.describe && config.pages.not_found);
        assert_eq!(config.cors_max_age, Some(7200));
        assert_eq!(config.compression, crate::encoding::CompressionLevels::default());
        let config = args(&[
            "--no-landing-page",
            "--no-describe-page",
            "--no-not-found-page",
            "--repo-url",
            "https://example.com/repo",
            "--page-title",
            "Billing",
            "--page-logo-text",
            "BL",
            "--page-accent-color",
            "#AA3300",
            "--cors-max-age",
            "60",
            "--compression-level",
            "9",
            "--gzip-level",
            "6",
        ])
        .config()
        .expect("config");
        let pages = &config.pages;
        assert!(!pages.landing && !pages.describe && !pages.not_found);
        assert_eq!(pages.repo_url.as_deref(), Some("https://example.com/repo"));
        assert_eq!(pages.branding.title.as_deref(), Some("Billing"));
        assert_eq!(pages.branding.logo_text.as_deref(), Some("BL"));
        assert_eq!(pages.branding.accent.as_ref().map(|c| c.as_str()), Some("#aa3300"));
        assert_eq!(config.cors_max_age, Some(60));
        assert_eq!(config.compression, crate::encoding::CompressionLevels { zstd: 9, gzip: 6 });
        for (flags, starts) in [
            (&["--repo-url", "javascript:alert(1)"][..], "repository URL"),
            (&["--compression-level", "23"][..], "--compression-level"),
            (&["--gzip-level", "10"][..], "--gzip-level"),
            (&["--page-logo-text", "much-too-long"][..], "logo text"),
        ] {
            let err = args(flags).config().map(|_| ()).unwrap_err();
            assert!(err.starts_with(starts), "{flags:?}: {err}");
        }
        assert!(Cli::try_parse_from(["worker", "--page-accent-color", "red"]).is_err());
    }

    #[test]
    fn runtime_threads_and_inline_handler_flags_reach_the_config() {
        let config = args(&[]).config().expect("defaults");
        assert_eq!(config.runtime_threads, None);
        assert_eq!(config.inline_handler_limit, Some(crate::config::DEFAULT_INLINE_HANDLER_LIMIT));
        let config = args(&["--http-threads", "1", "--no-inline-handlers"]).config().expect("config");
        assert_eq!(config.runtime_threads.map(|n| n.get()), Some(1));
        assert_eq!(config.inline_handler_limit, None);
        assert!(Cli::try_parse_from(["worker", "--http-threads", "0"]).is_err(), "zero threads is refused");
    }

    #[test]
    fn bad_proof_configuration_refuses_to_start() {
        let s = secrets();
        let cases: [&[&str]; 5] = [
            &["--proof-mode", "require", "--proof-secrets", &s],
            &["--proof-mode", "allow", "--proof-origin-id", "w1", "--proof-secrets", "edge:abc"],
            &["--proof-mode", "require", "--proof-origin-id", "w1", "--proof-secrets", ""],
            &["--proof-mode", "require", "--proof-origin-id", "bad id", "--proof-secrets", &s],
            &["--proof-mode", "require", "--proof-origin-id", "w1", "--proof-secrets", &s, "--proof-skew", "0"],
        ];
        for flags in cases {
            let err = args(flags).config().map(|_| ()).unwrap_err();
            assert!(err.starts_with("--proof"), "{flags:?}: {err}");
            assert!(!err.contains(&"11".repeat(32)), "secret leaked: {err}");
        }
        assert!(Cli::try_parse_from(["worker", "--proof-mode", "maybe"]).is_err());
    }
}
