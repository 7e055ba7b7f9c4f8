//! `OutputCollector`: what one produce / exchange call emits, in order.

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use vgi_rpc_wire::log::LogMessage;
use vgi_rpc_wire::{LogLevel, Metadata};

use crate::RpcError;

/// One item a collector holds.
#[derive(Debug, Clone)]
pub enum Emitted {
    /// A client-directed log (zero-row batch).
    Log(LogMessage),
    /// The turn's data batch with its metadata.
    Data(RecordBatch, Metadata),
}

/// Collects one turn's output: any number of logs and exactly one data
/// batch (a producer may instead finish).
#[derive(Debug)]
pub struct OutputCollector {
    schema: SchemaRef,
    producer: bool,
    items: Vec<Emitted>,
    has_data: bool,
    finished: bool,
}

impl OutputCollector {
    /// A collector for a stream whose output schema is `schema`.
    pub fn new(schema: SchemaRef, producer: bool) -> Self {
        Self { schema, producer, items: Vec::with_capacity(2), has_data: false, finished: false }
    }

    /// The output schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Emit the turn's data batch. A batch whose columns are a superset of,
    /// or differently typed from, the output schema is projected and cast.
    pub fn emit(&mut self, batch: RecordBatch) -> Result<(), RpcError> {
        self.emit_with_metadata(batch, Metadata::new())
    }

    /// Emit the data batch with custom metadata.
    pub fn emit_with_metadata(&mut self, batch: RecordBatch, metadata: Metadata) -> Result<(), RpcError> {
        if self.has_data {
            return Err(RpcError::runtime_error("Only one data batch may be emitted per call"));
        }
        let batch = conform(batch, &self.schema)?;
        self.items.push(Emitted::Data(batch, metadata));
        self.has_data = true;
        Ok(())
    }

    /// Emit columns in output-schema order.
    pub fn emit_arrays(&mut self, columns: Vec<ArrayRef>) -> Result<(), RpcError> {
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| RpcError::type_error(format!("output batch does not match the output schema: {e}")))?;
        self.emit(batch)
    }

    /// Log a message to the client.
    pub fn client_log(&mut self, level: LogLevel, message: impl Into<String>) {
        self.items.push(Emitted::Log(LogMessage::new(level, message)));
    }

    /// Log a message with structured extras.
    pub fn client_log_with(
        &mut self,
        level: LogLevel,
        message: impl Into<String>,
        extra: serde_json::Map<String, serde_json::Value>,
    ) {
        self.items.push(Emitted::Log(LogMessage { level, message: message.into(), extra: Some(extra) }));
    }

    /// End a producer stream.
    pub fn finish(&mut self) -> Result<(), RpcError> {
        if !self.producer {
            return Err(RpcError::runtime_error(
                "finish() is not allowed on exchange streams; exchange streams must emit exactly one data batch per call",
            ));
        }
        self.finished = true;
        Ok(())
    }

    /// Whether `finish` was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether a data batch was emitted.
    pub fn has_data(&self) -> bool {
        self.has_data
    }

    /// Fail unless a data batch was emitted (or the producer finished).
    pub fn validate(&self) -> Result<(), RpcError> {
        if !self.has_data && !self.finished {
            return Err(RpcError::runtime_error("No data batch was emitted"));
        }
        Ok(())
    }

    /// Take the collected items in order, leaving the collector reusable.
    pub fn take_items(&mut self) -> Vec<Emitted> {
        self.has_data = false;
        std::mem::take(&mut self.items)
    }

    /// Reset for the next turn, keeping allocations.
    pub fn reset(&mut self) {
        self.items.clear();
        self.has_data = false;
    }

    /// The collected items.
    pub fn items(&self) -> &[Emitted] {
        &self.items
    }
}

/// Project and cast `batch` onto `schema` (superset columns are dropped).
pub(crate) fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, RpcError> {
    if batch.schema_ref().fields() == schema.fields() {
        return Ok(batch);
    }
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let col = batch.column_by_name(field.name()).ok_or_else(|| {
            RpcError::type_error(format!(
                "Output schema mismatch: expected {:?}, got {:?}",
                field_names(schema),
                field_names(batch.schema_ref())
            ))
        })?;
        let col = if col.data_type() == field.data_type() {
            col.clone()
        } else {
            arrow_cast::cast(col, field.data_type())
                .map_err(|e| RpcError::type_error(format!("cannot cast output column '{}': {e}", field.name())))?
        };
        columns.push(col);
    }
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| RpcError::type_error(format!("output batch does not match the output schema: {e}")))
}

fn field_names(schema: &SchemaRef) -> Vec<&str> {
    schema.fields().iter().map(|f| f.name().as_str()).collect()
}
