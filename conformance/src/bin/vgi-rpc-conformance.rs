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
    /// Append JSONL access-log records to PATH.
    #[arg(long, value_name = "PATH")]
    access_log: Option<String>,
    /// Log the access channel at DEBUG (request payloads are never logged).
    #[arg(long)]
    access_log_debug: bool,
    /// Base URL of a fake-storage backend for externalized batches.
    #[arg(long, value_name = "URL")]
    fake_storage: Option<String>,
    /// Bytes threshold above which server-produced batches are externalized.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    externalize_threshold: i64,
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
    if args.fake_storage.is_some() {
        return fail("--fake-storage: external storage is not implemented in this worker yet");
    }
    // --access-log-debug is accepted for compatibility: no level ever logs
    // payload values, so DEBUG records carry the same fields.
    let _ = args.access_log_debug;
    let options = ConformanceOptions {
        describe: args.describe,
        access_log: args.access_log.clone().map(Into::into),
        server_id: args.server_id.clone(),
        // The quota flags configure the server, so they hold on every transport.
        quotas: match args.http_args.quotas.settings() {
            Ok(q) => q,
            Err(e) => return fail(&e),
        },
    };
    let server = match build_server(&options) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    if args.http.is_some() {
        return serve_http(server, &args);
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

/// `--http [PORT]`: bind, print `PORT:<n>`, serve until SIGTERM/SIGINT.
fn serve_http(server: vgi_rpc::Server, args: &Args) -> ExitCode {
    let served = args.http_args.serve_worker(server, args.http, |config| {
        config.apply_connection_flags(args.transport.max_connections, args.transport.idle_timeout());
        if args.http_auth {
            let reject_all = vgi_rpc_conformance::auth_fixture::reject_all();
            config.auth = Some(vgi_rpc::http::AuthSettings::new(Arc::new(reject_all)));
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
