//! `vgi-rpc-conformance`: the conformance worker, with the reference
//! worker's command line. With no transport flag (or `--pipe`) it serves
//! stdin/stdout and writes nothing else to stdout.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use vgi_rpc::http::cli::HttpArgs;
use vgi_rpc::stdio::cli::TransportArgs;
use vgi_rpc::stdio::serve_worker;
use vgi_rpc_conformance::{build_server, ConformanceOptions};
use vgi_rpc_storage::{
    FakeStorage, FetchConfig, HttpFetcher, LocalFileResolver, ObjectConfig, ObjectStorage, UrlPolicy,
};

#[derive(Debug, Parser)]
#[command(name = "vgi-rpc-conformance", about = "vgi-rpc conformance test server (Rust)")]
struct Args {
    #[command(flatten)]
    transport: TransportArgs,
    /// Serve over HTTP.
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "0", group = "transport")]
    http: Option<u16>,
    #[command(flatten)]
    http_args: HttpArgs,
    /// Refuse every HTTP RPC with 401; the reason comes from the
    /// X-Conformance-Auth-Reason request header (a conformance-fixture affordance).
    #[arg(long)]
    http_auth: bool,
    /// A fixed server id for logs and error batches (default: random).
    #[arg(long, value_name = "ID")]
    server_id: Option<String>,
    /// Register the vgi_rpc.Reflection.v1 binding.
    #[arg(long)]
    describe: bool,
    #[command(flatten)]
    access_log: vgi_rpc::logfile::AccessLogArgs,
    /// Log the access channel at DEBUG (request payloads are never logged).
    #[arg(long)]
    access_log_debug: bool,
    /// Base URL of a fake-storage backend. When set, server-produced batches
    /// above --externalize-threshold are uploaded and replaced on the wire by
    /// pointer batches (every transport); over HTTP the worker also vends
    /// upload URLs and, unless --max-request-bytes says otherwise, advertises
    /// the threshold as its request cap.
    #[arg(long, value_name = "URL", conflicts_with = "storage")]
    fake_storage: Option<String>,
    /// An object store for externalized batches, as --fake-storage but on
    /// S3 (s3://bucket/prefix), GCS (gs://…), Azure (az://…) or a local
    /// directory (file:///dir); credentials and endpoints come from the
    /// environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT, ...). Readers get
    /// presigned URLs (local: file:// URLs); cloud stores also vend
    /// presigned upload URLs over HTTP.
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// Lifetime of the presigned URLs --storage hands out.
    #[arg(long, value_name = "SECS", default_value_t = 3600, requires = "storage")]
    presign_expiry: u64,
    /// Let the worker fetch request pointers over plain http from loopback
    /// hosts (a local S3 server); otherwise --storage pointers must be https.
    #[arg(long, requires = "storage")]
    allow_loopback_http: bool,
    /// Bytes threshold above which server-produced batches are externalized.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    externalize_threshold: i64,
    /// Compression for externalized batches.
    #[arg(long, value_name = "CODEC", default_value = "none", value_parser = ["none", "zstd"])]
    compression: String,
    /// Encoded (on-wire) cap when resolving external request pointers.
    #[arg(long, value_name = "BYTES")]
    max_fetch_bytes: Option<u64>,
    /// Decoded cap when resolving external request pointers.
    #[arg(long, value_name = "BYTES")]
    max_decompressed_fetch_bytes: Option<u64>,
    /// Allow the fixture's 127.0.0.1 storage URL but reject a redirect to any
    /// other host (a test-only redirect-hop validation affordance).
    #[arg(long)]
    reject_localhost_redirects: bool,
    /// Also host conformance.TransportKind.v1, whose report_transport_kind
    /// answers the transport kind a call arrived on (a test affordance).
    #[arg(long)]
    transport_kind_probe: bool,
    /// Test-only: fail the first serve-start notification, then accept its
    /// retry (HTTP answers that first request with 500).
    #[arg(long)]
    fail_serve_start_once: bool,
    /// Serve HTTP without sticky sessions (on by default, as the reference worker).
    #[arg(long)]
    no_sticky: bool,
    /// Do not advertise the fixed conformance echo header
    /// (`x-vgi-conformance-echo: conformance-fixed-marker`).
    #[arg(long)]
    no_sticky_echo: bool,
    /// Another echo header for session-opening responses, `NAME=VALUE`
    /// (repeatable): the client replays `NAME: VALUE` on the session's later
    /// requests, so a proxy can route them to this worker (docs/deploy.md).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_echo_header)]
    sticky_echo: Vec<(String, String)>,
    /// Default sticky-session TTL in seconds (default 300).
    #[arg(long, value_name = "SECONDS")]
    sticky_ttl: Option<f64>,
    /// Authenticate the principal named in `X-Conformance-Principal`
    /// (anonymous without it): the sticky cross-principal fixture.
    #[arg(long, conflicts_with = "http_auth")]
    sticky_auth: bool,
    /// Host vgi_rpc.Identity.v2 under the fixed conformance policy: `both`
    /// (resolver and minter), `introspect-only` (resolver), `grants`
    /// (resolver and the fixture's sealed-grant keys, framework-minted, plus
    /// conformance.Whoami.v1). Implies principal-header authentication over HTTP.
    #[arg(long, value_enum, default_value = "off", conflicts_with_all = ["http_auth", "sticky_auth"])]
    identity: vgi_rpc_conformance::identity_fixture::IdentityMode,
    /// A sealed-grant key (standard base64 of 32 bytes); repeat to rotate,
    /// the first mints. Default: VGI_RPC_GRANT_KEYS. Enables framework-minted
    /// grants (issue_grant) and accepts them as bearers over HTTP.
    #[arg(long, value_name = "KEY")]
    grant_key: Vec<String>,
    #[command(flatten)]
    otel: vgi_rpc_conformance::otel_worker::OtelArgs,
}

