//! Which transport a server is bound to, and the serve-start lifecycle hook.
//!
//! [`TransportKind`] names the byte path a call arrived on (pipe, HTTP,
//! Unix socket, TCP); handlers read it from
//! [`CallContext::transport_kind`](crate::CallContext::transport_kind).
//!
//! A serve-start hook runs worker setup that depends on the transport
//! (WIRE_PROTOCOL's `on_serve_start`). Transports report their kind through
//! [`Server::notify_transport`](crate::Server::notify_transport): byte-stream
//! transports when they start serving, HTTP on the first request a process
//! handles. The binding is committed only after every hook succeeded, so a
//! failed start leaves the server unbound and the next notification runs
//! the hooks again (hooks should therefore be idempotent). A notification
//! for the kind already bound does nothing; a different kind runs the hooks
//! again and rebinds.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use crate::RpcError;

/// The transport a call arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// stdin/stdout of a worker process (also a subprocess's pipes).
    Pipe,
    /// HTTP.
    Http,
    /// A Unix domain socket.
    Unix,
    /// A raw TCP socket.
    Tcp,
}

impl TransportKind {
    /// The lowercase label the reference uses (`"pipe"`, `"http"`, `"unix"`, `"tcp"`).
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Pipe => "pipe",
            TransportKind::Http => "http",
            TransportKind::Unix => "unix",
            TransportKind::Tcp => "tcp",
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(TransportKind::Pipe),
            2 => Some(TransportKind::Http),
            3 => Some(TransportKind::Unix),
            4 => Some(TransportKind::Tcp),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            TransportKind::Pipe => 1,
            TransportKind::Http => 2,
            TransportKind::Unix => 3,
            TransportKind::Tcp => 4,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A serve-start hook: worker setup for the transport being bound. An error
/// aborts this start (a byte-stream transport does not serve; HTTP answers
/// the request with 500) and the next start runs the hook again.
pub type ServeStartHook = Arc<dyn Fn(TransportKind) -> Result<(), RpcError> + Send + Sync>;

/// The hooks and the committed binding of one server.
#[derive(Default)]
pub(crate) struct ServeStart {
    hooks: Vec<ServeStartHook>,
    bound: Mutex<Option<TransportKind>>,
    /// `bound`'s code (0: none), read without the lock on every request.
    fast: AtomicU8,
}

impl fmt::Debug for ServeStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeStart").field("hooks", &self.hooks.len()).field("bound", &self.bound()).finish()
    }
}

impl ServeStart {
    pub(crate) fn new(hooks: Vec<ServeStartHook>) -> Self {
        Self { hooks, bound: Mutex::new(None), fast: AtomicU8::new(0) }
    }

    /// The committed binding (lock-free: read on every HTTP request).
    pub(crate) fn bound(&self) -> Option<TransportKind> {
        TransportKind::from_code(self.fast.load(Ordering::Acquire))
    }

    /// Run the hooks for `kind` unless it is already bound; commit on success.
    /// Concurrent first requests wait for one run instead of racing.
    pub(crate) fn notify(&self, kind: TransportKind) -> Result<(), RpcError> {
        if self.fast.load(Ordering::Acquire) == kind.code() {
            return Ok(());
        }
        let mut bound = match self.bound.lock() {
            Ok(bound) => bound,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *bound == Some(kind) {
            return Ok(());
        }
        for hook in &self.hooks {
            hook(kind)?;
        }
        *bound = Some(kind);
        self.fast.store(kind.code(), Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn labels_match_the_reference() {
        let labels: Vec<_> = [TransportKind::Pipe, TransportKind::Http, TransportKind::Unix, TransportKind::Tcp]
            .map(|k| k.to_string())
            .into();
        assert_eq!(labels, ["pipe", "http", "unix", "tcp"]);
    }

    #[test]
    fn a_failed_start_is_not_committed_and_is_retried_once_it_succeeds() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let hook: ServeStartHook = Arc::new(move |_kind| {
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(RpcError::runtime_error("first start fails"))
            } else {
                Ok(())
            }
        });
        let start = ServeStart::new(vec![hook]);
        assert!(start.notify(TransportKind::Http).is_err());
        assert_eq!(start.bound(), None);
        assert!(start.notify(TransportKind::Http).is_ok());
        assert_eq!(start.bound(), Some(TransportKind::Http));
        // Already bound to this kind: the hook does not run again.
        assert!(start.notify(TransportKind::Http).is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Another kind runs it again and rebinds.
        assert!(start.notify(TransportKind::Unix).is_ok());
        assert_eq!((calls.load(Ordering::SeqCst), start.bound()), (3, Some(TransportKind::Unix)));
    }
}
