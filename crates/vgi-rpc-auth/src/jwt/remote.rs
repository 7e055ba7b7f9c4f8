//! [`RemoteJwks`]: a key set fetched from the issuer and cached.
//!
//! * The set lives for its TTL: the response's `Cache-Control: max-age`,
//!   clamped to [`JwksSettings::with_ttl_bounds`], else the default TTL
//!   (10 minutes). When it lapses, the next request starts a refresh in the
//!   background and carries on with the current keys (stale while
//!   revalidating); it never waits.
//! * A token naming an unknown `kid` (or any token before the first
//!   successful fetch) starts a refresh, at most one per
//!   [`JwksSettings::with_min_refresh_interval`] (30 s); inside that window it
//!   is decided against the keys at hand. Concurrent callers share one
//!   in-flight fetch.
//! * A caller waits for an in-flight fetch at most
//!   [`JwksSettings::with_refresh_wait`] (5 s). Fetches run on their own
//!   short-lived thread with blocking I/O and no async runtime, so waiting
//!   can neither deadlock a tokio runtime nor outlast that bound.
//! * A failed fetch keeps the previous keys; tokens under unknown `kid`s
//!   are then refused like any other invalid token.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::fetch::{Fetched, HttpFetcher, Locator};
use super::jwk::{JwksError, KeySet};

/// Where fetched keys come from. Implemented by the HTTP fetcher; tests
/// supply their own.
pub(crate) trait Fetch: Send + Sync {
    /// One attempt: fetch and parse the key set.
    fn fetch(&self) -> Result<Fetched, JwksError>;
}

/// The cache and fetch bounds of a [`RemoteJwks`]. Defaults suit a public
/// identity provider; each setter says when to change it.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    pub(crate) default_ttl: Duration,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) min_refresh_interval: Duration,
    pub(crate) refresh_wait: Duration,
    pub(crate) fetch_timeout: Duration,
    pub(crate) max_document_bytes: usize,
    pub(crate) allow_http: bool,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            min_refresh_interval: Duration::from_secs(30),
            refresh_wait: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(5),
            max_document_bytes: 256 * 1024,
            allow_http: false,
        }
    }
}

impl JwksSettings {
    /// How long a set lives when the response carries no `max-age`
    /// (default 10 min). Shorter picks up revoked keys sooner at the cost of
    /// more fetches.
    pub fn with_default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Bounds applied to any TTL, from `max-age` or the default (default
    /// 60 s ..= 24 h). `no-store`/`no-cache`/`max-age=0` yield the minimum,
    /// so a misconfigured issuer cannot make every request fetch.
    pub fn with_ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_ttl = min;
        self.max_ttl = max.max(min);
        self
    }

    /// At most one fetch per this interval (default 30 s), whatever starts
    /// it: a burst of tokens with made-up `kid`s costs the issuer one
    /// request per interval. Also the retry pace after a failed fetch.
    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// The longest a request waits for an in-flight fetch (default 5 s).
    /// `Duration::ZERO` never waits: a token under a new key is refused
    /// until the background fetch lands (the client's retry then passes),
    /// which suits a single-threaded async runtime calling the
    /// authenticator directly.
    pub fn with_refresh_wait(mut self, wait: Duration) -> Self {
        self.refresh_wait = wait;
        self
    }

    /// Overall timeout of one HTTP request, connect to last body byte
    /// (default 5 s). With discovery a fetch makes up to two requests.
    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// The largest JWKS or discovery document accepted (default 256 KiB).
    pub fn with_max_document_bytes(mut self, bytes: usize) -> Self {
        self.max_document_bytes = bytes;
        self
    }

    /// Allow `http://` URLs on hosts other than loopback (default off:
    /// only `https://`, plus `http://` to 127.0.0.0/8, `[::1]` and
    /// `localhost`). Only for a private network you trust.
    pub fn with_allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    pub(crate) fn ttl(&self, max_age: Option<Duration>) -> Duration {
        max_age.unwrap_or(self.default_ttl).clamp(self.min_ttl, self.max_ttl)
    }
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    expires: Option<Instant>,
    last_attempt: Option<Instant>,
    in_flight: bool,
    /// Completed attempts, successful or not (waiters watch it change).
    attempts: u64,
    last_error: Option<JwksError>,
}

struct Shared {
    fetcher: Box<dyn Fetch>,
    settings: JwksSettings,
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn apply(&self, result: Result<Fetched, JwksError>) {
        let mut st = self.lock();
        match result {
            Ok(fetched) => {
                let ttl = self.settings.ttl(fetched.max_age);
                tracing::debug!(keys = fetched.keys.len(), ttl_secs = ttl.as_secs(), "JWKS refreshed");
                st.keys = Some(Arc::new(fetched.keys));
                st.expires = Some(Instant::now() + ttl);
                st.last_error = None;
            }
            Err(err) => {
                tracing::warn!(error = %err, kept_keys = st.keys.as_ref().map_or(0, |k| k.len()), "JWKS refresh failed");
                st.last_error = Some(err);
            }
        }
    }
}

