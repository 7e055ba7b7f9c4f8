//! Property tests: request, log and error batches written as IPC streams
//! and read back decode to what was sent, and `classify` names each kind.

mod prop_support;

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use prop_support::{config, control_stream, json_object, json_value, metadata, text};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::{json, Value};
use vgi_rpc_wire::error_model::{encode_details, retry_info, DETAIL_CATALOG, MAX_DETAILS_BYTES, MAX_TRACEBACK_CHARS};
use vgi_rpc_wire::log::LogMessage;
use vgi_rpc_wire::reader::{read_stream_bytes, ReadBatch};
use vgi_rpc_wire::{
    classify, keys, BatchClass, EncodedSchema, ErrorCode, ErrorPayload, LogLevel, Metadata, RemoteError, Request,
    RequestHeader, StreamWriter, REQUEST_VERSION,
};

fn only_batch(bytes: &[u8]) -> ReadBatch {
    let (_, mut batches) = read_stream_bytes(bytes).expect("a valid stream");
    assert_eq!(batches.len(), 1);
    batches.remove(0)
}

fn level() -> impl Strategy<Value = LogLevel> {
    proptest::sample::select(&LogLevel::ALL[..])
}

fn code() -> impl Strategy<Value = ErrorCode> {
    proptest::sample::select(&ErrorCode::ALL[..])
}

fn header() -> impl Strategy<Value = RequestHeader> {
    (text(24), text(24), option::of(text(8)), option::of(text(36))).prop_map(
        |(protocol, method, protocol_version, request_id)| RequestHeader {
            protocol,
            method,
            protocol_version,
            request_id,
        },
    )
}

/// Application metadata keys (outside the reserved `vgi_rpc.` namespace).
fn app_metadata() -> impl Strategy<Value = Metadata> {
    metadata(5).prop_map(|md| md.iter().map(|(k, v)| (format!("app.{k}"), v.to_owned())).collect())
}

/// One parameter row: an integer and an optional string, or no columns.
fn params() -> impl Strategy<Value = RecordBatch> {
    prop_oneof![
        Just(RecordBatch::new_empty(EncodedSchema::empty().schema().clone())),
        (any::<i64>(), option::of(text(20))).prop_map(|(n, s)| {
            let schema = Arc::new(Schema::new(vec![
                Field::new("n", DataType::Int64, false),
                Field::new("s", DataType::Utf8, true),
            ]));
            RecordBatch::try_new(
                schema,
                vec![Arc::new(Int64Array::from(vec![n])), Arc::new(StringArray::from(vec![s]))],
            )
            .expect("one row matching the schema")
        }),
    ]
}

/// A detail object of a catalog, custom, reserved-but-unknown or
/// unqualified type, sometimes padded past the size cap.
fn detail() -> impl Strategy<Value = Value> {
    let ty = prop_oneof![
        4 => proptest::sample::select(&DETAIL_CATALOG[..]).prop_map(str::to_owned),
        3 => "[a-z]{1,6}\\.[a-z]{1,6}(\\.[A-Z][a-z]{0,5})?",
        1 => Just("vgi_rpc.Made.Up".to_owned()),
        1 => "[A-Z][a-z]{0,8}",
    ];
    let padding = prop_oneof![8 => 0usize..64, 1 => 1000usize..5000];
    (ty, json_value(), padding).prop_map(|(ty, v, pad)| json!({"@type": ty, "value": v, "padding": "x".repeat(pad)}))
}

/// The documented acceptance rule for `vgi_rpc.error_details`.
fn details_accepted(details: &[Value]) -> bool {
    let mut seen = Vec::new();
    for d in details {
        let Some(ty) = d.get("@type").and_then(Value::as_str) else { return false };
        let allowed = if ty.starts_with("vgi_rpc.") { DETAIL_CATALOG.contains(&ty) } else { ty.contains('.') };
        if !allowed || seen.contains(&ty) {
            return false;
        }
        seen.push(ty);
    }
    !details.is_empty() && Value::Array(details.to_vec()).to_string().len() <= MAX_DETAILS_BYTES
}

