//! Error batches and the error model (WIRE_PROTOCOL.md §8): canonical codes,
//! kinds, typed details with the 4096-byte cap, and `log_extra` for EXCEPTION.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::{keys, Metadata};

/// The sixteen canonical (gRPC) codes. The wire value is the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The operation was cancelled, typically by the caller.
    Cancelled,
    /// An error with no better code (also the code of an unrecognized wire name).
    Unknown,
    /// The caller passed a bad argument, whatever the server's state.
    InvalidArgument,
    /// The deadline passed before the operation finished.
    DeadlineExceeded,
    /// A requested entity (method, protocol, object) does not exist.
    NotFound,
    /// The entity the caller tried to create already exists.
    AlreadyExists,
    /// The caller is known but not allowed to do this.
    PermissionDenied,
    /// A quota or size limit ran out.
    ResourceExhausted,
    /// The system is not in the state the operation requires.
    FailedPrecondition,
    /// The operation was aborted (a concurrency conflict, for example).
    Aborted,
    /// The operation went past a valid range.
    OutOfRange,
    /// The operation is not implemented or not supported.
    Unimplemented,
    /// An invariant broke inside the server.
    Internal,
    /// The service is unavailable for now; a retry may succeed.
    Unavailable,
    /// Unrecoverable data loss or corruption.
    DataLoss,
    /// The request lacks valid credentials.
    Unauthenticated,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::Cancelled,
        ErrorCode::Unknown,
        ErrorCode::InvalidArgument,
        ErrorCode::DeadlineExceeded,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::PermissionDenied,
        ErrorCode::ResourceExhausted,
        ErrorCode::FailedPrecondition,
        ErrorCode::Aborted,
        ErrorCode::OutOfRange,
        ErrorCode::Unimplemented,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::DataLoss,
        ErrorCode::Unauthenticated,
    ];

    /// The wire name, e.g. `"UNAVAILABLE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::Unknown => "UNKNOWN",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::DeadlineExceeded => "DEADLINE_EXCEEDED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorCode::FailedPrecondition => "FAILED_PRECONDITION",
            ErrorCode::Aborted => "ABORTED",
            ErrorCode::OutOfRange => "OUT_OF_RANGE",
            ErrorCode::Unimplemented => "UNIMPLEMENTED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::DataLoss => "DATA_LOSS",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// Parse a wire name; any other value reads as [`ErrorCode::Unknown`].
    pub fn from_wire(s: &str) -> ErrorCode {
        s.parse().unwrap_or(ErrorCode::Unknown)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| format!("{s:?} is not a canonical code"))
    }
}

/// The detail types of the fixed catalog.
pub const DETAIL_CATALOG: [&str; 8] = [
    "vgi_rpc.ErrorInfo",
    "vgi_rpc.RetryInfo",
    "vgi_rpc.BadRequest",
    "vgi_rpc.PreconditionFailure",
    "vgi_rpc.QuotaFailure",
    "vgi_rpc.ResourceInfo",
    "vgi_rpc.Help",
    "vgi_rpc.LocalizedMessage",
];

/// Maximum serialized size of `vgi_rpc.error_details`.
pub const MAX_DETAILS_BYTES: usize = 4096;
/// Maximum length of each traceback string in `log_extra`.
pub const MAX_TRACEBACK_CHARS: usize = 16_000;
const TRACEBACK_TRUNCATED: &str = "\n… <traceback truncated>";

/// Serialize `details` as the wire value, or `None` when the array must be
/// omitted whole: empty, over the cap, a repeated `@type`, or a type that is
/// neither in the catalog nor qualified outside the reserved namespace.
pub fn encode_details(details: &[Value]) -> Option<String> {
    if details.is_empty() {
        return None;
    }
    let mut seen: Vec<&str> = Vec::with_capacity(details.len());
    for d in details {
        let ty = d.get("@type")?.as_str()?;
        let allowed =
            if ty.starts_with(keys::RESERVED_PREFIX) { DETAIL_CATALOG.contains(&ty) } else { ty.contains('.') };
        if !allowed || seen.contains(&ty) {
            return None;
        }
        seen.push(ty);
    }
    let json = Value::Array(details.to_vec()).to_string();
    (json.len() <= MAX_DETAILS_BYTES).then_some(json)
}

/// A `vgi_rpc.RetryInfo` detail.
pub fn retry_info(delay_seconds: f64) -> Value {
    let mut m = Map::new();
    m.insert("@type".into(), "vgi_rpc.RetryInfo".into());
    m.insert(
        "retry_delay_seconds".into(),
        serde_json::Number::from_f64(delay_seconds).map_or(Value::Null, Value::Number),
    );
    Value::Object(m)
}

