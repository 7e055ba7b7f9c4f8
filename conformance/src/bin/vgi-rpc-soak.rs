//! `vgi-rpc-soak`: soak the conformance worker on one or every transport
//! with mixed traffic, sample its resources between epochs, and judge the
//! growth against the reference's resource-soak limits. Prints a JSON
//! summary on stdout and one line per transport on stderr; exits 1 when a
//! limit broke, an operation failed or a run could not finish, 2 on bad
//! arguments.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use vgi_rpc_conformance::soak::traffic::Op;
use vgi_rpc_conformance::soak::{run_transport, Limits, RunConfig, Summary, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Pipe,
    Unix,
    Tcp,
    Http,
    All,
}

#[derive(Debug, Parser)]
#[command(name = "vgi-rpc-soak", about = "Resource soak of the vgi-rpc conformance worker", args_override_self = true)]
struct Args {
    /// Transport to soak.
    #[arg(long, value_enum, default_value = "all")]
    transport: Which,
    /// Total seconds, split evenly over the transports (warm-up included).
    #[arg(long, value_name = "SECS", default_value_t = 80)]
    duration: u64,
    /// Client threads per transport.
    #[arg(long, value_name = "N", default_value_t = 4)]
    clients: usize,
    /// The worker binary (default: vgi-rpc-conformance beside this binary).
    #[arg(long, value_name = "PATH")]
    worker: Option<PathBuf>,
    /// Measured epochs per transport (a sample after each).
    #[arg(long, value_name = "N", default_value_t = 10)]
    epochs: usize,
    /// Unmeasured warm-up per transport (default: half its time, so the
    /// warm-up is one full measured workload, the reference's rule).
    #[arg(long, value_name = "SECS")]
    warmup_secs: Option<f64>,
    /// Quiet time after pausing traffic before a sample, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    settle_ms: u64,
    /// Only these operation kinds, comma-separated (to find which traffic
    /// shape grows something): unary, unary_error, produce_all,
    /// produce_cancel, exchange, error_mid_stream, churn, disconnect.
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    only: Vec<String>,
}

fn usage(message: &str) -> ExitCode {
    eprintln!("vgi-rpc-soak: {message}");
    ExitCode::from(2)
}

fn default_worker() -> Option<PathBuf> {
    Some(std::env::current_exe().ok()?.parent()?.join("vgi-rpc-conformance"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let transports: Vec<Transport> = match args.transport {
        Which::Pipe => vec![Transport::Pipe],
        Which::Unix => vec![Transport::Unix],
        Which::Tcp => vec![Transport::Tcp],
        Which::Http => vec![Transport::Http],
        Which::All => Transport::ALL.to_vec(),
    };
    let Some(worker) = args.worker.clone().or_else(default_worker) else {
        return usage("cannot locate vgi-rpc-conformance; pass --worker");
    };
    if !worker.is_file() {
        return usage(&format!("worker {} does not exist; build it or pass --worker", worker.display()));
    }
    if args.clients == 0 || args.epochs == 0 {
        return usage("--clients and --epochs must be positive");
    }
    let each = Duration::from_secs(args.duration) / transports.len() as u32;
    let warmup = match args.warmup_secs {
        Some(s) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s),
        Some(_) => return usage("--warmup-secs must be a non-negative number"),
        None => each / 2,
    };
    if each < warmup + Duration::from_secs(1) {
        return usage(&format!(
            "{} s per transport leaves no measured time after a {:.1} s warm-up; raise --duration",
            each.as_secs_f64(),
            warmup.as_secs_f64()
        ));
    }
    let mut only = Vec::new();
    for name in &args.only {
        match Op::from_name(name) {
            Some(op) => only.push(op),
            None => return usage(&format!("--only: no operation kind {name:?}")),
        }
    }
    let limits = Limits::default();
    let mut reports = Vec::new();
    for transport in transports {
        let config = RunConfig {
            worker: worker.clone(),
            transport,
            duration: each,
            warmup,
            epochs: args.epochs,
            clients: args.clients,
            settle: Duration::from_millis(args.settle_ms),
            limits,
            only: only.clone(),
        };
        let report = run_transport(&config);
        let verdict = report.verdict.as_ref();
        eprintln!(
            "vgi-rpc-soak: {:<4} {} ops ({} failed), rss {} -> {} bytes (growth {}, slope {:.0}/epoch), \
             fds {:+}, threads {:+}, children {:+}: {}",
            report.transport,
            report.operations,
            report.failures,
            report.baseline.map_or(0, |b| b.rss_bytes),
            report.samples.last().map_or(0, |s| s.rss_bytes),
            verdict.map_or(0, |v| v.rss_growth_bytes),
            verdict.map_or(0.0, |v| v.rss_slope_bytes_per_epoch),
            verdict.map_or(0, |v| v.descriptor_growth),
            verdict.map_or(0, |v| v.thread_growth),
            verdict.map_or(0, |v| v.child_growth),
            if report.ok { "ok".to_owned() } else { report.problems().join("; ") }
        );
        reports.push(report);
    }
    let summary = Summary { ok: reports.iter().all(|r| r.ok), limits, transports: reports };
    match serde_json::to_string_pretty(&summary) {
        Ok(json) => println!("{json}"),
        Err(e) => return usage(&format!("cannot encode the summary: {e}")),
    }
    if summary.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_flag_overrides_an_earlier_one() {
        // conformance/scripts/soak.sh passes its defaults first and the
        // caller's arguments after them.
        let args = Args::try_parse_from([
            "vgi-rpc-soak",
            "--transport",
            "all",
            "--duration",
            "80",
            "--transport",
            "http",
            "--duration",
            "30",
        ])
        .expect("repeated flags parse");
        assert!(matches!(args.transport, Which::Http));
        assert_eq!(args.duration, 30);
    }
}
