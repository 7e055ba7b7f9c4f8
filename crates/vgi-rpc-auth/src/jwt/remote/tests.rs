//! [`RemoteJwks`] cache behaviour against an in-memory fetcher: TTL,
//! refresh on unknown `kid`, rate limit, coalescing, bounded waits,
//! failures keeping the old keys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

use super::*;

/// Serves the key ids in `kids` (None = fail), after `delay`.
struct FakeFetcher {
    kids: Mutex<Option<Vec<&'static str>>>,
    delay: Mutex<Duration>,
    max_age: Option<Duration>,
    calls: Arc<AtomicUsize>,
}

impl Fetch for FakeFetcher {
    fn fetch(&self) -> Result<Fetched, JwksError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(*self.delay.lock().unwrap());
        let kids = self.kids.lock().unwrap().clone();
        let Some(kids) = kids else {
            return Err(JwksError::Fetch("issuer down".to_string()));
        };
        if kids.contains(&"panic") {
            panic!("fetcher panicked");
        }
        let keys: Vec<_> = kids
            .iter()
            .map(|kid| json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": URL_SAFE_NO_PAD.encode([7u8; 32])}))
            .collect();
        Ok(Fetched { keys: KeySet::from_value(&json!({ "keys": keys }))?, max_age: self.max_age })
    }
}

struct Rig {
    jwks: RemoteJwks,
    fetcher: Arc<FakeFetcher>,
    calls: Arc<AtomicUsize>,
}

impl Rig {
    fn new(kids: &[&'static str], settings: JwksSettings) -> Rig {
        let calls = Arc::new(AtomicUsize::new(0));
        let fetcher = Arc::new(FakeFetcher {
            kids: Mutex::new(Some(kids.to_vec())),
            delay: Mutex::new(Duration::ZERO),
            max_age: None,
            calls: Arc::clone(&calls),
        });
        let jwks = RemoteJwks::with_fetcher(Box::new(Shim(Arc::clone(&fetcher))), settings);
        Rig { jwks, fetcher, calls }
    }

    fn serve(&self, kids: Option<&[&'static str]>) {
        *self.fetcher.kids.lock().unwrap() = kids.map(<[_]>::to_vec);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn knows(&self, kid: &str) -> bool {
        self.jwks.keys_for(Some(kid)).is_some_and(|k| k.has_kid(kid))
    }
}

struct Shim(Arc<FakeFetcher>);

impl Fetch for Shim {
    fn fetch(&self) -> Result<Fetched, JwksError> {
        self.0.fetch()
    }
}

fn fast() -> JwksSettings {
    JwksSettings::default()
        .with_min_refresh_interval(Duration::from_millis(300))
        .with_refresh_wait(Duration::from_secs(3))
}

#[test]
fn first_use_fetches_once_then_serves_from_cache() {
    let rig = Rig::new(&["a"], fast());
    assert_eq!(rig.jwks.key_count(), 0);
    assert!(rig.knows("a"));
    assert!(rig.knows("a"));
    assert!(rig.jwks.keys_for(None).is_some());
    assert_eq!(rig.calls(), 1);
    assert_eq!((rig.jwks.key_count(), rig.jwks.fetch_attempts()), (1, 1));
    assert!(format!("{:?}", rig.jwks).contains("keys: 1"));
}

#[test]
fn unknown_kid_refreshes_at_a_bounded_rate() {
    let rig = Rig::new(&["a"], fast());
    assert!(rig.knows("a"));
    rig.serve(Some(&["a", "b"]));
    // Within the interval after the first fetch: decided on the keys at hand.
    assert!(!rig.knows("b"));
    assert_eq!(rig.calls(), 1);
    std::thread::sleep(Duration::from_millis(350));
    assert!(rig.knows("b"), "one refresh picks up the rotated key");
    assert_eq!(rig.calls(), 2);
    // A burst of made-up kids right after: no further fetch.
    for i in 0..50 {
        assert!(!rig.knows(&format!("bogus-{i}")));
    }
    assert_eq!(rig.calls(), 2);
    std::thread::sleep(Duration::from_millis(350));
    assert!(!rig.knows("bogus-x"));
    assert_eq!(rig.calls(), 3, "one more fetch once the interval has passed");
}

#[test]
fn concurrent_unknown_kids_share_one_fetch() {
    let rig = Rig::new(&["a"], fast());
    *rig.fetcher.delay.lock().unwrap() = Duration::from_millis(200);
    let jwks = rig.jwks.clone();
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let jwks = jwks.clone();
            std::thread::spawn(move || jwks.keys_for(Some("a")).is_some_and(|k| k.has_kid("a")))
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap());
    }
    assert_eq!(rig.calls(), 1);
}

#[test]
fn failed_fetch_keeps_keys_and_refuses_unknown_kids() {
    let rig = Rig::new(&["a"], fast());
    assert!(rig.knows("a"));
    rig.serve(None);
    std::thread::sleep(Duration::from_millis(350));
    assert!(!rig.knows("b"));
    assert_eq!(rig.calls(), 2);
    assert!(matches!(rig.jwks.last_error(), Some(JwksError::Fetch(_))));
    assert!(rig.knows("a"), "cached keys survive the failure");
    assert_eq!(rig.jwks.key_count(), 1);
    // No keys at all when the very first fetch fails.
    let down = Rig::new(&["a"], fast());
    down.serve(None);
    assert!(down.jwks.keys_for(Some("a")).is_none());
    assert!(down.jwks.keys_for(None).is_none(), "rate-limited: no second fetch");
    assert_eq!(down.calls(), 1);
}

#[test]
fn a_slow_issuer_costs_a_request_at_most_the_wait_bound() {
    let rig = Rig::new(&["a"], fast().with_refresh_wait(Duration::from_millis(150)));
    *rig.fetcher.delay.lock().unwrap() = Duration::from_millis(1500);
    let started = Instant::now();
    assert!(rig.jwks.keys_for(Some("a")).is_none());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(140) && waited < Duration::from_millis(1000), "{waited:?}");
    // A second caller during the same fetch waits too, but never starts another.
    assert!(rig.jwks.keys_for(Some("a")).is_none());
    assert_eq!(rig.calls(), 1);
    // The background fetch lands and later callers see its keys.
    std::thread::sleep(Duration::from_millis(1600));
    assert!(rig.knows("a"));
    assert_eq!(rig.calls(), 1);
    // Zero wait: refuse at once, fetch in the background.
    let eager = Rig::new(&["a"], fast().with_refresh_wait(Duration::ZERO));
    *eager.fetcher.delay.lock().unwrap() = Duration::from_millis(100);
    assert!(eager.jwks.keys_for(Some("a")).is_none());
    std::thread::sleep(Duration::from_millis(300));
    assert!(eager.knows("a"));
}

