//! Every framework-reserved metadata key (WIRE_PROTOCOL.md §3) as a constant.

// Request metadata.
/// Name of the method a request batch calls.
pub const METHOD: &str = "vgi_rpc.method";
/// Name of the protocol a request's method belongs to: the routing key (required).
pub const PROTOCOL: &str = "vgi_rpc.protocol";
/// Wire framing version of a request; see [`crate::REQUEST_VERSION`] for the value this crate speaks.
pub const REQUEST_VERSION: &str = "vgi_rpc.request_version";
/// The protocol version the caller was built against, checked by the server's version gate.
pub const PROTOCOL_VERSION: &str = "vgi_rpc.protocol_version";
/// Per-request correlation id (16 hex characters); the server makes one when absent.
pub const REQUEST_ID: &str = "vgi_rpc.request_id";
/// On a stream input batch, asks the server to cancel the stream (presence is the signal).
pub const CANCEL: &str = "vgi_rpc.cancel";
/// W3C trace-context `traceparent` carried in request metadata.
pub const TRACEPARENT: &str = "traceparent";
/// W3C trace-context `tracestate` carried in request metadata.
pub const TRACESTATE: &str = "tracestate";
/// Name of the shared-memory segment the client offers for this connection.
pub const SHM_SEGMENT_NAME: &str = "vgi_rpc.shm_segment_name";
/// Size in bytes of the offered shared-memory segment (decimal string).
pub const SHM_SEGMENT_SIZE: &str = "vgi_rpc.shm_segment_size";
/// The client's shared-memory capability (`"true"`/`"false"`) on `__transport_options__`.
pub const TRANSPORT_SHM: &str = "vgi_rpc.transport.shm";
/// Prefix of every transport-capability key (§15).
pub const TRANSPORT_PREFIX: &str = "vgi_rpc.transport.";

// Response / log / error metadata.
/// Level of a log or error batch (a [`crate::LogLevel`] wire spelling).
pub const LOG_LEVEL: &str = "vgi_rpc.log_level";
/// Human-readable text of a log or error batch.
pub const LOG_MESSAGE: &str = "vgi_rpc.log_message";
/// JSON object of extra fields on a log batch (for `EXCEPTION`, the error details).
pub const LOG_EXTRA: &str = "vgi_rpc.log_extra";
/// Error kind (the exception type name) of an error batch.
pub const ERROR_KIND: &str = "vgi_rpc.error_kind";
/// Canonical code of an error batch (a [`crate::ErrorCode`] name).
pub const ERROR_CODE: &str = "vgi_rpc.error_code";
/// Typed error details of an error batch (JSON, capped at 4096 bytes).
pub const ERROR_DETAILS: &str = "vgi_rpc.error_details";
/// Identifier of the server process that produced a response.
pub const SERVER_ID: &str = "vgi_rpc.server_id";

// Stream state (HTTP transport).
/// Base64 sealed cursor token of an HTTP stream, re-issued every turn.
pub const STREAM_STATE: &str = "vgi_rpc.stream_state#b64";
/// Base64 sealed call token of an HTTP stream, minted once at `/init` and echoed after.
pub const CALL_STATE: &str = "vgi_rpc.call_state#b64";

// Shared-memory pointer batches.
/// Byte offset of a batch inside the shared-memory segment (decimal string).
pub const SHM_OFFSET: &str = "vgi_rpc.shm_offset";
/// Byte length of a batch inside the shared-memory segment (decimal string).
pub const SHM_LENGTH: &str = "vgi_rpc.shm_length";
/// Name of the segment a resolved shared-memory batch came from (diagnostics).
pub const SHM_SOURCE: &str = "vgi_rpc.shm_source";

// External storage pointer batches.
/// URL of an externalized batch (an external-storage pointer batch).
pub const LOCATION: &str = "vgi_rpc.location";
/// Hex SHA-256 of the payload before compression; the reader verifies it when present.
pub const LOCATION_SHA256: &str = "vgi_rpc.location.sha256";
/// Elapsed fetch time in milliseconds (decimal float), stamped by the resolving reader.
pub const LOCATION_FETCH_MS: &str = "vgi_rpc.location.fetch_ms";
/// The full URL the resolving reader fetched (may carry a presigned credential).
pub const LOCATION_SOURCE: &str = "vgi_rpc.location.source";

// Introspection (`__describe__`) response metadata.
/// Protocol name in a `__describe__` response.
pub const PROTOCOL_NAME: &str = "vgi_rpc.protocol_name";
/// Version of the `__describe__` response format.
pub const DESCRIBE_VERSION: &str = "vgi_rpc.describe_version";
/// Hash of the protocol's declared surface in a `__describe__` response.
pub const PROTOCOL_HASH: &str = "vgi_rpc.protocol_hash";

/// Reserved prefix of framework-owned keys and protocol names.
pub const RESERVED_PREFIX: &str = "vgi_rpc.";
