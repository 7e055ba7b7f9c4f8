//! [`ArrowType`]: how one Rust type maps onto one Arrow column type, both
//! ways, plus the shared helpers the impls and the derives use.

use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field};

use crate::RpcError;

/// A Rust type that is stored as one Arrow column.
///
/// Implemented for every integer width, `f32`/`f64`, `bool`, `String`,
/// byte buffers (`Vec<u8>`), the temporal and decimal wrappers of this
/// module, `Option<T>`, `Vec<T>`, maps, and (through `#[derive(Row)]`)
/// structs.
///
/// ```
/// use vgi_rpc_core::typed::ArrowType;
/// use arrow_schema::DataType;
///
/// assert_eq!(<i32 as ArrowType>::data_type(), DataType::Int32);
/// assert!(<Option<String> as ArrowType>::nullable());
/// let column = <Vec<u8> as ArrowType>::into_array(vec![b"ab".to_vec()]).unwrap();
/// assert_eq!(column.data_type(), &DataType::Binary);
/// assert_eq!(<Vec<u8> as ArrowType>::from_array(column.as_ref()).unwrap(), vec![b"ab".to_vec()]);
/// ```
pub trait ArrowType: Sized {
    /// The Arrow type of the column.
    fn data_type() -> DataType;

    /// Whether the column may hold nulls (`true` only for `Option<T>`).
    fn nullable() -> bool {
        false
    }

    /// Build a column from values, `None` becoming null.
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError>;

    /// Read a whole column, nulls becoming `None`.
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError>;

    /// Build a column from non-null values.
    fn into_array(values: Vec<Self>) -> Result<ArrayRef, RpcError> {
        Self::into_array_opt(values.into_iter().map(Some).collect())
    }

    /// Read a whole column; a null is an error.
    fn from_array(array: &dyn Array) -> Result<Vec<Self>, RpcError> {
        Self::from_array_opt(array)?.into_iter().map(|v| v.ok_or_else(unexpected_null)).collect()
    }

    /// Read the value at `row` (`None` when null).
    fn value_at(array: &dyn Array, row: usize) -> Result<Option<Self>, RpcError> {
        if row >= array.len() {
            return Err(RpcError::type_error(format!("row {row} is past the end of a column of {}", array.len())));
        }
        Ok(Self::from_array_opt(array.slice(row, 1).as_ref())?.pop().flatten())
    }

    /// The Arrow type of `Vec<Self>` (a list; `u8` overrides it to binary).
    #[doc(hidden)]
    fn list_data_type() -> DataType {
        DataType::List(std::sync::Arc::new(Field::new("item", Self::data_type(), Self::nullable())))
    }

    /// Build a `Vec<Self>` column (a list; `u8` overrides it to binary).
    #[doc(hidden)]
    fn list_into_array(values: Vec<Option<Vec<Self>>>) -> Result<ArrayRef, RpcError> {
        crate::typed::nested::list_into_array(values)
    }

    /// Read a `Vec<Self>` column (a list; `u8` overrides it to binary).
    #[doc(hidden)]
    fn list_from_array(array: &dyn Array) -> Result<Vec<Option<Vec<Self>>>, RpcError> {
        crate::typed::nested::list_from_array(array)
    }
}

/// The Arrow field `name` of Rust type `T`.
pub fn field<T: ArrowType>(name: &str) -> Field {
    Field::new(name, T::data_type(), T::nullable())
}

/// A null where a non-optional value was required.
pub(crate) fn unexpected_null() -> RpcError {
    RpcError::type_error("expected a value but got None")
}

/// A column whose Arrow type is not the one `T` reads.
pub(crate) fn mismatch(want: &DataType, got: &DataType) -> RpcError {
    RpcError::type_error(format!("expected an Arrow {want} column, got {got}"))
}

/// Downcast `array` to `A`, or explain which type was expected.
pub(crate) fn downcast<'a, A: Array + 'static>(array: &'a dyn Array, want: &DataType) -> Result<&'a A, RpcError> {
    array.as_any().downcast_ref::<A>().ok_or_else(|| mismatch(want, array.data_type()))
}

/// Cast `array` to `want` when its type differs (e.g. an `int32` sent for
/// an `int64` parameter), so readers see exactly their declared type.
pub(crate) fn coerce(array: &dyn Array, want: &DataType) -> Result<Option<ArrayRef>, RpcError> {
    if array.data_type() == want {
        return Ok(None);
    }
    if family(array.data_type()) != family(want) || !arrow_cast::can_cast_types(array.data_type(), want) {
        return Err(mismatch(want, array.data_type()));
    }
    let owned = arrow_array::make_array(array.to_data());
    arrow_cast::cast(&owned, want).map(Some).map_err(|_| mismatch(want, array.data_type()))
}

/// Types that convert into each other without changing meaning.
fn family(dt: &DataType) -> u8 {
    match dt {
        d if d.is_integer() => 1,
        d if d.is_floating() => 2,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => 3,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => 4,
        DataType::List(_) | DataType::LargeList(_) | DataType::ListView(_) | DataType::LargeListView(_) => 5,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, StringArray};

    #[test]
    fn widening_is_allowed_and_reinterpretation_is_not() {
        let ints = Int32Array::from(vec![7]);
        let wide = coerce(&ints, &DataType::Int64).unwrap().unwrap();
        assert_eq!(wide.data_type(), &DataType::Int64);
        let text = StringArray::from(vec!["7"]);
        assert_eq!(coerce(&text, &DataType::Int64).unwrap_err().error_type, "TypeError");
        assert!(coerce(&text, &DataType::Utf8).unwrap().is_none());
    }
}
