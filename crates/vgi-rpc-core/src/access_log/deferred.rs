//! Records held back until the transport knows what only it can know: a
//! transport whose response is finished after dispatch (HTTP: the status,
//! the compressed body's size) runs dispatch inside [`defer`], and the
//! records the access log would have written are returned instead, to be
//! completed with [`TransportFacts`] and written by [`DeferredRecords::emit`].
//!
//! The hold is per thread: dispatch runs synchronously on the thread that
//! called [`defer`]. Records still held when [`DeferredRecords`] is dropped
//! are written as they are, so a transport that returns early loses none.

use std::cell::RefCell;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::Inner;

/// Byte counts and status only the transport knows. Absent values leave
/// their field out of the record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportFacts {
    /// The HTTP response status (`http_status`).
    pub http_status: Option<u16>,
    /// The request body as received, before decompression (`request_bytes`).
    pub request_bytes: Option<u64>,
    /// The response body as sent, after compression (`response_bytes`).
    pub response_bytes: Option<u64>,
}

impl TransportFacts {
    /// Facts of an HTTP exchange: status and the two body sizes on the wire.
    pub fn http(status: u16, request_bytes: u64, response_bytes: u64) -> Self {
        Self {
            http_status: Some(status),
            request_bytes: Some(request_bytes),
            response_bytes: Some(response_bytes),
            ..Self::default()
        }
    }

    fn apply(&self, record: &mut Map<String, Value>) {
        let fields = [
            ("http_status", self.http_status.map(u64::from)),
            ("request_bytes", self.request_bytes),
            ("response_bytes", self.response_bytes),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                record.insert(name.into(), Value::from(v));
            }
        }
    }
}

struct Held {
    log: Arc<Inner>,
    record: Map<String, Value>,
}

thread_local! {
    static HOLD: RefCell<Option<Vec<Held>>> = const { RefCell::new(None) };
}

/// Hand `record` to the current hold, or give it back when none is active.
pub(super) fn hold(log: &Arc<Inner>, record: Map<String, Value>) -> Option<Map<String, Value>> {
    HOLD.with(|h| match h.borrow_mut().as_mut() {
        Some(held) => {
            held.push(Held { log: log.clone(), record });
            None
        }
        None => Some(record),
    })
}

/// Records written by a call inside [`defer`], not yet written.
#[must_use = "dropping writes the records without the transport's facts"]
pub struct DeferredRecords(Vec<Held>);

impl DeferredRecords {
    /// How many records are held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Complete every held record with `facts` and write it.
    pub fn emit(mut self, facts: &TransportFacts) {
        for mut held in self.0.drain(..) {
            facts.apply(&mut held.record);
            held.log.emit(held.record);
        }
    }
}

impl Drop for DeferredRecords {
    fn drop(&mut self) {
        for held in self.0.drain(..) {
            held.log.emit(held.record);
        }
    }
}

/// Restores the enclosing hold, also when `f` panics.
struct Scope(Option<Option<Vec<Held>>>);

impl Drop for Scope {
    fn drop(&mut self) {
        if let Some(outer) = self.0.take() {
            let mine = HOLD.with(|h| std::mem::replace(&mut *h.borrow_mut(), outer));
            // Only reached with records still held when `f` panicked.
            drop(DeferredRecords(mine.unwrap_or_default()));
        }
    }
}

/// Run `f`, holding back the access-log records written on this thread
/// meanwhile; they are returned to be completed and written.
pub fn defer<R>(f: impl FnOnce() -> R) -> (R, DeferredRecords) {
    let outer = HOLD.with(|h| h.borrow_mut().replace(Vec::new()));
    let mut scope = Scope(Some(outer));
    let result = f();
    let outer = scope.0.take().unwrap_or_default();
    let mine = HOLD.with(|h| std::mem::replace(&mut *h.borrow_mut(), outer));
    (result, DeferredRecords(mine.unwrap_or_default()))
}
