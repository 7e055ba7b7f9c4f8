//! What an operator turns on ([`QuotaSettings`], everything off by
//! default) and the checked form the server runs on ([`QuotaPolicy`]).

use std::time::Duration;

/// How long a stateless (HTTP) stream's quota entry lives without a turn.
pub const DEFAULT_STREAM_IDLE_EXPIRY: Duration = Duration::from_secs(60);

/// Per-principal fair-sharing limits. Every limit is off by default; a
/// principal over a limit gets a `RESOURCE_EXHAUSTED` error with a retry
/// hint while every other principal keeps its service.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSettings {
    /// Most streams one principal may have open at once (`None`: no limit).
    ///
    /// Over a byte stream a stream is open from its init until it finishes,
    /// fails, is cancelled or the connection drops. Over HTTP it is open from
    /// `/init` until a turn finishes or cancels it, or until it has gone
    /// [`Self::stream_idle_expiry`] without a turn (a client may simply stop
    /// calling). Set it to bound how much concurrent stream work one caller
    /// can hold.
    pub max_open_streams_per_principal: Option<usize>,
    /// Most sessions one principal may hold at once (`None`: no limit). For
    /// transports with sessions (HTTP sticky sessions); nothing counts
    /// sessions until such a transport acquires them.
    pub max_open_sessions_per_principal: Option<usize>,
    /// Sustained requests per second one principal may make (`None`: no
    /// limit). A request is a unary call, a stream's init, or — over HTTP,
    /// where each is its own request — a stream continuation or cancel.
    /// Turns inside one byte-stream call are not counted.
    pub requests_per_second_per_principal: Option<f64>,
    /// Requests a principal may make at once after being idle (`None`: the
    /// rate rounded up, at least 1). Raise it for bursty clients that are
    /// well-behaved on average. Needs a rate.
    pub request_burst: Option<u32>,
    /// How long an HTTP stream may go without a turn before its quota entry
    /// lapses. A stream continued after that is counted again (and may be
    /// refused if its principal is at the limit by then; the client retries
    /// the same turn). Shorten it when clients abandon streams without
    /// cancelling; lengthen it for exchanges that think long between turns.
    pub stream_idle_expiry: Duration,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            max_open_streams_per_principal: None,
            max_open_sessions_per_principal: None,
            requests_per_second_per_principal: None,
            request_burst: None,
            stream_idle_expiry: DEFAULT_STREAM_IDLE_EXPIRY,
        }
    }
}

/// Settings that cannot be served.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuotaSettingsError {
    /// The rate is not a positive, finite, representable number.
    #[error("requests per second must be a finite number above zero (got {0})")]
    Rate(f64),
    /// A zero burst would refuse every request.
    #[error("the request burst must be at least 1")]
    ZeroBurst,
    /// The burst times the request interval does not fit a duration.
    #[error("the request burst {0} is too large for the request rate")]
    BurstTooLarge(u32),
    /// A burst only means something with a rate.
    #[error("a request burst needs a request rate")]
    BurstWithoutRate,
    /// A zero stream limit would refuse every stream.
    #[error("a per-principal stream limit of 0 would refuse every stream; leave it unset for no limit")]
    ZeroStreams,
    /// A zero session limit would refuse every session.
    #[error("a per-principal session limit of 0 would refuse every session; leave it unset for no limit")]
    ZeroSessions,
    /// Entries would lapse the moment they were made.
    #[error("the stream idle expiry must be above zero")]
    ZeroExpiry,
}

/// The request rate as the limiter runs it: one request per `interval`,
/// up to `burst` back to back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RatePolicy {
    pub(crate) per_second: f64,
    pub(crate) burst: u32,
    /// Time one request costs.
    pub(crate) interval: Duration,
    /// How far ahead of now a principal may have spent: `interval × (burst − 1)`.
    pub(crate) tolerance: Duration,
}

/// Checked [`QuotaSettings`], ready to serve. `Default` is every limit off.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuotaPolicy {
    settings: QuotaSettings,
    rate: Option<RatePolicy>,
}

impl QuotaPolicy {
    /// The settings this policy was checked from.
    pub fn settings(&self) -> &QuotaSettings {
        &self.settings
    }

