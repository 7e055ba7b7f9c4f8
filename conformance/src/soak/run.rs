//! One transport's soak: start a dedicated worker, drive mixed traffic from
//! client threads, warm up, take the baseline, sample after every epoch,
//! stop everything it started, and judge the growth.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::clients::{Conn, IO_TIMEOUT};
use super::error::SoakError;
use super::gate::Gate;
use super::limits::{judge, Limits};
use super::report::TransportReport;
use super::sample::{sample, ProcessSample};
use super::traffic::{self, Op};
use super::worker::{Endpoint, Watchdog, Worker};
use super::Transport;

/// Failure messages kept per transport.
const FAILURE_SAMPLES: usize = 10;
/// Longest wait for quiet descriptor/thread counts before a sample.
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// How to soak one transport.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The worker binary (`vgi-rpc-conformance`).
    pub worker: PathBuf,
    /// The transport.
    pub transport: Transport,
    /// Total time for this transport, warm-up included.
    pub duration: Duration,
    /// Unmeasured warm-up before the baseline.
    pub warmup: Duration,
    /// Measured epochs (at least 1).
    pub epochs: usize,
    /// Client threads (at least 1).
    pub clients: usize,
    /// Pause after traffic stops before sampling.
    pub settle: Duration,
    /// The budgets.
    pub limits: Limits,
    /// Restrict the traffic to these kinds (empty: the whole mix).
    pub only: Vec<Op>,
}

impl RunConfig {
    /// The measured time of one epoch.
    pub fn epoch_len(&self) -> Duration {
        self.duration.saturating_sub(self.warmup) / self.epochs.max(1) as u32
    }
}

#[derive(Default)]
struct Counters {
    ops: [AtomicU64; Op::ALL.len()],
    failures: AtomicU64,
    messages: Mutex<Vec<String>>,
}

