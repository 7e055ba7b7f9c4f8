//! Binding and running the server: an accept loop on a tokio runtime that
//! serves each connection with hyper's HTTP/1 server, under a connection cap
//! and an idle timeout, and the drain on SIGTERM/SIGINT (or [`Drain::start`]):
//! stop accepting, answer what reaches a connection with `Connection: close`,
//! let in-flight calls finish, and close whatever is left at a deadline.
//!
//! The cap is a semaphore taken before `accept`: at the cap, further clients
//! wait in the listen backlog instead of costing a descriptor and a task.
//! The idle timeout is hyper's header-read timer, which runs from the moment
//! a connection waits for a request head: it closes keep-alive connections
//! that sit idle and clients that dribble their headers.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower_service::Service;
use vgi_rpc_core::Server;

use crate::app::{AppError, HttpApp};
use crate::config::{HttpConfig, DEFAULT_DRAIN_GRACE, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use crate::sticky::SessionsHandle;

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The application could not be built from the config.
    #[error(transparent)]
    App(#[from] AppError),
    /// Binding or accepting on the socket failed.
    #[error("cannot serve HTTP: {0}")]
    Io(#[from] std::io::Error),
}

/// Per-connection limits of the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections served at once (clamped to the descriptor limit).
    pub max_connections: usize,
    /// Close a connection that waits this long for a request head.
    pub idle_timeout: Option<Duration>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { max_connections: DEFAULT_MAX_CONNECTIONS, idle_timeout: Some(DEFAULT_IDLE_TIMEOUT) }
    }
}

impl ConnectionLimits {
    /// The limits a configuration asks for.
    pub fn from_config(config: &HttpConfig) -> Self {
        Self { max_connections: config.max_connections, idle_timeout: config.idle_timeout }
    }

    /// The cap in force: never more connections than the process has
    /// descriptors for (less a reserve for the listener, logs and files).
    pub fn effective_max_connections(&self) -> usize {
        const RESERVED_DESCRIPTORS: usize = 64;
        let budget = open_file_limit().map_or(usize::MAX, |n| n.saturating_sub(RESERVED_DESCRIPTORS));
        self.max_connections.min(budget).max(1)
    }
}

/// The soft `RLIMIT_NOFILE`, when the platform reports one.
fn open_file_limit() -> Option<usize> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then(|| usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}

/// Serve `router` on `listener` with the default [`ConnectionLimits`] until
/// `shutdown` resolves, then drain (see [`serve_router_draining`]).
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router_with(listener, router, ConnectionLimits::default(), shutdown).await
}

/// Serve `router` on `listener` under `limits` until `shutdown` resolves,
/// then drain for at most [`DEFAULT_DRAIN_GRACE`]. Handlers see the peer as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve_router_with(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let drain = Drain::new(None);
    let trigger = drain.clone();
    let watcher = tokio::spawn(async move {
        shutdown.await;
        trigger.start();
    });
    let options = ServeOptions { limits, ..ServeOptions::default() };
    let result = serve_router_draining(listener, router, options, drain).await;
    watcher.abort();
    result.map(|_| ())
}