/// Marks the in-flight fetch finished even if the fetcher panics.
struct Finish(Arc<Shared>);

impl Drop for Finish {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.in_flight = false;
        st.attempts += 1;
        drop(st);
        self.0.changed.notify_all();
    }
}

/// A JWKS fetched from `jwks_uri` or by OIDC discovery, cached and
/// refreshed as the module docs describe. Cheap to clone (shared cache).
#[derive(Clone)]
pub struct RemoteJwks {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("RemoteJwks")
            .field("keys", &st.keys.as_ref().map_or(0, |k| k.len()))
            .field("attempts", &st.attempts)
            .field("last_error", &st.last_error)
            .field("settings", &self.shared.settings)
            .finish()
    }
}

impl RemoteJwks {
    /// Keys from this JWKS URL. No I/O happens here: the first token (or
    /// [`RemoteJwks::refresh_now`]) fetches.
    pub fn from_jwks_uri(jwks_uri: &str, settings: JwksSettings) -> Result<Self, JwksError> {
        let fetcher = HttpFetcher::new(Locator::JwksUri(jwks_uri.to_string()), &settings)?;
        Ok(Self::with_fetcher(Box::new(fetcher), settings))
    }

    /// Keys found by OIDC discovery: `{issuer}/.well-known/openid-configuration`
    /// names the `jwks_uri`; its `issuer` must equal `issuer` (a trailing
    /// `/` aside). The discovered URL is kept until a fetch from it fails.
    pub fn from_issuer(issuer: &str, settings: JwksSettings) -> Result<Self, JwksError> {
        let fetcher = HttpFetcher::new(Locator::Discovery(issuer.to_string()), &settings)?;
        Ok(Self::with_fetcher(Box::new(fetcher), settings))
    }

    pub(crate) fn with_fetcher(fetcher: Box<dyn Fetch>, settings: JwksSettings) -> Self {
        let shared = Shared { fetcher, settings, state: Mutex::new(State::default()), changed: Condvar::new() };
        Self { shared: Arc::new(shared) }
    }

    /// Fetch now on the calling thread (blocking up to the fetch timeout,
    /// twice with discovery) and return the number of usable keys. Meant
    /// for start-up, to fail fast on a wrong URL; a failure keeps the keys
    /// held so far.
    pub fn refresh_now(&self) -> Result<usize, JwksError> {
        self.shared.lock().last_attempt = Some(Instant::now());
        let result = self.shared.fetcher.fetch();
        let outcome = result.as_ref().map(|f| f.keys.len()).map_err(Clone::clone);
        self.shared.apply(result);
        let mut st = self.shared.lock();
        st.attempts += 1;
        drop(st);
        self.shared.changed.notify_all();
        outcome
    }

    /// Number of usable keys held (0 before the first successful fetch).
    pub fn key_count(&self) -> usize {
        self.shared.lock().keys.as_ref().map_or(0, |k| k.len())
    }

    /// The error of the latest attempt, if it failed (for health checks).
    pub fn last_error(&self) -> Option<JwksError> {
        self.shared.lock().last_error.clone()
    }

    /// Completed fetch attempts so far, successful or not.
    pub fn fetch_attempts(&self) -> u64 {
        self.shared.lock().attempts
    }

    /// The key set to verify a token naming `kid`, refreshing as the module
    /// docs describe. `None` before any fetch has succeeded.
    pub(crate) fn keys_for(&self, kid: Option<&str>) -> Option<Arc<KeySet>> {
        let settings = &self.shared.settings;
        let now = Instant::now();
        let mut st = self.shared.lock();
        let known = st.keys.as_ref().is_some_and(|k| kid.is_none_or(|kid| k.has_kid(kid)));
        let fresh = st.expires.is_some_and(|at| now < at);
        let may_fetch = st.last_attempt.is_none_or(|at| now.duration_since(at) >= settings.min_refresh_interval);
        if known {
            if !fresh && may_fetch && !st.in_flight {
                self.start_fetch(&mut st, now);
            }
            return st.keys.clone();
        }
        if !st.in_flight {
            if !may_fetch {
                return st.keys.clone();
            }
            self.start_fetch(&mut st, now);
        }
        let seen = st.attempts;
        let deadline = now + settings.refresh_wait;
        while st.attempts == seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = self.shared.changed.wait_timeout(st, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        st.keys.clone()
    }

    fn start_fetch(&self, st: &mut State, now: Instant) {
        st.in_flight = true;
        st.last_attempt = Some(now);
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new().name("jwks-fetch".to_string()).spawn(move || {
            let finish = Finish(shared);
            let result = finish.0.fetcher.fetch();
            finish.0.apply(result);
        });
        if let Err(err) = spawned {
            // The closure (and its Finish) was dropped unrun: undo by hand,
            // we already hold the lock.
            st.in_flight = false;
            st.attempts += 1;
            st.last_error = Some(JwksError::Fetch(format!("cannot start fetch thread: {err}")));
        }
    }
}

#[cfg(test)]
mod tests;
