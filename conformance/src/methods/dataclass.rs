//! Dataclass values: a complete Arrow IPC stream (schema, one row, EOS) in
//! a `binary` column. Decoding checks the payload against the declared
//! dataclass schema.

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use vgi_rpc::rpc::wire::reader::read_stream_bytes;
use vgi_rpc::rpc::wire::writer::write_stream;
use vgi_rpc::rpc::wire::EncodedSchema;
use vgi_rpc::{Metadata, RpcError};

/// Decode a dataclass payload and check it has `schema`'s fields and one row.
pub fn decode(name: &str, bytes: &[u8], schema: &Schema) -> Result<RecordBatch, RpcError> {
    let (got, batches) = read_stream_bytes(bytes)
        .map_err(|e| RpcError::type_error(format!("{name}: cannot decode the nested Arrow IPC payload: {e}")))?;
    if got.fields() != schema.fields() {
        return Err(RpcError::type_error(format!(
            "{name}: payload schema does not match the declared dataclass schema"
        )));
    }
    let mut batches = batches.into_iter();
    match (batches.next(), batches.next()) {
        (Some(b), None) if b.batch.num_rows() == 1 => Ok(b.batch),
        _ => Err(RpcError::type_error(format!("{name}: expected exactly one row"))),
    }
}

/// Encode a one-row batch as a dataclass payload.
pub fn encode(batch: &RecordBatch, schema: &EncodedSchema) -> Result<Vec<u8>, RpcError> {
    let mut out = Vec::with_capacity(512);
    write_stream(&mut out, schema, &[(batch, &Metadata::new())])?;
    Ok(out)
}
