//! The sticky-session conformance methods (`open_counter`,
//! `increment_counter`, `close_counter`, `stream_session_counter`,
//! `exchange_session_counter`): a counter held in the request's sticky
//! session and read back by later calls, unary or streaming.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use vgi_rpc::rpc::session::SessionState;
use vgi_rpc::typed::{Exchange, Input, Producer, Rows, Value};
use vgi_rpc::{CallContext, RpcError};

use super::rows::By;
use super::unary::{ByArg, InitialArg};

/// The state a counter session holds. The framework serializes calls on
/// one session, so the mutex is never contended.
pub(super) struct StickyCounter {
    value: Mutex<i64>,
}

impl SessionState for StickyCounter {}

impl StickyCounter {
    fn update(&self, f: impl FnOnce(&mut i64)) -> i64 {
        let mut value = self.value.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut value);
        *value
    }
}

fn bound(ctx: &CallContext) -> Result<Arc<StickyCounter>, RpcError> {
    ctx.session::<StickyCounter>().ok_or_else(|| RpcError::runtime_error("no sticky counter bound to this request"))
}

/// `open_counter(initial)`: open a session holding the counter; returns `initial`.
pub(super) fn open_counter(p: InitialArg, ctx: &CallContext) -> Result<i64, RpcError> {
    let initial = p.initial;
    ctx.open_session(StickyCounter { value: Mutex::new(initial) }, None)?;
    Ok(initial)
}

/// `increment_counter(by)`: add to the bound counter; returns the new value.
pub(super) fn increment_counter(p: ByArg, ctx: &CallContext) -> Result<i64, RpcError> {
    Ok(bound(ctx)?.update(|v| *v += p.by))
}

/// `close_counter()`: the counter's final value; the session is closed.
pub(super) fn close_counter(ctx: &CallContext) -> Result<i64, RpcError> {
    let value = bound(ctx)?.update(|_| ());
    ctx.close_session()?;
    Ok(value)
}

/// `stream_session_counter(count)`: each turn increments the session's
/// counter by one and emits it, `count` times.
#[derive(Serialize, Deserialize)]
pub(super) struct SessionCounterProducer {
    pub(super) count: i64,
    pub(super) current: i64,
}

impl Producer for SessionCounterProducer {
    type Row = Value<Option<i64>>;

    fn produce(&mut self, out: &mut Rows<'_, Self::Row>, ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.count {
            return out.finish();
        }
        let value = bound(ctx)?.update(|v| *v += 1);
        out.emit(vec![Value(Some(value))])?;
        self.current += 1;
        Ok(())
    }
}

/// `exchange_session_counter()`: each input's `by` column, summed, is added
/// to the session's counter, and the new value emitted.
#[derive(Serialize, Deserialize)]
pub(super) struct SessionCounterExchange;

impl Exchange for SessionCounterExchange {
    type Input = By;
    type Output = Value<Option<i64>>;

    fn exchange(
        &mut self,
        input: Input<By>,
        out: &mut Rows<'_, Self::Output>,
        ctx: &CallContext,
    ) -> Result<(), RpcError> {
        let sum: i64 = input.rows.iter().filter_map(|r| r.by).sum();
        let value = bound(ctx)?.update(|v| *v += sum);
        out.emit(vec![Value(Some(value))])
    }
}
