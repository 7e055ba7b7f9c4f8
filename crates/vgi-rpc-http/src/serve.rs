//! Binding and running the server: an accept loop on a tokio runtime that
//! serves each connection with hyper's HTTP/1 server, under a connection cap
//! and an idle timeout, with graceful shutdown on SIGTERM/SIGINT that lets
//! in-flight calls finish.
//!
//! The cap is a semaphore taken before `accept`: at the cap, further clients
//! wait in the listen backlog instead of costing a descriptor and a task.
//! The idle timeout is hyper's header-read timer, which runs from the moment
//! a connection waits for a request head: it closes keep-alive connections
//! that sit idle and clients that dribble their headers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower_service::Service;
use vgi_rpc_core::Server;

use crate::app::{AppError, HttpApp};
use crate::config::{HttpConfig, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    App(#[from] AppError),
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
/// `shutdown` resolves, then finish in-flight requests.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router_with(listener, router, ConnectionLimits::default(), shutdown).await
}

/// Serve `router` on `listener` under `limits` until `shutdown` resolves,
/// then stop accepting, let each connection finish its in-flight request
/// and wait for them. Handlers see the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve_router_with(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.effective_max_connections()));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
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
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut closing = closing_rx.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let mut router = router.clone();
                async move { Service::call(&mut router, req.map(Body::new)).await }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.idle_timeout).keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let mut draining = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    changed = closing.changed(), if !draining => {
                        draining = true;
                        if changed.is_ok() {
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
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
/// until SIGTERM/SIGINT. Runs its own multi-threaded tokio runtime.
pub fn serve_http(
    server: Arc<Server>,
    config: HttpConfig,
    addr: SocketAddr,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(BLOCKING_THREAD_KEEP_ALIVE)
        .build()?;
    runtime.block_on(async move {
        let limits = ConnectionLimits::from_config(&config);
        let router = HttpApp::new(server, config)?.router();
        let listener = TcpListener::bind(addr).await?;
        on_bound(listener.local_addr()?);
        serve_router_with(listener, router, limits, termination_signal()).await?;
        Ok(())
    })
}