#[test]
fn expired_ttl_refreshes_in_the_background() {
    let settings =
        fast().with_default_ttl(Duration::ZERO).with_ttl_bounds(Duration::from_millis(200), Duration::from_secs(1));
    let rig = Rig::new(&["a"], settings);
    assert!(rig.knows("a"));
    rig.serve(Some(&["b"]));
    *rig.fetcher.delay.lock().unwrap() = Duration::from_millis(300);
    std::thread::sleep(Duration::from_millis(350));
    let started = Instant::now();
    assert!(rig.knows("a"), "stale keys serve while the refresh runs");
    assert!(started.elapsed() < Duration::from_millis(100), "no wait on a known kid");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rig.calls(), 2);
    assert!(rig.jwks.keys_for(None).is_some_and(|k| k.has_kid("b") && !k.has_kid("a")));
}

#[test]
fn a_panicking_fetcher_does_not_wedge_the_cache() {
    let rig = Rig::new(&["panic"], fast());
    assert!(rig.jwks.keys_for(Some("a")).is_none());
    rig.serve(Some(&["a"]));
    std::thread::sleep(Duration::from_millis(350));
    assert!(rig.knows("a"));
    assert_eq!(rig.calls(), 2);
}

#[test]
fn refresh_now_reports() {
    let rig = Rig::new(&["a", "b"], fast());
    assert_eq!(rig.jwks.refresh_now(), Ok(2));
    rig.serve(None);
    assert!(matches!(rig.jwks.refresh_now(), Err(JwksError::Fetch(_))));
    assert_eq!(rig.jwks.key_count(), 2);
    assert_eq!(rig.jwks.fetch_attempts(), 2);
}

#[test]
fn ttl_honours_max_age_within_bounds() {
    let s = JwksSettings::default();
    assert_eq!(s.ttl(None), Duration::from_secs(600));
    assert_eq!(s.ttl(Some(Duration::from_secs(3600))), Duration::from_secs(3600));
    assert_eq!(s.ttl(Some(Duration::ZERO)), Duration::from_secs(60));
    assert_eq!(s.ttl(Some(Duration::from_secs(90 * 24 * 3600))), Duration::from_secs(24 * 3600));
    let s = s.with_ttl_bounds(Duration::from_secs(10), Duration::from_secs(5));
    assert_eq!(s.ttl(None), Duration::from_secs(10), "max below min is raised to min");
}
