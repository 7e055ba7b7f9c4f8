//! Request validation and routing: framing checks, the `(protocol, method)`
//! lookup, the per-protocol version gate and the parameter contract.
//!
//! Messages follow the reference implementation's wording so clients and
//! operators see the same text from every port.

use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_schema::Schema;
use serde_json::json;
use vgi_rpc_wire::{keys, ErrorCode, Request, REQUEST_VERSION};

use crate::protocol::{parse_version, validate_protocol_name};
use crate::{MethodDef, Protocol, RpcError, Server};

/// The reserved method name of the transport-capability handshake (§15).
pub const TRANSPORT_OPTIONS_METHOD: &str = "__transport_options__";
const RETIRED_DESCRIBE_METHOD: &str = "__describe__";

/// Python `repr()` of a string (single quotes unless the text holds one).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python `repr()` of a list of strings.
pub fn py_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<String> = items.into_iter().map(py_repr).collect();
    format!("[{}]", parts.join(", "))
}

/// Framing checks on the request metadata: method present, request version right.
pub(crate) fn check_request_header(req: &Request) -> Result<&str, RpcError> {
    if req.metadata.had_invalid_utf8() {
        return Err(RpcError::protocol_error(
            "Invalid request batch custom_metadata: keys and values such as 'vgi_rpc.method' must be valid UTF-8.",
        ));
    }
    let Some(method) = req.method() else {
        return Err(RpcError::protocol_error(
            "Missing 'vgi_rpc.method' in request batch custom_metadata. Each request batch must carry a \
             'vgi_rpc.method' key in its Arrow IPC custom_metadata with the method name as a UTF-8 string.",
        ));
    };
    let fix = || format!("Set the 'vgi_rpc.request_version' custom_metadata value to {}.", py_repr(REQUEST_VERSION));
    match req.request_version() {
        None => {
            return Err(RpcError::version_error(format!(
                "Missing 'vgi_rpc.request_version' in request batch custom_metadata. {}",
                fix()
            )))
        }
        Some(v) if v != REQUEST_VERSION => {
            return Err(RpcError::version_error(format!(
                "Unsupported request version {}, expected {}. {}",
                py_repr(v),
                py_repr(REQUEST_VERSION),
                fix()
            )))
        }
        Some(_) => {}
    }
    let batch = &req.batch;
    if batch.num_columns() > 0 && batch.num_rows() != 1 {
        return Err(RpcError::protocol_error(format!(
            "Expected 1 row in request batch, got {}. Each parameter is a column (not a row). The batch should \
             have exactly 1 row with schema {}.",
            batch.num_rows(),
            format_schema(batch.schema_ref())
        )));
    }
    Ok(method)
}

/// `name: type` pairs, for messages.
pub fn format_schema(schema: &Schema) -> String {
    let parts: Vec<String> = schema.fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect();
    format!("({})", parts.join(", "))
}

/// Resolve `(vgi_rpc.protocol, method)` to a hosted method.
pub(crate) fn resolve<'s>(
    server: &'s Server,
    req: &Request,
    method: &str,
) -> Result<(&'s Arc<Protocol>, &'s Arc<MethodDef>), RpcError> {
    if method.starts_with("__") && method.ends_with("__") {
        if method == RETIRED_DESCRIBE_METHOD {
            return Err(RpcError::method_not_implemented(format!(
                "{} was retired. Introspection is now the 'vgi_rpc.Reflection.v1' protocol: call \
                 'list_protocols' for what this server hosts, then 'describe' for one protocol's methods.",
                py_repr(method)
            )));
        }
        return Err(reserved_not_implemented(method));
    }
    let hosted = || py_list(server.sorted_protocol_names());
    let name = match req.protocol() {
        Some(name) if !name.is_empty() => name,
        _ => {
            return Err(RpcError::protocol_not_specified(format!(
                "Request carries no 'vgi_rpc.protocol' routing key. Every request must name the protocol it \
                 addresses. This server hosts: {}.",
                hosted()
            )))
        }
    };
    if let Err(e) = validate_protocol_name(name, true) {
        return Err(RpcError::protocol_not_supported(format!("'vgi_rpc.protocol' is not a protocol name: {e}")));
    }
    hosted_method(server, name, method)
}

/// The refusal of a reserved (`__name__`) method this server does not serve.
pub(crate) fn reserved_not_implemented(method: &str) -> RpcError {
    RpcError::method_not_implemented(format!("This server does not implement the reserved method {}.", py_repr(method)))
}

/// Look up `method` in the hosted protocol `name` (a valid protocol name).
pub(crate) fn hosted_method<'s>(
    server: &'s Server,
    name: &str,
    method: &str,
) -> Result<(&'s Arc<Protocol>, &'s Arc<MethodDef>), RpcError> {
    let Some(protocol) = server.protocol(name) else {
        return Err(RpcError::protocol_not_supported(format!(
            "This server does not host protocol {}. Hosted: {}.",
            py_repr(name),
            py_list(server.sorted_protocol_names())
        )));
    };
    let Some(def) = protocol.get(method) else {
        // Methods are kept sorted by name (`Protocol::seal`).
        return Err(RpcError::method_not_implemented(format!(
            "Protocol {} has no method {}. Available: {}.",
            py_repr(name),
            py_repr(method),
            py_list(protocol.method_defs().iter().map(|m| m.name()))
        )));
    };
    Ok((protocol, def))
}

