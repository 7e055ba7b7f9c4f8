//! Resolving a path's `(protocol, method)` pair before the body is read
//! (§3.1, §10): everything here is a `404`.

use std::sync::Arc;

use crate::dispatch::{hosted_method, py_repr};
use crate::protocol::validate_protocol_name;
use crate::{MethodDef, Protocol, RpcError, Server};

/// Resolve the protocol and method named by a request path.
pub fn resolve_route<'s>(
    server: &'s Server,
    protocol: &str,
    method: &str,
) -> Result<(&'s Arc<Protocol>, &'s Arc<MethodDef>), RpcError> {
    if protocol.contains('%') {
        return Err(RpcError::protocol_not_specified(format!(
            "Protocol path segment {} contains a percent sign. The protocol charset never requires encoding, so \
             this is rejected rather than decoded.",
            py_repr(protocol)
        )));
    }
    if let Err(e) = validate_protocol_name(protocol, true) {
        return Err(RpcError::protocol_not_supported(format!("Not a protocol name: {e}")));
    }
    hosted_method(server, protocol, method)
}

/// The answer for a reserved, un-namespaced framework method over HTTP:
/// none is served there.
pub fn reserved_not_implemented(method: &str) -> RpcError {
    crate::dispatch::reserved_not_implemented(method)
}
