//! Serving one connection on this process's stdin / stdout.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read};
use std::os::fd::AsFd;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use vgi_rpc_core::{serve_connection, ConnectionInfo, RpcError, Server, TransportKind};

use crate::pipe_size::enlarge_pipe;
use crate::spin::{MarkTurn, SpinReader, DEFAULT_SPIN};
use crate::{ClampedReader, ClampedWriter, IO_BUFFER_BYTES};

/// Errors from stdio serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StdioError {
    /// Reading stdin or writing stdout failed.
    #[error("cannot use stdin/stdout: {0}")]
    Io(#[from] io::Error),
    /// The peer's bytes broke the framing, so the connection cannot go on.
    #[error(transparent)]
    Wire(#[from] vgi_rpc_core::wire::WireError),
    /// A [`vgi_rpc_core::ServeStartHook`] refused to start serving.
    #[error("serve-start hook failed: {0}")]
    ServeStart(RpcError),
}

/// Serve `server` on stdin/stdout until stdin closes.
///
/// Stdout is written through its own buffered handle (not Rust's
/// line-buffered `Stdout`), flushed once per response; nothing else may
/// write to stdout while this runs.
pub fn serve_stdio(server: &Server) -> Result<(), StdioError> {
    server.notify_transport(TransportKind::Pipe).map_err(StdioError::ServeStart)?;
    let stdin = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let stdout = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    enlarge_pipe(&stdin);
    enlarge_pipe(&stdout);
    // Answers mark the client's turn, so waiting for its next call and for
    // the rest of a request it is still writing adapt separately.
    let wrote = Arc::new(AtomicBool::new(false));
    let stdin: Box<dyn Read + Send> = match SpinReader::new(stdin, DEFAULT_SPIN) {
        Ok(spinning) => Box::new(spinning.with_turns(wrote.clone())),
        Err(plain) => Box::new(plain),
    };
    let mut reader = BufReader::with_capacity(IO_BUFFER_BYTES, ClampedReader(stdin));
    let mut writer = BufWriter::with_capacity(IO_BUFFER_BYTES, ClampedWriter(MarkTurn::new(stdout, wrote)));
    let info = ConnectionInfo { kind: Some(TransportKind::Pipe), ..Default::default() };
    serve_connection(server, &mut reader, &mut writer, &info)?;
    Ok(())
}
