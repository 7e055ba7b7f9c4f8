//! `vgi-rpc-bench-worker`: serves the cross-port BenchmarkService on the
//! same transports (and transport flags) as the conformance worker.

use std::process::ExitCode;

use clap::{ArgGroup, Parser};
use vgi_rpc::stdio::{serve_worker, Listen, SocketOptions};
use vgi_rpc::Server;
use vgi_rpc_benches::service::benchmark_protocol;

#[derive(Debug, Parser)]
#[command(name = "vgi-rpc-bench-worker", about = "vgi-rpc BenchmarkService worker (Rust)")]
#[command(group(ArgGroup::new("transport").args(["pipe", "unix", "tcp"])))]
struct Args {
    /// Serve over stdin/stdout pipe (default).
    #[arg(long)]
    pipe: bool,
    /// Serve over a Unix domain socket.
    #[arg(long, value_name = "PATH")]
    unix: Option<String>,
    /// Serve over a TCP socket (host defaults to 127.0.0.1).
    #[arg(long, value_name = "[HOST:]PORT")]
    tcp: Option<String>,
    /// Register the vgi_rpc.Reflection.v1 binding.
    #[arg(long)]
    describe: bool,
    /// Accept connections concurrently (unix/tcp only).
    #[arg(long)]
    threaded: bool,
    /// Max concurrent connections (requires --threaded).
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let fail = |m: &str| {
        eprintln!("vgi-rpc-bench-worker: {m}");
        ExitCode::from(2)
    };
    if args.max_connections.is_some() && !args.threaded {
        return fail("--max-connections requires --threaded");
    }
    let server = match Server::builder().protocol(benchmark_protocol()).reflection(args.describe).build() {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let listen = match (&args.unix, &args.tcp) {
        (Some(path), _) => Listen::Unix(path.into()),
        (_, Some(spec)) => match Listen::tcp(spec) {
            Ok(l) => l,
            Err(e) => return fail(&e),
        },
        _ => Listen::Stdio,
    };
    let options = SocketOptions { threaded: args.threaded, max_connections: args.max_connections };
    match serve_worker(&server, &listen, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
