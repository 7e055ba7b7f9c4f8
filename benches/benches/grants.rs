//! Sealed grants: mint + verify of a typical grant (two scopes), and each
//! half alone, under the fixture-shaped configuration (two keys, audience).

use criterion::{criterion_group, criterion_main, Criterion};
use vgi_rpc_token::grant::{GrantKeys, GrantRequest};

fn grants(c: &mut Criterion) {
    let keys = GrantKeys::new(&[[0x10; 32], [0x30; 32]])
        .and_then(|k| k.with_audience("bench"))
        .and_then(|k| k.with_max_ttl_seconds(3600))
        .expect("valid configuration");
    let scopes = vec!["read".to_owned(), "write".to_owned()];
    let req =
        GrantRequest { principal: "alice@example.com", scopes: &scopes, purpose: "nightly-report", ttl_seconds: 600 };
    let now = 1_767_225_600;
    let mut g = c.benchmark_group("grant");
    g.bench_function("mint+verify", |b| {
        b.iter(|| {
            let (token, _) = keys.mint(&req, now).expect("mint");
            keys.verify(&token, now as f64 + 1.0).expect("verify")
        })
    });
    g.bench_function("mint", |b| b.iter(|| keys.mint(&req, now).expect("mint")));
    let (token, _) = keys.mint(&req, now).expect("mint");
    g.bench_function("verify", |b| b.iter(|| keys.verify(&token, now as f64 + 1.0).expect("verify")));
    g.finish();
}

criterion_group!(benches, grants);
criterion_main!(benches);
