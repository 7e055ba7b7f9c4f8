//! One client abstraction over every transport: [`RpcClient`] (unary
//! calls, producer and exchange sessions of one shape), implemented here
//! for the byte-stream [`Client`] (pipe, subprocess, Unix, TCP) and by the
//! HTTP crate for its client; and the typed calls generated clients make
//! on top of it.

use std::io::{Read, Write};
use std::marker::PhantomData;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use vgi_rpc_wire::log::LogMessage;
use vgi_rpc_wire::Metadata;

use super::{MethodParams, Row, UnaryReturn};
use crate::client::{CallError, Client, ExchangeSession, ProducerSession, StreamOptions, UnaryResponse};
use crate::RpcError;

/// A running producer stream, whatever the transport.
pub trait ProducerStream {
    /// The header batch, for methods that declare one.
    fn header(&self) -> Option<&(RecordBatch, Metadata)>;
    /// Logs received so far.
    fn logs(&self) -> &[LogMessage];
    /// Tick (with metadata) and read the next batch; `None` once finished.
    fn next_batch_with(&mut self, tick_metadata: &Metadata) -> Result<Option<(RecordBatch, Metadata)>, CallError>;
    /// Stop early.
    fn close(self: Box<Self>) -> Result<(), CallError>;
    /// Cancel (best effort).
    fn cancel(self: Box<Self>) -> Result<(), CallError>;
}

/// A running exchange stream, whatever the transport.
pub trait ExchangeStream {
    /// The header batch, for methods that declare one.
    fn header(&self) -> Option<&(RecordBatch, Metadata)>;
    /// Logs received so far.
    fn logs(&self) -> &[LogMessage];
    /// Send one input batch and read its output batch.
    fn exchange_with(&mut self, input: &RecordBatch, metadata: &Metadata)
        -> Result<(RecordBatch, Metadata), CallError>;
    /// End the stream (`input_schema` is the schema of an input stream never started).
    fn close(self: Box<Self>, input_schema: &SchemaRef) -> Result<(), CallError>;
    /// Cancel (best effort).
    fn cancel(self: Box<Self>, input_schema: &SchemaRef) -> Result<(), CallError>;
}

/// What every client does, over any transport: the one interface fixtures,
/// benches and generated typed clients are written against.
///
/// ```
/// use vgi_rpc_core::typed::RpcClient;
/// use vgi_rpc_core::client::no_params;
///
/// fn ping(client: &mut dyn RpcClient) -> bool {
///     client.unary("demo.v1", "ping", &no_params(), &Default::default()).is_ok()
/// }
/// // A byte-stream client over in-memory buffers (no server: the call fails).
/// let mut client = vgi_rpc_core::Client::new(std::io::empty(), std::io::sink());
/// assert!(!ping(&mut client));
/// ```
pub trait RpcClient {
    /// Call a unary method with extra request metadata.
    fn unary(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        extra_metadata: &Metadata,
    ) -> Result<UnaryResponse, CallError>;

    /// Start a producer stream.
    fn open_producer<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ProducerStream + 'a>, CallError>;

    /// Start an exchange stream.
    fn open_exchange<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ExchangeStream + 'a>, CallError>;

    /// Send `version` as the protocol version on every request to `protocol`.
    fn set_protocol_version(&mut self, protocol: &str, version: &str);
}

impl<C: RpcClient + ?Sized> RpcClient for &mut C {
    fn unary(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        extra: &Metadata,
    ) -> Result<UnaryResponse, CallError> {
        (**self).unary(protocol, method, params, extra)
    }
    fn open_producer<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ProducerStream + 'a>, CallError> {
        (**self).open_producer(protocol, method, params, options)
    }
    fn open_exchange<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ExchangeStream + 'a>, CallError> {
        (**self).open_exchange(protocol, method, params, options)
    }
    fn set_protocol_version(&mut self, protocol: &str, version: &str) {
        (**self).set_protocol_version(protocol, version);
    }
}

impl<C: RpcClient + ?Sized> RpcClient for Box<C> {
    fn unary(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        extra: &Metadata,
    ) -> Result<UnaryResponse, CallError> {
        (**self).unary(protocol, method, params, extra)
    }
    fn open_producer<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ProducerStream + 'a>, CallError> {
        (**self).open_producer(protocol, method, params, options)
    }
    fn open_exchange<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ExchangeStream + 'a>, CallError> {
        (**self).open_exchange(protocol, method, params, options)
    }
    fn set_protocol_version(&mut self, protocol: &str, version: &str) {
        (**self).set_protocol_version(protocol, version);
    }
}

impl<R: Read, W: Write> RpcClient for Client<R, W> {
    fn unary(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        extra: &Metadata,
    ) -> Result<UnaryResponse, CallError> {
        self.call_with(protocol, method, params, extra)
    }
    fn open_producer<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ProducerStream + 'a>, CallError> {
        Ok(Box::new(self.producer(protocol, method, params, options)?))
    }
    fn open_exchange<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ExchangeStream + 'a>, CallError> {
        Ok(Box::new(self.exchange(protocol, method, params, options)?))
    }
    fn set_protocol_version(&mut self, protocol: &str, version: &str) {
        Client::set_protocol_version(self, protocol, version);
    }
}

