//! [`Row`]: a struct is one row of a record batch (`Vec<Row>` ↔
//! `RecordBatch` both ways) and, nested, one value of a struct column.
//! `#[derive(Row)]` (crate `vgi-rpc-macros`) implements it.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, StructArray, UInt32Array};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Fields, SchemaRef};

use super::arrow_type::downcast;
use crate::RpcError;

/// A struct whose fields are the columns of a record batch.
///
/// Usually derived (`#[derive(Row)]`); written by hand it looks like this:
///
/// ```
/// use std::sync::{Arc, OnceLock};
/// use arrow_array::ArrayRef;
/// use arrow_schema::{Fields, Schema, SchemaRef};
/// use vgi_rpc_core::typed::{field, next_value, read_column, ArrowType, Row};
/// use vgi_rpc_core::RpcError;
///
/// struct Point { x: i64, label: String }
///
/// impl Row for Point {
///     fn fields() -> Fields {
///         Fields::from(vec![field::<i64>("x"), field::<String>("label")])
///     }
///     fn schema() -> SchemaRef {
///         static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
///         SCHEMA.get_or_init(|| Arc::new(Schema::new(Self::fields()))).clone()
///     }
///     fn into_columns(rows: Vec<Self>) -> Result<Vec<ArrayRef>, RpcError> {
///         let (x, label): (Vec<i64>, Vec<String>) = rows.into_iter().map(|r| (r.x, r.label)).unzip();
///         Ok(vec![i64::into_array(x)?, String::into_array(label)?])
///     }
///     fn from_columns(columns: &[ArrayRef], rows: usize) -> Result<Vec<Self>, RpcError> {
///         let mut x = read_column::<i64>(columns, 0, "x")?;
///         let mut label = read_column::<String>(columns, 1, "label")?;
///         (0..rows).map(|_| Ok(Point { x: next_value(&mut x)?, label: next_value(&mut label)? })).collect()
///     }
/// }
///
/// let batch = Point::to_batch(vec![Point { x: 1, label: "a".into() }]).unwrap();
/// assert_eq!(batch.num_rows(), 1);
/// let back = Point::from_batch(&batch).unwrap();
/// assert_eq!((back[0].x, back[0].label.as_str()), (1, "a"));
/// ```
pub trait Row: Sized {
    /// The columns, in declaration order.
    fn fields() -> Fields;

    /// The batch schema (built once and shared).
    fn schema() -> SchemaRef;

    /// One column per field, each `rows.len()` long.
    fn into_columns(rows: Vec<Self>) -> Result<Vec<ArrayRef>, RpcError>;

    /// Rebuild rows from columns in field order.
    fn from_columns(columns: &[ArrayRef], rows: usize) -> Result<Vec<Self>, RpcError>;

    /// Rows as a record batch on [`Row::schema`].
    fn to_batch(rows: Vec<Self>) -> Result<RecordBatch, RpcError> {
        let len = rows.len();
        columns_batch::<Self>(Self::into_columns(rows)?, len)
    }