/// Everything a server puts on an EXCEPTION batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorPayload {
    /// The error's type name (`log_extra.exception_type`).
    pub exception_type: String,
    /// The developer-facing message (`log_extra.exception_message`; the
    /// batch's `vgi_rpc.log_message` is `"<type>: <message>"`).
    pub message: String,
    /// Canonical code; `Unknown` when unclassified.
    pub code: ErrorCode,
    /// Stable reason, if classified.
    pub kind: Option<String>,
    /// Typed details (validated and capped when encoded).
    pub details: Vec<Value>,
    /// Synthesized or captured traceback; sent only when tracebacks are on.
    pub traceback: Option<String>,
    /// Formatted chained cause, if any.
    pub cause: Option<String>,
}

impl ErrorPayload {
    /// An unclassified error of type `exception_type`.
    pub fn new(exception_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            exception_type: exception_type.into(),
            message: message.into(),
            code: ErrorCode::Unknown,
            kind: None,
            details: Vec::new(),
            traceback: None,
            cause: None,
        }
    }

    /// `"<type>: <message>"`, the batch's `vgi_rpc.log_message`.
    pub fn summary(&self) -> String {
        format!("{}: {}", self.exception_type, self.message)
    }

    /// The metadata of this error's EXCEPTION batch. `include_traceback`
    /// decides whether `traceback` / `frames` / `cause` are in `log_extra`.
    pub fn to_metadata(&self, server_id: Option<&str>, request_id: Option<&str>, include_traceback: bool) -> Metadata {
        let details = encode_details(&self.details);
        let mut extra = Map::new();
        extra.insert("exception_type".into(), self.exception_type.clone().into());
        extra.insert("exception_message".into(), self.message.clone().into());
        extra.insert("error_code".into(), self.code.as_str().into());
        if let Some(kind) = &self.kind {
            extra.insert("error_kind".into(), kind.clone().into());
        }
        if details.is_some() {
            extra.insert("error_details".into(), Value::Array(self.details.clone()));
        }
        if include_traceback {
            let tb = match &self.traceback {
                Some(tb) if !tb.is_empty() => tb.clone(),
                _ => format!("{}: {}", self.exception_type, self.message),
            };
            extra.insert("traceback".into(), truncate_traceback(tb).into());
            extra.insert("frames".into(), Value::Array(Vec::new()));
            if let Some(cause) = &self.cause {
                extra.insert("cause".into(), truncate_traceback(cause.clone()).into());
            }
        }

        let mut md = Metadata::with_capacity(8);
        md.insert(keys::LOG_LEVEL, "EXCEPTION");
        md.insert(keys::LOG_MESSAGE, self.summary());
        md.insert(keys::LOG_EXTRA, Value::Object(extra).to_string());
        md.insert(keys::ERROR_CODE, self.code.as_str());
        if let Some(kind) = &self.kind {
            md.insert(keys::ERROR_KIND, kind.as_str());
        }
        if let Some(details) = details {
            md.insert(keys::ERROR_DETAILS, details);
        }
        if let Some(id) = server_id {
            md.insert(keys::SERVER_ID, id);
        }
        if let Some(id) = request_id {
            md.insert(keys::REQUEST_ID, id);
        }
        md
    }
}

fn truncate_traceback(mut tb: String) -> String {
    if tb.chars().count() > MAX_TRACEBACK_CHARS {
        tb = tb.chars().take(MAX_TRACEBACK_CHARS).collect();
        tb.push_str(TRACEBACK_TRUNCATED);
    }
    tb
}

/// An error as a client decodes it from an EXCEPTION batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteError {
    /// `log_extra.exception_type`, or `"EXCEPTION"` when absent.
    pub error_type: String,
    /// `vgi_rpc.log_message` (the server's `"<type>: <message>"` summary).
    pub message: String,
    /// `log_extra.traceback`, or empty.
    pub traceback: String,
    /// `vgi_rpc.request_id`, or empty.
    pub request_id: String,
    /// `vgi_rpc.error_code` (or its mirror), or empty when absent.
    pub error_code: String,
    /// `vgi_rpc.error_kind` (or its mirror), or empty.
    pub error_kind: String,
    /// Every detail as received, unknown types included.
    pub error_details: Vec<Value>,
}

