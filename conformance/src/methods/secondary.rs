//! `conformance.Secondary.v1`: the second protocol every conformance worker
//! hosts. `echo_string` collides with the primary's on purpose (and answers
//! with a prefix), it declares no version, and `fail` / `fail_oversized`
//! exercise the error model.

use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};
use arrow_schema::DataType;
use serde_json::{json, Value};
use vgi_rpc::rpc::wire::error_model::retry_info;
use vgi_rpc::{ErrorCode, MethodDef, Protocol, RpcError};

/// Wire name of the secondary protocol.
pub const SECONDARY_PROTOCOL: &str = "conformance.Secondary.v1";
const ECHO_PREFIX: &str = "secondary:";
const OVERSIZED_PADDING_BYTES: usize = 5000;

/// The details `fail` sends, in wire order.
pub fn fail_details(retry_delay_seconds: f64) -> Vec<Value> {
    let mut details = vec![json!({"@type": "vgi_rpc.ErrorInfo", "metadata": {"fixture": SECONDARY_PROTOCOL}})];
    if retry_delay_seconds > 0.0 {
        details.push(retry_info(retry_delay_seconds));
    }
    details.push(json!({
        "@type": format!("{SECONDARY_PROTOCOL}.Probe"),
        "note": "clients ignore detail types they do not know",
    }));
    details
}

fn fail(code: &str, kind: &str, retry_delay_seconds: f64) -> RpcError {
    match code.parse::<ErrorCode>() {
        Err(_) => RpcError::status(
            ErrorCode::InvalidArgument,
            Some("invalid_code"),
            format!("'{code}' is not a canonical error code"),
        )
        .with_details(vec![json!({
            "@type": "vgi_rpc.BadRequest",
            "field_violations": [{"field": "code", "description": "must be a canonical code name"}],
        })]),
        Ok(code_value) => {
            let message = format!("{SECONDARY_PROTOCOL} fail: {code} {kind}").trim_end().to_owned();
            RpcError::status(code_value, Some(kind), message).with_details(fail_details(retry_delay_seconds))
        }
    }
}

/// The secondary protocol.
pub fn secondary_protocol() -> Protocol {
    Protocol::new(SECONDARY_PROTOCOL)
        .method(
            MethodDef::builder("echo_string")
                .param("value", DataType::Utf8, false)
                .returns(DataType::Utf8, false)
                .unary(|p, _| {
                    Ok(Some(Arc::new(StringArray::from(vec![format!("{ECHO_PREFIX}{}", p.str("value")?)])) as ArrayRef))
                }),
        )
        .method(
            MethodDef::builder("fail")
                .param("code", DataType::Utf8, false)
                .param("kind", DataType::Utf8, false)
                .param("retry_delay_seconds", DataType::Float64, false)
                .unary(|p, _| Err(fail(p.str("code")?, p.str("kind")?, p.f64("retry_delay_seconds")?))),
        )
        .method(MethodDef::builder("fail_oversized").unary(|_, _| {
            Err(RpcError::status(
                ErrorCode::ResourceExhausted,
                Some("details_oversized"),
                format!("{SECONDARY_PROTOCOL} fail_oversized: details exceed 4 KiB"),
            )
            .with_details(vec![
                retry_info(1.0),
                json!({"@type": "vgi_rpc.ErrorInfo", "metadata": {"padding": "x".repeat(OVERSIZED_PADDING_BYTES)}}),
            ]))
        }))
}