/// The echo header the conformance worker advertises, as the reference's.
const ECHO_HEADER: (&str, &str) = ("x-vgi-conformance-echo", "conformance-fixed-marker");

/// The sticky settings the flags describe (`None` with `--no-sticky`).
fn sticky_settings(args: &Args) -> Result<Option<vgi_rpc::http::sticky::StickySettings>, String> {
    if args.no_sticky {
        return Ok(None);
    }
    let mut settings = vgi_rpc::http::sticky::StickySettings::default();
    if let Some(ttl) = args.sticky_ttl {
        settings.default_ttl = std::time::Duration::try_from_secs_f64(ttl)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| format!("--sticky-ttl {ttl}: expected a positive number of seconds"))?;
    }
    if !args.no_sticky_echo {
        settings.echo_headers.push((ECHO_HEADER.0.to_owned(), ECHO_HEADER.1.to_owned()));
    }
    settings.echo_headers.extend(args.sticky_echo.iter().cloned());
    Ok(Some(settings))
}

/// `NAME=VALUE` of `--sticky-echo`: a header name and a value HTTP accepts.
fn parse_echo_header(arg: &str) -> Result<(String, String), String> {
    let (name, value) = arg.split_once('=').ok_or("expected NAME=VALUE")?;
    vgi_rpc::http::axum::http::HeaderName::from_bytes(format!("vgi-echo-{name}").as_bytes())
        .map_err(|_| format!("{name:?} is not a valid header name"))?;
    vgi_rpc::http::axum::http::HeaderValue::from_str(value)
        .map_err(|_| format!("{value:?} is not a valid header value"))?;
    Ok((name.to_ascii_lowercase(), value.to_owned()))
}

/// `POST /__test_drain__` refuses new sessions as a drain would (without
/// stopping the worker); `DELETE` accepts them again. Both answer `204`.
/// A conformance-fixture affordance (the reference worker's `_TestDrainResource`).
fn with_test_drain(
    router: vgi_rpc::http::axum::Router,
    handles: &vgi_rpc::http::ServeHandles,
) -> vgi_rpc::http::axum::Router {
    use vgi_rpc::http::axum::http::StatusCode;
    use vgi_rpc::http::axum::routing::post;
    let (on, off) = (handles.sessions.clone(), handles.sessions.clone());
    router.route(
        "/__test_drain__",
        post(move || async move {
            if let Some(s) = &on {
                s.drain();
            }
            StatusCode::NO_CONTENT
        })
        .delete(move || async move {
            if let Some(s) = &off {
                s.undrain();
            }
            StatusCode::NO_CONTENT
        }),
    )
}

/// The fetch limits the storage flags set, with `policy`.
fn fetch_config(args: &Args, policy: UrlPolicy) -> FetchConfig {
    let defaults = FetchConfig::default();
    FetchConfig {
        max_fetch_bytes: args.max_fetch_bytes.unwrap_or(defaults.max_fetch_bytes),
        max_decompressed_bytes: args.max_decompressed_fetch_bytes,
        policy,
        ..defaults
    }
}

