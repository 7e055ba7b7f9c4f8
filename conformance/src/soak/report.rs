//! What a soak run reports: per transport, the operations it drove, the
//! post-warm-up baseline, one sample per epoch, the growth verdict and how
//! the worker ended; and the summary over every transport, as JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::limits::{Limits, Verdict};
use super::sample::ProcessSample;
use super::worker::WorkerExit;

/// One transport's run.
#[derive(Debug, Clone, Serialize)]
pub struct TransportReport {
    /// `pipe`, `unix`, `tcp` or `http`.
    pub transport: &'static str,
    /// The sampled worker.
    pub worker_pid: u32,
    /// Client threads.
    pub clients: usize,
    /// Unmeasured warm-up before the baseline, seconds.
    pub warmup_secs: f64,
    /// Measured epochs (one sample after each).
    pub epochs: usize,
    /// Planned length of one epoch, seconds.
    pub epoch_secs: f64,
    /// Wall time of the whole transport run, seconds.
    pub elapsed_secs: f64,
    /// The operation kinds the traffic was restricted to (empty: all).
    pub only: Vec<&'static str>,
    /// Operations during warm-up.
    pub warmup_operations: u64,
    /// Operations after the baseline.
    pub operations: u64,
    /// Measured operations per kind.
    pub operations_by_kind: BTreeMap<&'static str, u64>,
    /// Measured operations in each epoch.
    pub epoch_operations: Vec<u64>,
    /// Operations (warm-up included) that did not behave as specified.
    pub failures: u64,
    /// The first few failure messages.
    pub failure_samples: Vec<String>,
    /// The sample after warm-up.
    pub baseline: Option<ProcessSample>,
    /// One sample after every epoch.
    pub samples: Vec<ProcessSample>,
    /// Growth from baseline to the last sample, against the limits.
    pub verdict: Option<Verdict>,
    /// How the worker ended when stopped.
    pub worker_exit: Option<WorkerExit>,
    /// Lines the worker wrote to stderr during the run.
    pub worker_stderr_lines: usize,
    /// A few of them (deduplicated), for diagnosis.
    pub worker_stderr_samples: Vec<String>,
    /// Why the run could not be completed, if it could not.
    pub error: Option<String>,
    /// No error, no failed operation, no broken limit, worker stopped cleanly.
    pub ok: bool,
}

impl TransportReport {
    /// Why this transport is not ok, one sentence each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = &self.error {
            out.push(format!("run error: {e}"));
        }
        if let Some(v) = &self.verdict {
            out.extend(v.violations.iter().cloned());
        }
        if self.failures > 0 {
            out.push(format!("{} operations failed", self.failures));
        }
        if let Some(exit) = &self.worker_exit {
            if !exit.graceful {
                out.push(format!("worker did not stop by itself ({})", exit.status));
            }
        }
        out
    }
}

/// Every transport's run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Every transport ok.
    pub ok: bool,
    /// The limits applied.
    pub limits: Limits,
    /// Per-transport reports, in run order.
    pub transports: Vec<TransportReport>,
}