/// Serve `router` on `listener` until `drain` starts, then drain: stop
/// accepting (connections already queued are still taken), answer every
/// request that reaches a connection with `Connection: close`, close
/// connections once they are quiet, and after `options.drain_grace` close
/// whatever is left, stalled clients included.
pub async fn serve_router_draining(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    drain: Drain,
) -> std::io::Result<DrainReport> {
    let limits = options.limits;
    let header_timeout = options.header_read_timeout.or(limits.idle_timeout);
    let slots = Arc::new(Semaphore::new(limits.effective_max_connections()));
    let mut draining = drain.subscribe();
    // Connections learn of the drain only once the listener is closed: a
    // client told `Connection: close` reconnects at once, and while the
    // listener is open the kernel would complete that connection into a
    // backlog that closing the listener resets (a request sent, then lost).
    // Closed first, such a reconnect is refused, which a client sees as a
    // server gone, before it sent anything.
    let (closing, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let spawn = |connections: &mut JoinSet<()>, stream: TcpStream, peer: SocketAddr, permit| {
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(stream, peer, router.clone(), header_timeout, closing_rx.clone(), permit));
    };
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            _ = draining.wait_for(|d| *d) => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => Some(p),
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = draining.wait_for(|d| *d) => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: back off, keep serving.
                    eprintln!("vgi-rpc: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        spawn(&mut connections, stream, peer, permit);
    }
    // Connections the kernel already completed are taken and answered, not
    // reset with the listener: their clients may have sent a request. The
    // accepts are real syscalls on the bare socket, not tokio's cached
    // readiness, which can still say "nothing" for a connection the
    // reactor has not yet been told of.
    let listener = listener.into_std()?;
    listener.set_nonblocking(true)?;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if stream.set_nonblocking(true).is_ok() {
                    if let Ok(stream) = TcpStream::from_std(stream) {
                        spawn(&mut connections, stream, peer, None);
                    }
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::Interrupted) => {}
            Err(_) => break,
        }
    }
    drop(listener);
    closing.send_replace(true);
    let open = connections.len();
    let finished =
        tokio::time::timeout(options.drain_grace, async { while connections.join_next().await.is_some() {} })
            .await
            .is_ok();
    let forced = connections.len();
    connections.shutdown().await;
    let closed_sessions = drain.sessions.as_ref().map_or(0, |s| s.shutdown());
    Ok(DrainReport { open_connections: open, forced_connections: if finished { 0 } else { forced }, closed_sessions })
}

/// A connection closed while draining must have been quiet this long: a
/// client mid-loop sends its next request well within it, and gets an
/// answer with `Connection: close` instead of a reset.
const DRAIN_QUIET: Duration = Duration::from_millis(1000);

/// Serve one connection: HTTP/1 with keep-alive; once draining, every
/// response says `Connection: close`, and the connection is shut when no
/// request is in flight and it has been quiet for [`DRAIN_QUIET`].
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Option<Duration>,
    mut closing: watch::Receiver<bool>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    let _permit = permit;
    let activity = Arc::new(Activity::new());
    let draining = Arc::new(AtomicBool::new(*closing.borrow()));
    let service = {
        let (activity, draining) = (activity.clone(), draining.clone());
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            let (activity, draining) = (activity.clone(), draining.clone());
            async move {
                let _busy = activity.begin();
                let mut resp = Service::call(&mut router, req.map(Body::new)).await?;
                if draining.load(Ordering::SeqCst) {
                    resp.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
                }
                Ok::<_, std::convert::Infallible>(resp)
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
    let io = TokioIo::new(ActivityIo { inner: stream, activity: activity.clone() });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut shut = false;
    loop {
        let is_draining = draining.load(Ordering::SeqCst);
        tokio::select! {
            _ = conn.as_mut() => break,
            changed = closing.wait_for(|d| *d), if !is_draining => {
                if changed.is_ok() {
                    draining.store(true, Ordering::SeqCst);
                }
            }
            _ = tokio::time::sleep(DRAIN_QUIET / 10), if is_draining && !shut => {
                if activity.quiet_for() >= DRAIN_QUIET {
                    conn.as_mut().graceful_shutdown();
                    shut = true;
                }
            }
        }
    }
}

/// What a drain found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainReport {
    /// Connections open when accepting stopped.
    pub open_connections: usize,
    /// Connections still open at the deadline, closed by force.
    pub forced_connections: usize,
    /// Sticky sessions closed at the end.
    pub closed_sessions: usize,
}

/// How a server is run: connection limits, read timeouts and the drain deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Connection count and idle-timeout limits.
    pub limits: ConnectionLimits,
    /// Time a client has to send a request head; `None` uses the idle timeout.
    pub header_read_timeout: Option<Duration>,
    /// Longest a drain waits for in-flight requests.
    pub drain_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { limits: ConnectionLimits::default(), header_read_timeout: None, drain_grace: DEFAULT_DRAIN_GRACE }
    }
}

impl ServeOptions {
    /// The options a configuration asks for.
    pub fn from_config(config: &HttpConfig) -> Self {
        Self {
            limits: ConnectionLimits::from_config(config),
            header_read_timeout: config.header_read_timeout,
            drain_grace: config.drain_grace,
        }
    }
}

