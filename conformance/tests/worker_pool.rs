//! The subprocess worker pool against the conformance worker: warm reuse,
//! discarding a worker that died, the idle cap, and a shared-memory segment
//! per borrow through which large producer output and exchange inputs and
//! outputs travel (and which is gone once the borrow ends).

mod support;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use support::{echo_int_params, int_value, worker_path, PRIMARY};
use vgi_rpc::rpc::StreamOptions;
use vgi_rpc::stdio::{PooledWorker, WorkerPool};
use vgi_rpc::wire::keys;

const NO_ARGS: [&str; 0] = [];
const SEGMENT: u64 = 64 * 1024 * 1024;

/// Borrow a conformance worker that declares the service's version.
fn borrow(pool: &WorkerPool) -> PooledWorker<'_> {
    let mut w = pool.borrow(worker_path(), NO_ARGS).expect("borrow");
    w.set_protocol_version(PRIMARY, "2.0.0");
    w
}

fn echo(worker: &mut PooledWorker<'_>, v: i64) -> i64 {
    let response = worker.call(PRIMARY, "echo_int", &echo_int_params(v)).expect("echo_int");
    int_value(response.value().expect("a result"))
}

fn segment_exists(name: &str) -> bool {
    std::path::Path::new("/dev/shm").join(name.trim_start_matches('/')).exists()
}

#[test]
fn a_returned_worker_is_reused_warm() {
    let pool = WorkerPool::new();
    let first = {
        let mut w = borrow(&pool);
        assert_eq!(echo(&mut w, 7), 7);
        assert!(!w.uses_shared_memory(), "no segment without shared_memory()");
        w.pid()
    };
    let mut again = borrow(&pool);
    assert_eq!(again.pid(), first, "the idle worker is handed out again");
    assert_eq!(echo(&mut again, 8), 8);
    let m = pool.metrics();
    assert_eq!((m.borrows, m.spawns, m.reuses, m.returns, m.active, m.idle), (2, 1, 1, 1, 1, 0));
}

#[test]
fn a_worker_that_died_is_discarded_not_reused() {
    let pool = WorkerPool::new();
    let dead = {
        let w = borrow(&pool);
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(w.pid() as i32, libc::SIGKILL) }, 0);
        assert!(support::eventually(std::time::Duration::from_secs(5), || !std::path::Path::new(&format!(
            "/proc/{}/cmdline",
            w.pid()
        ))
        .exists()
            || std::fs::read_to_string(format!("/proc/{}/stat", w.pid())).is_ok_and(|s| s.contains(") Z"))));
        w.pid()
    };
    assert_eq!(pool.metrics().discards, 1, "a dead worker is not returned");
    let mut fresh = borrow(&pool);
    assert_ne!(fresh.pid(), dead);
    assert_eq!(echo(&mut fresh, 1), 1);
    assert_eq!(pool.metrics().spawns, 2);
}

#[test]
fn idle_workers_beyond_the_cap_are_closed() {
    let pool = WorkerPool::new().max_idle(1);
    let a = borrow(&pool);
    let b = borrow(&pool);
    assert_ne!(a.pid(), b.pid());
    drop(a);
    drop(b);
    let m = pool.metrics();
    assert_eq!((m.spawns, m.returns, m.evictions_max, m.idle, m.active), (2, 2, 1, 1, 0));
}

#[test]
fn workers_idle_past_the_timeout_are_closed() {
    let pool = WorkerPool::new().idle_timeout(std::time::Duration::from_millis(100));
    let first = borrow(&pool).pid();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut next = borrow(&pool);
    assert_ne!(next.pid(), first, "the idle worker was closed, a new one started");
    assert_eq!(echo(&mut next, 3), 3);
    let m = pool.metrics();
    assert_eq!((m.spawns, m.reuses, m.evictions_idle), (2, 0, 1));
}

fn large_params(rows: i64) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("rows_per_batch", Arc::new(Int64Array::from(vec![rows])) as ArrayRef),
        ("batch_count", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
    ])
    .expect("params")
}