impl<R: Read, W: Write> ProducerStream for ProducerSession<'_, R, W> {
    fn header(&self) -> Option<&(RecordBatch, Metadata)> {
        ProducerSession::header(self)
    }
    fn logs(&self) -> &[LogMessage] {
        ProducerSession::logs(self)
    }
    fn next_batch_with(&mut self, tick_metadata: &Metadata) -> Result<Option<(RecordBatch, Metadata)>, CallError> {
        ProducerSession::next_batch_with(self, tick_metadata)
    }
    fn close(self: Box<Self>) -> Result<(), CallError> {
        ProducerSession::close(*self)
    }
    fn cancel(self: Box<Self>) -> Result<(), CallError> {
        ProducerSession::cancel(*self)
    }
}

impl<R: Read, W: Write> ExchangeStream for ExchangeSession<'_, R, W> {
    fn header(&self) -> Option<&(RecordBatch, Metadata)> {
        ExchangeSession::header(self)
    }
    fn logs(&self) -> &[LogMessage] {
        ExchangeSession::logs(self)
    }
    fn exchange_with(
        &mut self,
        input: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<(RecordBatch, Metadata), CallError> {
        ExchangeSession::exchange_with(self, input, metadata)
    }
    fn close(self: Box<Self>, input_schema: &SchemaRef) -> Result<(), CallError> {
        ExchangeSession::close(*self, input_schema)
    }
    fn cancel(self: Box<Self>, input_schema: &SchemaRef) -> Result<(), CallError> {
        ExchangeSession::cancel(*self, input_schema)
    }
}

/// A response that did not decode as the declared Rust type.
pub(crate) fn decode_error(what: &str, e: RpcError) -> CallError {
    CallError::Protocol(format!("cannot decode the {what}: {}", e.message))
}

fn encode_params<P: MethodParams>(params: P) -> Result<RecordBatch, CallError> {
    params.into_batch().map_err(|e| CallError::Protocol(format!("cannot encode the parameters: {}", e.message)))
}

/// Call a unary method with typed parameters and result.
///
/// ```
/// use std::io::{BufReader, BufWriter};
/// use vgi_rpc_core::typed::{call_unary, open_producer, Producer, Rows, Value};
/// use vgi_rpc_core::{serve_connection, CallContext, Client, ConnectionInfo, MethodDef, Protocol, RpcError, Server};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Ticks { left: u8 }
/// impl Producer for Ticks {
///     type Row = Value<u8>;
///     fn produce(&mut self, out: &mut Rows<'_, Value<u8>>, _: &CallContext) -> Result<(), RpcError> {
///         if self.left == 0 { return out.finish(); }
///         self.left -= 1;
///         out.emit(vec![Value(self.left)])
///     }
/// }
///
/// let protocol = Protocol::new("demo.v1")
///     .method(MethodDef::builder("answer").typed_unary(|(): (), _: &CallContext| Ok(42u32)))
///     .method(MethodDef::builder("ticks").typed_producer(|(): (), _: &CallContext| Ok(Ticks { left: 2 })));
/// let server = Server::builder().protocol(protocol).build().unwrap();
/// let (server_in, client_out) = std::io::pipe().unwrap();
/// let (client_in, server_out) = std::io::pipe().unwrap();
/// std::thread::spawn(move || {
///     serve_connection(&server, &mut BufReader::new(server_in), &mut BufWriter::new(server_out), &ConnectionInfo::default())
/// });
/// let mut client = Client::new(BufReader::new(client_in), BufWriter::new(client_out));
///
/// let answer: u32 = call_unary(&mut client, "demo.v1", "answer", ()).unwrap();
/// assert_eq!(answer, 42);
/// let mut ticks = open_producer::<_, _, Value<u8>>(&mut client, "demo.v1", "ticks", ()).unwrap();
/// assert_eq!(ticks.collect_rows().unwrap(), vec![Value(1), Value(0)]);
/// ```
pub fn call_unary<C, P, R>(client: &mut C, protocol: &str, method: &str, params: P) -> Result<R, CallError>
where
    C: RpcClient + ?Sized,
    P: MethodParams,
    R: UnaryReturn,
{
    let response = client.unary(protocol, method, &encode_params(params)?, &Metadata::new())?;
    R::from_response(&response)
}

/// Start a producer whose batches decode as rows of `R`.
pub fn open_producer<'c, C, P, R>(
    client: &'c mut C,
    protocol: &str,
    method: &str,
    params: P,
) -> Result<TypedProducer<'c, R>, CallError>
where
    C: RpcClient + ?Sized,
    P: MethodParams,
    R: Row,
{
    open_producer_as(client, protocol, method, params, &StreamOptions::default())
}

/// Start a producer that answers with a header batch before its rows (a
/// method built with `typed_producer_with_header`); the header is read with
/// [`TypedProducer::header_rows`].
pub fn open_producer_with_header<'c, C, P, R>(
    client: &'c mut C,
    protocol: &str,
    method: &str,
    params: P,
) -> Result<TypedProducer<'c, R>, CallError>
where
    C: RpcClient + ?Sized,
    P: MethodParams,
    R: Row,
{
    let options = StreamOptions { has_header: true, ..StreamOptions::default() };
    open_producer_as(client, protocol, method, params, &options)
}

