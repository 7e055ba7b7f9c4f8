//! Method definitions: name, kind, schemas, defaults, docs and the handler.

use std::fmt;
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use vgi_rpc_wire::EncodedSchema;

use crate::stream::{StreamResult, StreamState};
use crate::{CallContext, Params, RpcError};

/// The three method shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodKind {
    /// One request, one result.
    Unary,
    /// A stream the server produces; the client sends ticks.
    Producer,
    /// A lockstep stream: one output batch per input batch.
    Exchange,
}

impl MethodKind {
    /// `"unary"` or `"stream"`, as `method_type` is spelled on the wire.
    pub fn method_type(self) -> &'static str {
        match self {
            MethodKind::Unary => "unary",
            MethodKind::Producer | MethodKind::Exchange => "stream",
        }
    }

    /// `""`, `"producer"` or `"exchange"`, as `stream_kind` is spelled.
    pub fn stream_kind(self) -> &'static str {
        match self {
            MethodKind::Unary => "",
            MethodKind::Producer => "producer",
            MethodKind::Exchange => "exchange",
        }
    }
}

/// Retry safety, as gRPC's `idempotency_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Idempotency {
    /// Not declared: a retry may repeat side effects.
    #[default]
    Unknown,
    /// The call reads only; retrying is always safe.
    NoSideEffects,
    /// Repeating the call has the same effect as making it once.
    Idempotent,
}

impl Idempotency {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Idempotency::Unknown => "unknown",
            Idempotency::NoSideEffects => "no_side_effects",
            Idempotency::Idempotent => "idempotent",
        }
    }
}

