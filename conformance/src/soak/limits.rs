//! The retained-resource budgets of the reference's resource-soak group
//! (`vgi_rpc/conformance/_resource_soak_pytest.py`, `ResourceSoakLimits`)
//! and the judgement of a baseline plus per-epoch samples against them.

use serde::Serialize;

use super::sample::ProcessSample;

const MIB: i64 = 1024 * 1024;

/// Maximum growth after warm-up; the defaults are the reference's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Final RSS minus baseline RSS, bytes.
    pub rss_growth_bytes: i64,
    /// Median RSS delta between consecutive samples, bytes per epoch.
    pub rss_slope_bytes_per_epoch: i64,
    /// Final minus baseline open descriptors.
    pub descriptor_growth: i64,
    /// Final minus baseline threads.
    pub thread_growth: i64,
    /// Final minus baseline descendant processes.
    pub child_growth: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            rss_growth_bytes: 32 * MIB,
            rss_slope_bytes_per_epoch: 2 * MIB,
            descriptor_growth: 3,
            thread_growth: 1,
            child_growth: 0,
        }
    }
}

/// Growth from the baseline to the last sample, and the limits it broke.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Final RSS minus baseline, bytes.
    pub rss_growth_bytes: i64,
    /// Median consecutive RSS delta over baseline and samples, bytes.
    pub rss_slope_bytes_per_epoch: f64,
    /// Final minus baseline descriptors.
    pub descriptor_growth: i64,
    /// Final minus baseline threads.
    pub thread_growth: i64,
    /// Final minus baseline descendants.
    pub child_growth: i64,
    /// One sentence per broken limit; empty when every limit held.
    pub violations: Vec<String>,
}

fn delta(later: u64, earlier: u64) -> i64 {
    later as i64 - earlier as i64
}

/// The median RSS delta between consecutive samples (0 with fewer than
/// two): a one-off allocator arena step does not count as a trend, a
/// steady per-epoch retention does.
pub fn rss_slope(series: &[ProcessSample]) -> f64 {
    let mut deltas: Vec<i64> = series.windows(2).map(|w| delta(w[1].rss_bytes, w[0].rss_bytes)).collect();
    if deltas.is_empty() {
        return 0.0;
    }
    deltas.sort_unstable();
    let mid = deltas.len() / 2;
    if deltas.len() % 2 == 1 {
        deltas[mid] as f64
    } else {
        (deltas[mid - 1] as f64 + deltas[mid] as f64) / 2.0
    }
}

/// Judge `samples` (one per measured epoch) against `baseline`. No samples
/// is itself a violation: nothing was measured.
pub fn judge(baseline: &ProcessSample, samples: &[ProcessSample], limits: &Limits) -> Verdict {
    let Some(last) = samples.last() else {
        return Verdict {
            rss_growth_bytes: 0,
            rss_slope_bytes_per_epoch: 0.0,
            descriptor_growth: 0,
            thread_growth: 0,
            child_growth: 0,
            violations: vec!["no measured epochs".to_owned()],
        };
    };
    let mut series = Vec::with_capacity(samples.len() + 1);
    series.push(*baseline);
    series.extend_from_slice(samples);
    let verdict = Verdict {
        rss_growth_bytes: delta(last.rss_bytes, baseline.rss_bytes),
        rss_slope_bytes_per_epoch: rss_slope(&series),
        descriptor_growth: delta(last.descriptors, baseline.descriptors),
        thread_growth: delta(last.threads, baseline.threads),
        child_growth: delta(last.children, baseline.children),
        violations: Vec::new(),
    };
    let mut violations = Vec::new();
    if verdict.rss_growth_bytes > limits.rss_growth_bytes {
        violations.push(format!("RSS retained {} bytes (limit {})", verdict.rss_growth_bytes, limits.rss_growth_bytes));
    }
    if verdict.rss_slope_bytes_per_epoch > limits.rss_slope_bytes_per_epoch as f64 {
        violations.push(format!(
            "RSS slope is {:.0} bytes/epoch (limit {})",
            verdict.rss_slope_bytes_per_epoch, limits.rss_slope_bytes_per_epoch
        ));
    }
    for (label, growth, limit) in [
        ("descriptors", verdict.descriptor_growth, limits.descriptor_growth),
        ("threads", verdict.thread_growth, limits.thread_growth),
        ("children", verdict.child_growth, limits.child_growth),
    ] {
        if growth > limit {
            violations.push(format!("{label} retained {growth} (limit {limit})"));
        }
    }
    Verdict { violations, ..verdict }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(rss_mib: u64, descriptors: u64, threads: u64, children: u64) -> ProcessSample {
        ProcessSample { rss_bytes: rss_mib * MIB as u64, descriptors, threads, children }
    }

    #[test]
    fn the_defaults_are_the_reference_budgets() {
        let l = Limits::default();
        assert_eq!((l.rss_growth_bytes, l.rss_slope_bytes_per_epoch), (32 * MIB, 2 * MIB));
        assert_eq!((l.descriptor_growth, l.thread_growth, l.child_growth), (3, 1, 0));
    }

    #[test]
    fn the_slope_is_the_median_delta() {
        // Deltas 1, 10, 1, 1 MiB: one arena step does not make a trend.
        let series = [s(10, 0, 0, 0), s(11, 0, 0, 0), s(21, 0, 0, 0), s(22, 0, 0, 0), s(23, 0, 0, 0)];
        assert_eq!(rss_slope(&series), MIB as f64);
        // Even count: the mean of the middle two (deltas -1 and 3 MiB).
        assert_eq!(rss_slope(&[s(10, 0, 0, 0), s(9, 0, 0, 0), s(12, 0, 0, 0)]), MIB as f64);
        assert_eq!(rss_slope(&[s(10, 0, 0, 0)]), 0.0);
    }

    #[test]
    fn a_plateau_passes() {
        let v = judge(&s(10, 8, 4, 0), &[s(12, 9, 5, 0), s(12, 9, 4, 0), s(12, 8, 4, 0)], &Limits::default());
        assert!(v.violations.is_empty(), "{:?}", v.violations);
        assert_eq!((v.rss_growth_bytes, v.descriptor_growth, v.thread_growth), (2 * MIB, 0, 0));
    }

    #[test]
    fn every_broken_limit_is_named() {
        let samples: Vec<_> = (1..=5).map(|i| s(10 + 10 * i, 8 + 4 * i, 4 + 2 * i, 1)).collect();
        let v = judge(&s(10, 8, 4, 0), &samples, &Limits::default());
        let text = v.violations.join("; ");
        for needle in ["RSS retained", "RSS slope", "descriptors retained 20", "threads retained 10", "children"] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn no_samples_is_a_violation() {
        assert_eq!(judge(&s(1, 1, 1, 0), &[], &Limits::default()).violations, vec!["no measured epochs"]);
    }
}
