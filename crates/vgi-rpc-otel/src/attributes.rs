//! Attribute names, as the reference implementation spells them
//! (`vgi_rpc/otel.py`), plus the few this port adds.

pub(crate) const RPC_SYSTEM: &str = "rpc.system";
pub(crate) const RPC_SYSTEM_VALUE: &str = "vgi_rpc";
pub(crate) const RPC_SERVICE: &str = "rpc.service";
pub(crate) const RPC_METHOD: &str = "rpc.method";
pub(crate) const METHOD_TYPE: &str = "rpc.vgi_rpc.method_type";
pub(crate) const SERVER_ID: &str = "rpc.vgi_rpc.server_id";
pub(crate) const AUTH_PRINCIPAL: &str = "rpc.vgi_rpc.auth.principal";
pub(crate) const AUTH_DOMAIN: &str = "rpc.vgi_rpc.auth.domain";
pub(crate) const AUTH_AUTHENTICATED: &str = "rpc.vgi_rpc.auth.authenticated";
pub(crate) const CLIENT_ADDRESS: &str = "client.address";
pub(crate) const ERROR_TYPE: &str = "rpc.vgi_rpc.error_type";
pub(crate) const ERROR_CODE: &str = "rpc.vgi_rpc.error_code";
pub(crate) const INPUT_BATCHES: &str = "rpc.vgi_rpc.input_batches";
pub(crate) const OUTPUT_BATCHES: &str = "rpc.vgi_rpc.output_batches";
pub(crate) const INPUT_ROWS: &str = "rpc.vgi_rpc.input_rows";
pub(crate) const OUTPUT_ROWS: &str = "rpc.vgi_rpc.output_rows";
pub(crate) const INPUT_BYTES: &str = "rpc.vgi_rpc.input_bytes";
pub(crate) const OUTPUT_BYTES: &str = "rpc.vgi_rpc.output_bytes";
/// Metric attribute: `"ok"` or `"error"`.
pub(crate) const STATUS: &str = "status";
/// Auth-failure metric attribute: the refusal's reason code.
pub(crate) const AUTH_ERROR_TYPE: &str = "error.type";

/// Metric names (the first three are the reference's).
pub(crate) mod metric {
    pub(crate) const REQUESTS: &str = "rpc.server.requests";
    pub(crate) const DURATION: &str = "rpc.server.duration";
    pub(crate) const AUTH_FAILURE: &str = "rpc.server.auth_failure";
    pub(crate) const ERRORS: &str = "rpc.server.errors";
    pub(crate) const INPUT_ROWS: &str = "rpc.server.input_rows";
    pub(crate) const OUTPUT_ROWS: &str = "rpc.server.output_rows";
    pub(crate) const INPUT_BYTES: &str = "rpc.server.input_bytes";
    pub(crate) const OUTPUT_BYTES: &str = "rpc.server.output_bytes";
}
