//! Which calls run their handler inline on the runtime thread that read the
//! request, rather than off it.
//!
//! A handler may block, so by default it must not hold a runtime thread; but
//! moving a call to another thread costs wake-ups on every call (with
//! `block_in_place` about 7 context switches per call against 2 inline, a
//! quarter of a small HTTP call's server CPU). A method whose recent calls
//! all finished within a limit (default 100 µs) is taken to be quick and
//! runs inline; one slow call sends it back off the reactor until it has
//! been quick again [`QUICK_STREAK`] times in a row. A method's first
//! calls, and every call of a sticky session (which may wait for the
//! session's lock), run off the reactor.
//!
//! Off the reactor means `spawn_blocking` while this tracking is on: a
//! slow call then holds one blocking-pool thread, so the thread count grows
//! only with slow calls in flight. (`block_in_place` would hand the runtime
//! thread's role to a pool thread instead, and with most calls inline the
//! pool is empty between slow calls: two threads could appear for one call,
//! which the reference suite's resource soak counts as a leak.) With
//! tracking off every call goes through `block_in_place`, which keeps the
//! pool warm.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vgi_rpc_core::{MethodDef, Server};

/// Quick calls in a row before a method runs inline.
pub(crate) const QUICK_STREAK: u32 = 8;

/// Per hosted method, how many of its latest calls in a row were quick.
#[derive(Debug)]
pub(crate) struct InlineHandlers {
    limit: Option<Duration>,
    /// Keyed by the address of the hosted `Arc<MethodDef>`.
    streaks: HashMap<usize, AtomicU32>,
}

fn key(method: &Arc<MethodDef>) -> usize {
    Arc::as_ptr(method) as usize
}

impl InlineHandlers {
    /// Track every method `server` hosts; `limit: None` never runs inline.
    pub(crate) fn new(server: &Server, limit: Option<Duration>) -> Self {
        let methods = server.protocols().iter().flat_map(|p| p.method_defs().iter());
        let streaks =
            if limit.is_some() { methods.map(|m| (key(m), AtomicU32::new(0))).collect() } else { HashMap::new() };
        Self { limit, streaks }
    }

    /// Whether quick methods run inline at all (a limit is set).
    pub(crate) fn enabled(&self) -> bool {
        self.limit.is_some()
    }

    /// Whether `method`'s handler may run inline now.
    pub(crate) fn is_quick(&self, method: &Arc<MethodDef>) -> bool {
        self.streaks.get(&key(method)).is_some_and(|s| s.load(Ordering::Relaxed) >= QUICK_STREAK)
    }

    /// A call of `method` took `took`.
    pub(crate) fn record(&self, method: &Arc<MethodDef>, took: Duration) {
        let (Some(limit), Some(streak)) = (self.limit, self.streaks.get(&key(method))) else { return };
        if took <= limit {
            let _ = streak.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_add(1)));
        } else {
            streak.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vgi_rpc_core::Protocol;

    fn server() -> Server {
        let noop = MethodDef::builder("noop").unary(|_, _| Ok(None));
        Server::builder().protocol(Protocol::new("demo.v1").method(noop)).build().expect("server")
    }

    fn hosted(server: &Server) -> Arc<MethodDef> {
        server.protocols()[0].method_defs()[0].clone()
    }

    #[test]
    fn a_method_runs_inline_after_a_streak_of_quick_calls_and_leaves_on_a_slow_one() {
        let server = server();
        let method = hosted(&server);
        let inline = InlineHandlers::new(&server, Some(Duration::from_micros(100)));
        for _ in 0..QUICK_STREAK {
            assert!(!inline.is_quick(&method), "not before the streak is complete");
            inline.record(&method, Duration::from_micros(20));
        }
        assert!(inline.is_quick(&method));
        inline.record(&method, Duration::from_millis(5));
        assert!(!inline.is_quick(&method), "one slow call is enough to leave");
    }

    #[test]
    fn no_limit_and_unknown_methods_never_run_inline() {
        let server = server();
        let method = hosted(&server);
        let off = InlineHandlers::new(&server, None);
        for _ in 0..2 * QUICK_STREAK {
            off.record(&method, Duration::ZERO);
        }
        assert!(!off.is_quick(&method));
        let stranger = Arc::new(MethodDef::builder("other").unary(|_, _| Ok(None)));
        let on = InlineHandlers::new(&server, Some(Duration::from_micros(100)));
        for _ in 0..2 * QUICK_STREAK {
            on.record(&stranger, Duration::ZERO);
        }
        assert!(!on.is_quick(&stranger));
    }
}
