//! Registry and binding behaviour on a fake clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::{CallContext, Clock, FakeClock, Metadata};

struct Counter {
    value: Mutex<i64>,
    closes: Arc<AtomicUsize>,
}

impl SessionState for Counter {
    fn close(&self) {
        self.closes.fetch_add(1, Ordering::SeqCst);
    }
}

struct Other;

impl SessionState for Other {}

fn counter(closes: &Arc<AtomicUsize>) -> Counter {
    Counter { value: Mutex::new(0), closes: closes.clone() }
}

fn registry(clock: &FakeClock) -> Arc<SessionRegistry> {
    Arc::new(SessionRegistry::new(Arc::new(clock.clone()) as Arc<dyn Clock>, Duration::from_secs(10)))
}

fn ctx(binding: &Arc<SessionBinding>) -> CallContext {
    CallContext::new("r".into(), "s".into(), "p".into(), "m".into(), Arc::default(), Metadata::new())
        .with_session(Some(binding.clone()))
}

#[test]
fn open_resume_and_close_through_the_context() {
    let clock = FakeClock::at_unix(1_000);
    let reg = registry(&clock);
    let closes = Arc::new(AtomicUsize::new(0));
    let opening = Arc::new(SessionBinding::fresh(reg.clone(), "anonymous".into(), true));
    let c = ctx(&opening);
    c.open_session(counter(&closes), None).expect("open");
    *c.session::<Counter>().expect("bound in the opening call").value.lock().unwrap() = 7;
    let entry = opening.opened().expect("opened");
    assert_eq!(opening.record().action, SessionAction::Open);
    assert_eq!(c.session_id().expect("id").len(), 24);

    let found = reg.get(entry.id(), "anonymous").expect("live");
    let resuming = Arc::new(SessionBinding::resumed(reg.clone(), "anonymous".into(), true, found));
    let c2 = ctx(&resuming);
    assert_eq!(*c2.session::<Counter>().expect("resumed").value.lock().unwrap(), 7);
    assert!(c2.session::<Other>().is_none(), "typed access checks the type");
    c2.close_session().expect("close");
    c2.close_session().expect("idempotent");
    assert!(resuming.closed() && resuming.opened().is_none());
    assert_eq!(resuming.record().session_id.as_deref(), Some(session_id_hex(entry.id()).as_str()));
    assert_eq!(closes.load(Ordering::SeqCst), 1, "state closed exactly once");
    assert!(reg.get(entry.id(), "anonymous").is_none(), "evicted");
}

#[test]
fn opens_need_the_accept_header_and_are_refused_while_draining() {
    let clock = FakeClock::at_unix(1_000);
    let reg = registry(&clock);
    let closes = Arc::new(AtomicUsize::new(0));
    let no_accept = Arc::new(SessionBinding::fresh(reg.clone(), "anonymous".into(), false));
    let err = ctx(&no_accept).open_session(counter(&closes), None).expect_err("no accept");
    assert!(err.message.contains(ACCEPT_HEADER_NAME), "{}", err.message);

    reg.set_draining(true);
    let draining = Arc::new(SessionBinding::fresh(reg.clone(), "anonymous".into(), true));
    let err = ctx(&draining).open_session(counter(&closes), None).expect_err("draining");
    assert!(err.is_server_draining());
    assert_eq!(err.error_type, "ServerDrainingError");
    assert!(reg.is_empty());
}

#[test]
fn sessions_expire_on_the_clock_and_belong_to_their_principal() {
    let clock = FakeClock::at_unix(1_000);
    let reg = registry(&clock);
    let closes = Arc::new(AtomicUsize::new(0));
    let b = Arc::new(SessionBinding::fresh(reg.clone(), "alice".into(), true));
    ctx(&b).open_session(counter(&closes), Some(Duration::from_secs(2))).expect("open");
    let id = *b.opened().expect("opened").id();
    assert!(reg.get(&id, "bob").is_none(), "another principal misses");
    clock.advance(Duration::from_secs(2));
    assert!(reg.get(&id, "alice").is_some(), "alive at its expiry instant");
    clock.advance(Duration::from_secs(1));
    assert_eq!(reg.reap(), 1);
    assert!(reg.get(&id, "alice").is_none());
    assert_eq!(closes.load(Ordering::SeqCst), 1);
}

#[test]
fn shutdown_closes_every_session_and_pipe_transports_refuse() {
    let clock = FakeClock::at_unix(1_000);
    let reg = registry(&clock);
    let closes = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let b = Arc::new(SessionBinding::fresh(reg.clone(), "anonymous".into(), true));
        ctx(&b).open_session(counter(&closes), None).expect("open");
    }
    assert_eq!(reg.shutdown(), 3);
    assert_eq!(closes.load(Ordering::SeqCst), 3);

    let plain = CallContext::new("r".into(), "s".into(), "p".into(), "m".into(), Arc::default(), Metadata::new());
    let err = plain.open_session(counter(&closes), None).expect_err("no sessions here");
    assert!(err.message.contains("not available on this transport"));
    assert!(plain.close_session().is_err());
    assert!(plain.session::<Counter>().is_none());
}

#[test]
fn typed_errors_carry_their_kinds() {
    let lost = crate::RpcError::session_lost("gone");
    assert!(lost.is_session_lost() && !lost.is_server_draining());
    assert_eq!(lost.error_type, "SessionLostError");
    assert_eq!(lost.kind.as_deref(), Some(SESSION_LOST_KIND));
}
