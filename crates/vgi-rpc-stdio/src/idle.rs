//! Worker self-shutdown when idle (`--idle-timeout`): counts a listener's
//! live connections and says when it has had none for long enough.
//!
//! Before the first connection the allowance is the idle timeout but never
//! less than [`STARTUP_GRACE_FLOOR`], so a worker that a launcher has just
//! spawned is not gone before its first client connects; after that, each
//! time the last connection closes the full idle timeout starts again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest wait for a first connection.
pub const STARTUP_GRACE_FLOOR: Duration = Duration::from_secs(60);
/// The shortest pause between checks while connections are live.
const MIN_RECHECK: Duration = Duration::from_millis(100);

/// What the accept loop should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdleCheck {
    /// Idle past the allowance: stop accepting and exit.
    Expired,
    /// Wait for a connection at most this long (`None`: no limit), then check again.
    Wait(Option<Duration>),
}

struct State {
    active: usize,
    idle_since: Instant,
    allowance: Duration,
}

/// Live-connection count and idle clock of one listener.
pub(crate) struct IdleWatch {
    limit: Option<Duration>,
    state: Mutex<State>,
}

impl IdleWatch {
    /// A watch that expires after `limit` without connections (`None`: never).
    pub(crate) fn new(limit: Option<Duration>) -> Self {
        let allowance = limit.map_or(Duration::ZERO, |l| l.max(STARTUP_GRACE_FLOOR));
        Self { limit, state: Mutex::new(State { active: 0, idle_since: Instant::now(), allowance }) }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// A connection was accepted.
    pub(crate) fn opened(&self) {
        self.with_state(|s| s.active += 1);
    }

    /// A connection ended; the last one to end restarts the idle clock.
    pub(crate) fn closed(&self) {
        let limit = self.limit;
        self.with_state(|s| {
            s.active = s.active.saturating_sub(1);
            if s.active == 0 {
                s.idle_since = Instant::now();
                if let Some(limit) = limit {
                    s.allowance = limit;
                }
            }
        });
    }

    /// Whether the listener has been idle too long, or how long to wait before asking again.
    pub(crate) fn check(&self) -> IdleCheck {
        let Some(limit) = self.limit else { return IdleCheck::Wait(None) };
        self.with_state(|s| {
            if s.active > 0 {
                // Nothing can expire while a client is connected; look again
                // later (the last close restarts the clock, so one look per
                // limit is enough; never a busy loop).
                return IdleCheck::Wait(Some(limit.max(MIN_RECHECK)));
            }
            let idle = s.idle_since.elapsed();
            if idle >= s.allowance {
                IdleCheck::Expired
            } else {
                IdleCheck::Wait(Some(s.allowance - idle))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_limit_never_expires() {
        let watch = IdleWatch::new(None);
        assert_eq!(watch.check(), IdleCheck::Wait(None));
    }

    #[test]
    fn first_connection_gets_the_startup_grace() {
        let watch = IdleWatch::new(Some(Duration::ZERO));
        match watch.check() {
            IdleCheck::Wait(Some(left)) => assert!(left > Duration::from_secs(50), "grace {left:?}"),
            other => panic!("expected a grace wait, got {other:?}"),
        }
    }

    #[test]
    fn live_connection_holds_off_expiry_and_last_close_restarts_the_clock() {
        let watch = IdleWatch::new(Some(Duration::ZERO));
        watch.opened();
        watch.opened();
        assert_eq!(watch.check(), IdleCheck::Wait(Some(MIN_RECHECK)));
        watch.closed();
        assert_eq!(watch.check(), IdleCheck::Wait(Some(MIN_RECHECK)));
        watch.closed();
        // A zero limit after the first client: idle at once.
        assert_eq!(watch.check(), IdleCheck::Expired);
    }
}
