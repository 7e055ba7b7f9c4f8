//! A pool of warm subprocess workers: a borrow reuses an idle worker
//! started with the same command (or spawns one), and returning it keeps it
//! for the next borrow, so session-style callers do not pay a process start
//! per connection. With [`WorkerPool::shared_memory`] (feature `shm`) each
//! borrow gets its own segment, offered to the worker through
//! `__transport_options__` and removed when the borrow ends.
//!
//! A worker goes back to the pool only when it is still running and its
//! connection is in step ([`vgi_rpc_core::Client::is_in_step`]); idle
//! workers beyond `max_idle` or idle longer than `idle_timeout` are closed
//! (checked on every borrow and return, no reaper thread).
//!
//! ```no_run
//! use vgi_rpc_core::client::no_params;
//! use vgi_rpc_stdio::WorkerPool;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = WorkerPool::new().max_idle(2);
//! for _ in 0..3 {
//!     // The first borrow starts the worker; the next ones reuse it.
//!     let mut worker = pool.borrow("my-worker", ["--describe"])?;
//!     worker.set_protocol_version("my.Service", "1.0.0");
//!     let reply = worker.call("my.Service", "ping", &no_params())?;
//!     println!("{:?} from pid {}", reply.value(), worker.pid());
//! }
//! assert_eq!(pool.metrics().spawns, 1);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::subprocess::{PipeClient, SubprocessClient};

/// Idle workers kept by default.
pub const DEFAULT_MAX_IDLE: usize = 4;
/// How long an idle worker is kept by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a borrow failed.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The worker process could not be started.
    #[error("spawning worker: {0}")]
    Spawn(#[from] std::io::Error),
    /// The borrow's shared-memory segment could not be created.
    #[cfg(feature = "shm")]
    #[error("creating the shared-memory segment: {0}")]
    SharedMemory(#[from] vgi_rpc_shm::ShmError),
    /// The shared-memory handshake with the worker failed.
    #[error("offering shared memory to the worker: {0}")]
    Handshake(#[from] vgi_rpc_core::CallError),
}

/// Counters and current state of a pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolMetrics {
    /// Borrows made.
    pub borrows: u64,
    /// Worker processes started.
    pub spawns: u64,
    /// Borrows served by an idle worker.
    pub reuses: u64,
    /// Workers returned to the idle set.
    pub returns: u64,
    /// Workers closed because they exited or their connection broke.
    pub discards: u64,
    /// Idle workers closed after `idle_timeout`.
    pub evictions_idle: u64,
    /// Idle workers closed because more than `max_idle` were idle.
    pub evictions_max: u64,
    /// Workers idle now.
    pub idle: usize,
    /// Workers borrowed now.
    pub active: usize,
}

/// The command a worker was started with (program, then arguments).
type CommandKey = Vec<OsString>;

struct Idle {
    worker: SubprocessClient,
    since: Instant,
}

#[derive(Default)]
struct State {
    /// Idle workers per command, most recently returned last.
    idle: HashMap<CommandKey, Vec<Idle>>,
    metrics: PoolMetrics,
}

impl State {
    fn idle_count(&self) -> usize {
        self.idle.values().map(Vec::len).sum()
    }

    /// Take the workers idle longer than `timeout`, then the oldest beyond
    /// `max_idle`, out of the idle set (the caller closes them unlocked).
    fn evict(&mut self, now: Instant, timeout: Duration, max_idle: usize) -> Vec<SubprocessClient> {
        let mut gone = Vec::new();
        for list in self.idle.values_mut() {
            let (stale, fresh): (Vec<Idle>, Vec<Idle>) =
                list.drain(..).partition(|i| now.saturating_duration_since(i.since) >= timeout);
            *list = fresh;
            self.metrics.evictions_idle += stale.len() as u64;
            gone.extend(stale.into_iter().map(|i| i.worker));
        }
        while self.idle_count() > max_idle {
            let oldest = self
                .idle
                .iter()
                .filter_map(|(key, list)| list.first().map(|i| (i.since, key.clone())))
                .min_by_key(|(since, _)| *since)
                .map(|(_, key)| key);
            let Some(key) = oldest else { break };
            if let Some(list) = self.idle.get_mut(&key) {
                gone.push(list.remove(0).worker);
                self.metrics.evictions_max += 1;
            }
        }
        self.idle.retain(|_, list| !list.is_empty());
        gone
    }
}

/// Warm subprocess workers, shared by reference across threads.
pub struct WorkerPool {
    max_idle: usize,
    idle_timeout: Duration,
    shm_size: Option<u64>,
    state: Mutex<State>,
}

impl Default for WorkerPool {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("max_idle", &self.max_idle)
            .field("idle_timeout", &self.idle_timeout)
            .field("shm_size", &self.shm_size)
            .field("metrics", &self.metrics())
            .finish()
    }
}

impl WorkerPool {
    /// A pool keeping up to [`DEFAULT_MAX_IDLE`] idle workers for
    /// [`DEFAULT_IDLE_TIMEOUT`], without shared memory.
    pub fn new() -> Self {
        Self {
            max_idle: DEFAULT_MAX_IDLE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            shm_size: None,
            state: Mutex::new(State::default()),
        }
    }

    /// Keep at most `max_idle` idle workers (over all commands).
    pub fn max_idle(mut self, max_idle: usize) -> Self {
        self.max_idle = max_idle;
        self
    }

