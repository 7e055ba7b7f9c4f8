//! `POST {prefix}/__upload_url__/init` (WIRE_PROTOCOL.md §10 *Upload URL
//! generation*): vend upload/download URL pairs from the server's storage
//! so a client can put a large input there and send a pointer instead.
//!
//! The request is an ordinary unary request batch with an optional `count`
//! (int64, 1–100, default 1); the answer has one row per pair:
//! `upload_url`, `download_url`, `expires_at` (timestamp µs, UTC).

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use axum::extract::Request;
use axum::response::Response;
use http::StatusCode;
use vgi_rpc_core::external::UploadUrl;
use vgi_rpc_core::wire::{read_stream_bytes, write_stream_bytes, EncodedSchema, Metadata};
use vgi_rpc_core::RpcError;

use crate::app::{response, HttpApp};
use crate::headers::ARROW_CONTENT_TYPE;
use crate::rpc::{arrow_error, capped_body};

/// The reserved path segment of the endpoint.
pub(crate) const UPLOAD_URL_SEGMENT: &str = "__upload_url__";
const METHOD: &str = "__upload_url__";
const MAX_COUNT: i64 = 100;

/// The `count` a request asks for (default 1), validated.
fn requested_count(body: &[u8]) -> Result<usize, RpcError> {
    let (_, batches) = read_stream_bytes(body).map_err(|e| RpcError::new("ArrowInvalid", e.to_string()))?;
    let Some(first) = batches.first() else {
        return Err(RpcError::protocol_error("Request stream carried no request batch (schema followed by EOS)."));
    };
    let count = match first.batch.column_by_name("count") {
        None => 1,
        Some(col) => {
            let ints = col
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| RpcError::type_error("__upload_url__ parameter 'count' must be int64"))?;
            if ints.is_empty() || arrow_array::Array::is_null(ints, 0) {
                1
            } else {
                ints.value(0)
            }
        }
    };
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(RpcError::value_error(format!("count must be between 1 and {MAX_COUNT}, got {count}")));
    }
    Ok(count as usize)
}

/// The answer batch for `pairs`.
fn answer(pairs: &[UploadUrl]) -> Result<Vec<u8>, RpcError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("upload_url", DataType::Utf8, false),
        Field::new("download_url", DataType::Utf8, false),
        Field::new("expires_at", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
    ]));
    let micros = |p: &UploadUrl| p.expires_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.upload_url.as_str()))),
        Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.download_url.as_str()))),
        Arc::new(TimestampMicrosecondArray::from_iter_values(pairs.iter().map(micros)).with_timezone("UTC")),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(RpcError::from)?;
    write_stream_bytes(&EncodedSchema::new(schema), &[(&batch, &Metadata::new())])
        .map_err(|e| RpcError::runtime_error(e.to_string()))
}

/// Serve the endpoint: `404` without an upload-capable storage, `413` over
/// the request cap, `400` for a bad request, `500` when storage fails.
pub(crate) async fn serve(app: &Arc<HttpApp>, req: Request, request_id: &str) -> Response {
    let supported = app.server.externalization().is_some_and(|e| e.storage.vends_upload_urls());
    if !supported {
        return crate::rpc::reserved(app, METHOD, request_id);
    }
    let (parts, body) = req.into_parts();
    let body = match capped_body(&parts.headers, body, app.config.effective_max_request_bytes()).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let count = match requested_count(&body) {
        Ok(n) => n,
        Err(err) => return arrow_error(app, StatusCode::BAD_REQUEST, request_id, METHOD, &err),
    };
    let app2 = app.clone();
    let vended = tokio::task::spawn_blocking(move || {
        let storage = &app2.server.externalization().ok_or_else(|| RpcError::runtime_error("no storage"))?.storage;
        (0..count)
            .map(|_| {
                storage.upload_url().map_err(|e| RpcError::runtime_error(format!("upload URL generation failed: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .unwrap_or_else(|e| Err(RpcError::runtime_error(format!("upload URL generation failed: {e}"))));
    match vended.and_then(|pairs| answer(&pairs)) {
        Ok(body) => response(StatusCode::OK, ARROW_CONTENT_TYPE, body),
        Err(err) => arrow_error(app, StatusCode::INTERNAL_SERVER_ERROR, request_id, METHOD, &err),
    }
}
