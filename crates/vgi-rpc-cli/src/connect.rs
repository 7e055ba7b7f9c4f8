//! Opening the connection the target flags name, with the project's own
//! clients: a subprocess over its pipes, a Unix or TCP socket, or HTTP.

use std::time::Duration;

use vgi_rpc_core::typed::RpcClient;
use vgi_rpc_http::client::HttpClient;
use vgi_rpc_stdio::{connect_tcp, connect_unix, parse_tcp_address, SubprocessClient, TcpClient, UnixClient};

use crate::args::{ConnectOptions, Target};
use crate::error::CliError;

/// An open connection to a worker.
pub enum Connection {
    /// A worker process started by `--cmd`.
    Pipe(Box<SubprocessClient>),
    /// `--unix PATH`.
    Unix(Box<UnixClient>),
    /// `--tcp HOST:PORT`.
    Tcp(Box<TcpClient>),
    /// `--url URL` (with `--prefix`).
    Http(Box<HttpClient>),
}

impl Connection {
    /// Connect to `target`, failing with a hint when no target was given.
    pub fn open(target: &Target, options: &ConnectOptions) -> Result<Self, CliError> {
        if let Some(cmd) = &target.cmd {
            return spawn(cmd);
        }
        if let Some(url) = &target.url {
            let mut client = HttpClient::new(url)
                .map_err(|e| CliError::Connect { target: url.clone(), source: Box::new(e) })?
                .with_prefix(&options.prefix);
            let timeout = (options.timeout > 0.0).then(|| Duration::from_secs_f64(options.timeout));
            client.set_timeout(timeout);
            return Ok(Connection::Http(Box::new(client)));
        }
        if let Some(path) = &target.unix {
            let client = connect_unix(path)
                .map_err(|e| CliError::Connect { target: path.display().to_string(), source: Box::new(e) })?;
            return Ok(Connection::Unix(Box::new(client)));
        }
        if let Some(spec) = &target.tcp {
            let (host, port) = parse_tcp_address(spec).map_err(|e| {
                CliError::usage_hint(
                    format!("bad --tcp address {spec:?}: {e}"),
                    "write it as HOST:PORT, e.g. 127.0.0.1:9400",
                )
            })?;
            let client = connect_tcp((host.as_str(), port))
                .map_err(|e| CliError::Connect { target: spec.clone(), source: Box::new(e) })?;
            return Ok(Connection::Tcp(Box::new(client)));
        }
        Err(CliError::usage_hint(
            "no worker given",
            "name one with --cmd \"PROGRAM ARGS\", --url URL, --unix PATH or --tcp HOST:PORT",
        ))
    }

    /// The client, whatever the transport.
    pub fn client(&mut self) -> &mut dyn RpcClient {
        match self {
            Connection::Pipe(c) => &mut ***c,
            Connection::Unix(c) => c.as_mut(),
            Connection::Tcp(c) => c.as_mut(),
            Connection::Http(c) => c.as_mut(),
        }
    }

    /// A short name of the transport, for health output.
    pub fn transport(&self) -> &'static str {
        match self {
            Connection::Pipe(_) => "pipe",
            Connection::Unix(_) => "unix",
            Connection::Tcp(_) => "tcp",
            Connection::Http(_) => "http",
        }
    }

    /// Close the connection; a pipe worker is sent EOF and waited for.
    pub fn close(self) {
        if let Connection::Pipe(worker) = self {
            let _ = worker.close();
        }
    }
}

/// Start `cmd` (split like a shell would) as a pipe worker.
fn spawn(cmd: &str) -> Result<Connection, CliError> {
    let words = shlex::split(cmd)
        .ok_or_else(|| CliError::usage_hint(format!("cannot split --cmd {cmd:?} into words"), "check its quotes"))?;
    let Some((program, args)) = words.split_first() else {
        return Err(CliError::usage_hint(
            "--cmd is empty",
            "give the worker's program and arguments, e.g. --cmd \"my-worker --describe\"",
        ));
    };
    let worker = SubprocessClient::spawn(program, args)
        .map_err(|e| CliError::Connect { target: format!("command {program:?}"), source: Box::new(e) })?;
    Ok(Connection::Pipe(Box::new(worker)))
}
