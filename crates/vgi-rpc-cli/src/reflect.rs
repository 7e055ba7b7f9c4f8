//! Reading a worker's self-description through `vgi_rpc.Reflection.v1`
//! (`list_protocols`, then `describe` per protocol), decoded tolerantly:
//! fields by name, unknown columns ignored, absent ones defaulted.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_schema::{DataType, Schema, SchemaRef};
use vgi_rpc_core::client::no_params;
use vgi_rpc_core::reflection::REFLECTION_PROTOCOL;
use vgi_rpc_core::typed::RpcClient;
use vgi_rpc_core::{CallError, Metadata};

use crate::error::CliError;

/// One hosted protocol as `list_protocols` reports it.
#[derive(Debug, Clone)]
pub struct ProtocolSummary {
    /// Wire name.
    pub name: String,
    /// Declared version, empty when the protocol opts out.
    pub version: String,
    /// The protocol hash (64 hex digits).
    pub hash: String,
    /// The deprecation message, when deprecated.
    pub deprecated: Option<String>,
}

/// What `list_protocols` answers.
#[derive(Debug, Clone)]
pub struct ProtocolList {
    /// The server instance.
    pub server_id: String,
    /// The server's build version.
    pub server_version: String,
    /// Every hosted protocol, reflection included.
    pub protocols: Vec<ProtocolSummary>,
}

/// How a method is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One request, one result.
    Unary,
    /// A stream of output batches.
    Producer,
    /// Input batches in, output batches out.
    Exchange,
    /// A stream the server could not classify.
    Stream,
}

impl Kind {
    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Unary => "unary",
            Kind::Producer => "producer",
            Kind::Exchange => "exchange",
            Kind::Stream => "stream",
        }
    }
}

/// One method of a protocol.
#[derive(Debug, Clone)]
pub struct MethodInfo {
    /// Its name.
    pub name: String,
    /// Unary, producer or exchange.
    pub kind: Kind,
    /// The parameter schema.
    pub params: SchemaRef,
    /// The result schema (unary methods with a return value).
    pub result: Option<SchemaRef>,
    /// The header schema (streams that declare one).
    pub header: Option<SchemaRef>,
    /// `unknown`, `no_side_effects` or `idempotent`.
    pub idempotency: String,
    /// The deprecation message, when deprecated.
    pub deprecated: Option<String>,
}

/// One protocol's description.
#[derive(Debug, Clone)]
pub struct ServiceDescription {
    /// The protocol.
    pub summary: ProtocolSummary,
    /// Its methods, sorted by name.
    pub methods: Vec<MethodInfo>,
}

/// Everything the worker hosts.
#[derive(Debug, Clone)]
pub struct Service {
    /// The `list_protocols` answer.
    pub list: ProtocolList,
    /// Descriptions of the protocols that were asked for.
    pub described: Vec<ServiceDescription>,
}

/// Ask the worker for its protocols and describe those `wanted` selects
/// (`None`: every protocol but reflection itself unless `with_reflection`).
pub fn load(client: &mut dyn RpcClient, wanted: Option<&str>, with_reflection: bool) -> Result<Service, CliError> {
    let list = list_protocols(client)?;
    if let Some(name) = wanted {
        if !list.protocols.iter().any(|p| p.name == name) {
            let hosted: Vec<&str> = list.protocols.iter().map(|p| p.name.as_str()).collect();
            return Err(CliError::usage_hint(
                format!("the worker does not host protocol {name:?}"),
                format!("hosted protocols: {}", hosted.join(", ")),
            ));
        }
    }
    let mut described = Vec::new();
    for summary in &list.protocols {
        let selected = match wanted {
            Some(name) => summary.name == name,
            None => with_reflection || summary.name != REFLECTION_PROTOCOL,
        };
        if selected {
            described.push(describe(client, summary)?);
        }
    }
    Ok(Service { list, described })
}

/// `list_protocols`.
pub fn list_protocols(client: &mut dyn RpcClient) -> Result<ProtocolList, CliError> {
    let batch = reflection_call(client, "list_protocols", &no_params())?;
    let row = Row(&batch);
    let protocols = match batch.column_by_name("protocols") {
        Some(col) => list_item(col)?.map(|s| summaries(&s)).unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(ProtocolList { server_id: row.string("server_id"), server_version: row.string("server_version"), protocols })
}

fn describe(client: &mut dyn RpcClient, summary: &ProtocolSummary) -> Result<ServiceDescription, CliError> {
    let schema = std::sync::Arc::new(Schema::new(vec![arrow_schema::Field::new("protocol", DataType::Utf8, false)]));
    let params = RecordBatch::try_new(
        schema,
        vec![std::sync::Arc::new(arrow_array::StringArray::from(vec![summary.name.as_str()])) as ArrayRef],
    )
    .map_err(|e| CliError::Unexpected(format!("cannot build the describe request: {e}")))?;
    let batch = reflection_call(client, "describe", &params)?;
    let mut methods = Vec::new();
    if let Some(col) = batch.column_by_name("methods") {
        if let Some(items) = list_item(col)? {
            for i in 0..items.len() {
                methods.push(method_info(&items, i)?);
            }
        }
    }
    methods.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ServiceDescription { summary: summary.clone(), methods })
}

