//! The checkpoint between the driver and its client threads: the driver
//! pauses traffic at an epoch boundary (every client parks between two
//! operations), samples the quiet worker, and resumes; or stops everyone.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct State {
    paused: bool,
    stopped: bool,
    parked: usize,
    active: usize,
}

/// Shared by the driver and every client thread.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A client that panicked mid-operation holds no invariant here worth
        // refusing the counters for.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A client thread starts (call before spawning it).
    pub fn enter(&self) {
        self.lock().active += 1;
    }

    /// A client thread ends (it will not reach another checkpoint).
    pub fn leave(&self) {
        let mut s = self.lock();
        s.active = s.active.saturating_sub(1);
        self.changed.notify_all();
    }

    /// Called by a client between operations: parks while paused. `false`
    /// once the driver stopped the run.
    pub fn checkpoint(&self) -> bool {
        let mut s = self.lock();
        if s.paused && !s.stopped {
            s.parked += 1;
            self.changed.notify_all();
            while s.paused && !s.stopped {
                s = self.changed.wait(s).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            s.parked -= 1;
        }
        !s.stopped
    }

    /// Whether the run was stopped (for loops inside one operation).
    pub fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Pause and wait until every live client parked; `false` on timeout.
    pub fn pause(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        s.paused = true;
        while s.parked < s.active {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = match self.changed.wait_timeout(s, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    /// Let parked clients go on.
    pub fn resume(&self) {
        self.lock().paused = false;
        self.changed.notify_all();
    }

    /// End the run: every checkpoint returns `false` from now on.
    pub fn stop(&self) {
        let mut s = self.lock();
        s.stopped = true;
        s.paused = false;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn pause_waits_for_every_client_and_stop_releases_them() {
        let gate = Arc::new(Gate::default());
        let work = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                gate.enter();
                let (gate, work) = (gate.clone(), work.clone());
                std::thread::spawn(move || {
                    while gate.checkpoint() {
                        work.fetch_add(1, Ordering::SeqCst);
                        std::thread::yield_now();
                    }
                    gate.leave();
                })
            })
            .collect();
        assert!(gate.pause(Duration::from_secs(30)), "all three park");
        let frozen = work.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(work.load(Ordering::SeqCst), frozen, "no work while paused");
        gate.resume();
        gate.stop();
        for t in threads {
            t.join().expect("client thread");
        }
        assert!(gate.is_stopped() && !gate.checkpoint());
        assert!(gate.pause(Duration::from_millis(1)), "no live clients: nothing to wait for");
    }
}
