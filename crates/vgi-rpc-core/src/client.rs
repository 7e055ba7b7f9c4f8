//! The client side of the pipe framing: unary calls, producer and exchange
//! streams with headers, logs, cancellation, and errors with the full error
//! model. Works over any `Read` + `Write` (pipes, sockets).
//!
//! External storage both ways (WIRE_PROTOCOL.md §12): pointer batches in
//! responses are resolved through a [`PointerResolver`] when one is set, and
//! request or exchange input batches at or above a threshold are uploaded
//! through an [`ExternalStorage`] and sent as pointers when one is set.
//!
//! Shared memory (WIRE_PROTOCOL.md §11): with a segment set
//! ([`Client::offer_shared_memory`]) every request names it, large exchange
//! inputs ride in it, and the pointer batches the server answers with are
//! read out of it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use vgi_rpc_wire::log::LogMessage;
use vgi_rpc_wire::{
    classify, keys, BatchClass, EncodedSchema, Metadata, ReadBatch, ReadLimits, RemoteError, RequestHeader,
    StreamReader, StreamWriter, WireError,
};

use crate::external::{resolve_batches, ExternalStorage, InputExternalization, PointerResolver, StorageError};
use crate::shared_memory::{self, SharedSegment};
use crate::{Clock, RpcError};