/// `--storage URL`: an object store, and a resolver for request pointers
/// that reads what it hands out (https, loopback http when allowed, and
/// for a local directory its file:// URLs).
fn object_externalization(args: &Args, url: &str) -> Result<vgi_rpc::rpc::Externalization, String> {
    let config = ObjectConfig {
        presign_expiry: std::time::Duration::from_secs(args.presign_expiry),
        zstd_level: (args.compression == "zstd").then_some(3),
        ..ObjectConfig::default()
    };
    let storage = ObjectStorage::from_url(url, config).map_err(|e| e.to_string())?;
    let fetch = fetch_config(args, UrlPolicy::HttpsOnly { allow_loopback_http: args.allow_loopback_http });
    let http: Arc<dyn vgi_rpc::rpc::PointerResolver> = Arc::new(HttpFetcher::new(fetch.clone()));
    let resolver: Arc<dyn vgi_rpc::rpc::PointerResolver> = match vgi_rpc_storage::StorageLocation::parse(url) {
        Ok(vgi_rpc_storage::StorageLocation::Local { dir }) => {
            let local = LocalFileResolver::new(&dir, fetch.max_fetch_bytes).map_err(|e| e.to_string())?;
            let local = match fetch.max_decompressed_bytes {
                Some(cap) => local.with_max_decoded_bytes(cap),
                None => local,
            };
            Arc::new(local.with_fallback(http))
        }
        _ => http,
    };
    let threshold = args.externalize_threshold.max(0) as u64;
    Ok(vgi_rpc::rpc::Externalization::new(Arc::new(storage), threshold)
        .with_resolver(resolver)
        .with_max_response_bytes(args.http_args.max_externalized_response_bytes))
}

/// The external-storage policy the storage flags describe, if any.
fn externalization(args: &Args) -> Result<Option<vgi_rpc::rpc::Externalization>, String> {
    if let Some(url) = args.storage.as_deref() {
        return object_externalization(args, url).map(Some);
    }
    Ok(fake_externalization(args))
}

/// `--fake-storage URL`: the reference fixture's storage service.
fn fake_externalization(args: &Args) -> Option<vgi_rpc::rpc::Externalization> {
    let url = args.fake_storage.as_deref()?;
    let mut storage = FakeStorage::new(url);
    if args.compression == "zstd" {
        storage = storage.with_zstd(3);
    }
    // The fixture's storage is plain http on loopback; with the flag only
    // its own host is admitted, at every redirect hop.
    let policy =
        if args.reject_localhost_redirects { UrlPolicy::HostOnly("127.0.0.1".to_owned()) } else { UrlPolicy::AllowAll };
    let fetch = fetch_config(args, policy);
    let threshold = args.externalize_threshold.max(0) as u64;
    Some(
        vgi_rpc::rpc::Externalization::new(Arc::new(storage), threshold)
            .with_resolver(Arc::new(HttpFetcher::new(fetch)))
            .with_max_response_bytes(args.http_args.max_externalized_response_bytes),
    )
}

