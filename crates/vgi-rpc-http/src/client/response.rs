//! Turning an HTTP response into Arrow IPC streams (§10, §13).
//!
//! A `2xx` body is a sequence of IPC streams (the header stream, when one is
//! declared, then the output stream). `400`, `404`, `413` and `429` (a
//! quota refusal) carry an IPC error stream, which becomes
//! [`CallError::Remote`]. Every other status, and any body that is not Arrow
//! IPC at all (`401`, `415`, a proxy page), becomes [`CallError::Protocol`]
//! naming the status and the start of the body.

use arrow_buffer::Buffer;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use vgi_rpc_core::wire::log::LogMessage;
use vgi_rpc_core::wire::reader::Opened;
use vgi_rpc_core::wire::{
    classify, BatchClass, BufferCursor, ReadBatch, ReadLimits, RemoteError, StreamReader, WireError,
};
use vgi_rpc_core::CallError;

/// How much of a non-Arrow body an error message quotes.
const EXCERPT_BYTES: usize = 200;

/// One complete IPC stream read from a response body.
#[derive(Debug)]
pub(crate) struct IpcStream {
    /// Its batches, in order, with their metadata.
    pub batches: Vec<ReadBatch>,
}

/// Why a body did not read as IPC streams.
enum ReadFailure {
    /// The body does not start with an IPC stream (or is empty).
    NotArrow,
    /// The body starts as IPC but breaks later.
    Broken(WireError),
}

/// Every IPC stream in `body`, back to back. Batch buffers are slices of
/// `body` (no copy of the bodies).
fn read_streams(body: &Bytes, limits: ReadLimits) -> Result<Vec<IpcStream>, ReadFailure> {
    let mut cursor = BufferCursor::new(Buffer::from(body.clone()));
    let mut streams = Vec::new();
    loop {
        let mut reader = match StreamReader::open(&mut cursor, limits) {
            Ok(Opened::Stream(reader)) => reader,
            Ok(Opened::Eof) if streams.is_empty() => return Err(ReadFailure::NotArrow),
            Ok(Opened::Eof) => return Ok(streams),
            Err(_) if streams.is_empty() => return Err(ReadFailure::NotArrow),
            Err(e) => return Err(ReadFailure::Broken(e)),
        };
        let mut batches = Vec::new();
        loop {
            match reader.next_in(&mut cursor) {
                Ok(Some(batch)) => batches.push(batch),
                Ok(None) => break,
                Err(e) => return Err(ReadFailure::Broken(e)),
            }
        }
        streams.push(IpcStream { batches });
    }
}

/// `CallError::Protocol("HTTP {status}: {excerpt}")`.
pub(crate) fn http_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> CallError {
    let shown = &body[..body.len().min(EXCERPT_BYTES)];
    let excerpt: String =
        String::from_utf8_lossy(shown).chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect();
    let mut message = format!("HTTP {status}: {}", excerpt.trim());
    if body.is_empty() {
        message.push_str("(empty body)");
    }
    if let Some(reason) = headers.get("vgi-auth-reason").and_then(|v| v.to_str().ok()) {
        message.push_str(&format!(" [VGI-Auth-Reason: {reason}]"));
    }
    CallError::Protocol(message)
}

/// Whether a status carries an Arrow IPC body by contract.
fn carries_arrow(status: StatusCode) -> bool {
    status.is_success() || matches!(status.as_u16(), 400 | 404 | 413 | 429)
}

/// The IPC streams of a decoded RPC response, or the error it stands for.
pub(crate) fn interpret(
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
    limits: ReadLimits,
) -> Result<Vec<IpcStream>, CallError> {
    if !carries_arrow(status) {
        return Err(http_error(status, headers, body));
    }
    let streams = match read_streams(body, limits) {
        Ok(streams) => streams,
        Err(ReadFailure::Broken(e)) if status.is_success() => return Err(CallError::Wire(e)),
        Err(_) => return Err(http_error(status, headers, body)),
    };
    if status.is_success() {
        return Ok(streams);
    }
    let error = streams
        .iter()
        .flat_map(|s| &s.batches)
        .find(|b| classify(b.batch.num_rows(), &b.metadata) == BatchClass::Error)
        .map(|b| RemoteError::from_metadata(&b.metadata));
    match error {
        Some(e) => Err(CallError::Remote(Box::new(e))),
        None => Err(http_error(status, headers, body)),
    }
}

/// Move log batches into `logs`, turn an error batch into
/// [`CallError::Remote`], and return every other batch in order.
pub(crate) fn split_control(batches: Vec<ReadBatch>, logs: &mut Vec<LogMessage>) -> Result<Vec<ReadBatch>, CallError> {
    let mut rest = Vec::with_capacity(1);
    for b in batches {
        match classify(b.batch.num_rows(), &b.metadata) {
            BatchClass::Log => logs.extend(LogMessage::from_metadata(&b.metadata)),
            BatchClass::Error => return Err(CallError::Remote(Box::new(RemoteError::from_metadata(&b.metadata)))),
            BatchClass::ExternalPointer | BatchClass::ShmPointer => {
                return Err(CallError::Protocol(
                    "the server sent a pointer batch, which this HTTP client does not resolve".into(),
                ));
            }
            BatchClass::Data | BatchClass::StateToken => rest.push(b),
        }
    }
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_arrow_bodies_name_the_status() {
        let headers = HeaderMap::new();
        for (status, body) in [(401u16, &b"{\"error\":\"nope\"}"[..]), (415, b"wrong type"), (400, b"<html>")] {
            let status = StatusCode::from_u16(status).expect("valid status");
            match interpret(status, &headers, &Bytes::copy_from_slice(body), ReadLimits::default()) {
                Err(CallError::Protocol(m)) => assert!(m.starts_with(&format!("HTTP {status}")), "{m}"),
                other => panic!("expected a protocol error, got {other:?}"),
            }
        }
        assert!(matches!(
            interpret(StatusCode::OK, &headers, &Bytes::new(), ReadLimits::default()),
            Err(CallError::Protocol(_))
        ));
    }
}
