//! `vgi_rpc.Reflection.v1`: `list_protocols` and `describe` (WIRE_PROTOCOL.md §14).
//!
//! Descriptions are fixed for the server's lifetime, so every payload is
//! encoded once when the server is built and handed out as bytes.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, BooleanArray, ListArray, RecordBatch, StringArray, StructArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use vgi_rpc_wire::writer::write_stream;
use vgi_rpc_wire::{EncodedSchema, Metadata, REQUEST_VERSION};

use crate::protocol::RegistryError;
use crate::{MethodDef, Protocol, RpcError};

/// Wire name of the reflection protocol.
pub const REFLECTION_PROTOCOL: &str = "vgi_rpc.Reflection.v1";

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn string_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn summary_fields() -> Vec<Field> {
    vec![
        utf8("protocol"),
        utf8("protocol_version"),
        utf8("protocol_hash"),
        Field::new("deprecated", DataType::Boolean, false),
        utf8("deprecation_message"),
        Field::new("features", string_list_type(), false),
    ]
}

fn method_info_fields() -> Fields {
    Fields::from(vec![
        utf8("name"),
        utf8("method_type"),
        Field::new("has_return", DataType::Boolean, false),
        Field::new("has_header", DataType::Boolean, false),
        utf8("stream_kind"),
        Field::new("params_schema_ipc", DataType::Binary, false),
        Field::new("result_schema_ipc", DataType::Binary, false),
        Field::new("header_schema_ipc", DataType::Binary, false),
        utf8("idempotency"),
        Field::new("deprecated", DataType::Boolean, false),
        utf8("deprecation_message"),
    ])
}

/// Schema of the `ProtocolList` payload.
pub fn protocol_list_schema() -> SchemaRef {
    let summary = DataType::Struct(Fields::from(summary_fields()));
    Arc::new(Schema::new(vec![
        utf8("server_id"),
        utf8("server_version"),
        utf8("request_version"),
        Field::new("protocols", DataType::List(Arc::new(Field::new("item", summary, true))), false),
    ]))
}

/// Schema of the `ServiceDescription` payload.
pub fn service_description_schema() -> SchemaRef {
    let mut fields = summary_fields();
    let info = DataType::Struct(method_info_fields());
    fields.push(Field::new("methods", DataType::List(Arc::new(Field::new("item", info, true))), false));
    Arc::new(Schema::new(fields))
}

fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn bools(values: impl IntoIterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from(values.into_iter().collect::<Vec<_>>()))
}

fn empty_string_lists(rows: usize) -> ArrayRef {
    Arc::new(ListArray::new(
        Arc::new(Field::new("item", DataType::Utf8, true)),
        OffsetBuffer::new_zeroed(rows),
        Arc::new(StringArray::from(Vec::<&str>::new())),
        None,
    ))
}

fn one_row_list(item: DataType, values: ArrayRef) -> ArrayRef {
    let len = values.len();
    Arc::new(ListArray::new(Arc::new(Field::new("item", item, true)), OffsetBuffer::from_lengths([len]), values, None))
}

struct Summary<'a> {
    name: &'a str,
    version: &'a str,
    hash: &'a str,
    deprecation: Option<&'a str>,
}

