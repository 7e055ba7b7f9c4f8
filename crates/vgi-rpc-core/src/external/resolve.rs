//! Reading pointers back (WIRE_PROTOCOL.md §12 *Resolution*): fetch the
//! object through a [`PointerResolver`], verify its SHA-256 when the pointer
//! recorded one, read the whole IPC stream (every log batch kept, exactly
//! one data batch), and stamp the reader's provenance on the data batch's
//! own metadata. Used by clients on responses and by the server on request
//! pointers (the upload-URL flow).

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use sha2::{Digest, Sha256};
use thiserror::Error;
use vgi_rpc_wire::pointer::redact_url;
use vgi_rpc_wire::{
    classify, keys, BatchClass, ExternalPointer, Metadata, PointerError, ReadBatch, ReadLimits, StreamReader, WireError,
};

use super::{PointerResolver, StorageError};
use crate::{Clock, RpcError};

/// The error type of a failed resolution.
pub const EXTERNAL_LOCATION_ERROR: &str = "ExternalLocationError";

/// Why a pointer could not be resolved. Messages render URLs redacted.
#[derive(Debug, Error)]
pub enum ResolveError {
    /// The pointer batch itself is malformed.
    #[error(transparent)]
    Pointer(#[from] PointerError),
    /// There is no resolver to fetch with.
    #[error("received an external pointer batch but no pointer resolver is configured")]
    NoResolver,
    /// Fetching failed (status, caps, URL policy, network).
    #[error("external fetch failed: {0}")]
    Fetch(#[from] StorageError),
    /// The payload's digest differs from the pointer's.
    #[error("SHA-256 checksum mismatch for {url}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The URL fetched.
        url: String,
        /// Hex digest the pointer declared.
        expected: String,
        /// Hex digest of the bytes received.
        actual: String,
    },
    /// The payload is not a valid IPC stream.
    #[error("externalized payload from {url} is not a valid Arrow IPC stream: {source}")]
    Decode {
        /// The URL fetched.
        url: String,
        /// Why the payload did not decode.
        source: WireError,
    },
    /// The payload holds a pointer (a redirect loop).
    #[error("externalized payload from {0} holds another pointer (redirect loop)")]
    NestedPointer(String),
    /// More than one data batch.
    #[error("externalized payload from {0} holds more than one data batch")]
    MultipleDataBatches(String),
    /// No data batch.
    #[error("externalized payload from {0} holds no data batch")]
    NoDataBatch(String),
    /// The payload's schema differs from the pointer's.
    #[error("externalized payload schema does not match the pointer's: expected {expected}, got {got}")]
    SchemaMismatch {
        /// The pointer batch's schema, rendered.
        expected: String,
        /// The payload's schema, rendered.
        got: String,
    },
}

impl ResolveError {
    /// The error as an RPC error (`ExternalLocationError`, a runtime failure).
    pub fn to_rpc_error(&self) -> RpcError {
        RpcError::new(EXTERNAL_LOCATION_ERROR, self.to_string())
    }
}

/// A resolved pointer: the data batch with the data batch's own metadata
/// plus `vgi_rpc.location.fetch_ms` / `vgi_rpc.location.source`, and every
/// log or error batch the payload carried, in order.
#[derive(Debug)]
pub struct Resolved {
    /// The payload's one data batch.
    pub batch: RecordBatch,
    /// Its metadata plus the two provenance keys.
    pub metadata: Metadata,
    /// Log and error batches that preceded or followed it in the payload.
    pub logs: Vec<ReadBatch>,
}

/// Fetch, verify and decode the object `pointer` names. `expected` is the
/// schema the pointer batch was on (the payload must match it).
pub fn resolve_pointer(
    resolver: &dyn PointerResolver,
    pointer: &ExternalPointer,
    expected: &SchemaRef,
    clock: &dyn Clock,
    limits: ReadLimits,
) -> Result<Resolved, ResolveError> {
    let url = redact_url(&pointer.location);
    let started = clock.monotonic();
    let bytes = resolver.fetch(&pointer.location)?;
    let elapsed = clock.monotonic().saturating_sub(started);
    if let Some(expected) = &pointer.sha256 {
        let actual = hex::encode(Sha256::digest(&bytes));
        if &actual != expected {
            return Err(ResolveError::DigestMismatch { url, expected: expected.clone(), actual });
        }
    }
    let decode = |source| ResolveError::Decode { url: url.clone(), source };
    let mut cursor = bytes.as_slice();
    let mut reader = StreamReader::open_required(&mut cursor, limits).map_err(decode)?;
    let mut logs = Vec::new();
    let mut data: Option<ReadBatch> = None;
    while let Some(item) = reader.next(&mut cursor).map_err(decode)? {
        match classify(item.batch.num_rows(), &item.metadata) {
            BatchClass::Log | BatchClass::Error => logs.push(item),
            BatchClass::ExternalPointer => return Err(ResolveError::NestedPointer(url)),
            _ if data.is_some() => return Err(ResolveError::MultipleDataBatches(url)),
            _ => data = Some(item),
        }
    }
    let Some(ReadBatch { batch, mut metadata }) = data else { return Err(ResolveError::NoDataBatch(url)) };
    if batch.schema_ref().fields() != expected.fields() {
        return Err(ResolveError::SchemaMismatch {
            expected: crate::dispatch::format_schema(expected),
            got: crate::dispatch::format_schema(batch.schema_ref()),
        });
    }
    metadata.remove(keys::LOCATION);
    metadata.remove(keys::LOCATION_SHA256);
    metadata.insert(keys::LOCATION_FETCH_MS, format!("{:.1}", elapsed.as_secs_f64() * 1000.0));
    metadata.insert(keys::LOCATION_SOURCE, pointer.location.as_str());
    Ok(Resolved { batch, metadata, logs })
}

/// Resolve every pointer among `batches` (a response stream's batches, in
/// order): each pointer is replaced by the log batches its payload carried
/// followed by its data batch; other batches pass through.
pub fn resolve_batches(
    resolver: &dyn PointerResolver,
    clock: &dyn Clock,
    limits: ReadLimits,
    batches: Vec<ReadBatch>,
) -> Result<Vec<ReadBatch>, ResolveError> {
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let Some(pointer) = ExternalPointer::parse(b.batch.num_rows(), &b.metadata)? else {
            out.push(b);
            continue;
        };
        let resolved = resolve_pointer(resolver, &pointer, b.batch.schema_ref(), clock, limits)?;
        out.extend(resolved.logs);
        out.push(ReadBatch { batch: resolved.batch, metadata: resolved.metadata });
    }
    Ok(out)
}

