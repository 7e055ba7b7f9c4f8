//! Stateless stream turns: `/init` (header, first producer turn or the
//! exchange's opening tokens) and `/exchange` (one producer tick, one
//! exchange batch, or a cancel), with the state resumed from tokens.

use std::sync::Arc;

use arrow_array::RecordBatch;
use vgi_rpc_wire::{keys, EncodedSchema, Metadata, StreamWriter, WireError};

use super::call::{StateTokens, StreamCall};
use super::observe::{call_info, Observed};
use super::unary::{admit, context};
use super::{
    empty_schema, error_answer, error_answer_on, read_body, strip_transport_keys, wire_failure, Answer, OneRequest,
    Status,
};
use crate::cycle::{write_header, CycleWriter};
use crate::external::Externalizer;
use crate::hook::CallStats;
use crate::method::Handler;
use crate::reply::{write_logs, Reply};
use crate::serve_loop::check_stream;
use crate::stream::StreamState;
use crate::turn::{cancel, run_turn};
use crate::{CallContext, OutputCollector, Params, RpcError, Server};

/// How a stream request ended, for hooks and the stream quota.
struct Ended {
    error: Option<RpcError>,
    cancelled: bool,
    /// The stream goes on (a continuation cursor was sent).
    open: bool,
}

/// Serialize the state after a turn and seal it as the call's next cursor.
fn next_cursor(
    tokens: &dyn StateTokens,
    req: &OneRequest<'_>,
    call: &StreamCall,
    state: &StreamState,
) -> Result<String, RpcError> {
    let bytes = match state {
        StreamState::Producer(s) => s.encode_state(),
        StreamState::Exchange { state, .. } => state.encode_state(),
    };
    let bytes = bytes.ok_or_else(|| {
        RpcError::runtime_error(format!(
            "Stream method {} cannot continue over a stateless transport: its state does not implement \
             encode_state",
            crate::dispatch::py_repr(&call.method)
        ))
    })?;
    let cursor = tokens
        .mint_cursor(req.protocol.name(), &req.conn.auth, &call.call_id, &bytes)
        .map_err(|e| RpcError::runtime_error(e.0))?;
    crate::transfer::response_state(cursor.len());
    Ok(cursor)
}

/// What a producer turn needs beyond the state itself.
struct TurnSetup<'a> {
    reply: &'a Reply<'a>,
    tokens: &'a dyn StateTokens,
    req: &'a OneRequest<'a>,
    call: &'a StreamCall,
    /// Sent only by `/init`, beside the first cursor.
    call_token: Option<&'a str>,
    server: &'a Server,
    /// The response's hard body cap, if any.
    body_cap: Option<u64>,
}

impl<'a> TurnSetup<'a> {
    /// The cycle writer for one response on `schema`.
    fn cycles(&self, schema: &'a EncodedSchema, empty: &'a RecordBatch) -> CycleWriter<'a> {
        let ext = Externalizer::for_call(self.server, self.req.method.name(), self.body_cap, true);
        CycleWriter { schema, empty, reply: self.reply, ext }
    }
}

/// One producer turn written onto `out`: the turn's logs and data batch,
/// then a continuation cursor unless the producer finished.
fn producer_turn(
    body: &mut Vec<u8>,
    out: &mut StreamWriter,
    setup: &TurnSetup<'_>,
    state: &mut StreamState,
    ctx: &CallContext,
    stats: &mut CallStats,
) -> Result<Ended, WireError> {
    let schema = setup.call.output_schema.schema().clone();
    let empty = RecordBatch::new_empty(schema.clone());
    let mut collector = OutputCollector::new(schema, true);
    let tick = RecordBatch::new_empty(empty_schema());
    let outcome = run_turn(state, &mut collector, tick, ctx.request_metadata().clone(), ctx).and_then(|_| {
        if collector.is_finished() {
            return Ok(None);
        }
        next_cursor(setup.tokens, setup.req, setup.call, state).map(Some)
    });
    let cursor = match outcome {
        Ok(cursor) => cursor,
        Err(err) => {
            out.write(body, &empty, &setup.reply.error_metadata(&err, ctx.protocol(), ctx.method()))?;
            return Ok(Ended { error: Some(err), cancelled: false, open: false });
        }
    };
    let mut cycles = setup.cycles(&setup.call.output_schema, &empty);
    if let Err(err) = cycles.write(body, out, ctx.take_logs(), collector.take_items(), None, stats)? {
        // No continuation escapes a refused cycle.
        out.write(body, &empty, &setup.reply.error_metadata(&err, ctx.protocol(), ctx.method()))?;
        return Ok(Ended { error: Some(err), cancelled: false, open: false });
    }
    let open = cursor.is_some();
    if let Some(cursor) = cursor {
        let mut md = Metadata::with_capacity(2).with(keys::STREAM_STATE, cursor);
        if let Some(call_token) = setup.call_token {
            md.insert(keys::CALL_STATE, call_token);
        }
        out.write(body, &empty, &md)?;
    }
    Ok(Ended { error: None, cancelled: false, open })
}