fn traceback() -> impl Strategy<Value = Option<String>> {
    option::of(prop_oneof![
        4 => text(200),
        // Around the cap, in characters (not bytes).
        1 => (MAX_TRACEBACK_CHARS - 3..MAX_TRACEBACK_CHARS + 3).prop_map(|n| "é".repeat(n)),
    ])
}

/// Retry delays as servers send them (millisecond steps), plus the
/// non-finite values `retry_info` turns into `null`.
fn retry_delay() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => (0u32..10_000_000).prop_map(|ms| f64::from(ms) / 1000.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ]
}

fn payload() -> impl Strategy<Value = ErrorPayload> {
    (
        text(24),
        text(60),
        code(),
        option::of(text(16)),
        vec(prop_oneof![3 => detail(), 1 => retry_delay().prop_map(retry_info)], 0..4),
        traceback(),
        option::of(text(40)),
    )
        .prop_map(|(exception_type, message, code, kind, details, traceback, cause)| ErrorPayload {
            exception_type,
            message,
            code,
            kind,
            details,
            traceback,
            cause,
        })
}

proptest! {
    #![proptest_config(config(256, "proptest-regressions/prop_control.txt"))]

    #[test]
    fn request_batches_round_trip(header in header(), extra in app_metadata(), params in params()) {
        let md = header.to_metadata(&extra);
        let mut bytes = Vec::new();
        let schema = EncodedSchema::new(params.schema());
        let mut w = StreamWriter::begin(&mut bytes, &schema).expect("writing to a Vec");
        w.write(&mut bytes, &params, &md).expect("the batch has the stream schema");
        w.finish(&mut bytes).expect("writing to a Vec");

        let read = only_batch(&bytes);
        let request = Request { batch: read.batch, metadata: read.metadata };
        prop_assert_eq!(&request.batch, &params);
        prop_assert_eq!(request.protocol(), Some(header.protocol.as_str()));
        prop_assert_eq!(request.method(), Some(header.method.as_str()));
        prop_assert_eq!(request.request_version(), Some(REQUEST_VERSION));
        prop_assert_eq!(request.protocol_version(), header.protocol_version.as_deref());
        prop_assert_eq!(request.request_id(), header.request_id.as_deref());
        for (k, v) in extra.iter() {
            prop_assert_eq!(request.metadata.get(k), Some(v));
        }
        let optional = usize::from(header.protocol_version.is_some()) + usize::from(header.request_id.is_some());
        prop_assert_eq!(request.metadata.len(), 3 + optional + extra.len());
        prop_assert_eq!(&request.metadata, &md);
    }

    #[test]
    fn log_batches_round_trip_and_classify(
        level in level(),
        message in text(80),
        extra in option::of(json_object()),
        server_id in option::of(text(12)),
        request_id in option::of(text(12)),
    ) {
        let msg = LogMessage { level, message, extra };
        let md = msg.to_metadata(server_id.as_deref(), request_id.as_deref());
        let read = only_batch(&control_stream(&md));
        prop_assert_eq!(read.batch.num_rows(), 0);
        let want = if level == LogLevel::Exception { BatchClass::Error } else { BatchClass::Log };
        prop_assert_eq!(classify(0, &read.metadata), want);
        prop_assert_eq!(classify(1, &read.metadata), BatchClass::Data, "rows make any batch data");
        prop_assert_eq!(LogMessage::from_metadata(&read.metadata), Some(msg));
        prop_assert_eq!(read.metadata.get(keys::SERVER_ID), server_id.as_deref());
        prop_assert_eq!(read.metadata.get(keys::REQUEST_ID), request_id.as_deref());
    }

    #[test]
    fn level_and_code_names_round_trip(level in level(), code in code()) {
        prop_assert_eq!(level.as_str().parse::<LogLevel>(), Ok(level));
        prop_assert_eq!(level.to_string(), level.as_str());
        prop_assert_eq!(ErrorCode::from_wire(code.as_str()), code);
        prop_assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
    }

    #[test]
    fn unknown_code_names_read_as_unknown(name in text(20)) {
        prop_assume!(!ErrorCode::ALL.iter().any(|c| c.as_str() == name));
        prop_assert_eq!(ErrorCode::from_wire(&name), ErrorCode::Unknown);
    }

    #[test]
    fn details_follow_the_documented_rules(details in vec(detail(), 0..5)) {
        let encoded = encode_details(&details);
        prop_assert_eq!(encoded.is_some(), details_accepted(&details));
        if let Some(json) = encoded {
            prop_assert!(json.len() <= MAX_DETAILS_BYTES);
            prop_assert_eq!(serde_json::from_str::<Value>(&json).ok(), Some(Value::Array(details)));
        }
    }

    #[test]
    fn error_batches_round_trip_through_classify(
        p in payload(),
        include_traceback in any::<bool>(),
        server_id in option::of(text(12)),
        request_id in option::of(text(12)),
    ) {
        let md = p.to_metadata(server_id.as_deref(), request_id.as_deref(), include_traceback);
        let read = only_batch(&control_stream(&md));
        prop_assert_eq!(classify(0, &read.metadata), BatchClass::Error);
        prop_assert_eq!(&read.metadata, &md);

        let e = RemoteError::from_metadata(&read.metadata);
        prop_assert_eq!(&e.error_type, &p.exception_type);
        prop_assert_eq!(&e.message, &p.summary());
        prop_assert_eq!(e.request_id.as_str(), request_id.as_deref().unwrap_or(""));
        prop_assert_eq!(e.error_code.as_str(), p.code.as_str());
        prop_assert_eq!(e.code(), p.code);
        prop_assert_eq!(e.error_kind.as_str(), p.kind.as_deref().unwrap_or(""));
        let sent_details = if details_accepted(&p.details) { p.details.clone() } else { Vec::new() };
        prop_assert_eq!(&e.error_details, &sent_details);

        if include_traceback {
            let source = match &p.traceback {
                Some(tb) if !tb.is_empty() => tb.clone(),
                _ => p.summary(),
            };
            if source.chars().count() > MAX_TRACEBACK_CHARS {
                let kept: String = source.chars().take(MAX_TRACEBACK_CHARS).collect();
                prop_assert!(e.traceback.starts_with(&kept));
                prop_assert!(e.traceback.len() > kept.len() && e.traceback.ends_with("<traceback truncated>"));
            } else {
                prop_assert_eq!(&e.traceback, &source);
            }
        } else {
            prop_assert_eq!(e.traceback.as_str(), "");
        }

        let delay = sent_details
            .iter()
            .find(|d| d.get("@type").and_then(Value::as_str) == Some("vgi_rpc.RetryInfo"))
            .and_then(|d| d.get("retry_delay_seconds"))
            .and_then(Value::as_f64);
        prop_assert_eq!(e.retry_delay_seconds(), delay);
        let retryable = p.code == ErrorCode::Unavailable || (p.code == ErrorCode::ResourceExhausted && delay.is_some());
        prop_assert_eq!(e.is_retryable(), retryable);
    }
}

proptest! {
    #![proptest_config(config(256, "proptest-regressions/prop_control.txt"))]

    /// Any finite delay comes back bit for bit (serde_json's `float_roundtrip`
    /// feature: without it some long decimals, e.g. -2.9875408969216655e168,
    /// read back one ULP off).
    #[test]
    fn any_finite_retry_delay_survives_the_wire(delay in any::<f64>().prop_filter("finite", |d| d.is_finite())) {
        let mut p = ErrorPayload::new("E", "m");
        p.code = ErrorCode::ResourceExhausted;
        p.details = vec![retry_info(delay)];
        let read = only_batch(&control_stream(&p.to_metadata(None, None, false)));
        prop_assert_eq!(RemoteError::from_metadata(&read.metadata).retry_delay_seconds(), Some(delay));
    }
}
