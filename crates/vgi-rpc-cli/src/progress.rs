//! A progress line for long streams: shown on stderr only when stderr is a
//! terminal, and only once a stream has run for half a second, so short
//! calls and piped or captured output never see it.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a stream runs before the bar appears.
const SHOW_AFTER: Duration = Duration::from_millis(500);

/// Batches and rows received so far.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: bool,
}

impl Progress {
    /// A bar for a stream of `method`; inert unless stderr is a terminal.
    pub fn new(method: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {pos} batches, {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.set_prefix(method.to_owned());
        Self { bar, started: Instant::now(), enabled: std::io::stderr().is_terminal(), shown: false }
    }

    /// Record the totals after a batch.
    pub fn update(&mut self, batches: u64, rows: u64) {
        if !self.enabled {
            return;
        }
        if !self.shown && self.started.elapsed() >= SHOW_AFTER {
            self.bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            self.bar.enable_steady_tick(Duration::from_millis(120));
            self.shown = true;
        }
        self.bar.set_position(batches);
        self.bar.set_message(format!("{rows} rows"));
    }

    /// Remove the bar.
    pub fn finish(self) {
        if self.shown {
            self.bar.finish_and_clear();
        }
    }
}
