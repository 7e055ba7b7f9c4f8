//! Running a worker process on one listening transport, as the vgi-rpc
//! worker command lines expect: stdin/stdout by default, or a Unix / TCP
//! socket announced on stdout (`UNIX:<path>` / `TCP:<host>:<port>`) once
//! bound, stopping cleanly on SIGTERM / SIGINT.

use std::io::{self, Write};
use std::path::PathBuf;

use vgi_rpc_core::Server;

use crate::{parse_tcp_address, serve_stdio, serve_tcp, serve_unix, Shutdown, SocketOptions};

/// Where a worker listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// One connection on stdin/stdout.
    Stdio,
    /// A Unix domain socket at this path.
    Unix(PathBuf),
    /// A TCP address (`[HOST:]PORT`, loopback by default).
    Tcp {
        /// Host name or address to bind (`127.0.0.1` when not given).
        host: String,
        /// Port to bind; 0 picks a free one.
        port: u16,
    },
}

impl Listen {
    /// Parse a `--tcp` argument.
    pub fn tcp(spec: &str) -> Result<Self, String> {
        let (host, port) = parse_tcp_address(spec)?;
        Ok(Listen::Tcp { host, port })
    }
}

/// Print a discovery line on stdout and flush it.
fn announce(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Serve `server` on `listen` until the peer (stdio) or a signal (sockets) ends it.
pub fn serve_worker(server: &Server, listen: &Listen, options: SocketOptions) -> Result<(), String> {
    let with_shutdown = |run: &dyn Fn(&Shutdown) -> io::Result<()>| -> Result<(), String> {
        let shutdown = Shutdown::new().map_err(|e| e.to_string())?;
        shutdown.on_signals().map_err(|e| e.to_string())?;
        run(&shutdown).map_err(|e| e.to_string())
    };
    match listen {
        Listen::Stdio => serve_stdio(server).map_err(|e| e.to_string()),
        Listen::Unix(path) => with_shutdown(&|shutdown| {
            serve_unix(server, path, options, shutdown, |bound| announce(&format!("UNIX:{}", bound.display())))
        }),
        Listen::Tcp { host, port } => with_shutdown(&|shutdown| {
            serve_tcp(server, host, *port, options, shutdown, |addr| {
                announce(&format!("TCP:{}:{}", addr.ip(), addr.port()))
            })
        }),
    }
}
