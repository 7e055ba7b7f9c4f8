//! Property tests: whole IPC streams of arbitrary record batches (nulls,
//! zero rows, view, nested and dictionary columns) with per-batch metadata
//! survive `StreamWriter` -> `StreamReader`, over `Read` and over
//! `BufferCursor`, one stream or several back to back; and every strict
//! prefix of a stream is a truncation error, never a panic or a wrong batch.

mod prop_support;

use arrow_buffer::Buffer;
use prop_support::{config, stream, StreamCase};
use proptest::collection::vec;
use proptest::prelude::*;
use vgi_rpc_wire::reader::{Opened, ReadBatch};
use vgi_rpc_wire::{BufferCursor, ReadLimits, StreamReader, WireError};

/// Read every stream in `bytes` through the `Read` path.
fn read_all_via_read(bytes: &[u8]) -> Result<Vec<(StreamReader, Vec<ReadBatch>)>, WireError> {
    let mut r = bytes;
    let mut out = Vec::new();
    while let Opened::Stream(mut s) = StreamReader::open(&mut r, ReadLimits::default())? {
        let mut batches = Vec::new();
        while let Some(b) = s.next(&mut r)? {
            batches.push(b);
        }
        out.push((s, batches));
    }
    Ok(out)
}

/// Read every stream in `bytes` through `BufferCursor` / `next_in`.
fn read_all_via_cursor(bytes: &[u8]) -> Result<Vec<(StreamReader, Vec<ReadBatch>)>, WireError> {
    let mut cursor = BufferCursor::new(Buffer::from_vec(bytes.to_vec()));
    let mut out = Vec::new();
    while let Opened::Stream(mut s) = StreamReader::open(&mut cursor, ReadLimits::default())? {
        let mut batches = Vec::new();
        while let Some(b) = s.next_in(&mut cursor)? {
            batches.push(b);
        }
        out.push((s, batches));
    }
    assert_eq!(cursor.remaining(), 0);
    Ok(out)
}

fn check_streams(cases: &[StreamCase], read: &[(StreamReader, Vec<ReadBatch>)]) -> Result<(), TestCaseError> {
    prop_assert_eq!(read.len(), cases.len());
    for (case, (reader, batches)) in cases.iter().zip(read) {
        prop_assert_eq!(reader.schema(), &case.schema);
        prop_assert!(reader.is_finished());
        prop_assert_eq!(batches.len(), case.batches.len());
        for ((want, want_md), got) in case.batches.iter().zip(batches) {
            prop_assert_eq!(&got.batch, want);
            prop_assert_eq!(&got.metadata, want_md);
        }
    }
    Ok(())
}

/// Read a stream from a prefix through `next`: the batches it yields
/// before failing, and the failure (`None` if it read to EOS).
fn read_prefix_via_read(prefix: &[u8]) -> (Vec<ReadBatch>, Option<WireError>) {
    let mut r = prefix;
    let mut s = match StreamReader::open_required(&mut r, ReadLimits::default()) {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut got = Vec::new();
    loop {
        match s.next(&mut r) {
            Ok(Some(b)) => got.push(b),
            Ok(None) => return (got, None),
            Err(e) => return (got, Some(e)),
        }
    }
}

/// As [`read_prefix_via_read`], through `BufferCursor` / `next_in`.
fn read_prefix_via_cursor(prefix: &[u8]) -> (Vec<ReadBatch>, Option<WireError>) {
    let mut cursor = BufferCursor::new(Buffer::from_vec(prefix.to_vec()));
    let mut s = match StreamReader::open_required(&mut cursor, ReadLimits::default()) {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut got = Vec::new();
    loop {
        match s.next_in(&mut cursor) {
            Ok(Some(b)) => got.push(b),
            Ok(None) => return (got, None),
            Err(e) => return (got, Some(e)),
        }
    }
}

fn check_prefix(
    case: &StreamCase,
    cut: usize,
    outcome: (Vec<ReadBatch>, Option<WireError>),
) -> Result<(), TestCaseError> {
    let (got, err) = outcome;
    match err {
        Some(WireError::Truncated(_)) => {}
        other => prop_assert!(false, "prefix of {} bytes: expected a truncation error, got {:?}", cut, other),
    }
    prop_assert!(got.len() <= case.batches.len());
    for ((want, want_md), b) in case.batches.iter().zip(&got) {
        prop_assert_eq!(&b.batch, want, "prefix of {} bytes yielded a wrong batch", cut);
        prop_assert_eq!(&b.metadata, want_md);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64, "proptest-regressions/prop_stream.txt"))]

    #[test]
    fn one_stream_round_trips_over_read_and_cursor(case in stream(5, 12)) {
        let bytes = case.to_bytes();
        let cases = std::slice::from_ref(&case);
        check_streams(cases, &read_all_via_read(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?)?;
        check_streams(cases, &read_all_via_cursor(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?)?;
    }

    #[test]
    fn streams_back_to_back_round_trip(cases in vec(stream(3, 6), 1..4)) {
        let mut bytes = Vec::new();
        for case in &cases {
            case.write_to(&mut bytes);
        }
        check_streams(&cases, &read_all_via_read(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?)?;
        check_streams(&cases, &read_all_via_cursor(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?)?;
    }
}

proptest! {
    #![proptest_config(config(16, "proptest-regressions/prop_stream.txt"))]

    /// Every strict, non-empty prefix is `Truncated` (the stricter of the
    /// two acceptable outcomes; every length prefix is exact, so nothing is
    /// ever misread as `Malformed`). The empty input is a clean end of
    /// input, `Opened::Eof`, by design.
    #[test]
    fn every_strict_prefix_is_a_truncation_error(case in stream(3, 4)) {
        let bytes = case.to_bytes();
        for cut in 1..bytes.len() {
            check_prefix(&case, cut, read_prefix_via_read(&bytes[..cut]))?;
            check_prefix(&case, cut, read_prefix_via_cursor(&bytes[..cut]))?;
        }
        let mut empty: &[u8] = &[];
        prop_assert!(matches!(StreamReader::open(&mut empty, ReadLimits::default()), Ok(Opened::Eof)));
    }
}
