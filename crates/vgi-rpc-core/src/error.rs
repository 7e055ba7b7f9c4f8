//! `RpcError`: the one error a handler returns, mapping one-to-one onto the
//! wire's EXCEPTION batch.

use serde_json::Value;
use vgi_rpc_wire::error_model::ErrorPayload;
use vgi_rpc_wire::ErrorCode;

/// An error raised by a method (or by dispatch) and sent to the caller.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct RpcError {
    /// Type name the caller sees (`log_extra.exception_type`), e.g. `"ValueError"`.
    pub error_type: String,
    /// Developer-facing message.
    pub message: String,
    /// Canonical code (`UNKNOWN` when unclassified).
    pub code: ErrorCode,
    /// Stable reason a client branches on.
    pub kind: Option<String>,
    /// Typed details from the catalog (see WIRE_PROTOCOL.md §8).
    pub details: Vec<Value>,
    /// A chained cause, rendered for humans.
    pub cause: Option<String>,
}

impl RpcError {
    /// An unclassified error of type `error_type`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
            code: ErrorCode::Unknown,
            kind: None,
            details: Vec::new(),
            cause: None,
        }
    }

    /// A `ValueError` (bad argument value).
    pub fn value_error(message: impl Into<String>) -> Self {
        Self::new("ValueError", message)
    }

    /// A `RuntimeError` (the method failed).
    pub fn runtime_error(message: impl Into<String>) -> Self {
        Self::new("RuntimeError", message)
    }

    /// A `TypeError` (argument of the wrong type or shape).
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new("TypeError", message)
    }

    /// A framing or routing problem with the request itself.
    pub fn protocol_error(message: impl Into<String>) -> Self {
        Self::new("RpcError", format!("ProtocolError: {}", message.into()))
    }

    /// `vgi_rpc.request_version` missing or wrong.
    pub fn version_error(message: impl Into<String>) -> Self {
        Self::new("VersionError", message)
    }

    /// The protocol is hosted but has no such method.
    pub fn method_not_implemented(message: impl Into<String>) -> Self {
        Self::new("MethodNotImplementedError", message).with_kind("method_not_implemented", ErrorCode::Unimplemented)
    }

    /// The request named no protocol.
    pub fn protocol_not_specified(message: impl Into<String>) -> Self {
        Self::new("ProtocolNotSpecifiedError", message).with_kind("protocol_not_specified", ErrorCode::InvalidArgument)
    }

    /// The named protocol is not hosted here.
    pub fn protocol_not_supported(message: impl Into<String>) -> Self {
        Self::new("ProtocolNotSupportedError", message).with_kind("protocol_not_supported", ErrorCode::Unimplemented)
    }

    /// An error with a canonical code and optional kind (`StatusError`).
    pub fn status(code: ErrorCode, kind: Option<&str>, message: impl Into<String>) -> Self {
        let mut e = Self::new("StatusError", message);
        e.code = code;
        e.kind = kind.filter(|k| !k.is_empty()).map(str::to_owned);
        e
    }

    /// Set the kind and the one code it names.
    pub fn with_kind(mut self, kind: impl Into<String>, code: ErrorCode) -> Self {
        self.kind = Some(kind.into());
        self.code = code;
        self
    }

    /// Set the code.
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    /// Attach typed details.
    pub fn with_details(mut self, details: Vec<Value>) -> Self {
        self.details = details;
        self
    }

    /// Attach a chained cause.
    pub fn with_cause(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    /// The wire payload, with a synthesized traceback naming where it was raised.
    pub fn to_payload(&self, protocol: &str, method: &str) -> ErrorPayload {
        let mut traceback = format!("{}: {}\n  raised in {}/{}", self.error_type, self.message, protocol, method);
        if let Some(cause) = &self.cause {
            traceback.push_str("\ncaused by: ");
            traceback.push_str(cause);
        }
        ErrorPayload {
            exception_type: self.error_type.clone(),
            message: self.message.clone(),
            code: self.code,
            kind: self.kind.clone(),
            details: self.details.clone(),
            traceback: Some(traceback),
            cause: self.cause.clone(),
        }
    }
}

impl From<arrow_schema::ArrowError> for RpcError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        RpcError::new("ArrowInvalid", e.to_string())
    }
}

impl From<vgi_rpc_wire::WireError> for RpcError {
    fn from(e: vgi_rpc_wire::WireError) -> Self {
        RpcError::new("ArrowInvalid", e.to_string())
    }
}