impl RemoteError {
    /// Decode an EXCEPTION batch's metadata.
    pub fn from_metadata(md: &Metadata) -> Self {
        let extra: Map<String, Value> = match md.get(keys::LOG_EXTRA).map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Object(m))) => m,
            _ => Map::new(),
        };
        let extra_str = |k: &str| extra.get(k).and_then(Value::as_str).map(str::to_owned);
        let error_details = match md.get(keys::ERROR_DETAILS) {
            Some(raw) => match serde_json::from_str::<Value>(raw) {
                Ok(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            None => match extra.get("error_details") {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            },
        };
        Self {
            error_type: extra_str("exception_type").unwrap_or_else(|| "EXCEPTION".into()),
            message: md.get(keys::LOG_MESSAGE).unwrap_or_default().to_owned(),
            traceback: extra_str("traceback").unwrap_or_default(),
            request_id: md.get(keys::REQUEST_ID).unwrap_or_default().to_owned(),
            error_code: md
                .get(keys::ERROR_CODE)
                .map(str::to_owned)
                .or_else(|| extra_str("error_code"))
                .unwrap_or_default(),
            error_kind: md
                .get(keys::ERROR_KIND)
                .map(str::to_owned)
                .or_else(|| extra_str("error_kind"))
                .unwrap_or_default(),
            error_details,
        }
    }

    /// The canonical code (unknown values read as `UNKNOWN`).
    pub fn code(&self) -> ErrorCode {
        ErrorCode::from_wire(&self.error_code)
    }

    /// The `RetryInfo` delay, if one was sent.
    pub fn retry_delay_seconds(&self) -> Option<f64> {
        self.error_details
            .iter()
            .find(|d| d.get("@type").and_then(Value::as_str) == Some("vgi_rpc.RetryInfo"))
            .and_then(|d| d.get("retry_delay_seconds"))
            .and_then(Value::as_f64)
    }

    /// §8 retryability: `UNAVAILABLE`, or `RESOURCE_EXHAUSTED` with `RetryInfo`.
    pub fn is_retryable(&self) -> bool {
        match self.code() {
            ErrorCode::Unavailable => true,
            ErrorCode::ResourceExhausted => self.retry_delay_seconds().is_some(),
            _ => false,
        }
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_over_the_cap_are_dropped_whole() {
        let small = retry_info(1.0);
        let big = json!({"@type": "vgi_rpc.ErrorInfo", "metadata": {"padding": "x".repeat(5000)}});
        assert!(encode_details(std::slice::from_ref(&small)).is_some());
        assert_eq!(encode_details(&[small, big]), None);
    }

    #[test]
    fn details_break_rules_are_dropped() {
        let a = retry_info(1.0);
        assert_eq!(encode_details(&[a.clone(), a]), None, "repeated type");
        assert_eq!(encode_details(&[json!({"@type": "vgi_rpc.Made.Up"})]), None, "reserved but not in catalog");
        assert_eq!(encode_details(&[json!({"@type": "Bare"})]), None, "unqualified");
        assert!(encode_details(&[json!({"@type": "my.proto.v1.Probe", "note": "n"})]).is_some());
    }

    #[test]
    fn payload_round_trips_and_mirrors_into_log_extra() {
        let mut p = ErrorPayload::new("ValueError", "bad");
        p.code = ErrorCode::ResourceExhausted;
        p.kind = Some("quota".into());
        p.details = vec![retry_info(2.5)];
        let md = p.to_metadata(Some("srv"), Some("req"), true);
        let extra: Value = serde_json::from_str(md.get(keys::LOG_EXTRA).unwrap()).unwrap();
        assert_eq!(extra["error_code"], "RESOURCE_EXHAUSTED");
        assert_eq!(extra["error_kind"], "quota");
        assert!(extra["error_details"].is_array());
        assert!(!extra["traceback"].as_str().unwrap().is_empty());
        let e = RemoteError::from_metadata(&md);
        assert_eq!(e.error_type, "ValueError");
        assert_eq!(e.error_kind, "quota");
        assert_eq!(e.request_id, "req");
        assert!(e.is_retryable());
        assert_eq!(e.retry_delay_seconds(), Some(2.5));
    }

    #[test]
    fn tracebacks_can_be_turned_off() {
        let md = ErrorPayload::new("RuntimeError", "x").to_metadata(None, None, false);
        let extra: Value = serde_json::from_str(md.get(keys::LOG_EXTRA).unwrap()).unwrap();
        assert!(extra.get("traceback").is_none());
        assert!(extra.get("frames").is_none());
        assert_eq!(md.get(keys::ERROR_CODE), Some("UNKNOWN"));
    }

    #[test]
    fn unknown_codes_read_as_unknown() {
        assert_eq!(ErrorCode::from_wire("TEAPOT"), ErrorCode::Unknown);
        assert_eq!(ErrorCode::from_wire("ABORTED"), ErrorCode::Aborted);
    }
}