/// Why a call failed on the client side.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server answered with an error batch.
    #[error("{0}")]
    Remote(Box<RemoteError>),
    /// The byte stream failed or carried malformed IPC.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The server broke the protocol (e.g. a missing result batch).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The stream session is already closed.
    #[error("the stream is closed")]
    Closed,
    /// A pointer batch in the response could not be resolved.
    #[error(transparent)]
    External(#[from] crate::external::ResolveError),
    /// An input batch could not be externalized (upload refused or failed,
    /// no upload URL to be had); nothing was sent for it.
    #[error("external upload failed: {0}")]
    Upload(#[from] StorageError),
    /// A batch could not be read from or written to the shared-memory
    /// segment (a pointer out of bounds, a full or damaged segment).
    #[error("shared memory: {0}")]
    SharedMemory(Box<RpcError>),
}

impl CallError {
    /// The remote error, when the server sent one.
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            CallError::Remote(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// Whether the connection may be out of step after this error (part of
    /// a message unread or unwritten): the bytes failed or the server broke
    /// the protocol. Remote errors, refused uploads, unresolvable pointers
    /// and closed sessions leave it in step.
    fn breaks_connection(&self) -> bool {
        matches!(self, CallError::Wire(_) | CallError::Protocol(_))
    }
}

impl From<std::io::Error> for CallError {
    fn from(e: std::io::Error) -> Self {
        CallError::Wire(WireError::Io(e))
    }
}

/// A unary call's answer.
#[derive(Debug, Clone)]
pub struct UnaryResponse {
    /// The result batch (one row on `result`, or zero rows for void).
    pub batch: RecordBatch,
    /// The result batch's metadata.
    pub metadata: Metadata,
    /// Log messages the server sent before the result.
    pub logs: Vec<LogMessage>,
}

impl UnaryResponse {
    /// The `result` column, absent for void methods.
    pub fn value(&self) -> Option<&ArrayRef> {
        self.batch.column_by_name("result")
    }
}

/// Per-call options.
#[derive(Debug, Clone, Default)]
pub struct StreamOptions {
    /// The method declares a header (the client reads a header stream first).
    pub has_header: bool,
    /// Extra metadata on the request batch.
    pub extra_metadata: Metadata,
}

/// A client over one connection. Calls are sequential (lockstep).
pub struct Client<R: Read, W: Write> {
    r: R,
    w: W,
    limits: ReadLimits,
    versions: HashMap<String, String>,
    next_request: u64,
    /// Resolves external pointer batches in responses; without one they
    /// are returned as the zero-row batches they are.
    resolver: Option<Resolving>,
    /// Uploads large request and exchange input batches; without it every
    /// input travels inline.
    inputs: Option<InputExternalization>,
    /// The shared-memory segment requests name, with its size.
    shm: Option<ClientShm>,
    /// Set once an error may have left the connection out of step.
    broken: bool,
}

/// A client's segment and the size it advertises.
struct ClientShm {
    segment: Box<dyn SharedSegment>,
    size: u64,
}

/// A resolver and the clock its fetches are timed on.
type Resolving = (Arc<dyn PointerResolver>, Arc<dyn Clock>);

/// One response batch after pointer resolution: a shared-memory pointer is
/// read out of the segment; an external one is fetched, the logs its
/// payload carried coming first, then the batch itself.
fn resolve_batch(
    shm: Option<&mut ClientShm>,
    resolver: Option<&Resolving>,
    limits: ReadLimits,
    b: ReadBatch,
) -> Result<Vec<ReadBatch>, CallError> {
    let b = match shm {
        Some(shm) if shared_memory::is_pointer(&b.batch, &b.metadata) => {
            let (batch, metadata) = shared_memory::resolve(Some(shm.segment.as_mut()), b.batch, b.metadata)
                .map_err(|e| CallError::SharedMemory(Box::new(e)))?;
            return Ok(vec![ReadBatch { batch, metadata }]);
        }
        _ => b,
    };
    let Some((resolver, clock)) = resolver else { return Ok(vec![b]) };
    Ok(resolve_batches(resolver.as_ref(), clock.as_ref(), limits, vec![b])?)
}

impl<R: Read, W: Write> Client<R, W> {
    /// A client reading responses from `r` and writing requests to `w`.
    pub fn new(r: R, w: W) -> Self {
        Self {
            r,
            w,
            limits: ReadLimits::default(),
            versions: HashMap::new(),
            next_request: 0,
            resolver: None,
            inputs: None,
            shm: None,
            broken: false,
        }
    }

    /// Offer `segment` (of `size` bytes) as this connection's shared-memory
    /// side channel. The server is asked first (`__transport_options__`
    /// with `vgi_rpc.transport.shm = "true"`, as §11 requires); only when
    /// it confirms is the segment used: every request then names it, the
    /// server answers large batches through it, and exchange inputs that
    /// fit go through it too. Returns whether it is in use; a server that
    /// says `"false"` or does not know the method leaves the connection on
    /// the plain pipe (and the segment is dropped).
    pub fn offer_shared_memory(&mut self, segment: Box<dyn SharedSegment>, size: u64) -> Result<bool, CallError> {
        let accepted = match self.transport_options_offering(true) {
            Ok(md) => md.get(keys::TRANSPORT_SHM) == Some("true"),
            Err(CallError::Remote(_)) => false,
            Err(e) => return Err(e),
        };
        if accepted {
            self.shm = Some(ClientShm { segment, size });
        }
        Ok(accepted)
    }

    /// Stop naming a segment; returns it (dropping it releases it).
    pub fn take_shared_memory(&mut self) -> Option<Box<dyn SharedSegment>> {
        self.shm.take().map(|s| s.segment)
    }

    /// Whether the connection is still in step: false once an I/O error,
    /// malformed IPC or a protocol violation may have left part of a
    /// message behind. A pool returns only in-step connections.
    pub fn is_in_step(&self) -> bool {
        !self.broken
    }

    /// Free the segment regions of dropped zero-copy results: called as
    /// this side's turn begins, before it writes.
    fn reclaim_shared_memory(&mut self) -> Result<(), CallError> {
        match self.shm.as_mut() {
            Some(shm) => shm.segment.reclaim().map_err(|e| CallError::SharedMemory(Box::new(e))),
            None => Ok(()),
        }
    }

    /// Note `result`'s error, if it may have broken the connection.
    fn track<T>(&mut self, result: Result<T, CallError>) -> Result<T, CallError> {
        if let Err(e) = &result {
            self.broken |= e.breaks_connection();
        }
        result
    }

    /// Resolve external pointer batches in responses through `resolver`
    /// (fetch time measured on `clock`), delivering the logs their payloads
    /// carry and the payload's data batch in the pointer's place.
    pub fn set_pointer_resolver(&mut self, resolver: Arc<dyn PointerResolver>, clock: Arc<dyn Clock>) {
        self.resolver = Some((resolver, clock));
    }

    /// Externalize large inputs: a request batch (the call's parameters) or
    /// an exchange input batch with rows whose buffers total at least
    /// `threshold_bytes` is uploaded to `storage` as an IPC stream and sent
    /// as a pointer batch carrying its SHA-256; the server must resolve
    /// request pointers (its externalization has a resolver). An upload
    /// failure fails the call with [`CallError::Upload`] before anything is
    /// written for it.
    pub fn set_input_externalization(&mut self, storage: Arc<dyn ExternalStorage>, threshold_bytes: u64) {
        self.inputs = Some(InputExternalization::new(storage, threshold_bytes));
    }

    /// Send every input inline again.
    pub fn clear_input_externalization(&mut self) {
        self.inputs = None;
    }

    /// Send `version` as `vgi_rpc.protocol_version` on every request to `protocol`.
    pub fn set_protocol_version(&mut self, protocol: impl Into<String>, version: impl Into<String>) {
        self.versions.insert(protocol.into(), version.into());
    }

    /// Caps for responses.
    pub fn set_read_limits(&mut self, limits: ReadLimits) {
        self.limits = limits;
    }

    /// The request writer (for sending hand-built requests).
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.w
    }

    /// The response reader.
    pub fn reader_mut(&mut self) -> &mut R {
        &mut self.r
    }

    /// The underlying reader and writer.
    pub fn into_parts(self) -> (R, W) {
        (self.r, self.w)
    }

    fn header(&mut self, protocol: &str, method: &str) -> RequestHeader {
        self.next_request += 1;
        RequestHeader {
            protocol: protocol.to_owned(),
            method: method.to_owned(),
            protocol_version: self.versions.get(protocol).cloned(),
            request_id: None,
        }
    }

    /// Write a raw request stream (for tests of malformed requests too).
    pub fn send_request(&mut self, params: &RecordBatch, metadata: &Metadata) -> Result<(), CallError> {
        let sent = self.write_request_stream(params, metadata);
        self.track(sent)
    }

    fn write_request_stream(&mut self, params: &RecordBatch, metadata: &Metadata) -> Result<(), CallError> {
        self.reclaim_shared_memory()?;
        let schema = EncodedSchema::new(params.schema());
        let mut out = StreamWriter::begin(&mut self.w, &schema)?;
        out.write(&mut self.w, params, metadata)?;
        out.finish(&mut self.w)?;
        self.w.flush()?;
        Ok(())
    }

    fn write_request(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        extra: &Metadata,
    ) -> Result<(), CallError> {
        let mut md = self.header(protocol, method).to_metadata(extra);
        crate::trace_context::inject(&mut md);
        if let Some(shm) = &self.shm {
            md.insert(keys::SHM_SEGMENT_NAME, shm.segment.name());
            md.insert(keys::SHM_SEGMENT_SIZE, shm.size.to_string());
        }
        match self.inputs.as_ref().filter(|p| p.wants(params)) {
            // The routing keys stay on the pointer; the payload carries them too.
            Some(policy) => {
                let (pointer, pointer_md) = policy.externalize(params, &md, &md)?;
                self.write_request_stream(&pointer, &pointer_md)
            }
            None => self.write_request_stream(params, &md),
        }
    }

    /// Read one complete response stream: logs, then one data batch, then EOS.
    pub fn read_unary_response(&mut self) -> Result<UnaryResponse, CallError> {
        let response = self.read_unary_stream();
        self.track(response)
    }

    fn read_unary_stream(&mut self) -> Result<UnaryResponse, CallError> {
        let mut reader = StreamReader::open_required(&mut self.r, self.limits)?;
        let mut logs = Vec::new();
        let mut result: Option<(RecordBatch, Metadata)> = None;
        let mut error = None;
        while let Some(b) = reader.next(&mut self.r)? {
            let batches = match resolve_batch(self.shm.as_mut(), self.resolver.as_ref(), self.limits, b) {
                Ok(batches) => batches,
                Err(e) => {
                    reader.drain(&mut self.r)?;
                    return Err(e);
                }
            };
            for b in batches {
                match classify(b.batch.num_rows(), &b.metadata) {
                    BatchClass::Log => logs.extend(LogMessage::from_metadata(&b.metadata)),
                    BatchClass::Error => error = Some(RemoteError::from_metadata(&b.metadata)),
                    _ if result.is_none() => result = Some((b.batch, b.metadata)),
                    _ => {}
                }
            }
        }
        if let Some(e) = error {
            return Err(CallError::Remote(Box::new(e)));
        }
        let (batch, metadata) =
            result.ok_or_else(|| CallError::Protocol("response stream had no result batch".into()))?;
        Ok(UnaryResponse { batch, metadata, logs })
    }

    /// Call a unary method with `params` (one row; zero columns for no parameters).
    pub fn call(&mut self, protocol: &str, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError> {
        self.call_with(protocol, method, params, &Metadata::new())
    }

    /// Call a unary method with extra request metadata.
    pub fn call_with(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        extra: &Metadata,
    ) -> Result<UnaryResponse, CallError> {
        let response = self.write_request(protocol, method, params, extra).and_then(|()| self.read_unary_stream());
        self.track(response)
    }

    /// Ask the server for its transport capabilities (§15).
    pub fn transport_options(&mut self) -> Result<Metadata, CallError> {
        self.transport_options_offering(false)
    }

    /// `__transport_options__`, telling the server whether this client can
    /// use shared memory.
    fn transport_options_offering(&mut self, shm: bool) -> Result<Metadata, CallError> {
        let md = Metadata::new()
            .with(keys::METHOD, crate::dispatch::TRANSPORT_OPTIONS_METHOD)
            .with(keys::REQUEST_VERSION, vgi_rpc_wire::REQUEST_VERSION)
            .with(keys::TRANSPORT_SHM, if shm { "true" } else { "false" });
        self.send_request(&no_params(), &md)?;
        Ok(self.read_unary_response()?.metadata)
    }

    fn open_stream(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<StreamCore, CallError> {
        self.write_request(protocol, method, params, &options.extra_metadata)?;
        let mut core = StreamCore::default();
        if options.has_header {
            let mut reader = StreamReader::open_required(&mut self.r, self.limits)?;
            let mut header = None;
            let mut error = None;
            let mut failed = None;
            while let Some(b) = reader.next(&mut self.r)? {
                let batches = match resolve_batch(self.shm.as_mut(), self.resolver.as_ref(), self.limits, b) {
                    Ok(batches) => batches,
                    Err(e) => {
                        failed.get_or_insert(e);
                        continue;
                    }
                };
                for b in batches {
                    match classify(b.batch.num_rows(), &b.metadata) {
                        BatchClass::Log => core.logs.extend(LogMessage::from_metadata(&b.metadata)),
                        BatchClass::Error => error = Some(RemoteError::from_metadata(&b.metadata)),
                        _ if header.is_none() => header = Some((b.batch, b.metadata)),
                        _ => {}
                    }
                }
            }
            if let Some(e) = error {
                return Err(self.abandon(CallError::Remote(Box::new(e))));
            }
            if let Some(e) = failed {
                return Err(self.abandon(e));
            }
            core.header = header;
        }
        Ok(core)
    }

    /// After an init error, send an empty input stream so the server (which
    /// drains it) and this client stay in step.
    fn abandon(&mut self, err: CallError) -> CallError {
        let sent = StreamWriter::begin(&mut self.w, EncodedSchema::empty())
            .and_then(|s| s.finish(&mut self.w))
            .and_then(|_| self.w.flush().map_err(WireError::from));
        match sent {
            Ok(()) => err,
            Err(e) => CallError::Wire(e),
        }
    }

    /// Start a producer stream.
    pub fn producer(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<ProducerSession<'_, R, W>, CallError> {
        let opened = self.open_stream(protocol, method, params, options);
        let core = self.track(opened)?;
        Ok(ProducerSession { client: self, core, tick_schema: Arc::new(Schema::empty()) })
    }

    /// Start an exchange stream.
    pub fn exchange(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<ExchangeSession<'_, R, W>, CallError> {
        let opened = self.open_stream(protocol, method, params, options);
        let core = self.track(opened)?;
        Ok(ExchangeSession { client: self, core })
    }
}

/// A zero-column, one-row parameter batch.
pub fn no_params() -> RecordBatch {
    RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .expect("an empty batch with a row count is valid")
}

#[derive(Default)]
struct StreamCore {
    header: Option<(RecordBatch, Metadata)>,
    logs: Vec<LogMessage>,
    input: Option<StreamWriter>,
    output: Option<StreamReader>,
    done: bool,
}

impl StreamCore {
    fn send<R: Read, W: Write>(
        &mut self,
        client: &mut Client<R, W>,
        batch: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<(), CallError> {
        client.reclaim_shared_memory()?;
        let external = match client.inputs.as_ref().filter(|p| p.wants(batch)) {
            Some(policy) => Some(policy.externalize(batch, metadata, &Metadata::new())?),
            None => None,
        };
        let shared = match (&external, client.shm.as_mut()) {
            (None, Some(shm)) if batch.num_rows() > 0 => {
                shm.segment.put(batch).map_err(|e| CallError::SharedMemory(Box::new(e)))?.map(|(offset, length)| {
                    (RecordBatch::new_empty(batch.schema()), shared_memory::pointer_metadata(metadata, offset, length))
                })
            }
            _ => None,
        };
        let (batch, metadata) = match external.as_ref().or(shared.as_ref()) {
            Some((pointer, pointer_md)) => (pointer, pointer_md),
            None => (batch, metadata),
        };
        if self.input.is_none() {
            let schema = EncodedSchema::new(batch.schema());
            self.input = Some(StreamWriter::begin(&mut client.w, &schema)?);
        }
        let input = self.input.as_mut().ok_or(CallError::Closed)?;
        input.write(&mut client.w, batch, metadata)?;
        client.w.flush()?;
        Ok(())
    }

    /// Read output until a data batch (returned) or EOS (`None`).
    fn receive<R: Read, W: Write>(
        &mut self,
        client: &mut Client<R, W>,
    ) -> Result<Option<(RecordBatch, Metadata)>, CallError> {
        if self.output.is_none() {
            self.output = Some(StreamReader::open_required(&mut client.r, client.limits)?);
        }
        let output = self.output.as_mut().ok_or(CallError::Closed)?;
        loop {
            let Some(b) = output.next(&mut client.r)? else {
                return Ok(None);
            };
            let batches = match resolve_batch(client.shm.as_mut(), client.resolver.as_ref(), client.limits, b) {
                Ok(batches) => batches,
                Err(e) => {
                    // The server is waiting for our next input (a producer's
                    // tick or an exchange's batch) and only ends its output
                    // once the input ends: end it first, then drain, so the
                    // connection stays in step instead of hanging.
                    self.finish_input(client)?;
                    if let Some(output) = self.output.as_mut() {
                        output.drain(&mut client.r)?;
                    }
                    return Err(e);
                }
            };
            let mut data = None;
            for b in batches {
                match classify(b.batch.num_rows(), &b.metadata) {
                    BatchClass::Log => self.logs.extend(LogMessage::from_metadata(&b.metadata)),
                    BatchClass::Error => {
                        let err = RemoteError::from_metadata(&b.metadata);
                        output.drain(&mut client.r)?;
                        return Err(CallError::Remote(Box::new(err)));
                    }
                    _ => data = Some((b.batch, b.metadata)),
                }
            }
            if let Some(data) = data {
                return Ok(Some(data));
            }
        }
    }

    /// End the input stream and read the output to its end.
    fn close<R: Read, W: Write>(
        &mut self,
        client: &mut Client<R, W>,
        input_schema: &SchemaRef,
    ) -> Result<(), CallError> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let input = match self.input.take() {
            Some(i) => i,
            None => StreamWriter::begin(&mut client.w, &EncodedSchema::new(input_schema.clone()))?,
        };
        input.finish(&mut client.w)?;
        client.w.flush()?;
        let mut first_error = None;
        loop {
            match self.receive(client) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(CallError::Remote(e)) => {
                    first_error.get_or_insert(CallError::Remote(e));
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// After the output ended (EOS or error), finish the input stream.
    fn finish_input<R: Read, W: Write>(&mut self, client: &mut Client<R, W>) -> Result<(), CallError> {
        self.done = true;
        if let Some(input) = self.input.take() {
            input.finish(&mut client.w)?;
            client.w.flush()?;
        }
        Ok(())
    }

    fn cancel<R: Read, W: Write>(&mut self, client: &mut Client<R, W>, schema: &SchemaRef) -> Result<(), CallError> {
        if self.done {
            return Ok(());
        }
        let cancel = RecordBatch::new_empty(schema.clone());
        let md = Metadata::new().with(keys::CANCEL, "1");
        let result = self.send(client, &cancel, &md).and_then(|_| self.close(client, schema));
        self.done = true;
        // Cancellation is best-effort: the session is abandoned either way,
        // but a connection it left out of step is noted.
        if let Err(e) = result {
            client.broken |= e.breaks_connection();
        }
        Ok(())
    }
}

/// A running producer stream.
pub struct ProducerSession<'c, R: Read, W: Write> {
    client: &'c mut Client<R, W>,
    core: StreamCore,
    tick_schema: SchemaRef,
}

impl<R: Read, W: Write> ProducerSession<'_, R, W> {
    /// The header batch, for methods that declare one.
    pub fn header(&self) -> Option<&(RecordBatch, Metadata)> {
        self.core.header.as_ref()
    }

    /// Logs received so far (header, init and every turn).
    pub fn logs(&self) -> &[LogMessage] {
        &self.core.logs
    }

    /// Send a tick and read the next batch; `None` when the producer finished.
    pub fn next_batch(&mut self) -> Result<Option<(RecordBatch, Metadata)>, CallError> {
        self.next_batch_with(&Metadata::new())
    }

    /// Like [`ProducerSession::next_batch`], with metadata on the tick.
    pub fn next_batch_with(&mut self, tick_metadata: &Metadata) -> Result<Option<(RecordBatch, Metadata)>, CallError> {
        let next = self.tick(tick_metadata);
        self.client.track(next)
    }

    fn tick(&mut self, tick_metadata: &Metadata) -> Result<Option<(RecordBatch, Metadata)>, CallError> {
        if self.core.done {
            return Err(CallError::Closed);
        }
        let tick = RecordBatch::new_empty(self.tick_schema.clone());
        self.core.send(self.client, &tick, tick_metadata)?;
        match self.core.receive(self.client) {
            Ok(Some(b)) => Ok(Some(b)),
            Ok(None) => {
                self.core.finish_input(self.client)?;
                Ok(None)
            }
            Err(e) => {
                let _ = self.core.finish_input(self.client);
                Err(e)
            }
        }
    }

    /// Read every remaining batch.
    pub fn collect_all(&mut self) -> Result<Vec<(RecordBatch, Metadata)>, CallError> {
        let mut out = Vec::new();
        while let Some(b) = self.next_batch()? {
            out.push(b);
        }
        Ok(out)
    }

    /// Cancel the stream (best effort).
    pub fn cancel(mut self) -> Result<(), CallError> {
        let schema = self.tick_schema.clone();
        self.core.cancel(self.client, &schema)
    }

    /// Stop early: close the input stream and drain the output.
    pub fn close(mut self) -> Result<(), CallError> {
        let schema = self.tick_schema.clone();
        let closed = self.core.close(self.client, &schema);
        self.client.track(closed)
    }
}

impl<R: Read, W: Write> Drop for ProducerSession<'_, R, W> {
    fn drop(&mut self) {
        if !self.core.done {
            let schema = self.tick_schema.clone();
            let closed = self.core.close(self.client, &schema);
            let _ = self.client.track(closed);
        }
    }
}

/// A running exchange stream.
pub struct ExchangeSession<'c, R: Read, W: Write> {
    client: &'c mut Client<R, W>,
    core: StreamCore,
}

impl<R: Read, W: Write> ExchangeSession<'_, R, W> {
    /// The header batch, for methods that declare one.
    pub fn header(&self) -> Option<&(RecordBatch, Metadata)> {
        self.core.header.as_ref()
    }

    /// Logs received so far.
    pub fn logs(&self) -> &[LogMessage] {
        &self.core.logs
    }

    /// Send one input batch and read its output batch.
    pub fn exchange(&mut self, input: &RecordBatch) -> Result<(RecordBatch, Metadata), CallError> {
        self.exchange_with(input, &Metadata::new())
    }

    /// Send one input batch with metadata and read its output batch.
    pub fn exchange_with(
        &mut self,
        input: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<(RecordBatch, Metadata), CallError> {
        let answer = self.round_trip(input, metadata);
        self.client.track(answer)
    }

    fn round_trip(&mut self, input: &RecordBatch, metadata: &Metadata) -> Result<(RecordBatch, Metadata), CallError> {
        if self.core.done {
            return Err(CallError::Closed);
        }
        self.core.send(self.client, input, metadata)?;
        match self.core.receive(self.client) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => {
                self.core.finish_input(self.client)?;
                Err(CallError::Protocol("exchange output ended before answering an input".into()))
            }
            Err(e) => {
                let _ = self.core.finish_input(self.client);
                Err(e)
            }
        }
    }

    /// End the stream.
    pub fn close(mut self, input_schema: &SchemaRef) -> Result<(), CallError> {
        let closed = self.core.close(self.client, input_schema);
        self.client.track(closed)
    }

    /// Cancel the stream (best effort).
    pub fn cancel(mut self, input_schema: &SchemaRef) -> Result<(), CallError> {
        self.core.cancel(self.client, input_schema)
    }
}

impl<R: Read, W: Write> Drop for ExchangeSession<'_, R, W> {
    fn drop(&mut self) {
        if !self.core.done {
            let schema = Arc::new(Schema::empty());
            let closed = self.core.close(self.client, &schema);
            let _ = self.client.track(closed);
        }
    }
}
