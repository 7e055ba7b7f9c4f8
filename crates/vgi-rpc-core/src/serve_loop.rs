//! The lockstep serve loop (WIRE_PROTOCOL.md §9) over any `Read` + `Write`.
//!
//! One request at a time: read the request stream, validate and route it,
//! then answer a unary call with one response stream, or run a stream
//! method's header / input / output streams in lockstep. Every error that
//! leaves the byte stream at a message boundary is answered with an error
//! batch and the loop goes on; only a broken or unframeable stream ends it.

use std::io::{Read, Write};
use std::sync::Arc;

use arrow_array::{new_null_array, RecordBatch};
use vgi_rpc_wire::reader::Opened;
use vgi_rpc_wire::{keys, EncodedSchema, Metadata, Request, SchemaCache, StreamReader, StreamWriter, WireError};

use crate::cycle::{write_header, CycleWriter};
use crate::dispatch::{
    check_request_header, gate_version, resolve, transport_options_metadata, validate_params, TRANSPORT_OPTIONS_METHOD,
};
use crate::external::Externalizer;
use crate::hook::{CallInfo, CallOutcome, CallStats};
use crate::method::Handler;
use crate::output::conform;
use crate::quota::QuotaLease;
use crate::reply::{write_logs, Reply};
use crate::shared_memory::{pointer_metadata, ConnectionShm, SharedSegment};
use crate::stream::StreamState;
use crate::turn;
use crate::{AuthContext, CallContext, MethodDef, MethodKind, OutputCollector, Params, Protocol, RpcError, Server};

/// What a transport knows about the connection being served.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// The caller's identity for every call on this connection.
    pub auth: Arc<AuthContext>,
    /// The peer's address, when the transport has one.
    pub remote_addr: Option<String>,
    /// The transport serving the connection, when the transport says.
    pub kind: Option<crate::TransportKind>,
    /// W3C trace context the transport received beside the request (HTTP
    /// headers); request batch metadata takes precedence over it.
    pub trace: Option<crate::trace_context::TraceHeaders>,
}

/// Serve requests from `r`, answering on `w`, until the peer closes the
/// connection. Returns `Err` only when the byte stream broke in a way that
/// makes further requests unreadable (after answering with an error when
/// possible).
pub fn serve_connection<R: Read + ?Sized, W: Write + ?Sized>(
    server: &Server,
    r: &mut R,
    w: &mut W,
    conn: &ConnectionInfo,
) -> Result<(), WireError> {
    let mut session = Session { server, conn, schemas: SchemaCache::default(), shm: ConnectionShm::default() };
    loop {
        match session.serve_one(r, w) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Closed) => return Ok(()),
            Err(e) if e.is_disconnect() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

enum Flow {
    Continue,
    Closed,
}

struct Session<'a> {
    server: &'a Server,
    conn: &'a ConnectionInfo,
    /// Request schemas repeat call after call; decode each once.
    schemas: SchemaCache,
    /// The shared-memory segment the client advertised, once attached.
    shm: ConnectionShm,
}