#[test]
fn each_borrow_gets_its_own_segment_for_large_batches() {
    let pool = WorkerPool::new().shared_memory(SEGMENT);
    let rows = 200_000; // two Int64 columns: 3.2 MB per batch, far above the 128 KiB cut-off
    let mut names = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..2 {
        let mut w = borrow(&pool);
        assert!(w.uses_shared_memory(), "the conformance worker accepts shared memory");
        pids.push(w.pid());
        let batches = {
            let mut stream = w
                .producer(PRIMARY, "produce_large_batches", &large_params(rows), &StreamOptions::default())
                .expect("producer");
            stream.collect_all().expect("batches")
        };
        assert_eq!(batches.len(), 3);
        for (n, (batch, md)) in batches.iter().enumerate() {
            let source = md.get(keys::SHM_SOURCE).expect("the batch came through the segment");
            assert!(segment_exists(source), "the segment {source} exists while borrowed");
            names.push(source.to_owned());
            let index = batch.column(0).as_primitive::<Int64Type>();
            let value = batch.column(1).as_primitive::<Int64Type>();
            let first = n as i64 * rows;
            assert_eq!((index.value(0), value.value(0)), (first, first * 10));
            assert_eq!(index.value(rows as usize - 1), first + rows - 1);
        }
        // Small results stay on the pipe even with a segment.
        assert_eq!(echo(&mut w, 5), 5);
    }
    assert_eq!(pids[0], pids[1], "the worker is reused, with a new segment");
    assert_ne!(names[0], names[3], "each borrow has its own segment");
    for name in &names {
        assert!(!segment_exists(name), "{name} is removed when its borrow ends");
    }
}

#[test]
fn exchange_inputs_and_outputs_ride_the_segment() {
    let pool = WorkerPool::new().shared_memory(SEGMENT);
    let mut w = borrow(&pool);
    let factor =
        RecordBatch::try_from_iter([("factor", Arc::new(Float64Array::from(vec![2.0])) as ArrayRef)]).expect("params");
    let schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, true)]));
    let mut session = w.exchange(PRIMARY, "exchange_scale", &factor, &StreamOptions::default()).expect("exchange");
    for turn in 0..3 {
        let values: Vec<f64> = (0..300_000).map(|i| f64::from(i + turn)).collect();
        let input = RecordBatch::try_new(schema.clone(), vec![Arc::new(Float64Array::from(values))]).expect("input");
        let (out, md) = session.exchange(&input).expect("round trip");
        assert!(md.contains(keys::SHM_SOURCE), "the 2.4 MB answer came through the segment");
        let got = out.column(0).as_primitive::<Float64Type>();
        assert_eq!(got.len(), 300_000);
        assert_eq!((got.value(0), got.value(299_999)), (2.0 * f64::from(turn), 2.0 * f64::from(299_999 + turn)));
    }
    session.close(&schema).expect("close");
    assert!(w.is_in_step());
}

#[test]
fn the_worker_reads_a_large_exchange_input_from_the_segment() {
    let pool = WorkerPool::new().shared_memory(SEGMENT);
    let mut w = borrow(&pool);
    let schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, true)]));
    let mut session = w
        .exchange(PRIMARY, "exchange_input_metadata", &vgi_rpc::rpc::client::no_params(), &StreamOptions::default())
        .expect("exchange");
    let keys_seen = |session: &mut vgi_rpc::rpc::client::ExchangeSession<'_, _, _>, rows: usize| {
        let input =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Float64Array::from(vec![1.5; rows]))]).expect("input");
        let (out, _) = session.exchange(&input).expect("round trip");
        out.column_by_name("keys").expect("keys column").as_string::<i32>().value(0).to_owned()
    };
    // 2.4 MB goes through the segment: the worker resolved a pointer.
    assert!(keys_seen(&mut session, 300_000).contains(keys::SHM_SOURCE));
    // A small input stays inline.
    assert!(!keys_seen(&mut session, 10).contains(keys::SHM_SOURCE));
    session.close(&schema).expect("close");
}