    /// Rows from a record batch, matching columns by name (extra columns are ignored).
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, RpcError> {
        let schema = Self::schema();
        if batch.schema_ref().fields() == schema.fields() {
            return Self::from_columns(batch.columns(), batch.num_rows());
        }
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                batch.column_by_name(f.name()).cloned().ok_or_else(|| {
                    RpcError::type_error(format!(
                        "batch has no column '{}' (it has {:?})",
                        f.name(),
                        column_names(batch)
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_columns(&columns, batch.num_rows())
    }
}

/// `len` rows of `R` as a batch of `columns` built for them (by
/// [`Row::into_columns`] or by hand); a type error when they do not fit
/// `R`'s schema. The row count is explicit so a row with no fields works.
pub(crate) fn columns_batch<R: Row>(columns: Vec<ArrayRef>, len: usize) -> Result<RecordBatch, RpcError> {
    RecordBatch::try_new_with_options(R::schema(), columns, &RecordBatchOptions::new().with_row_count(Some(len)))
        .map_err(|e| RpcError::type_error(format!("rows do not fit their schema: {e}")))
}

fn column_names(batch: &RecordBatch) -> Vec<&str> {
    batch.schema_ref().fields().iter().map(|f| f.name().as_str()).collect()
}

/// Read column `index` (named `name`, for errors) as values of `T`.
pub fn read_column<T: super::ArrowType>(
    columns: &[ArrayRef],
    index: usize,
    name: &str,
) -> Result<std::vec::IntoIter<T>, RpcError> {
    let column = columns.get(index).ok_or_else(|| RpcError::type_error(format!("missing column '{name}'")))?;
    T::from_array(column.as_ref())
        .map(Vec::into_iter)
        .map_err(|e| RpcError::type_error(format!("column '{name}': {}", e.message)))
}

/// The next value of a column read by [`read_column`].
pub fn next_value<T>(column: &mut std::vec::IntoIter<T>) -> Result<T, RpcError> {
    column.next().ok_or_else(|| RpcError::type_error("column is shorter than the batch"))
}

/// A struct column of `R` values (for `ArrowType` impls of rows).
pub fn struct_into_array<R: Row>(values: Vec<Option<R>>) -> Result<ArrayRef, RpcError> {
    let len = values.len();
    let fields = R::fields();
    let present: Vec<bool> = values.iter().map(Option::is_some).collect();
    let rows: Vec<R> = values.into_iter().flatten().collect();
    let valid = rows.len();
    let mut columns = R::into_columns(rows)?;
    let nulls = (valid < len).then(|| NullBuffer::from(present.clone()));
    if valid < len {
        // Spread the present rows' values over the full length; null rows
        // point at no child value.
        let mut next = 0u32;
        let indices: UInt32Array = present
            .iter()
            .map(|&p| {
                p.then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        columns = columns
            .iter()
            .map(|c| arrow_select::take::take(c.as_ref(), &indices, None))
            .collect::<Result<_, _>>()
            .map_err(|e| RpcError::type_error(format!("cannot spread struct values: {e}")))?;
    }
    if fields.is_empty() {
        return Ok(Arc::new(StructArray::new_empty_fields(len, nulls)));
    }
    let array = StructArray::try_new(fields, columns, nulls)
        .map_err(|e| RpcError::type_error(format!("cannot build a struct column: {e}")))?;
    Ok(Arc::new(array))
}

/// Read a struct column of `R` values (fields matched by name).
pub fn struct_from_array<R: Row>(array: &dyn Array) -> Result<Vec<Option<R>>, RpcError> {
    let want = DataType::Struct(R::fields());
    let structs = downcast::<StructArray>(array, &want)?;
    let fields = R::fields();
    let mut columns = fields
        .iter()
        .map(|f| {
            structs
                .column_by_name(f.name())
                .cloned()
                .ok_or_else(|| RpcError::type_error(format!("struct has no field '{}'", f.name())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Some(nulls) = structs.logical_nulls().filter(|n| n.null_count() > 0) else {
        return Ok(R::from_columns(&columns, structs.len())?.into_iter().map(Some).collect());
    };
    // Null rows may hold anything in their children: read only the valid ones.
    let keep = BooleanArray::from(nulls.iter().collect::<Vec<_>>());
    columns = columns
        .iter()
        .map(|c| arrow_select::filter::filter(c.as_ref(), &keep))
        .collect::<Result<_, _>>()
        .map_err(|e| RpcError::type_error(format!("cannot read struct values: {e}")))?;
    let mut rows = R::from_columns(&columns, structs.len() - nulls.null_count())?.into_iter();
    nulls.iter().map(|valid| if valid { next_value(&mut rows).map(Some) } else { Ok(None) }).collect()
}

/// A one-column row named `value`, for streams of bare values.
///
/// ```
/// use vgi_rpc_core::typed::{Row, Value};
///
/// let batch = Value::to_batch(vec![Value(1.5f64), Value(2.5)]).unwrap();
/// assert_eq!(batch.schema().field(0).name(), "value");
/// assert_eq!(Value::<f64>::from_batch(&batch).unwrap(), vec![Value(1.5), Value(2.5)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Value<T>(pub T);

impl<T: super::ArrowType> Row for Value<T> {
    fn fields() -> Fields {
        Fields::from(vec![super::field::<T>("value")])
    }
    fn schema() -> SchemaRef {
        Arc::new(arrow_schema::Schema::new(Self::fields()))
    }
    fn into_columns(rows: Vec<Self>) -> Result<Vec<ArrayRef>, RpcError> {
        Ok(vec![T::into_array(rows.into_iter().map(|v| v.0).collect())?])
    }
    fn from_columns(columns: &[ArrayRef], _rows: usize) -> Result<Vec<Self>, RpcError> {
        Ok(read_column::<T>(columns, 0, "value")?.map(Value).collect())
    }
}