/// Gate the request against the resolved protocol's declared version.
pub(crate) fn gate_version(protocol: &Protocol, req: &Request) -> Result<(), RpcError> {
    if protocol.is_version_exempt() {
        return Ok(());
    }
    let Some(server_version) = protocol.declared_version() else {
        return Ok(());
    };
    let Some(server_parts) = parse_version(server_version) else {
        return Ok(());
    };
    let name = protocol.name();
    let head = format!("VGI client/worker protocol_version mismatch for protocol {}.\n", py_repr(name));
    let fail = |client: &str, direction: String| {
        let description = format!(
            "client declares {}, server requires {server_version}; major and minor must match",
            if client.is_empty() { "<none>" } else { client }
        );
        RpcError::new(
            "ProtocolVersionError",
            format!(
                "{head}  Client: {}\n  Server: {server_version}\n  Direction: {direction}",
                if client.is_empty() { "<not declared>" } else { client }
            ),
        )
        .with_kind("protocol_version_mismatch", ErrorCode::FailedPrecondition)
        .with_details(vec![json!({
            "@type": "vgi_rpc.PreconditionFailure",
            "violations": [{"type": "protocol_version", "subject": name, "description": description}],
        })])
    };
    let Some(client) = req.protocol_version() else {
        return Err(fail(
            "",
            "the client did not send a vgi_rpc.protocol_version metadata key. This is either a vgi-rpc framework \
             bug or a non-VGI client connecting to a VGI worker."
                .into(),
        ));
    };
    let Some(client_parts) = parse_version(client) else {
        return Err(fail(
            client,
            "client sent a malformed protocol_version. Expected canonical semver MAJOR.MINOR.PATCH.".into(),
        ));
    };
    if (client_parts.0, client_parts.1) == (server_parts.0, server_parts.1) {
        return Ok(());
    }
    let direction = if (client_parts.0, client_parts.1) < (server_parts.0, server_parts.1) {
        format!(
            "client is too old; upgrade the VGI extension/client to a version supporting protocol_version \
             {server_version}."
        )
    } else {
        format!("server is too old; upgrade the VGI worker to a version supporting protocol_version {client}.")
    };
    Err(fail(client, direction))
}

/// Check the request batch against the declared parameter contract.
pub(crate) fn validate_params(def: &MethodDef, batch: &RecordBatch) -> Result<(), RpcError> {
    let declared = def.params_schema().schema();
    let got = batch.schema_ref();
    let name = def.name();
    let mut unknown: Vec<&str> =
        got.fields().iter().map(|f| f.name().as_str()).filter(|n| declared.field_with_name(n).is_err()).collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        let mut names: Vec<&str> = declared.fields().iter().map(|f| f.name().as_str()).collect();
        names.sort_unstable();
        let declared_list = if names.is_empty() { "<no parameters>".to_owned() } else { names.join(", ") };
        return Err(RpcError::type_error(format!(
            "Request carries parameter(s) this protocol does not declare: {}. Declared: {declared_list}. The \
             caller and this worker disagree about the method signature — check their protocol versions.",
            unknown.join(", ")
        )));
    }
    let mut missing: Vec<&str> = declared
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|n| got.field_with_name(n).is_err() && !def.defaults().iter().any(|(d, _)| d == n))
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        let quoted: Vec<String> = missing.iter().map(|n| py_repr(n)).collect();
        return Err(RpcError::type_error(format!("{name}() missing required argument(s): {}", quoted.join(", "))));
    }
    if got.fields().len() != declared.fields().len() {
        return Err(RpcError::type_error(format!(
            "{name}() parameter schema expected {} fields, got {}",
            declared.fields().len(),
            got.fields().len()
        )));
    }
    for (index, (field, want)) in got.fields().iter().zip(declared.fields()).enumerate() {
        if field.name() != want.name() {
            return Err(RpcError::type_error(format!(
                "{name}() parameter schema field {index} expected name {}, got {}",
                py_repr(want.name()),
                py_repr(field.name())
            )));
        }
        if field.data_type() != want.data_type() {
            return Err(RpcError::type_error(format!(
                "{name}() parameter {} expected Arrow type {} but the request batch carried {}",
                py_repr(field.name()),
                want.data_type(),
                field.data_type()
            )));
        }
        if field.is_nullable() != want.is_nullable() {
            return Err(RpcError::type_error(format!(
                "{name}() parameter {} expected nullable={}, but the request batch carried nullable={}",
                py_repr(field.name()),
                py_bool(want.is_nullable()),
                py_bool(field.is_nullable())
            )));
        }
    }
    for (field, col) in declared.fields().iter().zip(batch.columns()) {
        if !field.is_nullable() && col.null_count() > 0 {
            return Err(RpcError::type_error(format!(
                "{name}() parameter {} is not optional but got None",
                py_repr(field.name())
            )));
        }
    }
    Ok(())
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Metadata keys a server puts on its `__transport_options__` answer.
pub(crate) fn transport_options_metadata(server_id: &str, shm: bool) -> vgi_rpc_wire::Metadata {
    vgi_rpc_wire::Metadata::new()
        .with(keys::TRANSPORT_SHM, if shm { "true" } else { "false" })
        .with(keys::REQUEST_VERSION, REQUEST_VERSION)
        .with(keys::SERVER_ID, server_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(py_repr("abc"), "'abc'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a\nb"), "'a\\nb'");
        assert_eq!(py_list(["a", "b"]), "['a', 'b']");
        assert_eq!(py_list(Vec::<&str>::new()), "[]");
    }
}