fn summary_columns(rows: &[Summary<'_>]) -> Vec<ArrayRef> {
    vec![
        strings(rows.iter().map(|r| r.name)),
        strings(rows.iter().map(|r| r.version)),
        strings(rows.iter().map(|r| r.hash)),
        bools(rows.iter().map(|r| r.deprecation.is_some())),
        strings(rows.iter().map(|r| r.deprecation.unwrap_or(""))),
        empty_string_lists(rows.len()),
    ]
}

fn to_ipc(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let schema = EncodedSchema::new(batch.schema());
    // Writing to a Vec cannot fail for batches built on their own schema.
    let _ = write_stream(&mut out, &schema, &[(batch, &Metadata::new())]);
    out
}

fn protocol_list_payload(summaries: &[Summary<'_>], server_id: &str, server_version: &str) -> Vec<u8> {
    let struct_fields = Fields::from(summary_fields());
    let items = StructArray::new(struct_fields.clone(), summary_columns(summaries), None);
    let batch = RecordBatch::try_new(
        protocol_list_schema(),
        vec![
            strings([server_id]),
            strings([server_version]),
            strings([REQUEST_VERSION]),
            one_row_list(DataType::Struct(struct_fields), Arc::new(items)),
        ],
    )
    .expect("ProtocolList columns match their schema");
    to_ipc(&batch)
}

fn schema_ipc(schema: &EncodedSchema) -> Vec<u8> {
    schema.ipc_bytes()
}

fn describe_payload(summary: &Summary<'_>, methods: &[Arc<MethodDef>]) -> Vec<u8> {
    let empty: Vec<u8> = Vec::new();
    let params: Vec<Vec<u8>> = methods.iter().map(|m| schema_ipc(m.params_schema())).collect();
    let results: Vec<Vec<u8>> =
        methods.iter().map(|m| if m.has_return() { schema_ipc(m.result_schema()) } else { empty.clone() }).collect();
    let headers: Vec<Vec<u8>> =
        methods.iter().map(|m| m.header_schema().map(|h| schema_ipc(h)).unwrap_or_default()).collect();
    let info_columns: Vec<ArrayRef> = vec![
        strings(methods.iter().map(|m| m.name())),
        strings(methods.iter().map(|m| m.kind().method_type())),
        bools(methods.iter().map(|m| m.has_return())),
        bools(methods.iter().map(|m| m.header_schema().is_some())),
        strings(methods.iter().map(|m| m.kind().stream_kind())),
        Arc::new(BinaryArray::from_iter_values(params.iter())),
        Arc::new(BinaryArray::from_iter_values(results.iter())),
        Arc::new(BinaryArray::from_iter_values(headers.iter())),
        strings(methods.iter().map(|m| m.idempotency().as_str())),
        bools(methods.iter().map(|m| m.deprecated().is_some())),
        strings(methods.iter().map(|m| m.deprecated().unwrap_or(""))),
    ];
    let info = StructArray::new(method_info_fields(), info_columns, None);
    let mut columns = summary_columns(std::slice::from_ref(summary));
    columns.push(one_row_list(DataType::Struct(method_info_fields()), Arc::new(info)));
    let batch = RecordBatch::try_new(service_description_schema(), columns)
        .expect("ServiceDescription columns match their schema");
    to_ipc(&batch)
}

fn reflection_methods(
    list: Arc<Vec<u8>>,
    describes: Arc<HashMap<String, Arc<Vec<u8>>>>,
    hosted: Arc<Vec<String>>,
) -> Vec<MethodDef> {
    let list_method = MethodDef::builder("list_protocols")
        .returns(DataType::Binary, false)
        .doc("Return every protocol this server hosts, with versions and hashes.")
        .unary(move |_, _| Ok(Some(Arc::new(BinaryArray::from_iter_values([list.as_slice()])) as ArrayRef)));
    let describe_method = MethodDef::builder("describe")
        .param("protocol", DataType::Utf8, false)
        .returns(DataType::Binary, false)
        .doc("Return one protocol's full description.")
        .unary(move |p, _| {
            let name = p.str("protocol")?;
            match describes.get(name) {
                Some(bytes) => Ok(Some(Arc::new(BinaryArray::from_iter_values([bytes.as_slice()])) as ArrayRef)),
                None => Err(RpcError::protocol_not_supported(format!(
                    "This server does not host protocol {}. Hosted: {}.",
                    crate::dispatch::py_repr(name),
                    crate::dispatch::py_list(hosted.iter().map(String::as_str)),
                ))),
            }
        });
    vec![list_method, describe_method]
}

/// Build the sealed reflection protocol describing `apps` and itself.
pub(crate) fn reflection_protocol(
    apps: &[Arc<Protocol>],
    server_id: &str,
    server_version: &str,
) -> Result<Protocol, RegistryError> {
    // Seal once with placeholder payloads: the hash depends only on signatures.
    let placeholder = Arc::new(Vec::new());
    let shape = Protocol::new(REFLECTION_PROTOCOL)
        .methods(reflection_methods(placeholder, Arc::default(), Arc::default()))
        .version_exempt()
        .seal(true)?;

    let mut all: Vec<&Protocol> = apps.iter().map(|p| p.as_ref()).collect();
    all.push(&shape);
    let summaries: Vec<Summary<'_>> = all
        .iter()
        .map(|p| Summary {
            name: p.name(),
            version: p.declared_version().unwrap_or(""),
            hash: p.hash(),
            deprecation: p.deprecation(),
        })
        .collect();
    let list = Arc::new(protocol_list_payload(&summaries, server_id, server_version));
    let describes: HashMap<String, Arc<Vec<u8>>> = all
        .iter()
        .zip(&summaries)
        .map(|(p, s)| (p.name().to_owned(), Arc::new(describe_payload(s, p.method_defs()))))
        .collect();
    let mut hosted: Vec<String> = all.iter().map(|p| p.name().to_owned()).collect();
    hosted.sort();
    Protocol::new(REFLECTION_PROTOCOL)
        .methods(reflection_methods(list, Arc::new(describes), Arc::new(hosted)))
        .version_exempt()
        .seal(true)
}
