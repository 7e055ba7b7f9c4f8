//! Peak RSS of writing one large batch: builds an int64 batch of
//! `MIB` MiB (default 256), writes it as a stream to /dev/null (or, with
//! `-` as the third argument, to stdout, e.g. a pipe) through a 256 KiB
//! `BufWriter` (as the pipe transports do), and prints the process's VmHWM
//! after building and after writing, and the write time, to stderr.
//!
//! `cargo run --release -p vgi-rpc-wire --example write_rss -- direct [MIB] [-]`
//! uses `StreamWriter::write`; `arrow-ipc` instead of `direct` uses the
//! arrow-ipc path (`write_via_arrow_ipc`) for comparison. Linux only
//! (reads /proc/self/status).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc_wire::{EncodedSchema, Metadata, StreamWriter};

/// A `/proc/self/status` field in KiB (0 if absent).
fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "direct".into());
    let mib: usize = args.next().map(|m| m.parse()).transpose()?.unwrap_or(256);
    let legacy = match mode.as_str() {
        "direct" => false,
        "arrow-ipc" => true,
        other => return Err(format!("mode must be direct or arrow-ipc, not {other}").into()),
    };
    let rows = mib * 1024 * 1024 / 8;
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(0..rows as i64))])?;
    let encoded = EncodedSchema::new(schema);
    eprintln!("batch: {} MiB ({rows} rows)", batch.get_array_memory_size() / (1024 * 1024));
    eprintln!("after building: VmHWM {} KiB, VmRSS {} KiB", status_kib("VmHWM:"), status_kib("VmRSS:"));

    let out: Box<dyn Write> = match args.next().as_deref() {
        Some("-") => Box::new(std::io::stdout().lock()),
        _ => Box::new(File::create("/dev/null")?),
    };
    let mut sink = BufWriter::with_capacity(256 * 1024, out);
    let metadata = Metadata::new().with("vgi_rpc.method", "produce");
    let start = Instant::now();
    let mut w = StreamWriter::begin(&mut sink, &encoded)?;
    if legacy {
        w.write_via_arrow_ipc(&mut sink, &batch, &metadata)?;
    } else {
        w.write(&mut sink, &batch, &metadata)?;
    }
    w.finish(&mut sink)?;
    sink.flush()?;
    let elapsed = start.elapsed();
    eprintln!(
        "after writing ({mode}, {:.1} ms): VmHWM {} KiB, VmRSS {} KiB",
        elapsed.as_secs_f64() * 1e3,
        status_kib("VmHWM:"),
        status_kib("VmRSS:")
    );
    Ok(())
}