/// A unary handler: parameters and context in, a one-row result column (or
/// `None` for void) out.
pub type UnaryHandler = Arc<dyn Fn(&Params<'_>, &CallContext) -> Result<Option<ArrayRef>, RpcError> + Send + Sync>;
/// A stream handler: builds the stream (schemas, state, header).
pub type StreamHandler = Arc<dyn Fn(&Params<'_>, &CallContext) -> Result<StreamResult, RpcError> + Send + Sync>;
/// Rebuilds a stream state from the bytes its `encode` produced (HTTP resumption).
pub type StateDecoder = Arc<dyn Fn(&[u8]) -> Result<StreamState, RpcError> + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Handler {
    Unary(UnaryHandler),
    Stream(StreamHandler),
}

/// A declared method with its handler.
#[derive(Clone)]
pub struct MethodDef {
    name: Arc<str>,
    kind: MethodKind,
    params: Arc<EncodedSchema>,
    result: Arc<EncodedSchema>,
    has_return: bool,
    header: Option<Arc<EncodedSchema>>,
    defaults: Vec<(String, serde_json::Value)>,
    doc: String,
    param_docs: Vec<(String, String)>,
    idempotency: Idempotency,
    deprecated: Option<String>,
    handler: Handler,
    state_decoder: Option<StateDecoder>,
}

impl fmt::Debug for MethodDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodDef").field("name", &self.name).field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl MethodDef {
    /// Start declaring a method called `name`.
    pub fn builder(name: impl Into<String>) -> MethodBuilder {
        MethodBuilder {
            name: name.into(),
            params: Vec::new(),
            result: None,
            header: None,
            defaults: Vec::new(),
            doc: String::new(),
            param_docs: Vec::new(),
            idempotency: Idempotency::Unknown,
            deprecated: None,
            state_decoder: None,
        }
    }

    /// Method name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Method name, shared (a call context holds it without a copy).
    pub fn shared_name(&self) -> &Arc<str> {
        &self.name
    }
    /// Shape.
    pub fn kind(&self) -> MethodKind {
        self.kind
    }
    /// Declared parameter schema.
    pub fn params_schema(&self) -> &Arc<EncodedSchema> {
        &self.params
    }
    /// Unary result schema (the empty schema for void and for streams).
    pub fn result_schema(&self) -> &Arc<EncodedSchema> {
        &self.result
    }
    /// Whether a unary method returns a value.
    pub fn has_return(&self) -> bool {
        self.has_return
    }
    /// Header schema of a stream method that declares one.
    pub fn header_schema(&self) -> Option<&Arc<EncodedSchema>> {
        self.header.as_ref()
    }
    /// Parameter defaults, as JSON values, in declaration order.
    pub fn defaults(&self) -> &[(String, serde_json::Value)] {
        &self.defaults
    }
    /// Documentation.
    pub fn doc(&self) -> &str {
        &self.doc
    }
    /// Documentation of each documented parameter, in declaration order.
    pub fn param_docs(&self) -> &[(String, String)] {
        &self.param_docs
    }
    /// Retry safety.
    pub fn idempotency(&self) -> Idempotency {
        self.idempotency
    }
    /// Deprecation message, when deprecated.
    pub fn deprecated(&self) -> Option<&str> {
        self.deprecated.as_deref()
    }
    /// Rebuilds this method's stream state from encoded bytes, if registered.
    pub fn state_decoder(&self) -> Option<&StateDecoder> {
        self.state_decoder.as_ref()
    }
    pub(crate) fn handler(&self) -> &Handler {
        &self.handler
    }
}

/// Declares a method; finish with [`MethodBuilder::unary`],
/// [`MethodBuilder::producer`] or [`MethodBuilder::exchange`].
pub struct MethodBuilder {
    name: String,
    params: Vec<Field>,
    result: Option<Field>,
    header: Option<SchemaRef>,
    defaults: Vec<(String, serde_json::Value)>,
    doc: String,
    param_docs: Vec<(String, String)>,
    idempotency: Idempotency,
    deprecated: Option<String>,
    state_decoder: Option<StateDecoder>,
}

impl MethodBuilder {
    /// Add a parameter column.
    pub fn param(mut self, name: &str, data_type: DataType, nullable: bool) -> Self {
        self.params.push(Field::new(name, data_type, nullable));
        self
    }

    /// Add a parameter with a default value (applied by clients; reported by reflection).
    pub fn param_default(
        mut self,
        name: &str,
        data_type: DataType,
        nullable: bool,
        default: impl Into<serde_json::Value>,
    ) -> Self {
        self.defaults.push((name.to_owned(), default.into()));
        self.param(name, data_type, nullable)
    }

    /// Declare the unary result type (column `result`). Omit for void.
    pub fn returns(mut self, data_type: DataType, nullable: bool) -> Self {
        self.result = Some(Field::new("result", data_type, nullable));
        self
    }

    /// Declare a stream header schema.
    pub fn header(mut self, schema: SchemaRef) -> Self {
        self.header = Some(schema);
        self
    }

    /// Documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = doc.into();
        self
    }

    /// Document parameter `name`.
    pub fn param_doc(mut self, name: impl Into<String>, doc: impl Into<String>) -> Self {
        self.param_docs.push((name.into(), doc.into()));
        self
    }

    /// Retry safety.
    pub fn idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// Mark deprecated with a migration message.
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecated = Some(message.into());
        self
    }

    /// Register the decoder that rebuilds this stream's state from bytes.
    pub fn state_decoder(
        mut self,
        decoder: impl Fn(&[u8]) -> Result<StreamState, RpcError> + Send + Sync + 'static,
    ) -> Self {
        self.state_decoder = Some(Arc::new(decoder));
        self
    }

    fn finish(self, kind: MethodKind, handler: Handler) -> MethodDef {
        let has_return = kind == MethodKind::Unary && self.result.is_some();
        let result = match (&self.result, kind) {
            (Some(f), MethodKind::Unary) => Arc::new(EncodedSchema::new(Arc::new(Schema::new(vec![f.clone()])))),
            _ => Arc::new(EncodedSchema::empty().clone()),
        };
        MethodDef {
            name: Arc::from(self.name),
            kind,
            params: Arc::new(EncodedSchema::new(Arc::new(Schema::new(self.params)))),
            result,
            has_return,
            header: self.header.map(|h| Arc::new(EncodedSchema::new(h))),
            defaults: self.defaults,
            doc: self.doc,
            param_docs: self.param_docs,
            idempotency: self.idempotency,
            deprecated: self.deprecated,
            handler,
            state_decoder: self.state_decoder,
        }
    }

    /// Finish as a unary method.
    pub fn unary(
        self,
        f: impl Fn(&Params<'_>, &CallContext) -> Result<Option<ArrayRef>, RpcError> + Send + Sync + 'static,
    ) -> MethodDef {
        self.finish(MethodKind::Unary, Handler::Unary(Arc::new(f)))
    }

    /// Finish as a producer stream.
    pub fn producer(
        self,
        f: impl Fn(&Params<'_>, &CallContext) -> Result<StreamResult, RpcError> + Send + Sync + 'static,
    ) -> MethodDef {
        self.finish(MethodKind::Producer, Handler::Stream(Arc::new(f)))
    }

    /// Finish as an exchange stream.
    pub fn exchange(
        self,
        f: impl Fn(&Params<'_>, &CallContext) -> Result<StreamResult, RpcError> + Send + Sync + 'static,
    ) -> MethodDef {
        self.finish(MethodKind::Exchange, Handler::Stream(Arc::new(f)))
    }
}
