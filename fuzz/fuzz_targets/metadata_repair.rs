//! `metadata_repair`: the reader's repair of non-UTF-8 flatbuffer strings in
//! message metadata (`sanitize_strings` in crates/vgi-rpc-wire/src/reader.rs).
//!
//! The input is `len:u32le || message flatbuffer (len bytes) || body`. It is
//! framed as the one record-batch message of a stream whose schema is the
//! fixture's `value: float64`, and read through the public
//! `StreamReader::next`, so the flatbuffer is verified, its invalid strings
//! are replaced in place, and the repaired message is decoded. Checks: a
//! flatbuffer that already verifies is never reported lossy, and every
//! metadata key and value that comes out is bounded by the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgi_rpc_wire::writer::EOS;
use vgi_rpc_wire::{EncodedSchema, StreamReader};

fuzz_target!(init: vgi_rpc_fuzz::let_arrow_panics_unwind(), |data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else { return };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (flatbuffer, body) = rest.split_at(len);

    let schema = EncodedSchema::new(vgi_rpc_fuzz::value_schema());
    let mut stream = schema.ipc_bytes();
    stream.extend_from_slice(&[0xFF; 4]);
    stream.extend_from_slice(&(flatbuffer.len() as i32).to_le_bytes());
    stream.extend_from_slice(flatbuffer);
    stream.extend_from_slice(body);
    stream.extend_from_slice(&EOS);

    let mut r = stream.as_slice();
    let Ok(mut reader) = StreamReader::open_required(&mut r, vgi_rpc_fuzz::small_limits()) else {
        unreachable!("the fixture schema message always opens")
    };
    if let Ok(Some(batch)) = reader.next(&mut r) {
        if arrow_ipc::root_as_message(flatbuffer).is_ok() {
            assert!(!batch.metadata.had_invalid_utf8(), "a valid flatbuffer was reported lossy");
        }
        for (k, v) in batch.metadata.iter() {
            assert!(k.len() + v.len() <= flatbuffer.len(), "metadata longer than its message");
        }
    }
});
