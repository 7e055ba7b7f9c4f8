//! Quotas on a fake clock: limits per principal, refills, releases on
//! every way out, lapses of abandoned stateless streams.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::{AuthContext, FakeClock};

fn quotas(settings: QuotaSettings) -> (Quotas, FakeClock) {
    let clock = FakeClock::at_unix(1_700_000_000);
    (Quotas::new(settings.validate().expect("valid"), Arc::new(clock.clone())), clock)
}

fn streams(max: usize) -> QuotaSettings {
    QuotaSettings {
        max_open_streams_per_principal: Some(max),
        stream_idle_expiry: Duration::from_secs(30),
        ..Default::default()
    }
}

fn caller(principal: &str) -> ConnectionInfo {
    ConnectionInfo { auth: Arc::new(AuthContext::authenticated("bearer", principal)), ..Default::default() }
}

fn table_len(q: &Quotas) -> usize {
    q.shared.as_ref().map_or(0, |s| s.table.lock().expect("lock").len())
}

#[test]
fn off_counts_nothing_and_refuses_nothing() {
    let q = Quotas::off();
    let alice = caller("alice");
    let leases: Vec<_> = (0..100).map(|_| q.acquire_stream(&alice).expect("no limit")).collect();
    for _ in 0..1000 {
        q.admit_request(&alice).expect("no limit");
    }
    q.enter_stream_turn(&alice, "s1").expect("no limit").park();
    assert_eq!(q.open_streams(&alice), 0);
    assert_eq!(leases.len(), 100);
    let (q, _) = quotas(QuotaSettings::default());
    assert!(q.shared.is_none(), "default settings build the off quotas");
}

#[test]
fn held_streams_are_limited_per_principal_and_released_on_drop() {
    let (q, _) = quotas(streams(2));
    let (alice, bob) = (caller("alice"), caller("bob"));
    let a1 = q.acquire_stream(&alice).expect("first");
    let a2 = q.acquire_stream(&alice).expect("second");
    let refused = q.acquire_stream(&alice).expect_err("alice is at her limit");
    assert_eq!(refused.limit, QuotaLimit::OpenStreams { max: 2 });
    assert_eq!(refused.retry_after, Duration::from_secs(1), "held streams give the default hint");
    // Bob is unaffected.
    let b1 = q.acquire_stream(&bob).expect("bob has his own quota");
    let _b2 = q.acquire_stream(&bob).expect("bob has his own quota");
    assert_eq!((q.open_streams(&alice), q.open_streams(&bob)), (2, 2));
    drop(a1);
    assert_eq!(q.open_streams(&alice), 1);
    let _a3 = q.acquire_stream(&alice).expect("room again after one ended");
    drop((a2, b1));
    assert_eq!((q.open_streams(&alice), q.open_streams(&bob)), (1, 1));
}

#[test]
fn a_panicking_holder_releases_its_stream() {
    let (q, _) = quotas(streams(1));
    let alice = caller("alice");
    let q2 = q.clone();
    let a = alice.clone();
    let joined = std::thread::spawn(move || {
        let _lease = q2.acquire_stream(&a).expect("first");
        panic!("handler panicked mid-stream");
    })
    .join();
    assert!(joined.is_err(), "the thread panicked");
    assert_eq!(q.open_streams(&alice), 0);
    let _again = q.acquire_stream(&alice).expect("released by unwinding");
}

#[test]
fn request_bucket_refills_on_the_clock() {
    let settings =
        QuotaSettings { requests_per_second_per_principal: Some(2.0), request_burst: Some(2), ..Default::default() };
    let (q, clock) = quotas(settings);
    let (alice, bob) = (caller("alice"), caller("bob"));
    q.admit_request(&alice).expect("burst 1");
    q.admit_request(&alice).expect("burst 2");
    let refused = q.admit_request(&alice).expect_err("bucket empty");
    assert_eq!(refused.limit, QuotaLimit::RequestRate { per_second: 2.0, burst: 2 });
    assert_eq!(refused.retry_after, Duration::from_millis(500));
    assert_eq!(refused.retry_after_secs(), 1);
    q.admit_request(&bob).expect("bob's bucket is his own");
    clock.advance(Duration::from_millis(499));
    assert_eq!(q.admit_request(&alice).expect_err("not yet").retry_after, Duration::from_millis(1));
    clock.advance(Duration::from_millis(1));
    q.admit_request(&alice).expect("one token refilled");
    assert!(q.admit_request(&alice).is_err());
    clock.advance(Duration::from_secs(10));
    q.admit_request(&alice).expect("refilled");
    q.admit_request(&alice).expect("refilled to the burst");
    assert!(q.admit_request(&alice).is_err(), "never beyond the burst");
}

#[test]
fn stateless_streams_count_once_per_id_and_end_on_drop() {
    let (q, _) = quotas(streams(2));
    let alice = caller("alice");
    q.enter_stream_turn(&alice, "s1").expect("init s1").park();
    q.enter_stream_turn(&alice, "s2").expect("init s2").park();
    // Continuing a counted stream is not a new stream, even at the limit.
    q.enter_stream_turn(&alice, "s1").expect("turn of s1").park();
    assert_eq!(q.open_streams(&alice), 2);
    assert!(q.enter_stream_turn(&alice, "s3").is_err(), "a third stream is over the limit");
    // A turn that finishes, fails or cancels drops its StreamTurn unparked.
    drop(q.enter_stream_turn(&alice, "s1").expect("last turn of s1"));
    assert_eq!(q.open_streams(&alice), 1);
    q.enter_stream_turn(&alice, "s3").expect("room after s1 ended").park();
    // A refused init leaves nothing counted.
    assert_eq!(q.open_streams(&alice), 2);
}

