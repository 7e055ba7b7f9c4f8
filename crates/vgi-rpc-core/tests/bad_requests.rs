//! Malformed requests get an error batch of the right type, and the next
//! request on the same connection still succeeds.

mod common;

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, RecordBatch};
use common::*;
use vgi_rpc_core::wire::writer::EOS;
use vgi_rpc_core::wire::{keys, EncodedSchema, Metadata, RequestHeader, StreamWriter};
use vgi_rpc_core::CallError;

fn remote(err: CallError) -> vgi_rpc_core::RemoteError {
    match err {
        CallError::Remote(e) => *e,
        other => panic!("expected a remote error, got {other}"),
    }
}

fn assert_still_serving(client: &mut SocketClient) {
    let resp = client.call(PROTO, "echo", &one_string("value", "still here")).expect("next request succeeds");
    assert_eq!(result_string(&resp), "still here");
}

fn header(method: &str) -> Metadata {
    RequestHeader { protocol_version: Some(VERSION.into()), ..RequestHeader::new(PROTO, method) }
        .to_metadata(&Metadata::new())
}

#[test]
fn wrong_request_version_is_a_version_error() {
    let (mut client, _h) = connect(test_server());
    let md = header("echo").with(keys::REQUEST_VERSION, "7");
    client.send_request(&one_string("value", "x"), &md).unwrap();
    let err = remote(client.read_unary_response().unwrap_err());
    assert_eq!(err.error_type, "VersionError");
    assert!(err.message.contains("Unsupported request version '7'"), "{}", err.message);
    assert_eq!(err.error_code, "UNKNOWN");
    assert_still_serving(&mut client);
}

#[test]
fn missing_request_version_is_a_version_error() {
    let (mut client, _h) = connect(test_server());
    let mut md = header("echo");
    md.remove(keys::REQUEST_VERSION);
    client.send_request(&one_string("value", "x"), &md).unwrap();
    assert_eq!(remote(client.read_unary_response().unwrap_err()).error_type, "VersionError");
    assert_still_serving(&mut client);
}

#[test]
fn unknown_method_is_method_not_implemented() {
    let (mut client, _h) = connect(test_server());
    let err = remote(client.call(PROTO, "nope", &one_string("value", "x")).unwrap_err());
    assert_eq!(err.error_type, "MethodNotImplementedError");
    assert_eq!(err.error_kind, "method_not_implemented");
    assert_eq!(err.error_code, "UNIMPLEMENTED");
    assert!(err.message.contains("Available: ['count', 'echo', 'fail', 'noop', 'scale']"), "{}", err.message);
    assert_still_serving(&mut client);
}

#[test]
fn routing_failures_have_distinct_kinds() {
    let (mut client, _h) = connect(test_server());
    let err = remote(client.call("other.Proto.v1", "echo", &one_string("value", "x")).unwrap_err());
    assert_eq!((err.error_kind.as_str(), err.error_code.as_str()), ("protocol_not_supported", "UNIMPLEMENTED"));
    let mut md = header("echo");
    md.remove(keys::PROTOCOL);
    client.send_request(&one_string("value", "x"), &md).unwrap();
    let err = remote(client.read_unary_response().unwrap_err());
    assert_eq!((err.error_kind.as_str(), err.error_code.as_str()), ("protocol_not_specified", "INVALID_ARGUMENT"));
    assert_still_serving(&mut client);
}

#[test]
fn wrong_parameter_type_is_a_type_error() {
    let (mut client, _h) = connect(test_server());
    let params = RecordBatch::try_from_iter([("value", Arc::new(Int32Array::from(vec![3])) as ArrayRef)]).unwrap();
    let err = remote(client.call(PROTO, "echo", &params).unwrap_err());
    assert_eq!(err.error_type, "TypeError");
    assert!(err.message.contains("expected Arrow type Utf8"), "{}", err.message);
    assert_still_serving(&mut client);
}

#[test]
fn undeclared_parameter_names_the_declared_set() {
    let (mut client, _h) = connect(test_server());
    let params = RecordBatch::try_from_iter([
        ("value", Arc::new(arrow_array::StringArray::from(vec!["a"])) as ArrayRef),
        ("extra", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
    ])
    .unwrap();
    let err = remote(client.call(PROTO, "echo", &params).unwrap_err());
    assert_eq!(err.error_type, "TypeError");
    assert!(err.message.contains("does not declare: extra. Declared: value."), "{}", err.message);
    assert_still_serving(&mut client);
}

#[test]
fn protocol_version_gate_is_directional() {
    let (mut client, _h) = connect(test_server());
    client.set_protocol_version(PROTO, "1.3.0");
    let err = remote(client.call(PROTO, "echo", &one_string("value", "x")).unwrap_err());
    assert_eq!(err.error_type, "ProtocolVersionError");
    assert_eq!(err.error_kind, "protocol_version_mismatch");
    assert_eq!(err.error_code, "FAILED_PRECONDITION");
    assert!(err.message.contains("server is too old"), "{}", err.message);
    assert_eq!(err.error_details[0]["@type"], "vgi_rpc.PreconditionFailure");
    client.set_protocol_version(PROTO, "1.2.7");
    assert_still_serving(&mut client);
}

/// A request stream that ends (EOS) before its request batch: a truncated
/// request at a message boundary.
#[test]
fn truncated_request_stream_is_answered_and_connection_survives() {
    let (mut client, _h) = connect(test_server());
    {
        let w = client.writer_mut();
        let schema = EncodedSchema::new(one_string("value", "x").schema());
        w.write_all(schema.message_bytes()).unwrap();
        w.write_all(&EOS).unwrap();
        w.flush().unwrap();
    }
    let err = remote(client.read_unary_response().unwrap_err());
    assert_eq!(err.error_type, "RpcError");
    assert!(err.message.contains("no request batch"), "{}", err.message);
    assert_still_serving(&mut client);
}

/// A batch message whose buffers point past its (short) body: framed, but
/// truncated inside.
#[test]
fn truncated_batch_body_is_answered_and_connection_survives() {
    let (mut client, _h) = connect(test_server());
    let good = one_string("value", "some text that will be cut");
    let mut bytes = Vec::new();
    let schema = EncodedSchema::new(good.schema());
    let mut w = StreamWriter::begin(&mut bytes, &schema).unwrap();
    w.write(&mut bytes, &good, &header("echo")).unwrap();
    w.finish(&mut bytes).unwrap();
    let body_len = corrupt_last_body(&mut bytes);
    assert!(body_len > 0);
    {
        let w = client.writer_mut();
        w.write_all(&bytes).unwrap();
        w.flush().unwrap();
    }
    let err = remote(client.read_unary_response().unwrap_err());
    assert_eq!(err.error_type, "ArrowInvalid");
    assert_still_serving(&mut client);
}

/// Overwrite the start of the batch body (the string offsets) so the offsets
/// point past the data, keeping the framing intact. Returns the body length.
fn corrupt_last_body(bytes: &mut [u8]) -> usize {
    let schema_len = 8 + i32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let meta_len = i32::from_le_bytes(bytes[schema_len + 4..schema_len + 8].try_into().unwrap()) as usize;
    let body_start = schema_len + 8 + meta_len;
    let body_len = bytes.len() - 8 - body_start;
    for b in &mut bytes[body_start..body_start + 8] {
        *b = 0x7f;
    }
    body_len
}
