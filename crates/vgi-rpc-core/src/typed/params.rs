//! [`MethodParams`]: a struct is a method's parameter list. Its fields are
//! the request columns; names, types, defaults and docs reach the method
//! definition (and so reflection). `#[derive(Params)]` implements it.

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;

use super::ArrowType;
use crate::{Params, RpcError};

/// A method's parameter list as one Rust struct.
///
/// ```
/// use std::sync::{Arc, OnceLock};
/// use arrow_array::RecordBatch;
/// use arrow_schema::{Schema, SchemaRef};
/// use vgi_rpc_core::typed::{field, param, params_batch, ArrowType, MethodParams};
/// use vgi_rpc_core::{Params, RpcError};
///
/// struct Add { a: i64, b: i64 }
///
/// impl MethodParams for Add {
///     fn schema() -> SchemaRef {
///         static S: OnceLock<SchemaRef> = OnceLock::new();
///         S.get_or_init(|| Arc::new(Schema::new(vec![field::<i64>("a"), field::<i64>("b")]))).clone()
///     }
///     fn from_params(p: &Params<'_>) -> Result<Self, RpcError> {
///         Ok(Add { a: param(p, "a")?, b: param(p, "b")? })
///     }
///     fn into_batch(self) -> Result<RecordBatch, RpcError> {
///         params_batch(Self::schema(), vec![i64::into_array(vec![self.a])?, i64::into_array(vec![self.b])?])
///     }
/// }
///
/// let batch = Add { a: 2, b: 3 }.into_batch().unwrap();
/// let back = Add::from_params(&Params::new(&batch)).unwrap();
/// assert_eq!(back.a + back.b, 5);
/// ```
pub trait MethodParams: Sized {
    /// The request schema: one field per parameter, in declaration order.
    fn schema() -> SchemaRef;

    /// Defaults, as JSON values, for the parameters that declare one.
    fn defaults() -> Vec<(String, serde_json::Value)> {
        Vec::new()
    }

    /// Documentation of each documented parameter.
    fn docs() -> Vec<(String, String)> {
        Vec::new()
    }

    /// Read the parameters of one call.
    fn from_params(params: &Params<'_>) -> Result<Self, RpcError>;

    /// The one-row request batch (client side).
    fn into_batch(self) -> Result<RecordBatch, RpcError>;
}

/// The empty parameter list.
impl MethodParams for () {
    fn schema() -> SchemaRef {
        vgi_rpc_wire::EncodedSchema::empty().schema().clone()
    }
    fn from_params(_: &Params<'_>) -> Result<Self, RpcError> {
        Ok(())
    }
    fn into_batch(self) -> Result<RecordBatch, RpcError> {
        params_batch(Self::schema(), Vec::new())
    }
}

/// Parameter `name` of the call, as `T`.
///
/// A null for a non-optional `T`, a missing column or a column of another
/// type is a `TypeError` naming the parameter. Narrower integers and floats
/// widen (an `int32` column reads as `i64`); nothing else converts.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int32Array, RecordBatch};
/// use vgi_rpc_core::typed::param;
/// use vgi_rpc_core::Params;
///
/// let batch = RecordBatch::try_from_iter([("n", Arc::new(Int32Array::from(vec![7])) as ArrayRef)]).unwrap();
/// let params = Params::new(&batch);
/// assert_eq!(param::<i64>(&params, "n").unwrap(), 7);
/// assert_eq!(param::<Option<i64>>(&params, "n").unwrap(), Some(7));
/// assert_eq!(param::<String>(&params, "n").unwrap_err().error_type, "TypeError");
/// ```
pub fn param<T: ArrowType>(params: &Params<'_>, name: &str) -> Result<T, RpcError> {
    let column = params.column(name)?;
    read_param(column, name)
}

/// Parameter `name`, or `default()` when the request has no such column.
pub fn param_or<T: ArrowType>(params: &Params<'_>, name: &str, default: impl FnOnce() -> T) -> Result<T, RpcError> {
    match params.batch().column_by_name(name) {
        Some(column) => read_param(column, name),
        None => Ok(default()),
    }
}

fn read_param<T: ArrowType>(column: &ArrayRef, name: &str) -> Result<T, RpcError> {
    if column.is_empty() {
        return Err(RpcError::type_error(format!("parameter '{name}' has no value")));
    }
    match T::value_at(column.as_ref(), 0) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(RpcError::type_error(format!("parameter '{name}' is not optional but got None"))),
        Err(e) => Err(RpcError::type_error(format!("parameter '{name}': {}", e.message))),
    }
}

/// A one-row request batch on `schema` (zero columns allowed).
pub fn params_batch(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch, RpcError> {
    RecordBatch::try_new_with_options(schema, columns, &RecordBatchOptions::new().with_row_count(Some(1)))
        .map_err(|e| RpcError::type_error(format!("parameters do not fit their schema: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn params_name_the_offending_parameter() {
        let batch = RecordBatch::try_from_iter([
            ("n", Arc::new(Int32Array::from(vec![4])) as ArrayRef),
            ("s", Arc::new(StringArray::from(vec![None::<&str>])) as ArrayRef),
        ])
        .unwrap();
        let p = Params::new(&batch);
        assert_eq!(param::<i64>(&p, "n").unwrap(), 4);
        assert_eq!(param::<Option<String>>(&p, "s").unwrap(), None);
        let err = param::<String>(&p, "s").unwrap_err();
        assert!(err.message.contains("'s' is not optional"), "{err}");
        let err = param::<String>(&p, "n").unwrap_err();
        assert!(err.message.contains("parameter 'n'"), "{err}");
        assert_eq!(param_or::<i64>(&p, "absent", || 9).unwrap(), 9);
        assert_eq!(<()>::from_params(&p).unwrap(), ());
        assert_eq!(().into_batch().unwrap().num_rows(), 1);
    }
}
