//! `vgi-rpc describe`: the worker's protocols and methods as a table (one
//! per protocol) or as one JSON document.

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use serde_json::{json, Value};

use crate::error::CliError;
use crate::output::Shape;
use crate::params::{signature, type_name};
use crate::reflect::{MethodInfo, Service, ServiceDescription};

/// Write `service` in `shape` (Arrow output is refused by the caller).
pub fn write(service: &Service, shape: Shape, out: &mut dyn Write) -> Result<(), CliError> {
    let io = CliError::io("writing the output");
    match shape {
        Shape::Json => {
            let text = serde_json::to_string_pretty(&to_json(service))
                .map_err(|e| CliError::Unexpected(format!("cannot write JSON: {e}")))?;
            writeln!(out, "{text}").map_err(io)
        }
        _ => write_tables(service, out),
    }
}

fn write_tables(service: &Service, out: &mut dyn Write) -> Result<(), CliError> {
    let list = &service.list;
    let mut text = String::new();
    if !list.server_id.is_empty() {
        text.push_str(&format!("server {}", list.server_id));
        if !list.server_version.is_empty() {
            text.push_str(&format!(" (version {})", list.server_version));
        }
        text.push('\n');
    }
    for d in &service.described {
        text.push_str(&format!("\n{}", heading(d)));
        let batch = methods_batch(&d.methods)?;
        let table = arrow_cast::pretty::pretty_format_batches(&[batch])
            .map_err(|e| CliError::Unexpected(format!("cannot format the table: {e}")))?;
        text.push_str(&format!("{table}\n"));
    }
    out.write_all(text.as_bytes()).map_err(CliError::io("writing the output"))
}

fn heading(d: &ServiceDescription) -> String {
    let s = &d.summary;
    let mut line = s.name.clone();
    if !s.version.is_empty() {
        line.push_str(&format!("  version {}", s.version));
    }
    if s.hash.len() >= 12 {
        line.push_str(&format!("  hash {}…", &s.hash[..12]));
    }
    line.push_str(&format!("  {} methods\n", d.methods.len()));
    if let Some(m) = &s.deprecated {
        line.push_str(&format!("deprecated: {m}\n"));
    }
    line
}

fn schema_text(schema: Option<&SchemaRef>) -> String {
    match schema {
        None => String::new(),
        Some(s) if s.fields().len() == 1 && s.field(0).name() == "result" => {
            let f = s.field(0);
            format!("{}{}", type_name(f.data_type()), if f.is_nullable() { "?" } else { "" })
        }
        Some(s) => signature(s),
    }
}

fn notes(m: &MethodInfo) -> String {
    let mut notes = Vec::new();
    if m.idempotency != "unknown" && !m.idempotency.is_empty() {
        notes.push(m.idempotency.clone());
    }
    if let Some(msg) = &m.deprecated {
        notes.push(if msg.is_empty() { "deprecated".to_owned() } else { format!("deprecated: {msg}") });
    }
    notes.join("; ")
}

/// The widest a table cell gets; `--format json` has the whole text.
const MAX_CELL: usize = 60;

fn clip(text: String) -> String {
    if text.chars().count() <= MAX_CELL {
        return text;
    }
    format!("{}…", text.chars().take(MAX_CELL - 1).collect::<String>())
}

fn methods_batch(methods: &[MethodInfo]) -> Result<RecordBatch, CliError> {
    let column =
        |values: Vec<String>| Arc::new(StringArray::from_iter_values(values.into_iter().map(clip))) as ArrayRef;
    RecordBatch::try_from_iter(vec![
        ("method", column(methods.iter().map(|m| m.name.clone()).collect())),
        ("kind", column(methods.iter().map(|m| m.kind.as_str().to_owned()).collect())),
        ("params", column(methods.iter().map(|m| signature(&m.params)).collect())),
        ("returns", column(methods.iter().map(|m| schema_text(m.result.as_ref())).collect())),
        ("header", column(methods.iter().map(|m| schema_text(m.header.as_ref())).collect())),
        ("notes", column(methods.iter().map(notes).collect())),
    ])
    .map_err(|e| CliError::Unexpected(format!("cannot build the table: {e}")))
}

fn fields_json(schema: Option<&SchemaRef>) -> Value {
    match schema {
        None => Value::Null,
        Some(s) => Value::Array(
            s.fields()
                .iter()
                .map(|f| json!({"name": f.name(), "type": type_name(f.data_type()), "nullable": f.is_nullable()}))
                .collect(),
        ),
    }
}

/// The JSON document `describe --format json` prints.
pub fn to_json(service: &Service) -> Value {
    let protocols: Vec<Value> = service
        .described
        .iter()
        .map(|d| {
            let methods: Vec<Value> = d
                .methods
                .iter()
                .map(|m| {
                    json!({
                        "name": m.name,
                        "kind": m.kind.as_str(),
                        "params": fields_json(Some(&m.params)),
                        "result": fields_json(m.result.as_ref()),
                        "header": fields_json(m.header.as_ref()),
                        "idempotency": m.idempotency,
                        "deprecated": m.deprecated,
                    })
                })
                .collect();
            json!({
                "protocol": d.summary.name,
                "protocol_version": d.summary.version,
                "protocol_hash": d.summary.hash,
                "deprecated": d.summary.deprecated,
                "methods": methods,
            })
        })
        .collect();
    json!({
        "server_id": service.list.server_id,
        "server_version": service.list.server_version,
        "protocols": protocols,
    })
}
