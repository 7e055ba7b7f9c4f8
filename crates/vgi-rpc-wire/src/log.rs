//! Log batches: levels and the metadata of a client-directed log message (§8).

use std::fmt;
use std::str::FromStr;

use crate::{keys, Metadata};

/// Severity of a log batch. `Exception` is reserved for error batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// An error batch: the call failed (reserved for error batches).
    Exception,
    /// An error the call survived.
    Error,
    /// Something unexpected that did not fail the call.
    Warn,
    /// Routine progress.
    Info,
    /// Detail for debugging.
    Debug,
    /// The most verbose detail.
    Trace,
}

impl LogLevel {
    /// Every level, most severe first.
    pub const ALL: [LogLevel; 6] =
        [LogLevel::Exception, LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug, LogLevel::Trace];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Exception => "EXCEPTION",
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogLevel::ALL.into_iter().find(|l| l.as_str() == s).ok_or_else(|| format!("unknown log level {s:?}"))
    }
}

/// A client-directed log message as carried on a zero-row batch.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMessage {
    /// Severity.
    pub level: LogLevel,
    /// Human-readable text.
    pub message: String,
    /// Free-form structured extras (a JSON object), if any.
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl LogMessage {
    /// A message without extras.
    pub fn new(level: LogLevel, message: impl Into<String>) -> Self {
        Self { level, message: message.into(), extra: None }
    }

    /// The metadata of this message's log batch.
    pub fn to_metadata(&self, server_id: Option<&str>, request_id: Option<&str>) -> Metadata {
        let mut md = Metadata::with_capacity(5);
        md.insert(keys::LOG_LEVEL, self.level.as_str());
        md.insert(keys::LOG_MESSAGE, self.message.as_str());
        if let Some(extra) = &self.extra {
            md.insert(keys::LOG_EXTRA, serde_json::Value::Object(extra.clone()).to_string());
        }
        if let Some(id) = server_id {
            md.insert(keys::SERVER_ID, id);
        }
        if let Some(id) = request_id {
            md.insert(keys::REQUEST_ID, id);
        }
        md
    }

    /// Parse a log batch's metadata (the caller has classified it as a log).
    pub fn from_metadata(md: &Metadata) -> Option<Self> {
        let level = md.get(keys::LOG_LEVEL)?.parse().ok()?;
        let message = md.get(keys::LOG_MESSAGE)?.to_owned();
        let extra = md.get(keys::LOG_EXTRA).and_then(|s| match serde_json::from_str(s) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        });
        Some(Self { level, message, extra })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_metadata() {
        let mut extra = serde_json::Map::new();
        extra.insert("source".into(), "t".into());
        let msg = LogMessage { level: LogLevel::Warn, message: "w".into(), extra: Some(extra) };
        let md = msg.to_metadata(Some("abc"), None);
        assert_eq!(md.get(keys::SERVER_ID), Some("abc"));
        assert_eq!(LogMessage::from_metadata(&md), Some(msg));
        assert_eq!("TRACE".parse::<LogLevel>(), Ok(LogLevel::Trace));
        assert!("LOUD".parse::<LogLevel>().is_err());
    }
}
