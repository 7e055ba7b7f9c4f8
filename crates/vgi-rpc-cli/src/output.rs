//! Where results go and in what shape: an aligned table, JSON lines (one
//! object per row), or an Arrow IPC stream, to stdout or a file.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_json::writer::LineDelimited;
use arrow_schema::SchemaRef;
use vgi_rpc_wire::{EncodedSchema, Metadata, StreamWriter};

use crate::args::Format;
use crate::error::CliError;

/// The format after `auto` has been settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Aligned text.
    Table,
    /// One JSON object per row (or one document).
    Json,
    /// Arrow IPC stream.
    Arrow,
}

/// Settle `auto`: a table when writing to a terminal, JSON otherwise.
pub fn shape(format: Format, output: Option<&Path>) -> Shape {
    match format {
        Format::Table => Shape::Table,
        Format::Json => Shape::Json,
        Format::Arrow => Shape::Arrow,
        Format::Auto if output.is_none() && std::io::stdout().is_terminal() => Shape::Table,
        Format::Auto => Shape::Json,
    }
}

/// Open the destination: `path`, or stdout.
pub fn destination(path: Option<&Path>) -> Result<Box<dyn Write>, CliError> {
    Ok(match path {
        Some(p) => {
            Box::new(BufWriter::new(File::create(p).map_err(CliError::io(format!("cannot create {}", p.display())))?))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// Result batches on their way out.
pub struct Sink {
    shape: Shape,
    out: Box<dyn Write>,
    /// Table output waits for the end so columns line up.
    pending: Vec<RecordBatch>,
    arrow: Option<(SchemaRef, StreamWriter)>,
    /// Rows written so far.
    pub rows: u64,
    /// Batches written so far.
    pub batches: u64,
}

impl Sink {
    /// A sink in `shape` writing to `output` (stdout when `None`).
    pub fn open(shape: Shape, output: Option<&Path>) -> Result<Self, CliError> {
        if shape == Shape::Arrow && output.is_none() && std::io::stdout().is_terminal() {
            return Err(CliError::usage_hint(
                "refusing to write an Arrow IPC stream to a terminal",
                "add -o FILE, or pipe stdout into a program that reads Arrow",
            ));
        }
        Ok(Self { shape, out: destination(output)?, pending: Vec::new(), arrow: None, rows: 0, batches: 0 })
    }

    /// A stream's header batch: its own table, a `{"header": {...}}` line,
    /// or nothing in Arrow output (where it would change the schema).
    pub fn header(&mut self, batch: &RecordBatch) -> Result<(), CliError> {
        match self.shape {
            Shape::Table => {
                let text = arrow_cast::pretty::pretty_format_batches(std::slice::from_ref(batch))
                    .map_err(|e| CliError::Unexpected(format!("cannot format the header: {e}")))?;
                writeln!(self.out, "header:\n{text}").map_err(CliError::io("writing the output"))
            }
            Shape::Json => {
                for row in json_rows(batch)? {
                    let line = serde_json::json!({ "header": row });
                    writeln!(self.out, "{line}").map_err(CliError::io("writing the output"))?;
                }
                Ok(())
            }
            Shape::Arrow => Ok(()),
        }
    }

    /// One result batch.
    pub fn batch(&mut self, batch: &RecordBatch, metadata: &Metadata) -> Result<(), CliError> {
        self.rows += batch.num_rows() as u64;
        self.batches += 1;
        match self.shape {
            Shape::Table => {
                self.pending.push(batch.clone());
                Ok(())
            }
            Shape::Json => {
                let mut w =
                    arrow_json::WriterBuilder::new().with_explicit_nulls(true).build::<_, LineDelimited>(&mut self.out);
                w.write(batch).map_err(|e| CliError::Unexpected(format!("cannot write JSON: {e}")))?;
                w.finish().map_err(|e| CliError::Unexpected(format!("cannot write JSON: {e}")))
            }
            Shape::Arrow => {
                let same = matches!(&self.arrow, Some((schema, _)) if schema == &batch.schema());
                if !same {
                    // A new schema starts a new IPC stream right after the last one.
                    self.end_arrow()?;
                    let writer = StreamWriter::begin(&mut self.out, &EncodedSchema::new(batch.schema()))
                        .map_err(|e| CliError::Unexpected(format!("cannot write Arrow IPC: {e}")))?;
                    self.arrow = Some((batch.schema(), writer));
                }
                if let Some((_, writer)) = self.arrow.as_mut() {
                    writer
                        .write(&mut self.out, batch, metadata)
                        .map_err(|e| CliError::Unexpected(format!("cannot write Arrow IPC: {e}")))?;
                }
                Ok(())
            }
        }
    }

    /// Whether rows are written as JSON.
    pub fn is_json(&self) -> bool {
        self.shape == Shape::Json
    }

    /// A plain line of text (table and JSON output only).
    pub fn line(&mut self, text: &str) -> Result<(), CliError> {
        writeln!(self.out, "{text}").map_err(CliError::io("writing the output"))
    }

    fn end_arrow(&mut self) -> Result<(), CliError> {
        if let Some((_, writer)) = self.arrow.take() {
            writer.finish(&mut self.out).map_err(|e| CliError::Unexpected(format!("cannot write Arrow IPC: {e}")))?;
        }
        Ok(())
    }

    /// Print what is pending, end any IPC stream, flush.
    pub fn finish(mut self) -> Result<(), CliError> {
        self.end_arrow()?;
        if self.shape == Shape::Table && !self.pending.is_empty() {
            // One table per run of batches sharing a schema.
            let pending = std::mem::take(&mut self.pending);
            let mut start = 0;
            for i in 1..=pending.len() {
                if i == pending.len() || pending[i].schema() != pending[start].schema() {
                    let text = arrow_cast::pretty::pretty_format_batches(&pending[start..i])
                        .map_err(|e| CliError::Unexpected(format!("cannot format the table: {e}")))?;
                    writeln!(self.out, "{text}").map_err(CliError::io("writing the output"))?;
                    start = i;
                }
            }
        }
        self.out.flush().map_err(CliError::io("writing the output"))
    }
}

/// A batch as JSON objects, one per row.
pub fn json_rows(batch: &RecordBatch) -> Result<Vec<serde_json::Value>, CliError> {
    let mut buf = Vec::new();
    let mut w = arrow_json::WriterBuilder::new().with_explicit_nulls(true).build::<_, LineDelimited>(&mut buf);
    w.write(batch).map_err(|e| CliError::Unexpected(format!("cannot write JSON: {e}")))?;
    w.finish().map_err(|e| CliError::Unexpected(format!("cannot write JSON: {e}")))?;
    drop(w);
    buf.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).map_err(|e| CliError::Unexpected(format!("cannot re-read JSON: {e}"))))
        .collect()
}