/// The server side of the upload-URL flow: when a request's batch is a
/// pointer, fetch the batch it names. The outer batch's framework keys
/// (`vgi_rpc.*`: method, versions, protocol, stream tokens) win over the
/// payload's; for application keys the payload's values win, the outer
/// batch only filling gaps. A plain batch comes back as is.
pub fn resolve_request_batch(
    resolver: Option<&dyn PointerResolver>,
    batch: RecordBatch,
    metadata: Metadata,
    clock: &dyn Clock,
    limits: ReadLimits,
) -> Result<(RecordBatch, Metadata), ResolveError> {
    let Some(pointer) = ExternalPointer::parse(batch.num_rows(), &metadata)? else {
        return Ok((batch, metadata));
    };
    let resolver = resolver.ok_or(ResolveError::NoResolver)?;
    let resolved = resolve_pointer(resolver, &pointer, batch.schema_ref(), clock, limits)?;
    let mut merged = resolved.metadata;
    for (k, v) in metadata.iter() {
        if k == keys::LOCATION || k == keys::LOCATION_SHA256 {
            continue;
        }
        if k.starts_with(keys::RESERVED_PREFIX) || !merged.contains(k) {
            merged.insert(k, v);
        }
    }
    Ok((resolved.batch, merged))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};
    use vgi_rpc_wire::{write_stream_bytes, EncodedSchema};

    use super::*;
    use crate::FakeClock;

    struct Map(HashMap<String, Vec<u8>>);

    impl PointerResolver for Map {
        fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
            self.0.get(location).cloned().ok_or_else(|| StorageError(format!("404 for {}", redact_url(location))))
        }
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]))
    }

    fn payload(batches: &[(RecordBatch, Metadata)]) -> Vec<u8> {
        let refs: Vec<(&RecordBatch, &Metadata)> = batches.iter().map(|(b, m)| (b, m)).collect();
        write_stream_bytes(&EncodedSchema::new(schema()), &refs).unwrap()
    }

    fn data(rows: i64) -> RecordBatch {
        RecordBatch::try_new(schema(), vec![Arc::new(Int64Array::from_iter_values(0..rows))]).unwrap()
    }

    fn setup(items: &[(RecordBatch, Metadata)], digest: bool) -> (Map, ExternalPointer) {
        let bytes = payload(items);
        let sha = digest.then(|| hex::encode(Sha256::digest(&bytes)));
        let url = "http://h/o?sig=secret".to_owned();
        (Map(HashMap::from([(url.clone(), bytes)])), ExternalPointer::new(url, sha))
    }

    fn resolve(map: &Map, pointer: &ExternalPointer) -> Result<Resolved, ResolveError> {
        resolve_pointer(map, pointer, &schema(), &FakeClock::at_unix(0), ReadLimits::default())
    }

    #[test]
    fn resolves_logs_data_and_stamps_provenance_on_the_payloads_metadata() {
        let log = Metadata::new().with(keys::LOG_LEVEL, "INFO").with(keys::LOG_MESSAGE, "m");
        let items = [(RecordBatch::new_empty(schema()), log), (data(3), Metadata::new().with("app", "v"))];
        let (map, pointer) = setup(&items, true);
        let out = resolve(&map, &pointer).unwrap();
        assert_eq!(out.batch.num_rows(), 3);
        assert_eq!(out.logs.len(), 1);
        assert_eq!(out.metadata.get("app"), Some("v"));
        assert_eq!(out.metadata.get(keys::LOCATION_SOURCE), Some(pointer.location.as_str()));
        assert_eq!(out.metadata.get(keys::LOCATION_FETCH_MS), Some("0.0"));
        assert!(!out.metadata.contains(keys::LOCATION));
    }

    #[test]
    fn digest_mismatch_fails_and_redacts() {
        let (map, mut pointer) = setup(&[(data(1), Metadata::new())], true);
        pointer.sha256 = Some("0".repeat(64));
        let err = resolve(&map, &pointer).unwrap_err();
        assert!(matches!(err, ResolveError::DigestMismatch { .. }));
        assert!(!err.to_string().contains("secret"), "{err}");
        let (map, pointer) = setup(&[(data(1), Metadata::new())], false);
        assert!(resolve(&map, &pointer).is_ok(), "no digest, nothing to verify");
    }

    #[test]
    fn payload_shape_is_checked() {
        let (map, pointer) = setup(&[(data(1), Metadata::new()), (data(1), Metadata::new())], false);
        assert!(matches!(resolve(&map, &pointer), Err(ResolveError::MultipleDataBatches(_))));
        let nested = Metadata::new().with(keys::LOCATION, "http://h/other");
        let (map, pointer) = setup(&[(RecordBatch::new_empty(schema()), nested)], false);
        assert!(matches!(resolve(&map, &pointer), Err(ResolveError::NestedPointer(_))));
        let missing = Map(HashMap::new());
        assert!(matches!(resolve(&missing, &pointer), Err(ResolveError::Fetch(_))));
    }

    #[test]
    fn request_pointers_keep_the_outer_framework_keys() {
        let (map, pointer) = setup(&[(data(2), Metadata::new().with(keys::METHOD, "inner").with("app", "v"))], false);
        let outer = pointer.to_metadata().with(keys::METHOD, "outer").with("app", "from-pointer").with("extra", "e");
        let clock = FakeClock::at_unix(0);
        let (batch, md) =
            resolve_request_batch(Some(&map), RecordBatch::new_empty(schema()), outer, &clock, ReadLimits::default())
                .unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(md.get(keys::METHOD), Some("outer"));
        assert_eq!(md.get("app"), Some("v"), "the payload's application metadata wins");
        assert_eq!(md.get("extra"), Some("e"));
        let plain = resolve_request_batch(None, data(1), Metadata::new(), &clock, ReadLimits::default()).unwrap();
        assert_eq!(plain.0.num_rows(), 1);
        let refused = resolve_request_batch(
            None,
            RecordBatch::new_empty(schema()),
            pointer.to_metadata(),
            &clock,
            ReadLimits::default(),
        );
        assert!(matches!(refused, Err(ResolveError::NoResolver)));
    }
}
