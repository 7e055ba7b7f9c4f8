//! Resolving a path's `(protocol, method)` pair before the body is read
//! (§3.1, §10): everything here is a `404`.

use std::sync::Arc;

use crate::dispatch::{py_list, py_repr};
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
    let Some(hosted) = server.protocol(protocol) else {
        return Err(RpcError::protocol_not_supported(format!(
            "This server does not host protocol {}. Hosted: {}.",
            py_repr(protocol),
            py_list(server.sorted_protocol_names())
        )));
    };
    let Some(def) = hosted.get(method) else {
        let mut names: Vec<&str> = hosted.method_defs().iter().map(|m| m.name()).collect();
        names.sort_unstable();
        return Err(RpcError::method_not_implemented(format!(
            "Protocol {} has no method {}. Available: {}.",
            py_repr(protocol),
            py_repr(method),
            py_list(names)
        )));
    };
    Ok((hosted, def))
}

/// The answer for a reserved, un-namespaced framework method over HTTP:
/// none is served there.
pub fn reserved_not_implemented(method: &str) -> RpcError {
    RpcError::method_not_implemented(format!("This server does not implement the reserved method {}.", py_repr(method)))
}
