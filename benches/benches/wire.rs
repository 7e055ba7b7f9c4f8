//! Wire-level benches: request batch encode + decode, and IPC write + read
//! of a 1-row and a 1M-row batch.

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

criterion_group!(benches, request_round_trip, ipc_write_read);
criterion_main!(benches);
