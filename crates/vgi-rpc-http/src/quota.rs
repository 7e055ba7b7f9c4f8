//! Quotas at the HTTP edge. The core's [`Quotas`](vgi_rpc_core::Quotas)
//! decide; here a refusal becomes `429 Too Many Requests` with
//! `Retry-After` (whole seconds, rounded up) beside the Arrow error body,
//! and, with the `cli` feature, the worker flags that configure them.

use std::time::Duration;

use axum::response::Response;
use http::header::{HeaderValue, RETRY_AFTER};
use http::StatusCode;

/// The HTTP status of a quota refusal.
pub const QUOTA_STATUS: StatusCode = StatusCode::TOO_MANY_REQUESTS;

/// Stamp `Retry-After` on a quota refusal.
pub(crate) fn stamp_retry_after(resp: &mut Response, retry_after: Duration) {
    let secs = vgi_rpc_core::quota::retry_after_secs(retry_after);
    resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
}

#[cfg(feature = "cli")]
pub use flags::QuotaArgs;

#[cfg(feature = "cli")]
mod flags {
    use std::time::Duration;

    use vgi_rpc_core::quota::{QuotaSettings, DEFAULT_STREAM_IDLE_EXPIRY};

    /// Per-principal quota flags, flattened into [`HttpArgs`](crate::cli::HttpArgs).
    /// The limits live on the server, so a worker that builds its server
    /// with [`QuotaArgs::settings`] applies them on every transport it serves.
    #[derive(Debug, Clone, Default, clap::Args)]
    pub struct QuotaArgs {
        /// Most streams one principal (anonymous callers: one client IP) may have open at once;
        /// the excess gets RESOURCE_EXHAUSTED with a retry hint (HTTP 429 + Retry-After).
        /// Default: no limit.
        #[arg(long, value_name = "N")]
        pub max_streams_per_principal: Option<usize>,
        /// Sustained requests per second per principal (unary calls, stream inits and, over
        /// HTTP, stream continuations). Default: no limit.
        #[arg(long, value_name = "R")]
        pub max_requests_per_second: Option<f64>,
        /// Requests a principal may make back to back (needs --max-requests-per-second).
        /// Default: the rate rounded up, at least 1.
        #[arg(long, value_name = "N")]
        pub request_burst: Option<u32>,
        /// Seconds an HTTP stream may go without a turn before it stops counting against
        /// its principal's stream limit (clients may abandon streams). Default: 60.
        #[arg(long, value_name = "SECS")]
        pub stream_idle_expiry: Option<u64>,
    }

    impl QuotaArgs {
        /// The quota settings these flags describe, checked.
        pub fn settings(&self) -> Result<QuotaSettings, String> {
            let settings = QuotaSettings {
                max_open_streams_per_principal: self.max_streams_per_principal,
                requests_per_second_per_principal: self.max_requests_per_second,
                request_burst: self.request_burst,
                stream_idle_expiry: self.stream_idle_expiry.map_or(DEFAULT_STREAM_IDLE_EXPIRY, Duration::from_secs),
                ..QuotaSettings::default()
            };
            match settings.clone().validate() {
                Ok(_) => Ok(settings),
                Err(e) => Err(format!("quota flags: {e}")),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use clap::Parser;

        use super::*;

        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            quotas: QuotaArgs,
        }

        fn settings(flags: &[&str]) -> Result<QuotaSettings, String> {
            Cli::try_parse_from(std::iter::once("worker").chain(flags.iter().copied()))
                .expect("flags")
                .quotas
                .settings()
        }

        #[test]
        fn flags_map_onto_settings_and_default_to_off() {
            assert_eq!(settings(&[]), Ok(QuotaSettings::default()));
            let s = settings(&[
                "--max-streams-per-principal",
                "4",
                "--max-requests-per-second",
                "2.5",
                "--request-burst",
                "10",
                "--stream-idle-expiry",
                "15",
            ])
            .expect("valid");
            assert_eq!(s.max_open_streams_per_principal, Some(4));
            assert_eq!(s.requests_per_second_per_principal, Some(2.5));
            assert_eq!(s.request_burst, Some(10));
            assert_eq!(s.stream_idle_expiry, Duration::from_secs(15));
        }

        #[test]
        fn unservable_flags_refuse_to_start() {
            for flags in [
                &["--max-streams-per-principal", "0"][..],
                &["--max-requests-per-second", "0"],
                &["--max-requests-per-second=-1"],
                &["--request-burst", "5"],
                &["--max-requests-per-second", "1", "--request-burst", "0"],
                &["--stream-idle-expiry", "0"],
            ] {
                let err = settings(flags).expect_err("refused");
                assert!(err.starts_with("quota flags: "), "{flags:?}: {err}");
            }
        }
    }
}