    /// Whether every limit is off (nothing is counted).
    pub fn is_off(&self) -> bool {
        self.rate.is_none()
            && self.settings.max_open_streams_per_principal.is_none()
            && self.settings.max_open_sessions_per_principal.is_none()
    }

    pub(crate) fn rate(&self) -> Option<&RatePolicy> {
        self.rate.as_ref()
    }
}

impl QuotaSettings {
    /// Check the settings and derive what the limiter runs on.
    pub fn validate(self) -> Result<QuotaPolicy, QuotaSettingsError> {
        if self.max_open_streams_per_principal == Some(0) {
            return Err(QuotaSettingsError::ZeroStreams);
        }
        if self.max_open_sessions_per_principal == Some(0) {
            return Err(QuotaSettingsError::ZeroSessions);
        }
        if self.stream_idle_expiry.is_zero() {
            return Err(QuotaSettingsError::ZeroExpiry);
        }
        let rate = match (self.requests_per_second_per_principal, self.request_burst) {
            (None, None) => None,
            (None, Some(_)) => return Err(QuotaSettingsError::BurstWithoutRate),
            (Some(per_second), burst) => Some(rate_policy(per_second, burst)?),
        };
        Ok(QuotaPolicy { settings: self, rate })
    }
}

fn rate_policy(per_second: f64, burst: Option<u32>) -> Result<RatePolicy, QuotaSettingsError> {
    if !per_second.is_finite() || per_second <= 0.0 {
        return Err(QuotaSettingsError::Rate(per_second));
    }
    let interval = Duration::try_from_secs_f64(1.0 / per_second).map_err(|_| QuotaSettingsError::Rate(per_second))?;
    // The default burst is one second's worth of requests, at least one.
    let burst = burst.unwrap_or_else(|| per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
    if burst == 0 {
        return Err(QuotaSettingsError::ZeroBurst);
    }
    let tolerance = interval.checked_mul(burst - 1).ok_or(QuotaSettingsError::BurstTooLarge(burst))?;
    Ok(RatePolicy { per_second, burst, interval, tolerance })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_rate(rate: f64, burst: Option<u32>) -> QuotaSettings {
        QuotaSettings { requests_per_second_per_principal: Some(rate), request_burst: burst, ..Default::default() }
    }

    #[test]
    fn default_is_off() {
        let policy = QuotaSettings::default().validate().expect("valid");
        assert!(policy.is_off());
        assert_eq!(policy.settings().stream_idle_expiry, DEFAULT_STREAM_IDLE_EXPIRY);
    }

    #[test]
    fn rate_derives_interval_and_default_burst() {
        let rate = *with_rate(4.0, None).validate().expect("valid").rate().expect("rate");
        assert_eq!(rate.interval, Duration::from_millis(250));
        assert_eq!(rate.burst, 4);
        assert_eq!(rate.tolerance, Duration::from_millis(750));
        assert_eq!(with_rate(0.5, None).validate().expect("valid").rate().expect("rate").burst, 1);
        assert_eq!(with_rate(2.0, Some(10)).validate().expect("valid").rate().expect("rate").burst, 10);
    }

    #[test]
    fn unservable_settings_are_refused() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300] {
            assert!(matches!(with_rate(bad, None).validate(), Err(QuotaSettingsError::Rate(_))), "{bad}");
        }
        assert_eq!(with_rate(1.0, Some(0)).validate(), Err(QuotaSettingsError::ZeroBurst));
        assert_eq!(with_rate(1e-12, Some(u32::MAX)).validate(), Err(QuotaSettingsError::BurstTooLarge(u32::MAX)));
        let burst_only = QuotaSettings { request_burst: Some(3), ..Default::default() };
        assert_eq!(burst_only.validate(), Err(QuotaSettingsError::BurstWithoutRate));
        let zero = QuotaSettings { max_open_streams_per_principal: Some(0), ..Default::default() };
        assert_eq!(zero.validate(), Err(QuotaSettingsError::ZeroStreams));
        let zero = QuotaSettings { max_open_sessions_per_principal: Some(0), ..Default::default() };
        assert_eq!(zero.validate(), Err(QuotaSettingsError::ZeroSessions));
        let zero = QuotaSettings { stream_idle_expiry: Duration::ZERO, ..Default::default() };
        assert_eq!(zero.validate(), Err(QuotaSettingsError::ZeroExpiry));
    }
}
