//! Bytes a call moves besides its batches — sealed state tokens received and
//! returned, payloads uploaded to external storage — counted where they
//! happen, deep inside dispatch, and read by hooks when the call ends.
//!
//! The count is per thread: a call runs on one thread from its start hooks
//! to its end hooks (a pipe stream's turns included), and the serve loops
//! reset it as each call starts, so [`current`] inside
//! [`crate::hook::DispatchHook::on_end`] describes exactly that call.

use std::cell::Cell;

/// What the current call moved besides its batches; `None` where nothing
/// of the kind was moved (the access log leaves the field out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferBytes {
    /// Sealed state-token bytes the request carried (stream continuations).
    pub request_state_bytes: Option<u64>,
    /// Sealed state-token bytes the response carries.
    pub response_state_bytes: Option<u64>,
    /// Bytes uploaded to external storage.
    pub externalized_bytes: Option<u64>,
}

thread_local! {
    static CURRENT: Cell<TransferBytes> = const { Cell::new(TransferBytes {
        request_state_bytes: None,
        response_state_bytes: None,
        externalized_bytes: None,
    }) };
}

/// What the call running on this thread has moved so far.
pub fn current() -> TransferBytes {
    CURRENT.with(Cell::get)
}

/// A call starts on this thread: nothing moved yet.
pub(crate) fn begin() {
    CURRENT.with(|c| c.set(TransferBytes::default()));
}

fn add(field: fn(&mut TransferBytes) -> &mut Option<u64>, bytes: u64) {
    CURRENT.with(|c| {
        let mut now = c.get();
        let slot = field(&mut now);
        *slot = Some(slot.unwrap_or(0).saturating_add(bytes));
        c.set(now);
    });
}

/// The request carried `bytes` of sealed state.
pub(crate) fn request_state(bytes: usize) {
    add(|t| &mut t.request_state_bytes, bytes as u64);
}

/// The response carries `bytes` of sealed state.
pub(crate) fn response_state(bytes: usize) {
    add(|t| &mut t.response_state_bytes, bytes as u64);
}

/// `bytes` went to external storage.
pub(crate) fn externalized(bytes: u64) {
    add(|t| &mut t.externalized_bytes, bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_kind_and_reset_when_a_call_begins() {
        begin();
        assert_eq!(current(), TransferBytes::default());
        request_state(100);
        request_state(20);
        response_state(7);
        externalized(1 << 20);
        let moved = current();
        assert_eq!(moved.request_state_bytes, Some(120));
        assert_eq!(moved.response_state_bytes, Some(7));
        assert_eq!(moved.externalized_bytes, Some(1 << 20));
        begin();
        assert_eq!(current(), TransferBytes::default());
    }

    #[test]
    fn another_thread_sees_its_own_count() {
        begin();
        response_state(5);
        let other = std::thread::spawn(current).join().expect("thread");
        assert_eq!(other, TransferBytes::default());
        assert_eq!(current().response_state_bytes, Some(5));
    }
}
