//! Reading a unary response (§10 "Unary call"): log batches, then exactly
//! one result batch or an error batch.

use vgi_rpc_core::wire::keys;
use vgi_rpc_core::{CallError, UnaryResponse};

use super::response::{split_control, IpcStream};

/// The unary answer carried by `streams`.
pub(crate) fn read_unary(streams: Vec<IpcStream>) -> Result<UnaryResponse, CallError> {
    if streams.len() != 1 {
        return Err(CallError::Protocol(format!("a unary response must be one IPC stream, got {}", streams.len())));
    }
    let mut logs = Vec::new();
    let mut results = Vec::new();
    for stream in streams {
        results.extend(split_control(stream.batches, &mut logs)?);
    }
    let mut results = results.into_iter();
    let result = results.next().ok_or_else(|| CallError::Protocol("response stream had no result batch".into()))?;
    if results.next().is_some() {
        return Err(CallError::Protocol("response stream had more than one result batch".into()));
    }
    let metadata = result.metadata.without(&[keys::STREAM_STATE, keys::CALL_STATE]);
    Ok(UnaryResponse { batch: result.batch, metadata, logs })
}