impl Session<'_> {
    /// Answer the `__transport_options__` handshake (§15) and log it.
    fn answer_transport_options<W: Write + ?Sized>(
        &self,
        w: &mut W,
        request_id: &str,
        req: &Request,
    ) -> Result<(), WireError> {
        let server = self.server;
        let started = server.clock().monotonic();
        let mut out = StreamWriter::begin(w, EncodedSchema::empty())?;
        let empty = RecordBatch::new_empty(EncodedSchema::empty().schema().clone());
        let shm = server.shared_memory().is_some() && shm_transport(self.conn.kind);
        out.write(w, &empty, &transport_options_metadata(server.server_id(), shm))?;
        out.finish(w)?;
        w.flush()?;
        let Some(primary) = server.primary() else { return Ok(()) };
        let info = CallInfo {
            protocol: primary.name(),
            protocol_hash: primary.hash(),
            method: TRANSPORT_OPTIONS_METHOD,
            kind: None,
            request_id,
            server_id: server.server_id(),
            auth: &self.conn.auth,
            remote_addr: self.conn.remote_addr.as_deref(),
            request_schema: None,
            request_rows: req.batch.num_rows(),
            stream_id: None,
            is_init: true,
            traceparent: None,
            tracestate: None,
        };
        let outcome = CallOutcome {
            error: None,
            duration: server.clock().monotonic().saturating_sub(started),
            stats: CallStats::default(),
            cancelled: false,
            finished_at: server.clock().now(),
            session: None,
        };
        for hook in server.hooks() {
            hook.on_start(&info);
            hook.on_end(&info, &outcome);
        }
        Ok(())
    }

    fn serve_one<R: Read + ?Sized, W: Write + ?Sized>(&mut self, r: &mut R, w: &mut W) -> Result<Flow, WireError> {
        let server = self.server;
        let request_id = server.next_request_id();
        let reply = Reply { server_id: server.server_id(), request_id: &request_id, tracebacks: server.tracebacks() };
        let primary = server.primary().map(|p| p.name()).unwrap_or("");

        let mut reader = match StreamReader::open_cached(r, server.read_limits(), &mut self.schemas) {
            Ok(Opened::Eof) => return Ok(Flow::Closed),
            Ok(Opened::Stream(s)) => s,
            // A peer gone, or idle past the transport's timeout: close quietly.
            Err(e) if e.is_disconnect() || e.is_timeout() => return Ok(Flow::Closed),
            Err(e) => {
                // Best effort: the stream is unreadable, so the connection ends.
                let _ = reply.invalid_ipc(w, &e, primary);
                return Err(e);
            }
        };
        let first = match reader.next(r) {
            Ok(first) => first,
            Err(e) if e.framing_intact() => {
                reader.drain(r)?;
                reply.invalid_ipc(w, &e, primary)?;
                return Ok(Flow::Continue);
            }
            Err(e) => {
                if !e.is_disconnect() {
                    let _ = reply.invalid_ipc(w, &e, primary);
                }
                return Err(e);
            }
        };
        // Consume the rest of the request stream before anything can fail, so
        // a rejected request never leaves bytes behind for the next one.
        reader.drain(r)?;
        let Some(first) = first else {
            let err = RpcError::protocol_error("Request stream carried no request batch (schema followed by EOS).");
            reply.error_stream(w, EncodedSchema::empty(), &err, primary, "")?;
            return Ok(Flow::Continue);
        };
        // A request pointer (the upload-URL flow, or a batch in the client's
        // shared-memory segment) is resolved before anything reads the
        // batch; routing keys come from the outer batch.
        let outer = first.metadata.clone();
        let provider = if shm_transport(self.conn.kind) { server.shared_memory() } else { None };
        let resolved = self
            .shm
            .refresh(provider, self.conn.kind, &first.metadata)
            .and_then(|_| self.shm.resolve(first.batch, first.metadata))
            .and_then(|(batch, metadata)| crate::external::resolve_incoming(server, batch, metadata));
        let req = match resolved {
            Ok((batch, metadata)) => Request { batch, metadata },
            Err(err) => {
                let method = outer.get(keys::METHOD).unwrap_or("").to_owned();
                reply.error_stream(w, EncodedSchema::empty(), &err, primary, &method)?;
                // A stream call's client still sends its input stream; consume it.
                let probe =
                    Request { batch: RecordBatch::new_empty(crate::stateless::empty_schema()), metadata: outer };
                if resolve(server, &probe, &method).is_ok_and(|(_, def)| def.kind() != MethodKind::Unary) {
                    drain_input_stream(r, server)?;
                }
                return Ok(Flow::Continue);
            }
        };

        let method_name = match check_request_header(&req) {
            Ok(m) => m,
            Err(err) => {
                reply.error_stream(w, EncodedSchema::empty(), &err, primary, req.method().unwrap_or(""))?;
                return Ok(Flow::Continue);
            }
        };
        if method_name == TRANSPORT_OPTIONS_METHOD {
            self.answer_transport_options(w, &request_id, &req)?;
            return Ok(Flow::Continue);
        }
        let (protocol, def) = match resolve(server, &req, method_name) {
            Ok(found) => found,
            Err(err) => {
                reply.error_stream(w, EncodedSchema::empty(), &err, primary, method_name)?;
                return Ok(Flow::Continue);
            }
        };
        let error_schema =
            if def.kind() == MethodKind::Unary { def.result_schema().as_ref() } else { EncodedSchema::empty() };
        // Every request spends its principal's rate; a valid stream call is
        // counted against its open streams until its lease drops: just
        // before the stream's last batch is written, or on any other way out
        // (the connection lost, a handler panic unwinding).
        let quotas = server.quotas();
        let admitted = quotas
            .admit_request(self.conn)
            .map_err(RpcError::from)
            .and_then(|_| gate_version(protocol, &req))
            .and_then(|_| validate_params(def, &req.batch))
            .and_then(|_| match def.kind() {
                MethodKind::Unary => Ok(None),
                _ => quotas.acquire_stream(self.conn).map(Some).map_err(RpcError::from),
            });
        let stream_lease = match admitted {
            Ok(lease) => lease,
            Err(err) => {
                reply.error_stream(w, error_schema, &err, protocol.name(), def.name())?;
                if def.kind() != MethodKind::Unary {
                    // The client still sends its input stream; consume it.
                    drain_input_stream(r, server)?;
                }
                return Ok(Flow::Continue);
            }
        };

        let stream_id = (def.kind() != MethodKind::Unary).then(|| server.new_stream_id());
        let (traceparent, tracestate) = crate::trace_context::pick(&req.metadata, self.conn.trace.as_ref());
        let info = CallInfo {
            protocol: protocol.name(),
            protocol_hash: protocol.hash(),
            method: def.name(),
            kind: Some(def.kind()),
            request_id: &request_id,
            server_id: server.server_id(),
            auth: &self.conn.auth,
            remote_addr: self.conn.remote_addr.as_deref(),
            request_schema: Some(req.batch.schema_ref()),
            request_rows: req.batch.num_rows(),
            stream_id: stream_id.as_deref(),
            is_init: true,
            traceparent,
            tracestate,
        };
        crate::transfer::begin();
        for hook in server.hooks() {
            hook.on_start(&info);
        }
        let span = tracing::info_span!(
            "vgi_rpc.call",
            protocol = protocol.name(),
            method = def.name(),
            method_type = def.kind().method_type(),
            request_id = request_id.as_str(),
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let _entered = span.enter();
        let started = server.clock().monotonic();
        let mut stats = CallStats::default();
        stats.record_input(&req.batch);
        let ctx = CallContext::new(
            Arc::from(request_id.as_str()),
            server.server_id().clone(),
            protocol.shared_name().clone(),
            def.shared_name().clone(),
            self.conn.auth.clone(),
            req.metadata.clone(),
        )
        .with_externalization(server.externalization().cloned())
        .with_transport(self.conn.kind, self.conn.remote_addr.as_deref());
        let params = Params::new(&req.batch);
        let outcome = match def.handler() {
            Handler::Unary(f) => {
                let mut ext = Externalizer::for_call(server, def.name(), None, false);
                let result = f(&params, &ctx);
                let shm = self.shm.for_call(&outer);
                serve_unary_shm(w, &reply, protocol, def, result, &ctx, &mut stats, ext.as_mut(), shm)
            }
            Handler::Stream(f) => {
                let result = f(&params, &ctx);
                let shm = self.shm.for_call(&outer);
                serve_stream(r, w, server, &reply, protocol, def, result, &ctx, &mut stats, stream_lease, shm)
            }
        };
        let (error, cancelled, io) = match outcome {
            Ok(done) => (done.error, done.cancelled, Ok(())),
            Err(e) => (Some(RpcError::new("ConnectionError", e.to_string())), false, Err(e)),
        };
        let duration = server.clock().monotonic().saturating_sub(started);
        span.record("status", if error.is_some() { "error" } else { "ok" });
        span.record("duration_ms", duration.as_secs_f64() * 1000.0);
        let outcome = CallOutcome {
            error: error.as_ref(),
            duration,
            stats,
            cancelled,
            finished_at: server.clock().now(),
            session: None,
        };
        for hook in server.hooks() {
            hook.on_end(&info, &outcome);
        }
        io.map(|_| Flow::Continue)
    }
}