/// `POST …/{method}/init`.
pub(super) fn init(server: &Server, tokens: &dyn StateTokens, reply: &Reply<'_>, req: &OneRequest<'_>) -> Answer {
    let request = match admit(server, req) {
        Ok(r) => r,
        Err(err) => return error_answer(reply, super::admit_status(&err), &err, req),
    };
    let Handler::Stream(handler) = req.method.handler() else {
        return error_answer(reply, Status::BadRequest, &RpcError::type_error("not a stream method"), req);
    };
    let stream_id = server.new_stream_id();
    // Counted from here; ended on every way out unless a cursor lets it go on.
    let turn = match server.quotas().enter_stream_turn(req.conn, &stream_id) {
        Ok(turn) => turn,
        Err(refused) => return super::quota_answer(reply, &refused, req),
    };
    let info = call_info(
        server,
        req,
        request.batch.schema_ref(),
        request.batch.num_rows(),
        Some(&stream_id),
        true,
        &request.metadata,
    );
    let observed = Observed::start(server, &info, req);
    let span = observed.span();
    let _entered = span.enter();
    let mut stats = CallStats::default();
    stats.record_input(&request.batch);
    let ctx = context(server, req, request.metadata.clone());
    let mut body = Vec::with_capacity(1024);
    let result = handler(&Params::new(&request.batch), &ctx)
        .and_then(|stream| check_stream(req.method, stream))
        .and_then(|parts| open_stream(tokens, req, &stream_id, parts));
    let answer = match result {
        Err(err) => {
            let answer = error_answer(reply, Status::MethodError, &err, req);
            observed.finish(Some(&err), stats, false);
            return answer;
        }
        Ok(opened) => write_init(server, &mut body, reply, tokens, req, opened, &ctx, &mut stats),
    };
    let (status, ended) = match answer {
        Ok(ended) => (if ended.error.is_some() { Status::MethodError } else { Status::Ok }, ended),
        Err(e) => {
            let err = wire_failure(e);
            let answer = error_answer(reply, Status::MethodError, &err, req);
            observed.finish(Some(&err), stats, false);
            return answer;
        }
    };
    if ended.open {
        turn.park();
    }
    observed.finish(ended.error.as_ref(), stats, ended.cancelled);
    Answer { status, body }
}

/// A started stream with its call minted.
struct Opened {
    call: Arc<StreamCall>,
    call_token: String,
    state: StreamState,
    header: Option<crate::stream::HeaderBatch>,
}

fn open_stream(
    tokens: &dyn StateTokens,
    req: &OneRequest<'_>,
    stream_id: &str,
    (output_schema, state, header): crate::serve_loop::StreamParts,
) -> Result<Opened, RpcError> {
    let input_schema = match &state {
        StreamState::Producer(_) => Arc::new(EncodedSchema::empty().clone()),
        StreamState::Exchange { input_schema, .. } => Arc::new(EncodedSchema::new(input_schema.clone())),
    };
    let token_error = |e: super::TokenRejected| RpcError::runtime_error(e.0);
    let call = Arc::new(StreamCall {
        call_id: tokens.new_call_id().map_err(token_error)?,
        method: req.method.name().to_owned(),
        output_schema,
        input_schema,
        stream_id: stream_id.to_owned(),
        response_limit: req.response_limit,
    });
    let call_token = tokens.mint_call(req.protocol.name(), &req.conn.auth, &call).map_err(token_error)?;
    crate::transfer::response_state(call_token.len());
    Ok(Opened { call, call_token, state, header })
}

