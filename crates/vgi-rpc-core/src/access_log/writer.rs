//! Where finished lines go: straight to the sink under a lock, or through
//! a bounded queue to a background thread that owns the sink. A full queue
//! drops the line (a stalled disk must neither block calls nor grow memory)
//! and counts it; the next line that gets through reports the count as
//! `dropped_records`.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::{Map, Value};

/// A sink of access-log lines.
pub(super) enum Writer {
    Direct(Mutex<Box<dyn Write + Send>>),
    Queued(Queue),
}

pub(super) struct Queue {
    tx: Mutex<Option<SyncSender<String>>>,
    dropped: Arc<AtomicU64>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(super) fn direct(sink: Box<dyn Write + Send>) -> Self {
        Writer::Direct(Mutex::new(sink))
    }

    /// A background writer with room for `capacity` lines.
    pub(super) fn queued(mut sink: Box<dyn Write + Send>, capacity: usize) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<String>(capacity.max(1));
        let thread = std::thread::Builder::new().name("vgi-rpc-access-log".into()).spawn(move || {
            for line in rx {
                let _ = sink.write_all(line.as_bytes()).and_then(|_| sink.flush());
            }
            let _ = sink.flush();
        })?;
        Ok(Writer::Queued(Queue {
            tx: Mutex::new(Some(tx)),
            dropped: Arc::new(AtomicU64::new(0)),
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// Lines dropped so far and not yet reported (queued writers only).
    pub(super) fn pending_drops(&self) -> u64 {
        match self {
            Writer::Direct(_) => 0,
            Writer::Queued(q) => q.dropped.load(Ordering::SeqCst),
        }
    }

    /// Write one record, serialized by `to_line`. Logging never fails a
    /// call: write errors lose the record, not the RPC.
    pub(super) fn write(&self, mut record: Map<String, Value>, to_line: impl FnOnce(Map<String, Value>) -> String) {
        match self {
            Writer::Direct(sink) => {
                let line = to_line(record);
                let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
                let _ = sink.write_all(line.as_bytes()).and_then(|_| sink.flush());
            }
            Writer::Queued(q) => {
                let guard = q.tx.lock().unwrap_or_else(|p| p.into_inner());
                let Some(tx) = guard.as_ref() else { return };
                let dropped = q.dropped.swap(0, Ordering::SeqCst);
                if dropped > 0 {
                    record.insert("dropped_records".into(), Value::from(dropped));
                }
                match tx.try_send(to_line(record)) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                        q.dropped.fetch_add(dropped + 1, Ordering::SeqCst);
                    }
                }
            }
        }
    }

    /// Write out what is queued and stop the background thread.
    pub(super) fn close(&self) {
        if let Writer::Queued(q) = self {
            drop(q.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
            if let Some(thread) = q.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = thread.join();
            }
        }
    }
}
