//! A client that spawns a worker process and talks to it over its pipes.

use std::ffi::OsStr;
use std::io::{self, BufReader, BufWriter, Read};
use std::ops::{Deref, DerefMut};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use vgi_rpc_core::Client;

use crate::pipe_size::enlarge_pipe;
use crate::spin::{MarkTurn, SpinReader, DEFAULT_SPIN};
use crate::{ClampedReader, ClampedWriter, IO_BUFFER_BYTES};

/// The client type over a child's pipes (reads spin briefly before blocking).
pub type PipeClient =
    Client<BufReader<ClampedReader<Box<dyn Read + Send>>>, BufWriter<ClampedWriter<MarkTurn<ChildStdin>>>>;

/// A worker subprocess and a client connected to its stdin/stdout.
///
/// Dropping it closes the worker's stdin (the worker exits at EOF) and
/// waits for the process.
pub struct SubprocessClient {
    client: Option<PipeClient>,
    child: Child,
}

impl SubprocessClient {
    /// Spawn `program` with `args`; the worker's stderr is inherited.
    pub fn spawn<I, S>(program: impl AsRef<OsStr>, args: I) -> io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(program);
        cmd.args(args);
        Self::from_command(cmd)
    }

    /// Spawn a prepared command (stdin/stdout are replaced by pipes).
    pub fn from_command(mut cmd: Command) -> io::Result<Self> {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| io::Error::other("child has no stdin pipe"))?;
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("child has no stdout pipe"))?;
        enlarge_pipe(&stdin);
        enlarge_pipe(&stdout);
        // Requests mark the worker's turn (see `spin`).
        let wrote = Arc::new(AtomicBool::new(false));
        let stdout: Box<dyn Read + Send> = match SpinReader::new(stdout, DEFAULT_SPIN) {
            Ok(spinning) => Box::new(spinning.with_turns(wrote.clone())),
            Err(plain) => Box::new(plain),
        };
        let client = Client::new(
            BufReader::with_capacity(IO_BUFFER_BYTES, ClampedReader(stdout)),
            BufWriter::with_capacity(IO_BUFFER_BYTES, ClampedWriter(MarkTurn::new(stdin, wrote))),
        );
        Ok(Self { client: Some(client), child })
    }

    /// The worker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the worker process has exited (reaped without blocking).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Close the worker's stdin and wait for it to exit.
    pub fn close(mut self) -> io::Result<std::process::ExitStatus> {
        drop(self.client.take());
        self.child.wait()
    }
}

impl Deref for SubprocessClient {
    type Target = PipeClient;
    fn deref(&self) -> &PipeClient {
        self.client.as_ref().expect("client is present until close")
    }
}

impl DerefMut for SubprocessClient {
    fn deref_mut(&mut self) -> &mut PipeClient {
        self.client.as_mut().expect("client is present until close")
    }
}

impl Drop for SubprocessClient {
    fn drop(&mut self) {
        drop(self.client.take());
        let _ = self.child.wait();
    }
}
