//! `vgi-rpc-bench-worker`: serves the cross-port BenchmarkService on the
//! same transports (and transport flags) as the conformance worker.

use std::process::ExitCode;

use clap::Parser;
use vgi_rpc::http::cli::HttpArgs;
use vgi_rpc::stdio::cli::TransportArgs;
use vgi_rpc::stdio::serve_worker;
use vgi_rpc::Server;
use vgi_rpc_benches::service::benchmark_protocol;

#[derive(Debug, Parser)]
#[command(name = "vgi-rpc-bench-worker", about = "vgi-rpc BenchmarkService worker (Rust)")]
struct Args {
    #[command(flatten)]
    transport: TransportArgs,
    /// Serve over HTTP (prints `PORT:<n>`).
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "0", group = "transport")]
    http: Option<u16>,
    #[command(flatten)]
    http_args: HttpArgs,
    /// Register the vgi_rpc.Reflection.v1 binding.
    #[arg(long)]
    describe: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let fail = |m: &str| {
        eprintln!("vgi-rpc-bench-worker: {m}");
        ExitCode::from(2)
    };
    let server = Server::builder()
        .protocol(benchmark_protocol())
        .reflection(args.describe)
        .shared_memory(std::sync::Arc::new(vgi_rpc::shm::PosixSharedMemory))
        .build();
    let server = match server {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    if args.http.is_some() {
        let served = args.http_args.serve_worker(server, args.http, |config| {
            config.apply_connection_flags(args.transport.max_connections, args.transport.idle_timeout());
        });
        return match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
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
