//! Reading request parameters by column name from the request batch.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;

use crate::RpcError;

/// The parameters of one call: a one-row batch, read by column name.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    batch: &'a RecordBatch,
}

impl<'a> Params<'a> {
    /// Wrap a request batch.
    pub fn new(batch: &'a RecordBatch) -> Self {
        Self { batch }
    }

    /// The whole request batch.
    pub fn batch(&self) -> &'a RecordBatch {
        self.batch
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Result<&'a ArrayRef, RpcError> {
        self.batch.column_by_name(name).ok_or_else(|| RpcError::type_error(format!("missing parameter '{name}'")))
    }

    /// The column named `name`, sliced to the single value of this call.
    pub fn value(&self, name: &str) -> Result<ArrayRef, RpcError> {
        let col = self.column(name)?;
        if col.is_empty() {
            return Err(RpcError::type_error(format!("parameter '{name}' has no value")));
        }
        Ok(col.slice(0, 1))
    }

    /// Whether the parameter is null.
    pub fn is_null(&self, name: &str) -> Result<bool, RpcError> {
        let col = self.column(name)?;
        Ok(col.is_empty() || col.is_null(0))
    }

    fn required(&self, name: &str) -> Result<&'a ArrayRef, RpcError> {
        let col = self.column(name)?;
        if col.is_empty() || col.is_null(0) {
            return Err(RpcError::type_error(format!("parameter '{name}' is not optional but got None")));
        }
        Ok(col)
    }

    fn mismatch(name: &str, want: &str, col: &ArrayRef) -> RpcError {
        RpcError::type_error(format!("parameter '{name}' expected {want}, got {}", col.data_type()))
    }

    /// An integer parameter (any Arrow integer width that fits i64).
    pub fn i64(&self, name: &str) -> Result<i64, RpcError> {
        let col = self.required(name)?;
        match col.data_type() {
            DataType::Int64 => Ok(col.as_primitive::<Int64Type>().value(0)),
            DataType::Int32 => Ok(i64::from(col.as_primitive::<Int32Type>().value(0))),
            _ => Err(Self::mismatch(name, "an integer", col)),
        }
    }

    /// An optional integer parameter.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, RpcError> {
        if self.is_null(name)? {
            return Ok(None);
        }
        self.i64(name).map(Some)
    }

    /// A floating-point parameter.
    pub fn f64(&self, name: &str) -> Result<f64, RpcError> {
        let col = self.required(name)?;
        match col.data_type() {
            DataType::Float64 => Ok(col.as_primitive::<Float64Type>().value(0)),
            DataType::Float32 => Ok(f64::from(col.as_primitive::<Float32Type>().value(0))),
            _ => Err(Self::mismatch(name, "a float", col)),
        }
    }

    /// A boolean parameter.
    pub fn bool(&self, name: &str) -> Result<bool, RpcError> {
        let col = self.required(name)?;
        match col.data_type() {
            DataType::Boolean => Ok(col.as_boolean().value(0)),
            _ => Err(Self::mismatch(name, "a bool", col)),
        }
    }

    /// A string parameter.
    pub fn str(&self, name: &str) -> Result<&'a str, RpcError> {
        let col = self.required(name)?;
        match col.data_type() {
            DataType::Utf8 => Ok(col.as_string::<i32>().value(0)),
            DataType::LargeUtf8 => Ok(col.as_string::<i64>().value(0)),
            DataType::Utf8View => Ok(col.as_string_view().value(0)),
            _ => Err(Self::mismatch(name, "a string", col)),
        }
    }

    /// An optional string parameter.
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, RpcError> {
        if self.is_null(name)? {
            return Ok(None);
        }
        self.str(name).map(Some)
    }

    /// A binary parameter.
    pub fn bytes(&self, name: &str) -> Result<&'a [u8], RpcError> {
        let col = self.required(name)?;
        match col.data_type() {
            DataType::Binary => Ok(col.as_binary::<i32>().value(0)),
            DataType::LargeBinary => Ok(col.as_binary::<i64>().value(0)),
            DataType::FixedSizeBinary(_) => Ok(col.as_fixed_size_binary().value(0)),
            DataType::BinaryView => Ok(col.as_binary_view().value(0)),
            _ => Err(Self::mismatch(name, "bytes", col)),
        }
    }

    /// An optional binary parameter.
    pub fn opt_bytes(&self, name: &str) -> Result<Option<&'a [u8]>, RpcError> {
        if self.is_null(name)? {
            return Ok(None);
        }
        self.bytes(name).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn reads_by_name_and_reports_types() {
        let batch = RecordBatch::try_from_iter([
            ("n", Arc::new(Int64Array::from(vec![Some(4)])) as ArrayRef),
            ("s", Arc::new(StringArray::from(vec![None::<&str>])) as ArrayRef),
        ])
        .unwrap();
        let p = Params::new(&batch);
        assert_eq!(p.i64("n").unwrap(), 4);
        assert_eq!(p.opt_str("s").unwrap(), None);
        assert_eq!(p.str("s").unwrap_err().error_type, "TypeError");
        assert_eq!(p.f64("n").unwrap_err().error_type, "TypeError");
        assert!(p.column("missing").is_err());
    }
}
