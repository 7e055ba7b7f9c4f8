//! `ipc_reader`: the Arrow IPC stream reader over arbitrary bytes.
//!
//! Exercises `vgi_rpc_wire::StreamReader::open` + `next()` (the copying
//! reader every byte-stream transport uses) and `BufferCursor` +
//! `next_in()` (the zero-copy reader over one in-memory buffer), with small
//! `ReadLimits` so every declared metadata and body size is checked against a
//! cap the input can exceed. After an EOS the cursor path opens the next
//! stream in the same buffer, as a connection carrying several requests does.
#![no_main]

use arrow_buffer::Buffer;
use libfuzzer_sys::fuzz_target;
use vgi_rpc_wire::reader::Opened;
use vgi_rpc_wire::{classify, BufferCursor, ReadBatch, StreamReader};

/// Most batches read from one stream, and most streams from one buffer.
const MAX_BATCHES: usize = 64;
const MAX_STREAMS: usize = 8;

fn touch(b: &ReadBatch) {
    let _ = classify(b.batch.num_rows(), &b.metadata);
    for (k, v) in b.metadata.iter() {
        assert!(k.len() + v.len() <= 64 * 1024, "metadata larger than the metadata cap");
    }
    let _ = b.batch.get_array_memory_size();
}

fuzz_target!(init: vgi_rpc_fuzz::let_arrow_panics_unwind(), |data: &[u8]| {
    let limits = vgi_rpc_fuzz::small_limits();

    let mut r = data;
    if let Ok(Opened::Stream(mut s)) = StreamReader::open(&mut r, limits) {
        for _ in 0..MAX_BATCHES {
            match s.next(&mut r) {
                Ok(Some(b)) => touch(&b),
                _ => break,
            }
        }
    }

    let mut cursor = BufferCursor::new(Buffer::from(data));
    for _ in 0..MAX_STREAMS {
        let Ok(Opened::Stream(mut s)) = StreamReader::open(&mut cursor, limits) else { break };
        for _ in 0..MAX_BATCHES {
            match s.next_in(&mut cursor) {
                Ok(Some(b)) => touch(&b),
                _ => break,
            }
        }
        if !s.is_finished() {
            break;
        }
    }
});