/// Starts a server's drain, from a signal or from code: sticky sessions
/// stop opening (`server_draining`), accepting stops, in-flight requests
/// finish. Clones control the same server.
#[derive(Debug, Clone)]
pub struct Drain {
    tx: Arc<watch::Sender<bool>>,
    sessions: Option<SessionsHandle>,
}

impl Drain {
    /// A drain switch; `sessions` (from [`HttpApp::sessions`]) refuse new opens once it starts.
    pub fn new(sessions: Option<SessionsHandle>) -> Self {
        Self { tx: Arc::new(watch::channel(false).0), sessions }
    }

    /// Start draining (idempotent).
    pub fn start(&self) {
        if let Some(sessions) = &self.sessions {
            sessions.drain();
        }
        self.tx.send_replace(true);
    }

    /// Whether the drain has started.
    pub fn is_draining(&self) -> bool {
        *self.tx.borrow()
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// Per-connection activity: requests in flight, and when bytes last moved.
struct Activity {
    origin: Instant,
    in_flight: AtomicUsize,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self { origin: Instant::now(), in_flight: AtomicUsize::new(0), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        self.last_ms.store(self.origin.elapsed().as_millis() as u64, Ordering::SeqCst);
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
        Busy(self.clone())
    }

    /// Zero while a request is in flight; otherwise the time since bytes last moved.
    fn quiet_for(&self) -> Duration {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        let now = self.origin.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::SeqCst)))
    }
}

/// A request in flight on a connection.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP stream that records when bytes move.
struct ActivityIo {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl tokio::io::AsyncRead for ActivityIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl tokio::io::AsyncWrite for ActivityIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How long a thread that ran a handler (`block_in_place` hands the
/// reactor to a pool thread) stays parked for reuse. Tokio's default, 10 s,
/// keeps a burst's threads alive long after it: the worker's thread count
/// then tracks its busiest moment. Under steady traffic threads are still
/// reused; a quiet worker falls back to its core threads within this time.
const BLOCKING_THREAD_KEEP_ALIVE: Duration = Duration::from_millis(100);

/// Bind `addr`, call `on_bound` with the bound address, and serve `server`
/// until SIGTERM/SIGINT, then drain within `config.drain_grace` (a second
/// signal ends the drain at once). Runs its own multi-threaded tokio runtime
/// (`config.runtime_threads` worker threads).
pub fn serve_http(
    server: Arc<Server>,
    config: HttpConfig,
    addr: SocketAddr,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    serve_http_with(server, config, addr, on_bound, |router, _| router).map(|_| ())
}

/// [`serve_http`] with a hook that may add routes (or layers) to the
/// router, given the server's [`Drain`] and sticky [`SessionsHandle`].
pub fn serve_http_with(
    server: Arc<Server>,
    config: HttpConfig,
    addr: SocketAddr,
    on_bound: impl FnOnce(SocketAddr),
    extend: impl FnOnce(Router, &ServeHandles) -> Router,
) -> Result<DrainReport, ServeError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.runtime_threads {
        builder.worker_threads(threads.get());
    }
    let runtime = builder.enable_all().thread_keep_alive(BLOCKING_THREAD_KEEP_ALIVE).build()?;
    let report = runtime.block_on(async move {
        let options = ServeOptions::from_config(&config);
        let app = HttpApp::new(server, config)?;
        let sessions = app.sessions();
        let drain = Drain::new(sessions.clone());
        let handles = ServeHandles { drain: drain.clone(), sessions };
        let router = extend(app.router(), &handles);
        let listener = TcpListener::bind(addr).await?;
        on_bound(listener.local_addr()?);
        let signals = tokio::spawn(async move {
            termination_signal().await;
            drain.start();
            // A second signal during the grace period: stop at once.
            termination_signal().await;
            std::process::exit(0);
        });
        let report = serve_router_draining(listener, router, options, handles.drain.clone()).await;
        signals.abort();
        Ok::<_, ServeError>(report?)
    });
    // A handler stuck past the deadline must not hold the process.
    runtime.shutdown_timeout(Duration::from_millis(200));
    report
}

/// What a [`serve_http_with`] hook can reach.
#[derive(Debug, Clone)]
pub struct ServeHandles {
    /// Starts the drain.
    pub drain: Drain,
    /// The sticky sessions, when enabled.
    pub sessions: Option<SessionsHandle>,
}