/// Call a reflection method and decode the IPC payload in its `result`.
fn reflection_call(client: &mut dyn RpcClient, method: &str, params: &RecordBatch) -> Result<RecordBatch, CliError> {
    let response = client.unary(REFLECTION_PROTOCOL, method, params, &Metadata::new()).map_err(|e| match e {
        CallError::Remote(r) if r.error_kind == "protocol_not_supported" || r.message.contains(REFLECTION_PROTOCOL) => {
            CliError::usage_hint(
                format!("the worker does not answer {REFLECTION_PROTOCOL}: {r}"),
                "start the worker with reflection on (the conformance workers take --describe)",
            )
        }
        other => CliError::call(format!("asking the worker for {method}"), other),
    })?;
    let value =
        response.value().ok_or_else(|| CliError::Unexpected(format!("{method} answered without a result column")))?;
    let bytes = binary_at(value, 0)
        .ok_or_else(|| CliError::Unexpected(format!("{method} answered a null or non-binary result")))?;
    let (_, batches) = vgi_rpc_wire::read_stream_bytes(&bytes)
        .map_err(|e| CliError::Unexpected(format!("{method} answered a payload that is not Arrow IPC: {e}")))?;
    batches
        .into_iter()
        .map(|b| b.batch)
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| CliError::Unexpected(format!("{method} answered an empty payload")))
}

/// The struct array inside row 0 of a list column.
fn list_item(col: &ArrayRef) -> Result<Option<StructArray>, CliError> {
    let values = match col.data_type() {
        DataType::List(_) => col.as_list::<i32>().value(0),
        DataType::LargeList(_) => col.as_list::<i64>().value(0),
        other => return Err(CliError::Unexpected(format!("reflection list column has type {other}"))),
    };
    Ok(values.as_struct_opt().cloned())
}

fn summaries(items: &StructArray) -> Vec<ProtocolSummary> {
    (0..items.len())
        .map(|i| {
            let f = Fields(items, i);
            ProtocolSummary {
                name: f.string("protocol"),
                version: f.string("protocol_version"),
                hash: f.string("protocol_hash"),
                deprecated: f.flag("deprecated").then(|| f.string("deprecation_message")),
            }
        })
        .collect()
}

fn method_info(items: &StructArray, i: usize) -> Result<MethodInfo, CliError> {
    let f = Fields(items, i);
    let name = f.string("name");
    let kind = match (f.string("method_type").as_str(), f.string("stream_kind").as_str()) {
        ("unary", _) => Kind::Unary,
        (_, "producer") => Kind::Producer,
        (_, "exchange") => Kind::Exchange,
        _ => Kind::Stream,
    };
    let schema = |column: &str| -> Result<Option<SchemaRef>, CliError> {
        let bytes = f.bytes(column);
        if bytes.is_empty() {
            return Ok(None);
        }
        let schema = vgi_rpc_wire::reader::decode_schema_bytes(&bytes)
            .map_err(|e| CliError::Unexpected(format!("method {name}: {column} is not an Arrow IPC schema: {e}")))?;
        Ok(Some(std::sync::Arc::new(schema)))
    };
    Ok(MethodInfo {
        params: schema("params_schema_ipc")?.unwrap_or_else(|| std::sync::Arc::new(Schema::empty())),
        result: if f.flag("has_return") { schema("result_schema_ipc")? } else { None },
        header: if f.flag("has_header") { schema("header_schema_ipc")? } else { None },
        idempotency: f.string("idempotency"),
        deprecated: f.flag("deprecated").then(|| f.string("deprecation_message")),
        kind,
        name,
    })
}

/// Row 0 of a batch, read by column name.
struct Row<'a>(&'a RecordBatch);

impl Row<'_> {
    fn string(&self, name: &str) -> String {
        self.0.column_by_name(name).and_then(|c| string_at(c, 0)).unwrap_or_default()
    }
}

/// Row `i` of a struct array, read by field name.
struct Fields<'a>(&'a StructArray, usize);

impl Fields<'_> {
    fn column(&self, name: &str) -> Option<&ArrayRef> {
        self.0.column_by_name(name)
    }
    fn string(&self, name: &str) -> String {
        self.column(name).and_then(|c| string_at(c, self.1)).unwrap_or_default()
    }
    fn flag(&self, name: &str) -> bool {
        self.column(name)
            .and_then(|c| c.as_boolean_opt().filter(|b| b.is_valid(self.1)).map(|b| b.value(self.1)))
            .unwrap_or(false)
    }
    fn bytes(&self, name: &str) -> Vec<u8> {
        self.column(name).and_then(|c| binary_at(c, self.1)).unwrap_or_default()
    }
}

fn string_at(col: &ArrayRef, i: usize) -> Option<String> {
    if i >= col.len() || col.is_null(i) {
        return None;
    }
    match col.data_type() {
        DataType::Utf8 => Some(col.as_string::<i32>().value(i).to_owned()),
        DataType::LargeUtf8 => Some(col.as_string::<i64>().value(i).to_owned()),
        DataType::Utf8View => Some(col.as_string_view().value(i).to_owned()),
        _ => None,
    }
}

fn binary_at(col: &ArrayRef, i: usize) -> Option<Vec<u8>> {
    if i >= col.len() || col.is_null(i) {
        return None;
    }
    match col.data_type() {
        DataType::Binary => Some(col.as_binary::<i32>().value(i).to_vec()),
        DataType::LargeBinary => Some(col.as_binary::<i64>().value(i).to_vec()),
        DataType::BinaryView => Some(col.as_binary_view().value(i).to_vec()),
        _ => None,
    }
}