fn open_producer_as<'c, C, P, R>(
    client: &'c mut C,
    protocol: &str,
    method: &str,
    params: P,
    options: &StreamOptions,
) -> Result<TypedProducer<'c, R>, CallError>
where
    C: RpcClient + ?Sized,
    P: MethodParams,
    R: Row,
{
    let inner = client.open_producer(protocol, method, &encode_params(params)?, options)?;
    Ok(TypedProducer { inner: Some(inner), _row: PhantomData })
}

/// Start an exchange sending rows of `I` and receiving rows of `O`.
pub fn open_exchange<'c, C, P, I, O>(
    client: &'c mut C,
    protocol: &str,
    method: &str,
    params: P,
) -> Result<TypedExchange<'c, I, O>, CallError>
where
    C: RpcClient + ?Sized,
    P: MethodParams,
    I: Row,
    O: Row,
{
    let inner = client.open_exchange(protocol, method, &encode_params(params)?, &StreamOptions::default())?;
    Ok(TypedExchange { inner: Some(inner), _rows: PhantomData })
}

/// A producer stream yielding typed rows.
pub struct TypedProducer<'c, R> {
    inner: Option<Box<dyn ProducerStream + 'c>>,
    _row: PhantomData<fn() -> R>,
}

impl<R: Row> TypedProducer<'_, R> {
    /// The next batch of rows; `None` once the producer finished.
    pub fn next_rows(&mut self) -> Result<Option<Vec<R>>, CallError> {
        self.next_rows_with(&Metadata::new())
    }

    /// Like [`TypedProducer::next_rows`], with metadata on the tick.
    pub fn next_rows_with(&mut self, tick_metadata: &Metadata) -> Result<Option<Vec<R>>, CallError> {
        let inner = self.inner.as_mut().ok_or(CallError::Closed)?;
        match inner.next_batch_with(tick_metadata)? {
            Some((batch, _)) => R::from_batch(&batch).map(Some).map_err(|e| decode_error("stream batch", e)),
            None => Ok(None),
        }
    }

    /// The stream's header batch as rows of `H`; `None` when the method
    /// sends no header.
    pub fn header_rows<H: Row>(&self) -> Result<Option<Vec<H>>, CallError> {
        let Some((batch, _)) = self.inner.as_ref().and_then(|i| i.header()) else { return Ok(None) };
        H::from_batch(batch).map(Some).map_err(|e| decode_error("stream header", e))
    }

    /// Every remaining row.
    pub fn collect_rows(&mut self) -> Result<Vec<R>, CallError> {
        let mut out = Vec::new();
        while let Some(rows) = self.next_rows()? {
            out.extend(rows);
        }
        Ok(out)
    }

    /// Logs received so far.
    pub fn logs(&self) -> &[LogMessage] {
        self.inner.as_ref().map_or(&[], |i| i.logs())
    }

    /// Stop early.
    pub fn close(mut self) -> Result<(), CallError> {
        self.inner.take().map_or(Ok(()), |i| i.close())
    }

    /// Cancel (best effort).
    pub fn cancel(mut self) -> Result<(), CallError> {
        self.inner.take().map_or(Ok(()), |i| i.cancel())
    }
}

/// An exchange stream of typed rows.
pub struct TypedExchange<'c, I, O> {
    inner: Option<Box<dyn ExchangeStream + 'c>>,
    _rows: PhantomData<fn(I) -> O>,
}

impl<I: Row, O: Row> TypedExchange<'_, I, O> {
    /// Send one batch of rows and read the answer.
    pub fn exchange(&mut self, rows: Vec<I>) -> Result<Vec<O>, CallError> {
        self.exchange_with(rows, &Metadata::new()).map(|(rows, _)| rows)
    }

    /// Send rows with metadata; the answer's rows and metadata.
    pub fn exchange_with(&mut self, rows: Vec<I>, metadata: &Metadata) -> Result<(Vec<O>, Metadata), CallError> {
        let inner = self.inner.as_mut().ok_or(CallError::Closed)?;
        let input =
            I::to_batch(rows).map_err(|e| CallError::Protocol(format!("cannot encode the input: {}", e.message)))?;
        let (batch, metadata) = inner.exchange_with(&input, metadata)?;
        let rows = O::from_batch(&batch).map_err(|e| decode_error("exchange output", e))?;
        Ok((rows, metadata))
    }

    /// Logs received so far.
    pub fn logs(&self) -> &[LogMessage] {
        self.inner.as_ref().map_or(&[], |i| i.logs())
    }

    /// End the stream.
    pub fn close(mut self) -> Result<(), CallError> {
        self.inner.take().map_or(Ok(()), |i| i.close(&I::schema()))
    }

    /// Cancel (best effort).
    pub fn cancel(mut self) -> Result<(), CallError> {
        self.inner.take().map_or(Ok(()), |i| i.cancel(&I::schema()))
    }
}