/// How a served call ended, for hooks.
pub(crate) struct Done {
    pub(crate) error: Option<RpcError>,
    pub(crate) cancelled: bool,
}

fn unary_batch(def: &MethodDef, value: Option<arrow_array::ArrayRef>) -> Result<RecordBatch, RpcError> {
    let schema = def.result_schema().schema().clone();
    if !def.has_return() {
        return Ok(RecordBatch::new_empty(schema));
    }
    let field = schema.field(0);
    let column = match value {
        Some(col) => col,
        None if field.is_nullable() => new_null_array(field.data_type(), 1),
        None => {
            return Err(RpcError::type_error(format!("{}() expected a non-None return value but got None", def.name())))
        }
    };
    if column.len() != 1 {
        return Err(RpcError::type_error(format!(
            "{}() result must be exactly one value, got {} rows",
            def.name(),
            column.len()
        )));
    }
    let column = if column.data_type() == field.data_type() {
        column
    } else {
        arrow_cast::cast(&column, field.data_type()).map_err(|e| {
            RpcError::type_error(format!("{}() result does not fit {}: {e}", def.name(), field.data_type()))
        })?
    };
    if !field.is_nullable() && arrow_array::Array::null_count(&column) > 0 {
        return Err(RpcError::type_error(format!("{}() expected a non-None return value but got None", def.name())));
    }
    RecordBatch::try_new(schema, vec![column]).map_err(RpcError::from)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn serve_unary<W: Write + ?Sized>(
    w: &mut W,
    reply: &Reply<'_>,
    protocol: &Protocol,
    def: &MethodDef,
    result: Result<Option<arrow_array::ArrayRef>, RpcError>,
    ctx: &CallContext,
    stats: &mut CallStats,
    ext: Option<&mut Externalizer<'_>>,
) -> Result<Done, WireError> {
    serve_unary_shm(w, reply, protocol, def, result, ctx, stats, ext, None)
}

/// Whether a connection of `kind` may use a client's shared-memory segment:
/// local byte streams only (never HTTP or TCP, where the peer may be remote).
fn shm_transport(kind: Option<crate::TransportKind>) -> bool {
    !matches!(kind, Some(crate::TransportKind::Http | crate::TransportKind::Tcp))
}

/// [`serve_unary`], with the result batch written into `shm` when the
/// client's segment takes it.
#[allow(clippy::too_many_arguments)]
fn serve_unary_shm<W: Write + ?Sized>(
    w: &mut W,
    reply: &Reply<'_>,
    protocol: &Protocol,
    def: &MethodDef,
    result: Result<Option<arrow_array::ArrayRef>, RpcError>,
    ctx: &CallContext,
    stats: &mut CallStats,
    ext: Option<&mut Externalizer<'_>>,
    shm: Option<&mut dyn SharedSegment>,
) -> Result<Done, WireError> {
    let schema = def.result_schema();
    let mut out = StreamWriter::begin(w, schema)?;
    let empty = RecordBatch::new_empty(schema.schema().clone());
    write_logs(w, &mut out, &empty, reply, ctx.take_logs(), true)?;
    let published = ctx.take_pointer_reply();
    let error = match result.and_then(|v| unary_batch(def, v)) {
        Ok(_) if published.is_some() => {
            let pointer = published.map(|p| p.to_metadata()).unwrap_or_default();
            out.write(w, &empty, &pointer)?;
            None
        }
        Ok(batch) if shm.is_some() => {
            stats.record_output(&batch);
            match shm
                .map(|s| if batch.num_rows() == 0 { Ok(None) } else { s.put(&batch) })
                .transpose()
                .map(Option::flatten)
            {
                Ok(Some((offset, length))) => {
                    out.write(w, &empty, &pointer_metadata(&Metadata::new(), offset, length))?;
                    None
                }
                Ok(None) => {
                    out.write(w, &batch, &Metadata::new())?;
                    None
                }
                Err(err) => {
                    out.write(w, &empty, &reply.error_metadata(&err, protocol.name(), def.name()))?;
                    Some(err)
                }
            }
        }
        Ok(batch) => {
            stats.record_output(&batch);
            let md = Metadata::new();
            match ext.map(|e| e.cycle(schema, &[(&batch, &md)], 0)).transpose().map(Option::flatten) {
                Ok(Some(pointer)) => {
                    out.write(w, &empty, &pointer)?;
                    None
                }
                Ok(None) => {
                    out.write(w, &batch, &md)?;
                    None
                }
                Err(err) => {
                    out.write(w, &empty, &reply.error_metadata(&err, protocol.name(), def.name()))?;
                    Some(err)
                }
            }
        }
        Err(err) => {
            out.write(w, &empty, &reply.error_metadata(&err, protocol.name(), def.name()))?;
            Some(err)
        }
    };
    out.finish(w)?;
    w.flush()?;
    Ok(Done { error, cancelled: false })
}

/// Read and discard one whole IPC stream (a stream's input after init failed).
fn drain_input_stream<R: Read + ?Sized>(r: &mut R, server: &Server) -> Result<(), WireError> {
    match StreamReader::open(r, server.read_limits())? {
        Opened::Eof => Ok(()),
        Opened::Stream(mut s) => s.drain(r),
    }
}

#[allow(clippy::too_many_arguments)]
fn serve_stream<R: Read + ?Sized, W: Write + ?Sized>(
    r: &mut R,
    w: &mut W,
    server: &Server,
    reply: &Reply<'_>,
    protocol: &Protocol,
    def: &MethodDef,
    result: Result<crate::StreamResult, RpcError>,
    ctx: &CallContext,
    stats: &mut CallStats,
    lease: Option<QuotaLease>,
    mut shm: Option<&mut dyn SharedSegment>,
) -> Result<Done, WireError> {
    let init = result.and_then(|stream| check_stream(def, stream));
    let (output_schema, mut state, header) = match init {
        Ok(parts) => parts,
        Err(err) => {
            // Released before the caller can see the stream end.
            drop(lease);
            reply.error_stream(w, EncodedSchema::empty(), &err, protocol.name(), def.name())?;
            drain_input_stream(r, server)?;
            return Ok(Done { error: Some(err), cancelled: false });
        }
    };
    let mut init_logs = ctx.take_logs();
    if let (Some(header_schema), Some(header)) = (def.header_schema(), header) {
        let mut hw = StreamWriter::begin(w, header_schema)?;
        let empty = RecordBatch::new_empty(header_schema.schema().clone());
        write_logs(w, &mut hw, &empty, reply, std::mem::take(&mut init_logs), true)?;
        stats.record_output(&header.batch);
        let ext = Externalizer::for_call(server, def.name(), None, false);
        write_header(w, &mut hw, (header_schema, protocol.name()), reply, ext, (&header.batch, &header.metadata))?;
        hw.finish(w)?;
        w.flush()?;
    }

    let mut input = match StreamReader::open(r, server.read_limits())? {
        Opened::Eof => return Ok(Done { error: None, cancelled: false }),
        Opened::Stream(s) => s,
    };
    let out_schema = output_schema.schema().clone();
    let empty = RecordBatch::new_empty(out_schema.clone());
    let mut out = StreamWriter::begin(w, &output_schema)?;
    write_logs(w, &mut out, &empty, reply, init_logs, true)?;
    w.flush()?;

    let producer = matches!(state, StreamState::Producer(_));
    let mut collector = OutputCollector::new(out_schema.clone(), producer);
    let mut cycles = CycleWriter {
        schema: &output_schema,
        empty: &empty,
        reply,
        ext: Externalizer::for_call(server, def.name(), None, false),
    };
    let mut error = None;
    let mut cancelled = false;
    loop {
        let next = match input.next(r) {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) if e.framing_intact() => {
                error = Some(RpcError::new("ArrowInvalid", e.to_string()));
                break;
            }
            Err(e) => return Err(e),
        };
        let resolved = crate::shared_memory::resolve(
            shm.as_mut().map(|s| &mut **s as &mut dyn SharedSegment),
            next.batch,
            next.metadata,
        )
        .and_then(|(batch, metadata)| crate::external::resolve_incoming(server, batch, metadata));
        let next = match resolved {
            Ok((batch, metadata)) => vgi_rpc_wire::ReadBatch { batch, metadata },
            Err(err) => {
                error = Some(err);
                break;
            }
        };
        let turn_ctx = ctx.for_turn(next.metadata.clone());
        if next.metadata.contains(keys::CANCEL) {
            cancelled = true;
            turn::cancel(&mut state, &turn_ctx);
            break;
        }
        if !producer {
            stats.record_input(&next.batch);
        }
        if let Err(err) = turn::run_turn(&mut state, &mut collector, next.batch, next.metadata, &turn_ctx) {
            error = Some(err);
            break;
        }
        let (logs, items) = (turn_ctx.take_logs(), collector.take_items());
        let written = cycles.write_via(
            w,
            &mut out,
            logs,
            items,
            None,
            stats,
            shm.as_mut().map(|s| &mut **s as &mut dyn SharedSegment),
        )?;
        if let Err(err) = written {
            error = Some(err);
            break;
        }
        if collector.is_finished() {
            break;
        }
        w.flush()?;
    }
    // The stream is over: free its slot before the caller can see the end,
    // so a caller that opens another right after is never refused for it.
    drop(lease);
    if let Some(err) = &error {
        out.write(w, &empty, &reply.error_metadata(err, protocol.name(), def.name()))?;
    }
    out.finish(w)?;
    w.flush()?;
    if !input.is_finished() {
        input.drain(r)?;
    }
    Ok(Done { error, cancelled })
}

pub(crate) type StreamParts = (Arc<EncodedSchema>, StreamState, Option<crate::stream::HeaderBatch>);

/// Validate what a stream handler returned against the method declaration.
pub(crate) fn check_stream(def: &MethodDef, stream: crate::StreamResult) -> Result<StreamParts, RpcError> {
    let (output, state, header) = stream.into_parts();
    match (&state, def.kind()) {
        (StreamState::Producer(_), MethodKind::Producer) | (StreamState::Exchange { .. }, MethodKind::Exchange) => {}
        _ => {
            return Err(RpcError::type_error(format!(
                "{}() returned a {} stream but is declared {}",
                def.name(),
                if matches!(state, StreamState::Producer(_)) { "producer" } else { "exchange" },
                def.kind().stream_kind()
            )))
        }
    }
    let header = match (def.header_schema(), header) {
        (Some(_), None) => {
            return Err(RpcError::type_error(format!(
                "Method '{}' declares header type but returned header=None",
                def.name()
            )))
        }
        (Some(schema), Some(h)) => {
            let batch = conform(h.batch, schema.schema())?;
            Some(crate::stream::HeaderBatch { batch, metadata: h.metadata })
        }
        (None, _) => None,
    };
    Ok((output, state, header))
}
