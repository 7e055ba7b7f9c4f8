//! Token seal + open for 64 B, 1 KiB and 64 KiB states.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vgi_rpc::rpc::SystemClock;
use vgi_rpc_token::{Identity, Key, Keyring, Sealer, TokenKind};

fn seal_open(c: &mut Criterion) {
    let sealer = Sealer::new(
        Keyring::new(Key::from_bytes(&[9; 32]).expect("key")),
        Arc::new(SystemClock::new()),
        Duration::from_secs(3600),
    );
    let who = Identity { authenticated: true, domain: "bearer", principal: "bench" };
    let mut g = c.benchmark_group("token/seal+open");
    for size in [64usize, 1024, 64 * 1024] {
        // Mildly structured state, like a serialized stream state.
        let state: Vec<u8> = (0..size).map(|i| (i % 251) as u8 ^ ((i / 64) as u8)).collect();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &state, |b, state| {
            b.iter(|| {
                let t = sealer.seal(TokenKind::Cursor, "bench.v1", who, state).expect("seal");
                sealer.open(TokenKind::Cursor, "bench.v1", who, &t).expect("open")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, seal_open);
criterion_main!(benches);
