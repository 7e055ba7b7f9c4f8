//! Time-based rotation intervals, named as Python's
//! `TimedRotatingFileHandler` names them (the reference's
//! `--access-log-when`): `S`, `M`, `H`, `D`, `midnight`, `W0`–`W6`
//! (Monday–Sunday). Boundaries are in UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When a time-rotated file rolls over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every second.
    Second,
    /// Every minute.
    Minute,
    /// Every hour.
    Hour,
    /// Every day (at UTC midnight, like `midnight`).
    Day,
    /// At UTC midnight.
    Midnight,
    /// At UTC midnight starting this weekday (0 = Monday … 6 = Sunday).
    Weekday(u8),
}

/// A `--access-log-when` value that names no interval.
#[derive(Debug, thiserror::Error)]
#[error("unknown rotation interval {0:?}: use S, M, H, D, midnight or W0-W6")]
pub struct WhenError(pub String);

impl std::str::FromStr for When {
    type Err = WhenError;

    fn from_str(text: &str) -> Result<Self, WhenError> {
        let t = text.trim();
        Ok(match t.to_ascii_uppercase().as_str() {
            "S" => When::Second,
            "M" => When::Minute,
            "H" => When::Hour,
            "D" => When::Day,
            "MIDNIGHT" => When::Midnight,
            w if w.len() == 2 && w.starts_with('W') => match w.as_bytes()[1] {
                d @ b'0'..=b'6' => When::Weekday(d - b'0'),
                _ => return Err(WhenError(text.to_owned())),
            },
            _ => return Err(WhenError(text.to_owned())),
        })
    }
}

const DAY: u64 = 86_400;

impl When {
    /// The start of the interval holding `t` (seconds since the epoch).
    pub(crate) fn interval_start(self, t: SystemTime) -> u64 {
        let s = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
        match self {
            When::Second => s,
            When::Minute => s - s % 60,
            When::Hour => s - s % 3600,
            When::Day | When::Midnight => s - s % DAY,
            When::Weekday(d) => {
                // 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
                let day = s / DAY;
                let weekday = (day + 3) % 7;
                let back = (weekday + 7 - u64::from(d)) % 7;
                (day - back.min(day)) * DAY
            }
        }
    }

    /// The next boundary after `t`.
    pub(crate) fn next_boundary(self, t: SystemTime) -> SystemTime {
        let step = match self {
            When::Second => 1,
            When::Minute => 60,
            When::Hour => 3600,
            When::Day | When::Midnight => DAY,
            When::Weekday(_) => 7 * DAY,
        };
        UNIX_EPOCH + Duration::from_secs(self.interval_start(t) + step)
    }

    /// The suffix of a file rotated out of the interval starting at `start`
    /// (as Python's: `%Y-%m-%d_%H-%M-%S`, shortened to the interval's unit).
    pub(crate) fn suffix(self, start: u64) -> String {
        let stamp = vgi_rpc_core::access_log::rfc3339_millis(UNIX_EPOCH + Duration::from_secs(start));
        // stamp: YYYY-MM-DDTHH:MM:SS.sssZ
        let (date, hh, mm, ss) = (&stamp[0..10], &stamp[11..13], &stamp[14..16], &stamp[17..19]);
        match self {
            When::Second => format!("{date}_{hh}-{mm}-{ss}"),
            When::Minute => format!("{date}_{hh}-{mm}"),
            When::Hour => format!("{date}_{hh}"),
            When::Day | When::Midnight | When::Weekday(_) => date.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn names_parse_like_the_reference_flags() {
        assert_eq!("H".parse::<When>().ok(), Some(When::Hour));
        assert_eq!("midnight".parse::<When>().ok(), Some(When::Midnight));
        assert_eq!("w6".parse::<When>().ok(), Some(When::Weekday(6)));
        assert!("W7".parse::<When>().is_err() && "hourly".parse::<When>().is_err());
    }

    #[test]
    fn boundaries_and_suffixes_are_utc() {
        let t = at(1_777_217_445); // 2026-04-26T15:30:45Z, a Sunday
        assert_eq!(When::Hour.next_boundary(t), at(1_777_219_200));
        assert_eq!(When::Hour.suffix(When::Hour.interval_start(t)), "2026-04-26_15");
        assert_eq!(When::Second.suffix(When::Second.interval_start(t)), "2026-04-26_15-30-45");
        assert_eq!(When::Midnight.suffix(When::Midnight.interval_start(t)), "2026-04-26");
        // W0 (Monday): the interval began Monday 2026-04-20.
        assert_eq!(When::Weekday(0).suffix(When::Weekday(0).interval_start(t)), "2026-04-20");
        assert_eq!(When::Weekday(6).suffix(When::Weekday(6).interval_start(t)), "2026-04-26");
    }
}
