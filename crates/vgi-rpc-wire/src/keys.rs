//! Every framework-reserved metadata key (WIRE_PROTOCOL.md §3) as a constant.

// Request metadata.
pub const METHOD: &str = "vgi_rpc.method";
pub const PROTOCOL: &str = "vgi_rpc.protocol";
pub const REQUEST_VERSION: &str = "vgi_rpc.request_version";
pub const PROTOCOL_VERSION: &str = "vgi_rpc.protocol_version";
pub const REQUEST_ID: &str = "vgi_rpc.request_id";
pub const CANCEL: &str = "vgi_rpc.cancel";
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";
pub const SHM_SEGMENT_NAME: &str = "vgi_rpc.shm_segment_name";
pub const SHM_SEGMENT_SIZE: &str = "vgi_rpc.shm_segment_size";
pub const TRANSPORT_SHM: &str = "vgi_rpc.transport.shm";
/// Prefix of every transport-capability key (§15).
pub const TRANSPORT_PREFIX: &str = "vgi_rpc.transport.";

// Response / log / error metadata.
pub const LOG_LEVEL: &str = "vgi_rpc.log_level";
pub const LOG_MESSAGE: &str = "vgi_rpc.log_message";
pub const LOG_EXTRA: &str = "vgi_rpc.log_extra";
pub const ERROR_KIND: &str = "vgi_rpc.error_kind";
pub const ERROR_CODE: &str = "vgi_rpc.error_code";
pub const ERROR_DETAILS: &str = "vgi_rpc.error_details";
pub const SERVER_ID: &str = "vgi_rpc.server_id";

// Stream state (HTTP transport).
pub const STREAM_STATE: &str = "vgi_rpc.stream_state#b64";
pub const CALL_STATE: &str = "vgi_rpc.call_state#b64";

// Shared-memory pointer batches.
pub const SHM_OFFSET: &str = "vgi_rpc.shm_offset";
pub const SHM_LENGTH: &str = "vgi_rpc.shm_length";
pub const SHM_SOURCE: &str = "vgi_rpc.shm_source";

// External storage pointer batches.
pub const LOCATION: &str = "vgi_rpc.location";
pub const LOCATION_SHA256: &str = "vgi_rpc.location.sha256";
pub const LOCATION_FETCH_MS: &str = "vgi_rpc.location.fetch_ms";
pub const LOCATION_SOURCE: &str = "vgi_rpc.location.source";

// Introspection (`__describe__`) response metadata.
pub const PROTOCOL_NAME: &str = "vgi_rpc.protocol_name";
pub const DESCRIBE_VERSION: &str = "vgi_rpc.describe_version";
pub const PROTOCOL_HASH: &str = "vgi_rpc.protocol_hash";

/// Reserved prefix of framework-owned keys and protocol names.
pub const RESERVED_PREFIX: &str = "vgi_rpc.";