impl Counters {
    fn total(&self) -> u64 {
        self.ops.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    fn by_kind(&self) -> [u64; Op::ALL.len()] {
        std::array::from_fn(|i| self.ops[i].load(Ordering::Relaxed))
    }

    fn fail(&self, op: Op, message: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < FAILURE_SAMPLES {
            kept.push(format!("{}: {message}", op.name()));
        }
    }
}

/// A client thread: walk the schedule until the gate stops it.
fn client_loop(id: usize, endpoint: Endpoint, schedule: Arc<[Op]>, gate: Arc<Gate>, counters: Arc<Counters>) {
    let mut conn = match Conn::open(&endpoint) {
        Ok(c) => Some(c),
        Err(e) => {
            counters.fail(Op::Unary, format!("client {id}: {e}"));
            None
        }
    };
    let mut n = (id * 5) as u64;
    while let Some(c) = conn.as_mut() {
        if !gate.checkpoint() || schedule.is_empty() {
            break;
        }
        let op = schedule[(n % schedule.len() as u64) as usize];
        match traffic::run(op, n, c, &endpoint) {
            Ok(()) => {
                counters.ops[op.index()].fetch_add(1, Ordering::Relaxed);
            }
            Err(f) => {
                counters.fail(op, format!("client {id}: {}", f.message));
                if f.connection_broken && !gate.is_stopped() {
                    conn = match Conn::open(&endpoint) {
                        Ok(fresh) => Some(fresh),
                        Err(e) => {
                            counters.fail(op, format!("client {id}: reconnect: {e}"));
                            None
                        }
                    };
                }
            }
        }
        n += 1;
    }
    drop(conn);
    gate.leave();
}

/// Quiesce, then sample: wait `settle`, then until two samples 100 ms apart
/// agree on descriptors and threads (in-flight teardown finished), at most
/// [`SETTLE_MAX`] more.
fn settled_sample(pid: u32, settle: Duration) -> Result<ProcessSample, SoakError> {
    std::thread::sleep(settle);
    let deadline = Instant::now() + SETTLE_MAX;
    let mut last = sample(pid)?;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = sample(pid)?;
        if (now.descriptors, now.threads) == (last.descriptors, last.threads) || Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}

/// Pause every client, sample the quiet worker, resume (unless `last`).
fn checkpoint_sample(gate: &Gate, pid: u32, config: &RunConfig, last: bool) -> Result<ProcessSample, SoakError> {
    let pause_limit = IO_TIMEOUT + Duration::from_secs(30);
    if !gate.pause(pause_limit) {
        return Err(SoakError::PauseTimeout(pause_limit.as_secs()));
    }
    let taken = settled_sample(pid, config.settle);
    if !last {
        gate.resume();
    }
    taken
}

/// Sleep `len`, waking early if every client thread has ended.
fn run_for(len: Duration, clients: &[JoinHandle<()>]) -> Result<(), SoakError> {
    let end = Instant::now() + len;
    while Instant::now() < end {
        if clients.iter().all(JoinHandle::is_finished) {
            return Err(SoakError::Setup("every client thread ended (see failure_samples)".into()));
        }
        std::thread::sleep(Duration::from_millis(50).min(end.saturating_duration_since(Instant::now())));
    }
    Ok(())
}

struct Measured {
    baseline: ProcessSample,
    warmup_ops: u64,
    at_baseline: [u64; Op::ALL.len()],
    samples: Vec<ProcessSample>,
    epoch_ops: Vec<u64>,
}

fn measure(
    config: &RunConfig,
    pid: u32,
    gate: &Gate,
    counters: &Counters,
    clients: &[JoinHandle<()>],
    measured: &mut Option<Measured>,
) -> Result<(), SoakError> {
    run_for(config.warmup, clients)?;
    let baseline = checkpoint_sample(gate, pid, config, false)?;
    let at_baseline = counters.by_kind();
    let warmup_ops = at_baseline.iter().sum();
    let m = measured.insert(Measured { baseline, warmup_ops, at_baseline, samples: Vec::new(), epoch_ops: Vec::new() });
    let mut before = warmup_ops;
    for epoch in 0..config.epochs.max(1) {
        run_for(config.epoch_len(), clients)?;
        let last = epoch + 1 == config.epochs.max(1);
        m.samples.push(checkpoint_sample(gate, pid, config, last)?);
        let total = counters.total();
        m.epoch_ops.push(total - before);
        before = total;
    }
    Ok(())
}

/// The worker's stderr: line count and a few distinct lines.
fn stderr_digest(path: &std::path::Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut distinct = BTreeSet::new();
    for line in text.lines() {
        if distinct.len() >= 5 {
            break;
        }
        distinct.insert(line.chars().take(200).collect::<String>());
    }
    (text.lines().count(), distinct.into_iter().collect())
}

/// Soak one transport. Errors that stop the run are reported in the
/// result (with whatever was measured), never left running.
pub fn run_transport(config: &RunConfig) -> TransportReport {
    let started = Instant::now();
    let mut report = TransportReport {
        transport: config.transport.name(),
        worker_pid: 0,
        clients: config.clients.max(1),
        warmup_secs: config.warmup.as_secs_f64(),
        epochs: config.epochs.max(1),
        epoch_secs: config.epoch_len().as_secs_f64(),
        elapsed_secs: 0.0,
        only: config.only.iter().map(|op| op.name()).collect(),
        warmup_operations: 0,
        operations: 0,
        operations_by_kind: BTreeMap::new(),
        epoch_operations: Vec::new(),
        failures: 0,
        failure_samples: Vec::new(),
        baseline: None,
        samples: Vec::new(),
        verdict: None,
        worker_exit: None,
        worker_stderr_lines: 0,
        worker_stderr_samples: Vec::new(),
        error: None,
        ok: false,
    };
    let worker = match Worker::start(&config.worker, config.transport) {
        Ok(w) => w,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.worker_pid = worker.pid;
    // Nothing may outlive the run by much: a stuck worker is killed.
    let overrun = Watchdog::arm(worker.pid, config.duration + IO_TIMEOUT * 3);
    let gate = Arc::new(Gate::default());
    let counters = Arc::new(Counters::default());
    let mut clients = Vec::new();
    let schedule: Arc<[Op]> = traffic::schedule(&config.only).into();
    let mut outcome = if schedule.is_empty() {
        Err(SoakError::Setup("the traffic filter leaves no operation".into()))
    } else {
        Ok(())
    };
    for id in 0..config.clients.max(1) {
        if outcome.is_err() {
            break;
        }
        gate.enter();
        let (endpoint, gate2, counters2) = (worker.endpoint.clone(), gate.clone(), counters.clone());
        let schedule = schedule.clone();
        match std::thread::Builder::new()
            .name(format!("soak-client-{id}"))
            .spawn(move || client_loop(id, endpoint, schedule, gate2, counters2))
        {
            Ok(handle) => clients.push(handle),
            Err(e) => {
                gate.leave();
                outcome = Err(SoakError::Thread(e));
            }
        }
    }
    let mut measured = None;
    if outcome.is_ok() {
        outcome = measure(config, worker.pid, &gate, &counters, &clients, &mut measured);
    }
    gate.stop();
    for handle in clients {
        if handle.join().is_err() {
            counters.fail(Op::Unary, "a client thread panicked".into());
        }
    }
    let killed_for_overrun = overrun.disarm();
    let stderr_path = worker.stderr_path.clone();
    report.worker_exit = Some(worker.stop());
    if killed_for_overrun {
        outcome = outcome.and(Err(SoakError::Setup("the run overran its deadline; the worker was killed".into())));
    }
    (report.worker_stderr_lines, report.worker_stderr_samples) = stderr_digest(&stderr_path);
    report.failures = counters.failures.load(Ordering::Relaxed);
    report.failure_samples = counters.messages.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(m) = measured {
        let now = counters.by_kind();
        report.operations_by_kind =
            Op::ALL.iter().map(|op| (op.name(), now[op.index()] - m.at_baseline[op.index()])).collect();
        report.operations = report.operations_by_kind.values().sum();
        report.warmup_operations = m.warmup_ops;
        report.epoch_operations = m.epoch_ops;
        report.verdict = Some(judge(&m.baseline, &m.samples, &config.limits));
        report.baseline = Some(m.baseline);
        report.samples = m.samples;
    }
    report.error = outcome.err().map(|e| e.to_string());
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report.ok = report.problems().is_empty() && report.verdict.is_some();
    if report.ok {
        let _ = std::fs::remove_file(&stderr_path);
    }
    report
}