/// The identity policy `--identity` names, or sealed grants alone when
/// `--grant-key` / `VGI_RPC_GRANT_KEYS` configure keys (a malformed key stops
/// the worker).
fn identity(args: &Args) -> Result<Option<vgi_rpc::http::vgi_rpc_auth::identity::Identity>, String> {
    use vgi_rpc::http::vgi_rpc_auth::identity::IdentityConfig;
    use vgi_rpc::token::grant::GrantKeys;
    use vgi_rpc_conformance::identity_fixture::{self as fixture, IdentityMode};
    if args.identity != IdentityMode::Off {
        return Ok(fixture::identity(args.identity));
    }
    let keys =
        if args.grant_key.is_empty() { GrantKeys::from_env() } else { GrantKeys::parse(&args.grant_key).map(Some) };
    match keys.map_err(|e| format!("grant keys: {e}"))? {
        Some(keys) => IdentityConfig::new().grant_keys(keys).build().map(Some).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("vgi-rpc-conformance: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.externalize_threshold < 0 {
        return fail("--externalize-threshold must be >= 0");
    }
    // --access-log-debug is accepted for compatibility: no level ever logs
    // payload values, so DEBUG records carry the same fields.
    let _ = args.access_log_debug;
    let mut options = ConformanceOptions {
        describe: args.describe,
        access_log: match args.access_log.settings() {
            Ok(s) => s,
            Err(e) => return fail(&e),
        },
        server_id: args.server_id.clone(),
        // The quota flags configure the server, so they hold on every transport.
        quotas: match args.http_args.quotas.settings() {
            Ok(q) => q,
            Err(e) => return fail(&e),
        },
        externalization: match externalization(&args) {
            Ok(e) => e,
            Err(e) => return fail(&e),
        },
        transport_kind_probe: args.transport_kind_probe,
        fail_serve_start_once: args.fail_serve_start_once,
        identity: match identity(&args) {
            Ok(i) => i,
            Err(e) => return fail(&e),
        },
        whoami: args.identity == vgi_rpc_conformance::identity_fixture::IdentityMode::Grants,
        hooks: Default::default(),
    };
    // Kept alive until main returns: dropping it flushes spans and metrics.
    let _otel = match args.otel.start() {
        Ok(Some((otlp, hooks))) => {
            options.hooks = hooks;
            Some(otlp)
        }
        Ok(None) => None,
        Err(e) => return fail(&e),
    };
    let server = match build_server(&options) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    if args.http.is_some() {
        if args.transport.exit_when_idle.is_some_and(|t| !t.is_zero()) {
            return fail(
                "--idle-timeout (exit when no client is connected) applies to --unix and --tcp workers; \
                 an HTTP worker closes idle keep-alive connections after --connection-idle-timeout SECONDS",
            );
        }
        let auth = match identity_auth(&args, options.identity.as_ref()) {
            Ok(a) => a,
            Err(e) => return fail(&e),
        };
        return serve_http(server, &args, auth.as_ref());
    }
    let listen = match args.transport.listen() {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    match serve_worker(&server, &listen, args.transport.socket_options()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

type IdentityAuth = Arc<dyn vgi_rpc::http::vgi_rpc_auth::Authenticator>;

/// HTTP authentication when identity is hosted: principal-header auth for the
/// `--identity` fixtures, then sealed grants, then the resolver.
fn identity_auth(
    args: &Args,
    identity: Option<&vgi_rpc::http::vgi_rpc_auth::identity::Identity>,
) -> Result<Option<IdentityAuth>, String> {
    use vgi_rpc_conformance::identity_fixture::{principal_authenticator, IdentityMode};
    let Some(identity) = identity else { return Ok(None) };
    let deployment: Option<IdentityAuth> =
        (args.identity != IdentityMode::Off).then(|| Arc::new(principal_authenticator()) as IdentityAuth);
    vgi_rpc::http::vgi_rpc_auth::identity::compose_identity(deployment, identity).map_err(|e| e.to_string())
}

/// `--http [PORT]`: bind, print `PORT:<n>`, serve until SIGTERM/SIGINT.
fn serve_http(server: vgi_rpc::Server, args: &Args, identity: Option<&IdentityAuth>) -> ExitCode {
    let sticky = match sticky_settings(args) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let adjust = |config: &mut vgi_rpc::http::HttpConfig| {
        config.sticky = sticky;
        config.apply_connection_flags(args.transport.max_connections, args.transport.idle_timeout());
        if args.fake_storage.is_some() {
            // As the reference's storage worker: the threshold doubles as the
            // inline request cap, and vended uploads may reach 64 MiB.
            if config.max_request_bytes.is_none() {
                config.max_request_bytes = Some(args.externalize_threshold.max(0) as usize);
            }
            config.max_upload_bytes = Some(64 * 1024 * 1024);
        }
        if args.storage.is_some() && config.max_upload_bytes.is_none() {
            // Object stores take large uploads; advertise what the worker
            // will fetch back.
            config.max_upload_bytes = Some(args.max_fetch_bytes.unwrap_or(FetchConfig::default().max_fetch_bytes));
        }
        if args.http_auth {
            let reject_all = vgi_rpc_conformance::auth_fixture::reject_all();
            config.auth = Some(vgi_rpc::http::AuthSettings::new(Arc::new(reject_all)));
        }
        if args.sticky_auth {
            let by_header = vgi_rpc_conformance::auth_fixture::principal_from_header();
            config.auth = Some(vgi_rpc::http::AuthSettings::new(Arc::new(by_header)));
        }
        if let Some(auth) = identity {
            config.auth = Some(vgi_rpc::http::AuthSettings::new(auth.clone()));
        }
    };
    let served = args.http_args.serve_worker_with(server, args.http, adjust, with_test_drain);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
