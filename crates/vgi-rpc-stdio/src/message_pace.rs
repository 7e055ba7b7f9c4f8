//! How long the peer takes to finish writing a message it has started, so
//! that a reader waiting for the rest can sleep once instead of spinning or
//! waking for every piece.
//!
//! The reference Python client writes a request in about ten small writes a
//! few microseconds apart. A reader that spins across them burns the whole
//! span in CPU; one that blocks wakes for every piece (each wake-up costs
//! several µs on a small VM). Knowing the span, the reader sleeps until the
//! message should be complete and reads it in one go: one wake-up.
//!
//! The estimate comes from messages whose pieces were seen arriving: those
//! read without a nap (every [`OBSERVE_EVERY`]th message is, so the estimate
//! can come down), and those whose nap proved short (a piece arrived after
//! it, so the estimate goes up). A nap that was long enough says nothing
//! about when the last piece came, so it leaves the estimate alone.

use std::time::{Duration, Instant};

/// Spans longer than this are not napped through (bulk transfers, where the
/// pipe buffer fills and the writer waits for the reader).
pub(crate) const MAX_NAP: Duration = Duration::from_micros(150);
/// Shorter remainders are not worth a sleep: going to sleep and waking
/// costs about 5 µs of CPU on a small VM, so spinning through a short
/// remainder is cheaper (stream ticks from the Python client take 0–10 µs).
pub(crate) const MIN_NAP: Duration = Duration::from_micros(10);
/// Every this many messages, read without a nap to re-measure the span.
pub(crate) const OBSERVE_EVERY: u32 = 64;

/// The span estimate and the current message's progress.
#[derive(Debug, Default)]
pub(crate) struct MessagePace {
    /// When the current message's first piece was read.
    started: Option<Instant>,
    /// When its latest piece was seen arriving.
    last: Option<Instant>,
    /// The current message had a nap.
    napped: bool,
    /// A piece arrived after that nap: it was too short.
    late_after_nap: bool,
    /// From first to last piece, smoothed.
    span: Option<Duration>,
    /// Messages finished so far.
    messages: u32,
}

impl MessagePace {
    /// This side wrote and now waits for the peer's next message: close the
    /// previous one and fold its span into the estimate when it was seen.
    pub(crate) fn next_message(&mut self) {
        if let (Some(started), Some(last)) = (self.started, self.last) {
            if !self.napped || self.late_after_nap {
                let observed = last.saturating_duration_since(started);
                self.span = Some(match self.span {
                    None => observed,
                    Some(s) => (s * 3 + observed) / 4,
                });
            }
        }
        self.messages = self.messages.wrapping_add(1);
        *self = Self { span: self.span, messages: self.messages, ..Self::default() };
    }

    /// A read returned data: the first of the message when `first`; `waited`
    /// when the reader saw it arrive (spun or blocked for it) rather than
    /// finding it already there.
    pub(crate) fn arrived(&mut self, first: bool, waited: bool, now: Instant) {
        if first || self.started.is_none() {
            self.started = Some(now);
            self.last = Some(now);
        } else if !self.napped || waited {
            // After a nap only a piece seen arriving counts: it came late.
            self.last = Some(now);
            self.late_after_nap = self.napped;
        }
    }

    /// The rest of the message is not there yet: how long to sleep for it,
    /// if a nap is due (one per message, and not on an observing message).
    pub(crate) fn nap(&mut self, now: Instant) -> Option<Duration> {
        let (started, span) = (self.started?, self.span?);
        if self.napped || span > MAX_NAP || self.messages.is_multiple_of(OBSERVE_EVERY) {
            return None;
        }
        let remaining = span.checked_sub(now.saturating_duration_since(started))?;
        if remaining < MIN_NAP {
            return None;
        }
        self.napped = true;
        Some(remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// One message whose pieces arrive at the given offsets, seen directly.
    fn observe(pace: &mut MessagePace, t0: Instant, offsets: &[u64]) {
        pace.next_message();
        for (i, off) in offsets.iter().enumerate() {
            pace.arrived(i == 0, true, t0 + us(*off));
        }
    }

    #[test]
    fn the_span_comes_from_messages_seen_piece_by_piece() {
        let mut pace = MessagePace::default();
        let t0 = Instant::now();
        observe(&mut pace, t0, &[0, 10, 20, 30]);
        pace.next_message();
        assert_eq!(pace.span, Some(us(30)));
        // Part way into the next message, the nap covers the rest of the span.
        pace.arrived(true, true, t0);
        assert_eq!(pace.nap(t0 + us(10)), Some(us(20)));
        assert_eq!(pace.nap(t0 + us(11)), None, "one nap per message");
    }

    #[test]
    fn a_long_enough_nap_leaves_the_estimate_alone_and_a_short_one_raises_it() {
        let mut pace = MessagePace::default();
        let t0 = Instant::now();
        observe(&mut pace, t0, &[0, 40]);
        pace.next_message();
        pace.arrived(true, true, t0);
        assert_eq!(pace.nap(t0), Some(us(40)));
        pace.arrived(false, false, t0 + us(45)); // found complete after the nap
        pace.next_message();
        assert_eq!(pace.span, Some(us(40)));

        pace.arrived(true, true, t0);
        assert_eq!(pace.nap(t0), Some(us(40)));
        pace.arrived(false, false, t0 + us(41)); // part of it
        pace.arrived(false, true, t0 + us(80)); // the rest came later
        pace.next_message();
        assert_eq!(pace.span, Some(us(50)), "(3 * 40 + 80) / 4");
    }

    #[test]
    fn no_nap_for_bulk_spans_tiny_remainders_or_observing_messages() {
        let mut pace = MessagePace::default();
        let t0 = Instant::now();
        observe(&mut pace, t0, &[0, 5000]);
        pace.next_message();
        pace.arrived(true, true, t0);
        assert_eq!(pace.nap(t0), None, "a bulk span is not napped through");

        let mut pace = MessagePace::default();
        observe(&mut pace, t0, &[0, 20]);
        pace.next_message();
        pace.arrived(true, true, t0);
        assert_eq!(pace.nap(t0 + us(18)), None, "2 µs left: not worth a sleep");

        while !(pace.messages + 1).is_multiple_of(OBSERVE_EVERY) {
            pace.next_message();
        }
        pace.next_message();
        pace.arrived(true, true, t0);
        assert_eq!(pace.nap(t0), None, "an observing message reads without a nap");
    }
}
