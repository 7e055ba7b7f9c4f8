//! The reference's access-log flags, with its environment variables and
//! defaults: `--access-log PATH` (`{pid}`, `{server_id}`),
//! `--access-log-max-bytes`, `--access-log-backup-count`,
//! `--access-log-when`, `--access-log-max-record-bytes`,
//! `--access-log-async`, `--access-log-queue-size`, `--access-log-sample`.

use vgi_rpc_core::access_log::{AccessLogOptions, DEFAULT_MAX_RECORD_BYTES, DEFAULT_QUEUE_SIZE};

use crate::{AccessLogSettings, Rotation, When};

/// Flatten into a worker's clap arguments (`#[command(flatten)]`).
#[derive(Debug, Clone, clap::Args)]
pub struct AccessLogArgs {
    /// Append JSONL access-log records to PATH ({pid} and {server_id} are filled in).
    #[arg(long, value_name = "PATH", env = "VGI_RPC_ACCESS_LOG")]
    pub access_log: Option<String>,
    /// Rotate the access log before it reaches this many bytes (0: no size rotation).
    #[arg(long, value_name = "BYTES", default_value_t = 0, env = "VGI_RPC_ACCESS_LOG_MAX_BYTES")]
    pub access_log_max_bytes: u64,
    /// Rotated access-log files to keep.
    #[arg(long, value_name = "N", default_value_t = crate::DEFAULT_BACKUP_COUNT, env = "VGI_RPC_ACCESS_LOG_BACKUP_COUNT")]
    pub access_log_backup_count: usize,
    /// Rotate the access log by time: S, M, H, D, midnight or W0-W6 (UTC); not with --access-log-max-bytes.
    #[arg(long, value_name = "WHEN", env = "VGI_RPC_ACCESS_LOG_WHEN")]
    pub access_log_when: Option<String>,
    /// Largest access-log record in bytes (over it: claims shed, then a sentinel record; 0: no cap).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_RECORD_BYTES, env = "VGI_RPC_ACCESS_LOG_MAX_RECORD_BYTES")]
    pub access_log_max_record_bytes: usize,
    /// Write access-log records from a background thread through a bounded
    /// queue; when it is full records are dropped and the next one carries
    /// `dropped_records`. A crash loses what is queued.
    #[arg(long, env = "VGI_RPC_ACCESS_LOG_ASYNC", value_parser = clap::builder::FalseyValueParser::new())]
    pub access_log_async: bool,
    /// Bound of the background writer's queue, in records.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_QUEUE_SIZE, env = "VGI_RPC_ACCESS_LOG_QUEUE_SIZE")]
    pub access_log_queue_size: usize,
    /// Fraction of successful calls logged, 0.0-1.0 (errors always are);
    /// decided per stream or request id; sampled records carry `sample_rate`.
    #[arg(long, value_name = "RATE", default_value_t = 1.0, env = "VGI_RPC_ACCESS_LOG_SAMPLE")]
    pub access_log_sample: f64,
}

impl AccessLogArgs {
    /// The settings, or `None` without `--access-log`; a message naming the
    /// flag when they do not fit together (checked at startup, not at the
    /// first request).
    pub fn settings(&self) -> Result<Option<AccessLogSettings>, String> {
        let Some(path) = &self.access_log else { return Ok(None) };
        if !(0.0..=1.0).contains(&self.access_log_sample) {
            return Err(format!("--access-log-sample must be between 0.0 and 1.0, got {}", self.access_log_sample));
        }
        let rotation = match (self.access_log_max_bytes, &self.access_log_when) {
            (n, Some(_)) if n > 0 => {
                return Err("--access-log-max-bytes and --access-log-when are mutually exclusive".into())
            }
            (_, Some(when)) => Rotation::Time(when.parse::<When>().map_err(|e| format!("--access-log-when: {e}"))?),
            (0, None) => Rotation::Never,
            (n, None) => Rotation::Size(n),
        };
        if self.access_log_async && self.access_log_queue_size == 0 {
            return Err("--access-log-queue-size must be positive".into());
        }
        let mut settings = AccessLogSettings::new(path.clone());
        settings.rotation = rotation;
        settings.backup_count = self.access_log_backup_count;
        let mut options = AccessLogOptions::default();
        options.max_record_bytes = (self.access_log_max_record_bytes > 0).then_some(self.access_log_max_record_bytes);
        options.sample_rate = self.access_log_sample;
        options.queue_size = self.access_log_async.then_some(self.access_log_queue_size);
        settings.options = options;
        Ok(Some(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        log: AccessLogArgs,
    }

    fn parse(args: &[&str]) -> Result<Option<AccessLogSettings>, String> {
        let cli = Cli::try_parse_from(std::iter::once("w").chain(args.iter().copied())).map_err(|e| e.to_string())?;
        cli.log.settings()
    }

    #[test]
    fn defaults_match_the_reference() {
        let s = parse(&["--access-log", "/tmp/a-{pid}.jsonl"]).expect("ok").expect("some");
        assert_eq!(s.rotation, Rotation::Never);
        assert_eq!(s.backup_count, 5);
        assert_eq!(s.options, AccessLogOptions::default());
        assert!(parse(&[]).expect("ok").is_none());
    }

    #[test]
    fn every_flag_reaches_the_settings() {
        let s = parse(&[
            "--access-log",
            "x",
            "--access-log-when",
            "midnight",
            "--access-log-backup-count",
            "9",
            "--access-log-max-record-bytes",
            "4096",
            "--access-log-async",
            "--access-log-queue-size",
            "7",
            "--access-log-sample",
            "0.25",
        ])
        .expect("ok")
        .expect("some");
        assert_eq!(s.rotation, Rotation::Time(When::Midnight));
        assert_eq!(s.backup_count, 9);
        assert_eq!(s.options.max_record_bytes, Some(4096));
        assert_eq!(s.options.queue_size, Some(7));
        assert_eq!(s.options.sample_rate, 0.25);
        let sized = parse(&["--access-log", "x", "--access-log-max-bytes", "1000"]).expect("ok").expect("some");
        assert_eq!(sized.rotation, Rotation::Size(1000));
    }

    #[test]
    fn settings_that_cannot_work_fail_at_startup_naming_the_flag() {
        let both = parse(&["--access-log", "x", "--access-log-max-bytes", "10", "--access-log-when", "H"]);
        assert!(both.is_err_and(|e| e.contains("mutually exclusive")));
        assert!(parse(&["--access-log", "x", "--access-log-sample", "100"]).is_err_and(|e| e.contains("0.0 and 1.0")));
        assert!(parse(&["--access-log", "x", "--access-log-when", "hourly"])
            .is_err_and(|e| e.contains("--access-log-when")));
    }
}