#[allow(clippy::too_many_arguments)]
fn write_init(
    server: &Server,
    body: &mut Vec<u8>,
    reply: &Reply<'_>,
    tokens: &dyn StateTokens,
    req: &OneRequest<'_>,
    opened: Opened,
    ctx: &CallContext,
    stats: &mut CallStats,
) -> Result<Ended, WireError> {
    let Opened { call, call_token, mut state, header } = opened;
    let mut init_logs = ctx.take_logs();
    if let (Some(header_schema), Some(header)) = (req.method.header_schema(), header) {
        let mut hw = StreamWriter::begin(body, header_schema)?;
        let empty = RecordBatch::new_empty(header_schema.schema().clone());
        write_logs(body, &mut hw, &empty, reply, std::mem::take(&mut init_logs), true)?;
        stats.record_output(&header.batch);
        let ext = Externalizer::for_call(server, req.method.name(), req.response_limit, true);
        let target = (header_schema.as_ref(), req.protocol.name());
        write_header(body, &mut hw, target, reply, ext, (&header.batch, &header.metadata))?;
        hw.finish(body)?;
    }
    let schema = call.output_schema.schema().clone();
    let empty = RecordBatch::new_empty(schema);
    let mut out = StreamWriter::begin(body, &call.output_schema)?;
    write_logs(body, &mut out, &empty, reply, init_logs, true)?;
    let setup = TurnSetup {
        reply,
        tokens,
        req,
        call: &call,
        call_token: Some(&call_token),
        server,
        body_cap: req.response_limit,
    };
    let ended = match state {
        StreamState::Producer(_) => {
            // Over HTTP the producer's first turn runs inside /init: the
            // request's metadata is that first tick's.
            let turn_ctx = ctx.for_turn(strip_transport_keys(ctx.request_metadata()));
            producer_turn(body, &mut out, &setup, &mut state, &turn_ctx, stats)?
        }
        StreamState::Exchange { .. } => {
            let minted = next_cursor(tokens, req, &call, &state);
            match minted {
                Ok(cursor) => {
                    let md = Metadata::with_capacity(2)
                        .with(keys::STREAM_STATE, cursor)
                        .with(keys::CALL_STATE, call_token.as_str());
                    stats.record_output(&empty);
                    out.write(body, &empty, &md)?;
                    Ended { error: None, cancelled: false, open: true }
                }
                Err(err) => {
                    out.write(body, &empty, &reply.error_metadata(&err, req.protocol.name(), req.method.name()))?;
                    Ended { error: Some(err), cancelled: false, open: false }
                }
            }
        }
    };
    out.finish(body)?;
    Ok(ended)
}

/// `POST …/{method}/exchange`: resume the stream from its tokens and run one turn.
pub(super) fn exchange(server: &Server, tokens: &dyn StateTokens, reply: &Reply<'_>, req: &OneRequest<'_>) -> Answer {
    let input = match read_body(server, req.body) {
        Ok(b) => b,
        Err(err) => return error_answer(reply, super::admit_status(&err), &err, req),
    };
    let (call, mut state) = match resume(tokens, req, &input.metadata) {
        Ok(resumed) => resumed,
        Err((status, err)) => return error_answer(reply, status, &err, req),
    };
    // The stream id comes from the authenticated call token; a stream
    // already counted is not counted again.
    let turn = match server.quotas().enter_stream_turn(req.conn, &call.stream_id) {
        Ok(turn) => turn,
        Err(refused) => return super::quota_answer(reply, &refused, req),
    };
    let input_schema = input.batch.schema();
    let info =
        call_info(server, req, &input_schema, input.batch.num_rows(), Some(&call.stream_id), false, &input.metadata);
    let observed = Observed::start(server, &info, req);
    let span = observed.span();
    let _entered = span.enter();
    let carried = [keys::STREAM_STATE, keys::CALL_STATE].map(|k| input.metadata.get(k).map_or(0, str::len));
    crate::transfer::request_state(carried.iter().sum());
    let mut stats = CallStats::default();
    let turn_md = strip_transport_keys(&input.metadata);
    let ctx = context(server, req, turn_md);
    let limit = match (req.response_limit, call.response_limit) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut body = Vec::with_capacity(1024);
    let written = if input.metadata.contains(keys::CANCEL) {
        cancel(&mut state, &ctx);
        StreamWriter::begin(&mut body, &call.output_schema).and_then(|w| w.finish(&mut body)).map(|_| Ended {
            error: None,
            cancelled: true,
            open: false,
        })
    } else if matches!(state, StreamState::Producer(_)) {
        let setup = TurnSetup { reply, tokens, req, call: &call, call_token: None, server, body_cap: limit };
        StreamWriter::begin(&mut body, &call.output_schema).and_then(|mut out| {
            let ended = producer_turn(&mut body, &mut out, &setup, &mut state, &ctx, &mut stats)?;
            out.finish(&mut body)?;
            Ok(ended)
        })
    } else {
        stats.record_input(&input.batch);
        let setup = TurnSetup { reply, tokens, req, call: &call, call_token: None, server, body_cap: limit };
        match exchange_turn(&mut body, &setup, &mut state, input.batch, &ctx, &mut stats) {
            Ok(ended) => Ok(ended),
            Err(TurnFailure::Wire(e)) => Err(e),
            Err(TurnFailure::Method(err)) => {
                let answer = error_answer_on(reply, Status::MethodError, &err, req, &call.output_schema);
                observed.finish(Some(&err), stats, false);
                return answer;
            }
        }
    };
    let answer = match written {
        Ok(ended) => {
            let status = if ended.error.is_some() { Status::MethodError } else { Status::Ok };
            if ended.open {
                turn.park();
            }
            observed.finish(ended.error.as_ref(), stats, ended.cancelled);
            Answer { status, body }
        }
        Err(e) => {
            let err = wire_failure(e);
            let answer = error_answer(reply, Status::MethodError, &err, req);
            observed.finish(Some(&err), stats, false);
            answer
        }
    };
    super::enforce_limit(reply, answer, req, limit)
}

