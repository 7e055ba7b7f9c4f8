//! Wire-level benches: request batch encode + decode, IPC write + read of a
//! 1-row and a 1M-row batch, and write-only of bulk batches (a 1M-row int64
//! batch, a 1M-row utf8 batch and a 1-row int64 batch) into a reused `Vec`
//! and into `io::sink()`, through `StreamWriter::write` and, for comparison
//! in the same run, through the arrow-ipc path it replaced.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vgi_rpc::wire::{EncodedSchema, Metadata, ReadLimits, Request, RequestHeader, StreamReader, StreamWriter};
use vgi_rpc_benches::{add_params, int64_batch};

fn request_round_trip(c: &mut Criterion) {
    let params = add_params();
    let schema = EncodedSchema::new(params.schema());
    let header = RequestHeader { protocol_version: Some("1.0.0".into()), ..RequestHeader::new("bench.v1", "add") };
    let mut buf = Vec::with_capacity(4096);
    c.bench_function("request/encode+decode", |b| {
        b.iter(|| {
            buf.clear();
            let md = header.to_metadata(&Metadata::new());
            let mut w = StreamWriter::begin(&mut buf, &schema).expect("begin");
            w.write(&mut buf, &params, &md).expect("write");
            w.finish(&mut buf).expect("finish");
            let mut r = buf.as_slice();
            let mut reader = StreamReader::open_required(&mut r, ReadLimits::default()).expect("open");
            let batch = reader.next(&mut r).expect("read").expect("one batch");
            reader.drain(&mut r).expect("eos");
            let req = Request { batch: batch.batch, metadata: batch.metadata };
            black_box(req.method().map(str::len))
        })
    });
}

fn ipc_write_read(c: &mut Criterion) {
    let mut group = c.benchmark_group("ipc/write+read");
    for rows in [1usize, 1_000_000] {
        let batch = int64_batch(rows);
        let schema = EncodedSchema::new(batch.schema());
        let mut buf = Vec::with_capacity(rows * 8 + 1024);
        group.throughput(Throughput::Bytes((rows * 8) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &batch, |b, batch| {
            b.iter(|| {
                buf.clear();
                let mut w = StreamWriter::begin(&mut buf, &schema).expect("begin");
                w.write(&mut buf, batch, &Metadata::new()).expect("write");
                w.finish(&mut buf).expect("finish");
                let mut r = buf.as_slice();
                let mut reader = StreamReader::open_required(&mut r, ReadLimits::default()).expect("open");
                let got = reader.next(&mut r).expect("read").expect("one batch");
                black_box(got.batch.num_rows())
            })
        });
    }
    group.finish();
}

/// A `rows`-row utf8 batch of short strings (about 10 bytes each).
fn utf8_batch(rows: usize) -> arrow_array::RecordBatch {
    use std::sync::Arc;
    let values: arrow_array::StringArray = (0..rows).map(|i| Some(format!("value-{i}"))).collect();
    let schema =
        Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new("s", arrow_schema::DataType::Utf8, true)]));
    arrow_array::RecordBatch::try_new(schema, vec![Arc::new(values)]).expect("utf8 batch")
}

/// One batch through `StreamWriter::write`, or the arrow-ipc path if `legacy`.
fn write_one(legacy: bool, w: &mut StreamWriter, out: &mut dyn std::io::Write, batch: &arrow_array::RecordBatch) {
    if legacy {
        w.write_via_arrow_ipc(out, batch, &Metadata::new()).expect("write");
    } else {
        w.write(out, batch, &Metadata::new()).expect("write");
    }
}

fn ipc_write_bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("ipc/write");
    let rows = 1_000_000usize;
    let batches = [("int64", int64_batch(rows)), ("utf8", utf8_batch(rows)), ("int64x1", int64_batch(1))];
    for (name, batch) in batches {
        let schema = EncodedSchema::new(batch.schema());
        let bytes = batch.get_array_memory_size();
        let mut buf = Vec::with_capacity(bytes + 4096);
        group.throughput(Throughput::Bytes(bytes as u64));
        // "vec"/"sink": StreamWriter::write; "arrow-ipc-*": the arrow-ipc
        // path it replaced, measured in the same run for comparison.
        for legacy in [false, true] {
            let prefix = if legacy { "arrow-ipc-" } else { "" };
            group.bench_with_input(BenchmarkId::new(format!("{prefix}vec"), name), &batch, |b, batch| {
                b.iter(|| {
                    buf.clear();
                    let mut w = StreamWriter::begin(&mut buf, &schema).expect("begin");
                    write_one(legacy, &mut w, &mut buf, batch);
                    w.finish(&mut buf).expect("finish");
                    black_box(buf.len())
                })
            });
            group.bench_with_input(BenchmarkId::new(format!("{prefix}sink"), name), &batch, |b, batch| {
                let mut sink = std::io::sink();
                b.iter(|| {
                    let mut w = StreamWriter::begin(&mut sink, &schema).expect("begin");
                    write_one(legacy, &mut w, &mut sink, batch);
                    w.finish(&mut sink).expect("finish");
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, request_round_trip, ipc_write_read, ipc_write_bulk);
criterion_main!(benches);