#[test]
fn abandoned_stateless_streams_lapse_after_the_idle_expiry() {
    let (q, clock) = quotas(streams(1));
    let (alice, bob) = (caller("alice"), caller("bob"));
    q.enter_stream_turn(&alice, "s1").expect("init").park();
    clock.advance(Duration::from_secs(10));
    let refused = q.enter_stream_turn(&alice, "s2").expect_err("at the limit");
    assert_eq!(refused.retry_after, Duration::from_secs(20), "the hint is when s1 lapses");
    q.enter_stream_turn(&bob, "b1").expect("bob is independent").park();
    // A turn refreshes the idle clock.
    q.enter_stream_turn(&alice, "s1").expect("turn").park();
    clock.advance(Duration::from_secs(29));
    assert!(q.enter_stream_turn(&alice, "s2").is_err(), "s1 had a turn 29s ago");
    clock.advance(Duration::from_secs(1));
    assert_eq!(q.open_streams(&alice), 0, "s1 lapsed after 30s without a turn");
    q.enter_stream_turn(&alice, "s2").expect("room after the lapse").park();
    // A lapsed stream that comes back is counted again, under the limit.
    assert!(q.enter_stream_turn(&alice, "s1").is_err(), "s1's comeback would be a second stream");
}

#[test]
fn a_stream_in_a_long_turn_never_lapses() {
    let (q, clock) = quotas(streams(1));
    let alice = caller("alice");
    let turn = q.enter_stream_turn(&alice, "s1").expect("init");
    clock.advance(Duration::from_secs(3600));
    let refused = q.enter_stream_turn(&alice, "s2").expect_err("s1 is mid-turn");
    assert_eq!(refused.retry_after, Duration::from_secs(1));
    turn.park();
    assert_eq!(q.open_streams(&alice), 1);
}

#[test]
fn held_and_stateless_streams_share_one_limit() {
    let (q, _) = quotas(streams(2));
    let alice = caller("alice");
    let _held = q.acquire_stream(&alice).expect("held");
    q.enter_stream_turn(&alice, "s1").expect("stateless").park();
    assert!(q.acquire_stream(&alice).is_err());
    assert!(q.enter_stream_turn(&alice, "s2").is_err());
}

#[test]
fn sessions_are_limited_per_principal_and_released_on_drop() {
    let settings = QuotaSettings { max_open_sessions_per_principal: Some(1), ..Default::default() };
    let (q, _) = quotas(settings);
    let (alice, bob) = (caller("alice"), caller("bob"));
    let session = q.acquire_session(&alice).expect("first session");
    let refused = q.acquire_session(&alice).expect_err("one session each");
    assert_eq!(refused.limit, QuotaLimit::OpenSessions { max: 1 });
    assert_eq!(refused.to_rpc_error().kind.as_deref(), Some(QUOTA_EXCEEDED_KIND));
    let _bob = q.acquire_session(&bob).expect("bob's own");
    assert_eq!(q.open_sessions(&alice), 1);
    // Streams are not limited here, so sessions do not count against them.
    let _stream = q.acquire_stream(&alice).expect("streams unlimited");
    drop(session);
    assert_eq!(q.open_sessions(&alice), 0);
    let _again = q.acquire_session(&alice).expect("room after close");
}

#[test]
fn anonymous_callers_are_keyed_by_address() {
    let (q, _) = quotas(streams(1));
    let from = |addr: &str| ConnectionInfo { remote_addr: Some(addr.to_owned()), ..Default::default() };
    let _a = q.acquire_stream(&from("10.0.0.1:1000")).expect("first");
    assert!(q.acquire_stream(&from("10.0.0.1:2000")).is_err(), "same host, another port");
    let _b = q.acquire_stream(&from("10.0.0.2:1000")).expect("another host");
}

#[test]
fn idle_principals_are_forgotten() {
    let settings = QuotaSettings {
        max_open_streams_per_principal: Some(4),
        requests_per_second_per_principal: Some(1.0),
        stream_idle_expiry: Duration::from_secs(5),
        ..Default::default()
    };
    let (q, clock) = quotas(settings);
    for i in 0..50 {
        let who = caller(&format!("p{i}"));
        q.admit_request(&who).expect("first request");
        q.enter_stream_turn(&who, "s").expect("init").park();
    }
    assert_eq!(table_len(&q), 50);
    clock.advance(Duration::from_secs(6));
    // Any operation after the sweep interval purges lapsed streams and full buckets.
    q.admit_request(&caller("late")).expect("request");
    assert_eq!(table_len(&q), 1, "only the caller still paying off a request remains");
    let lease = q.acquire_stream(&caller("holder")).expect("held");
    clock.advance(Duration::from_secs(6));
    q.admit_request(&caller("later")).expect("request");
    assert_eq!(table_len(&q), 2, "a holder of a live stream is kept, full buckets are not");
    drop(lease);
    assert_eq!(table_len(&q), 1, "releasing the last hold forgets the principal");
}
