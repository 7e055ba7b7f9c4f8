//! The access log end to end: options checked up front, records held by
//! [`defer`] and completed with transport facts, the background writer's
//! drop accounting.

use std::io::Write;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::*;
use crate::hook::CallStats;
use crate::AuthContext;

/// A sink whose bytes the test reads back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("sink").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn records(&self) -> Vec<Value> {
        let bytes = self.0.lock().expect("sink").clone();
        String::from_utf8(bytes).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
    }
}

fn call(log: &AccessLog, request_id: &str) {
    let auth = AuthContext::anonymous();
    let info = CallInfo {
        protocol: "P",
        protocol_hash: "h",
        method: "m",
        kind: None,
        request_id,
        server_id: "s",
        auth: &auth,
        remote_addr: None,
        request_schema: None,
        request_rows: 0,
        stream_id: None,
        is_init: true,
        traceparent: None,
        tracestate: None,
    };
    let outcome = CallOutcome {
        error: None,
        duration: Duration::from_micros(5),
        stats: CallStats::default(),
        cancelled: false,
        finished_at: SystemTime::UNIX_EPOCH,
        session: None,
    };
    log.on_end(&info, &outcome);
}

#[test]
fn out_of_range_settings_fail_when_the_log_is_made() {
    for rate in [-0.1, 1.5, f64::NAN] {
        let options = AccessLogOptions { sample_rate: rate, ..AccessLogOptions::default() };
        assert!(matches!(
            AccessLog::with_options(Box::new(Shared::default()), "v", options),
            Err(AccessLogError::SampleRate(_))
        ));
    }
    let options = AccessLogOptions { queue_size: Some(0), ..AccessLogOptions::default() };
    assert!(matches!(
        AccessLog::with_options(Box::new(Shared::default()), "v", options),
        Err(AccessLogError::QueueSize)
    ));
}

#[test]
fn deferred_records_wait_for_the_transport_and_carry_its_facts() {
    let sink = Shared::default();
    let log = AccessLog::new(Box::new(sink.clone()), "v");
    let ((), held) = defer(|| {
        call(&log, "a");
        call(&log, "b");
    });
    assert_eq!(held.len(), 2);
    assert!(sink.records().is_empty(), "nothing written before the transport is done");
    held.emit(&TransportFacts::http(200, 120, 80));
    let records = sink.records();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!((r["http_status"].as_u64(), r["request_bytes"].as_u64()), (Some(200), Some(120)));
        assert_eq!(r["response_bytes"].as_u64(), Some(80));
        assert!(r.get("request_state_bytes").is_none() && r.get("externalized_bytes").is_none());
    }
    call(&log, "c");
    assert_eq!(sink.records().len(), 3, "outside defer, records are written at once");
}

#[test]
fn a_dropped_hold_still_writes_its_records_and_nesting_restores_the_outer_hold() {
    let sink = Shared::default();
    let log = AccessLog::new(Box::new(sink.clone()), "v");
    let ((), outer) = defer(|| {
        call(&log, "outer-1");
        let ((), inner) = defer(|| call(&log, "inner"));
        drop(inner);
        call(&log, "outer-2");
    });
    assert_eq!(sink.records().len(), 1, "the dropped inner hold wrote its record");
    assert_eq!(outer.len(), 2);
    drop(outer);
    let ids: Vec<String> = sink.records().iter().map(|r| r["request_id"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(ids, ["inner", "outer-1", "outer-2"]);
}

/// A sink that blocks each write until the test lets it go.
struct Gate {
    open: Receiver<()>,
    out: Shared,
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.open.recv();
        self.out.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_queue_drops_and_the_next_record_through_reports_how_many() {
    let out = Shared::default();
    let (open, gate): (Sender<()>, Receiver<()>) = channel();
    let options = AccessLogOptions { queue_size: Some(2), ..AccessLogOptions::default() };
    let log = AccessLog::with_options(Box::new(Gate { open: gate, out: out.clone() }), "v", options).expect("log");
    // Rebound after `log`, so a failing assertion drops the gate's sender
    // first and the writer thread, released, lets `log` join it.
    let open = open;
    for i in 0..20 {
        call(&log, &format!("r{i}"));
    }
    let mut calls = 20;
    // At most 3 get in while the gate is shut (one being written, two
    // queued); a line that gets in after a drop carries the count so far
    // and resets it. When the writer thread takes its first line late, the
    // room that frees can go to the last of the twenty, leaving no drop
    // pending; a few more calls fill the queue again.
    while log.pending_drops() == 0 {
        assert!(calls < 40, "a queue of two behind a blocked writer never dropped a record");
        call(&log, &format!("r{calls}"));
        calls += 1;
    }
    for _ in 0..100 {
        let _ = open.send(());
    }
    // Room again once the writer drains: a record gets through and carries
    // the count (an attempt made before the queue drained is dropped and
    // counted too, so retry until one is taken).
    loop {
        call(&log, "after");
        calls += 1;
        if log.pending_drops() == 0 {
            break;
        }
        assert!(calls < 2000, "the writer never drained its queue");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(log);
    let records = out.records();
    let reported: u64 = records.iter().filter_map(|r| r.get("dropped_records").and_then(Value::as_u64)).sum();
    assert_eq!(records.len() as u64 + reported, calls, "every record written or counted");
    assert!(records.len() <= 4, "at most three while the gate was shut, then the last: {}", records.len());
    assert_eq!(records.last().map(|r| r["request_id"].clone()), Some(Value::from("after")));
    assert!(records.last().is_some_and(|r| r.get("dropped_records").is_some()));
}