/// Open the cursor, resolve its call, rebuild the state (all `400` on failure).
fn resume(
    tokens: &dyn StateTokens,
    req: &OneRequest<'_>,
    metadata: &Metadata,
) -> Result<(Arc<StreamCall>, StreamState), (Status, RpcError)> {
    let bad = |message: String| (Status::BadRequest, RpcError::runtime_error(message));
    let Some(cursor) = metadata.get(keys::STREAM_STATE) else {
        return Err(bad("Missing state token in exchange request".to_owned()));
    };
    let protocol = req.protocol.name();
    let auth = &req.conn.auth;
    let (call_id, state_bytes) = tokens.open_cursor(protocol, auth, cursor).map_err(|e| bad(e.0))?;
    let call = tokens.resolve_call(protocol, auth, &call_id, metadata.get(keys::CALL_STATE)).map_err(|e| bad(e.0))?;
    if call.method != req.method.name() {
        return Err(bad(format!(
            "State token belongs to method {}, not {}",
            crate::dispatch::py_repr(&call.method),
            crate::dispatch::py_repr(req.method.name())
        )));
    }
    let Some(decoder) = req.method.state_decoder() else {
        return Err((
            Status::MethodError,
            RpcError::runtime_error(format!(
                "Cannot resolve state type for {}/{}: the method registers no state decoder",
                protocol,
                req.method.name()
            )),
        ));
    };
    let mut state = decoder(&state_bytes).map_err(|e| bad(format!("Failed to deserialize state: {}", e.message)))?;
    match &mut state {
        StreamState::Exchange { input_schema, .. } => *input_schema = call.input_schema.schema().clone(),
        StreamState::Producer(_) if !call.input_schema.schema().fields().is_empty() => {
            return Err(bad("State token does not match the stream's shape".to_owned()));
        }
        StreamState::Producer(_) => {}
    }
    Ok((call, state))
}

enum TurnFailure {
    Wire(WireError),
    Method(RpcError),
}

impl From<WireError> for TurnFailure {
    fn from(e: WireError) -> Self {
        TurnFailure::Wire(e)
    }
}

/// One lockstep exchange turn; the refreshed cursor rides on the data batch.
fn exchange_turn(
    body: &mut Vec<u8>,
    setup: &TurnSetup<'_>,
    state: &mut StreamState,
    batch: RecordBatch,
    ctx: &CallContext,
    stats: &mut CallStats,
) -> Result<Ended, TurnFailure> {
    let call = setup.call;
    let schema = call.output_schema.schema().clone();
    let mut collector = OutputCollector::new(schema.clone(), false);
    run_turn(state, &mut collector, batch, ctx.request_metadata().clone(), ctx).map_err(TurnFailure::Method)?;
    let cursor = next_cursor(setup.tokens, setup.req, call, state).map_err(TurnFailure::Method)?;
    let empty = RecordBatch::new_empty(schema);
    let mut out = StreamWriter::begin(body, &call.output_schema)?;
    let mut cycles = setup.cycles(&call.output_schema, &empty);
    let items = collector.take_items();
    // A refused cycle leaves a partial body the caller replaces with the error.
    cycles.write(body, &mut out, ctx.take_logs(), items, Some(&cursor), stats)?.map_err(TurnFailure::Method)?;
    out.finish(body)?;
    Ok(Ended { error: None, cancelled: false, open: true })
}
