//! Command-line flags every worker binary shares for choosing its
//! byte-stream transport (the reference workers' `--pipe`, `--unix`,
//! `--tcp`, `--threaded`, `--max-connections`), bounding its connections
//! (`--connection-idle-timeout`) and its own life (`--idle-timeout`), with
//! their rules checked in one place.

use std::time::Duration;

use crate::{Listen, SocketOptions};

/// Transport flags, flattened into a worker's own `clap` parser.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TransportArgs {
    /// Serve over stdin/stdout pipe (default).
    #[arg(long, group = "transport")]
    pub pipe: bool,
    /// Serve over a Unix domain socket.
    #[arg(long, value_name = "PATH", group = "transport")]
    pub unix: Option<String>,
    /// Serve over a TCP socket (host defaults to 127.0.0.1).
    #[arg(long, value_name = "[HOST:]PORT", group = "transport")]
    pub tcp: Option<String>,
    /// Accept connections concurrently (unix/tcp only).
    #[arg(long)]
    pub threaded: bool,
    /// Max concurrent connections (requires --threaded; default 1024, never
    /// more than the descriptor limit allows; extra clients wait in the backlog).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Close a connection idle this many seconds (0: never). Default 300 on
    /// Unix/TCP sockets (no byte received), 60 on HTTP (no request started).
    #[arg(long, value_name = "SECONDS")]
    pub connection_idle_timeout: Option<u64>,
    /// Exit cleanly after this many seconds with no connection (unix/tcp;
    /// fractions allowed; 0: never). Before the first client the worker waits
    /// at least 60 s. This is the launcher's self-shutdown
    /// (`WORKER --unix PATH --idle-timeout SEC`).
    #[arg(long = "idle-timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub exit_when_idle: Option<Duration>,
}

/// Parse a non-negative, finite number of seconds (`300`, `0.5`, `600.0`).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.trim().parse().map_err(|_| format!("not a number of seconds: {text:?}"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("seconds must be finite and >= 0: {text:?}"))
}

impl TransportArgs {
    /// Where to listen, after checking the flags fit together.
    pub fn listen(&self) -> Result<Listen, String> {
        if self.threaded && self.unix.is_none() && self.tcp.is_none() {
            return Err("--threaded requires --unix or --tcp".into());
        }
        match self.max_connections {
            Some(_) if !self.threaded => return Err("--max-connections requires --threaded".into()),
            Some(0) => return Err("--max-connections must be positive".into()),
            _ => {}
        }
        if self.exit_when_idle.is_some_and(|t| !t.is_zero()) && self.unix.is_none() && self.tcp.is_none() {
            return Err("--idle-timeout requires --unix or --tcp".into());
        }
        match (&self.unix, &self.tcp) {
            (Some(path), _) => Ok(Listen::Unix(path.into())),
            (_, Some(spec)) => Listen::tcp(spec),
            _ => Ok(Listen::Stdio),
        }
    }

    /// How socket connections are served.
    pub fn socket_options(&self) -> SocketOptions {
        let defaults = SocketOptions::default();
        SocketOptions {
            threaded: self.threaded,
            max_connections: self.max_connections,
            idle_timeout: self.idle_timeout().unwrap_or(defaults.idle_timeout),
            exit_when_idle: self.exit_when_idle.filter(|t| !t.is_zero()),
        }
    }

    /// `--connection-idle-timeout` when given: `Some(None)` for 0 (never).
    pub fn idle_timeout(&self) -> Option<Option<Duration>> {
        self.connection_idle_timeout.map(|s| (s > 0).then(|| Duration::from_secs(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_rules_are_enforced() {
        let args = |unix: Option<&str>, threaded: bool, max: Option<usize>| TransportArgs {
            unix: unix.map(str::to_owned),
            threaded,
            max_connections: max,
            ..Default::default()
        };
        assert_eq!(args(None, false, None).listen(), Ok(Listen::Stdio));
        assert!(args(None, true, None).listen().is_err());
        assert!(args(Some("/s"), false, Some(2)).listen().is_err());
        assert!(args(Some("/s"), true, Some(0)).listen().is_err());
        assert_eq!(args(Some("/s"), true, Some(2)).listen(), Ok(Listen::Unix("/s".into())));
    }

    #[test]
    fn idle_timeout_takes_fractional_seconds_and_needs_a_socket() {
        assert_eq!(parse_seconds("600.0"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("soon").is_err());
        let stdio = TransportArgs { exit_when_idle: Some(Duration::from_secs(1)), ..Default::default() };
        assert!(stdio.listen().is_err());
        let unix = TransportArgs {
            unix: Some("/s".into()),
            exit_when_idle: Some(Duration::from_secs(1)),
            ..Default::default()
        };
        assert_eq!(unix.socket_options().exit_when_idle, Some(Duration::from_secs(1)));
        let off = TransportArgs { unix: Some("/s".into()), exit_when_idle: Some(Duration::ZERO), ..Default::default() };
        assert_eq!(off.socket_options().exit_when_idle, None);
    }
}
