//! Exchange input: JSON lines (one row per line, grouped into batches) or an
//! Arrow IPC stream, from a file or stdin.
//!
//! A JSON line carries no Arrow types, so the input schema is settled on
//! the first batch: a key that the method's output schema also has takes
//! that column's type (an exchange usually answers in the shape it reads),
//! any other is inferred from its JSON value (integers `int64`, other
//! numbers `float64`, strings `utf8`). An Arrow IPC file keeps its own schema.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use serde_json::Value;
use vgi_rpc_wire::{ReadLimits, StreamReader};

use crate::error::CliError;
use crate::params::decode_rows;

/// The Arrow IPC continuation marker every stream message starts with.
const IPC_CONTINUATION: [u8; 4] = [0xff; 4];

/// A source of exchange input batches.
pub enum Inputs {
    /// JSON lines.
    Json {
        /// The lines.
        lines: Box<dyn BufRead>,
        /// Where they come from (for messages).
        name: String,
        /// Rows per batch.
        rows_per_batch: usize,
        /// Type hints (the method's output schema).
        hint: Option<SchemaRef>,
        /// The schema, once settled.
        schema: Option<SchemaRef>,
        /// Lines read so far.
        line_no: usize,
    },
    /// An Arrow IPC stream.
    Arrow {
        /// The bytes.
        reader: Box<dyn Read>,
        /// The decoder.
        stream: StreamReader,
    },
}

impl Inputs {
    /// Open `path` (`-` for stdin), telling JSON lines from Arrow IPC by the first bytes.
    pub fn open(path: &Path, rows_per_batch: usize, hint: Option<SchemaRef>) -> Result<Self, CliError> {
        let (name, raw): (String, Box<dyn Read>) = if path.as_os_str() == "-" {
            ("stdin".to_owned(), Box::new(std::io::stdin()))
        } else {
            let file = File::open(path).map_err(CliError::io(format!("cannot open {}", path.display())))?;
            (path.display().to_string(), Box::new(file))
        };
        let mut buffered = BufReader::new(raw);
        let head = buffered.fill_buf().map_err(CliError::io(format!("cannot read {name}")))?;
        if head.starts_with(&IPC_CONTINUATION) {
            let mut reader: Box<dyn Read> = Box::new(buffered);
            let stream = StreamReader::open_required(&mut reader, ReadLimits::default())
                .map_err(|e| CliError::Unexpected(format!("{name} is not a valid Arrow IPC stream: {e}")))?;
            return Ok(Inputs::Arrow { reader, stream });
        }
        Ok(Inputs::Json { lines: Box::new(buffered), name, rows_per_batch, hint, schema: None, line_no: 0 })
    }

    /// The schema of the batches, once known (for closing a stream that sent none).
    pub fn schema(&self) -> Option<SchemaRef> {
        match self {
            Inputs::Json { schema, .. } => schema.clone(),
            Inputs::Arrow { stream, .. } => Some(stream.schema().clone()),
        }
    }

    /// The next input batch, or `None` at the end.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, CliError> {
        match self {
            Inputs::Arrow { reader, stream } => Ok(stream
                .next(reader)
                .map_err(|e| CliError::Unexpected(format!("cannot read the Arrow IPC input: {e}")))?
                .map(|b| b.batch)),
            Inputs::Json { lines, name, rows_per_batch, hint, schema, line_no } => {
                let mut rows = Vec::new();
                let mut first_line = 0;
                let mut text = String::new();
                while rows.len() < *rows_per_batch {
                    text.clear();
                    let n = lines.read_line(&mut text).map_err(CliError::io(format!("cannot read {name}")))?;
                    if n == 0 {
                        break;
                    }
                    *line_no += 1;
                    let trimmed = text.trim();
                    if trimmed.is_empty() {
                        continue;
                    }
                    if rows.is_empty() {
                        first_line = *line_no;
                    }
                    match serde_json::from_str::<Value>(trimmed) {
                        Ok(v @ Value::Object(_)) => rows.push(v),
                        Ok(_) => return Err(not_an_object(name, *line_no)),
                        Err(e) => {
                            return Err(CliError::usage_hint(
                                format!("{name} line {}: not JSON: {e}", *line_no),
                                "exchange input is one JSON object per line, e.g. {\"value\": 1.5}",
                            ))
                        }
                    }
                }
                if rows.is_empty() {
                    return Ok(None);
                }
                let schema = match schema {
                    Some(s) => s.clone(),
                    None => {
                        let settled = settle_schema(&rows, hint.as_deref())
                            .map_err(|e| CliError::Unexpected(format!("{name}: cannot infer column types: {e}")))?;
                        *schema = Some(settled.clone());
                        settled
                    }
                };
                decode_rows(&schema, &rows).map(Some).map_err(|e| {
                    CliError::usage_hint(
                        format!("{name} lines {first_line}..{}: rows do not fit the input schema: {e}", *line_no),
                        format!("every line must have the columns of the first: {}", crate::params::signature(&schema)),
                    )
                })
            }
        }
    }
}

fn not_an_object(name: &str, line: usize) -> CliError {
    CliError::usage_hint(
        format!("{name} line {line}: expected a JSON object"),
        "exchange input is one JSON object per line, e.g. {\"value\": 1.5}",
    )
}

/// The input schema for JSON `rows`: hinted types where the names match,
/// inferred ones elsewhere, in the order of the first row's keys.
fn settle_schema(rows: &[Value], hint: Option<&Schema>) -> Result<SchemaRef, arrow_schema::ArrowError> {
    let inferred = arrow_json::reader::infer_json_schema_from_iterator(rows.iter().cloned().map(Ok))?;
    let first_keys: Vec<&String> =
        rows.first().and_then(Value::as_object).map(|o| o.keys().collect()).unwrap_or_default();
    let mut fields = Vec::new();
    for key in
        first_keys.iter().copied().chain(inferred.fields().iter().map(|f| f.name()).filter(|n| !first_keys.contains(n)))
    {
        let field = match hint.and_then(|h| h.field_with_name(key).ok()) {
            Some(f) => f.clone(),
            None => inferred.field_with_name(key)?.clone(),
        };
        fields.push(field);
    }
    Ok(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_schema::{DataType, Field};

    use super::*;

    fn json_inputs(text: &'static str, rows: usize, hint: Option<SchemaRef>) -> Inputs {
        Inputs::Json {
            lines: Box::new(text.as_bytes()),
            name: "test".into(),
            rows_per_batch: rows,
            hint,
            schema: None,
            line_no: 0,
        }
    }

    #[test]
    fn json_lines_take_hinted_types_and_group_rows() {
        let hint = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, false)]));
        let mut inputs = json_inputs(
            "{\"value\": 1, \"n\": 2}\n\n{\"value\": 2.5, \"n\": 3}\n{\"value\": 4, \"n\": 5}\n",
            2,
            Some(hint),
        );
        let first = inputs.next_batch().expect("read").expect("a batch");
        assert_eq!(first.num_rows(), 2);
        assert_eq!(first.column(0).as_primitive::<Float64Type>().values(), &[1.0, 2.5]);
        assert_eq!(first.column(1).as_primitive::<Int64Type>().values(), &[2, 3]);
        let second = inputs.next_batch().expect("read").expect("a batch");
        assert_eq!(second.num_rows(), 1);
        assert!(inputs.next_batch().expect("read").is_none());
    }

    #[test]
    fn a_line_that_is_not_an_object_is_reported_with_its_number() {
        let mut inputs = json_inputs("{\"a\": 1}\n[1]\n", 1, None);
        inputs.next_batch().expect("first line");
        let err = inputs.next_batch().expect_err("second line");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
