//! `published_string`: a unary result answered through a reference
//! published ahead of time (WIRE_PROTOCOL.md §12 *Pre-published
//! references*). Published once per `(value, include_sha256)` through the
//! worker's own storage (and so its compression), then every call answers
//! with the same pointer. Without storage the call fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc::rpc::external::publish;
use vgi_rpc::rpc::wire::ExternalPointer;
use vgi_rpc::typed::RpcResult;
use vgi_rpc::{CallContext, MethodDef, Params, RpcError};

/// `published_string(value, include_sha256)`.
#[derive(Params)]
struct PublishArgs {
    value: String,
    include_sha256: bool,
}

type Published = Arc<Mutex<HashMap<(String, bool), ExternalPointer>>>;

/// The method definition.
pub(super) fn published_string() -> MethodDef {
    let published: Published = Arc::default();
    MethodDef::builder("published_string").typed_unary(move |p: PublishArgs, ctx: &CallContext| -> RpcResult<String> {
        let storage = ctx
            .externalization()
            .map(|e| e.storage.clone())
            .ok_or_else(|| RpcError::runtime_error("published_string requires external storage"))?;
        let PublishArgs { value, include_sha256 } = p;
        let mut cache = published.lock().map_err(|_| RpcError::runtime_error("publish cache poisoned"))?;
        let key = (value.clone(), include_sha256);
        let pointer = match cache.get(&key) {
            Some(pointer) => pointer.clone(),
            None => {
                let schema = Arc::new(Schema::new(vec![Field::new("result", DataType::Utf8, false)]));
                let column: ArrayRef = Arc::new(StringArray::from(vec![value.clone()]));
                let batch = RecordBatch::try_new(schema, vec![column])?;
                let pointer = publish(storage.as_ref(), &batch, include_sha256)
                    .map_err(|e| RpcError::runtime_error(format!("publishing failed: {e}")))?;
                cache.insert(key, pointer.clone());
                pointer
            }
        };
        ctx.reply_by_pointer(pointer);
        Ok(value)
    })
}