    /// Close idle workers after `timeout`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Give every borrow its own shared-memory segment of `size` bytes
    /// (the 64 KiB header included), used when the worker accepts it.
    #[cfg(feature = "shm")]
    #[cfg_attr(docsrs, doc(cfg(feature = "shm")))]
    pub fn shared_memory(mut self, size: u64) -> Self {
        self.shm_size = Some(size);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters, not invariants,
        // half-updated: keep serving.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> PoolMetrics {
        let state = self.lock();
        PoolMetrics { idle: state.idle_count(), ..state.metrics }
    }

    /// Borrow a worker started as `program args…`: the most recently
    /// returned idle one that is still running, or a new one.
    pub fn borrow<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Result<PooledWorker<'_>, PoolError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut key: CommandKey = vec![program.as_ref().to_owned()];
        key.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        let (found, dead) = self.take_idle(&key);
        drop(dead);
        let worker = match found {
            Some(w) => w,
            None => {
                let spawned = SubprocessClient::spawn(&key[0], &key[1..]);
                let mut state = self.lock();
                match spawned {
                    Ok(w) => {
                        state.metrics.spawns += 1;
                        w
                    }
                    Err(e) => {
                        state.metrics.active -= 1;
                        return Err(PoolError::Spawn(e));
                    }
                }
            }
        };
        let mut borrowed = PooledWorker { pool: self, key, worker: Some(worker), shared_memory: false };
        if let Some(size) = self.shm_size {
            borrowed.offer_segment(size)?;
        }
        Ok(borrowed)
    }

    /// Count a borrow and pop an idle worker for `key`; also hand back the
    /// workers to close (evicted, or found dead).
    fn take_idle(&self, key: &CommandKey) -> (Option<SubprocessClient>, Vec<SubprocessClient>) {
        let mut state = self.lock();
        state.metrics.borrows += 1;
        state.metrics.active += 1;
        let mut gone = state.evict(Instant::now(), self.idle_timeout, self.max_idle);
        while let Some(mut idle) = state.idle.get_mut(key).and_then(Vec::pop) {
            if idle.worker.has_exited() {
                state.metrics.discards += 1;
                gone.push(idle.worker);
                continue;
            }
            state.metrics.reuses += 1;
            return (Some(idle.worker), gone);
        }
        (None, gone)
    }

    /// Keep `worker` for the next borrow of `key`, or close it when it
    /// exited or its connection is out of step.
    fn give_back(&self, key: CommandKey, mut worker: SubprocessClient) {
        let healthy = worker.is_in_step() && !worker.has_exited();
        let gone = {
            let mut state = self.lock();
            state.metrics.active = state.metrics.active.saturating_sub(1);
            let mut gone = Vec::new();
            if healthy {
                state.metrics.returns += 1;
                state.idle.entry(key).or_default().push(Idle { worker, since: Instant::now() });
            } else {
                state.metrics.discards += 1;
                gone.push(worker);
            }
            gone.extend(state.evict(Instant::now(), self.idle_timeout, self.max_idle));
            gone
        };
        // Closing waits for each process: outside the lock.
        drop(gone);
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.idle.clear();
    }
}

/// A borrowed worker; derefs to its [`PipeClient`]. Dropping it returns
/// the worker to the pool (and removes the borrow's segment).
pub struct PooledWorker<'p> {
    pool: &'p WorkerPool,
    key: CommandKey,
    worker: Option<SubprocessClient>,
    shared_memory: bool,
}

impl std::fmt::Debug for PooledWorker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledWorker").field("pid", &self.pid()).field("shared_memory", &self.shared_memory).finish()
    }
}

impl PooledWorker<'_> {
    fn worker(&self) -> &SubprocessClient {
        self.worker.as_ref().expect("the worker is present until drop")
    }

    fn worker_mut(&mut self) -> &mut SubprocessClient {
        self.worker.as_mut().expect("the worker is present until drop")
    }

    /// The worker's process id.
    pub fn pid(&self) -> u32 {
        self.worker().pid()
    }

    /// Whether this borrow's calls use a shared-memory segment (the pool
    /// has one configured and the worker accepted it).
    pub fn uses_shared_memory(&self) -> bool {
        self.shared_memory
    }

    #[cfg(feature = "shm")]
    fn offer_segment(&mut self, size: u64) -> Result<(), PoolError> {
        let segment = vgi_rpc_shm::ClientSegment::create(size)?;
        let size = segment.size();
        self.shared_memory = self.worker_mut().offer_shared_memory(Box::new(segment), size)?;
        Ok(())
    }

    #[cfg(not(feature = "shm"))]
    fn offer_segment(&mut self, _size: u64) -> Result<(), PoolError> {
        Ok(())
    }
}

impl Deref for PooledWorker<'_> {
    type Target = PipeClient;
    fn deref(&self) -> &PipeClient {
        self.worker()
    }
}

impl DerefMut for PooledWorker<'_> {
    fn deref_mut(&mut self) -> &mut PipeClient {
        self.worker_mut()
    }
}

impl Drop for PooledWorker<'_> {
    fn drop(&mut self) {
        let Some(mut worker) = self.worker.take() else { return };
        // The segment ends with the borrow; the worker attaches the next
        // borrow's when a request names it.
        drop(worker.take_shared_memory());
        self.pool.give_back(std::mem::take(&mut self.key), worker);
    }
}
