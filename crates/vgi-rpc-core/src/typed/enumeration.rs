//! Dictionary-encoded strings. [`Enum`]: a Rust enum of unit variants
//! travels as its member names in a `dictionary<int16, utf8>` column whose
//! dictionary is every member, in declaration order (how the reference
//! sends Python enums); `#[derive(Enum)]` (crate `vgi-rpc-macros`)
//! implements it. [`DictionaryString`]: any string, declared as
//! `dictionary<int16, utf8>`, its dictionary the column's distinct values.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int16Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, Int16Array, StringArray};
use arrow_schema::DataType;

use super::arrow_type::{mismatch, ArrowType};
use crate::RpcError;

/// An enum whose values are its member names.
///
/// Usually derived (`#[derive(Enum)]`, `#[vgi(rename = "...")]` on a
/// variant sets its wire name); by hand:
///
/// ```
/// use vgi_rpc_core::typed::{enum_data_type, enum_from_array, enum_into_array, Enum};
///
/// #[derive(Debug, PartialEq)]
/// enum Color { Red, Green }
///
/// impl Enum for Color {
///     const NAME: &'static str = "Color";
///     const MEMBERS: &'static [&'static str] = &["RED", "GREEN"];
///     fn index(&self) -> usize {
///         match self { Color::Red => 0, Color::Green => 1 }
///     }
///     fn from_index(index: usize) -> Option<Self> {
///         [Color::Red, Color::Green].into_iter().nth(index)
///     }
/// }
///
/// let column = enum_into_array(vec![Some(Color::Green), None]).unwrap();
/// assert_eq!(column.data_type(), &enum_data_type());
/// assert_eq!(enum_from_array::<Color>(column.as_ref()).unwrap(), vec![Some(Color::Green), None]);
/// ```
pub trait Enum: Sized {
    /// The enum's name, for errors (`'X' is not a valid Color`).
    const NAME: &'static str;
    /// Every member's wire name, in declaration order: the dictionary of
    /// every column this enum writes.
    const MEMBERS: &'static [&'static str];
    /// This value's position in [`Enum::MEMBERS`].
    fn index(&self) -> usize;
    /// The member at `index`.
    fn from_index(index: usize) -> Option<Self>;

    /// The member named `name`; a `ValueError` names the enum otherwise.
    fn from_name(name: &str) -> Result<Self, RpcError> {
        Self::MEMBERS
            .iter()
            .position(|m| *m == name)
            .and_then(Self::from_index)
            .ok_or_else(|| RpcError::value_error(format!("'{name}' is not a valid {}", Self::NAME)))
    }

    /// This value's wire name.
    fn name(&self) -> &'static str {
        Self::MEMBERS.get(self.index()).copied().unwrap_or("")
    }
}

/// `dictionary<int16, utf8>`: the column type of every [`Enum`].
pub fn enum_data_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8))
}

/// A column of enum values (`None` becoming null) over the full member list.
pub fn enum_into_array<E: Enum>(values: Vec<Option<E>>) -> Result<ArrayRef, RpcError> {
    let too_many = || RpcError::value_error(format!("{} has more members than an int16 dictionary holds", E::NAME));
    let keys = values
        .iter()
        .map(|v| v.as_ref().map(|v| i16::try_from(v.index()).map_err(|_| too_many())).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let dictionary = Arc::new(StringArray::from(E::MEMBERS.to_vec()));
    let array = DictionaryArray::<Int16Type>::try_new(Int16Array::from(keys), dictionary)
        .map_err(|e| RpcError::type_error(format!("cannot build a {} column: {e}", E::NAME)))?;
    Ok(Arc::new(array))
}

/// Read enum values from a dictionary column (any key width) or a plain
/// string column; an unknown name is a `ValueError`.
pub fn enum_from_array<E: Enum>(array: &dyn Array) -> Result<Vec<Option<E>>, RpcError> {
    let names: ArrayRef = match array.data_type() {
        DataType::Dictionary(_, value) if is_string(value) => cast_to_utf8(array)?,
        DataType::Utf8 => arrow_array::make_array(array.to_data()),
        other if is_string(other) => cast_to_utf8(array)?,
        other => return Err(mismatch(&enum_data_type(), other)),
    };
    names.as_string::<i32>().iter().map(|name| name.map(E::from_name).transpose()).collect()
}

/// A free-form string declared as `dictionary<int16, utf8>`: the column's
/// dictionary is its distinct values in first-seen order.
///
/// ```
/// use arrow_schema::DataType;
/// use vgi_rpc_core::typed::{ArrowType, DictionaryString};
///
/// let values = vec![DictionaryString("a".into()), DictionaryString("b".into()), DictionaryString("a".into())];
/// let column = DictionaryString::into_array(values.clone()).unwrap();
/// assert_eq!(column.data_type(), &DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)));
/// assert_eq!(DictionaryString::from_array(column.as_ref()).unwrap(), values);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct DictionaryString(pub String);

impl ArrowType for DictionaryString {
    fn data_type() -> DataType {
        enum_data_type()
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        let mut distinct: Vec<String> = Vec::new();
        let mut keys = Vec::with_capacity(values.len());
        for value in values {
            keys.push(match value {
                None => None,
                Some(DictionaryString(s)) => {
                    let index = match distinct.iter().position(|d| *d == s) {
                        Some(i) => i,
                        None => {
                            distinct.push(s);
                            distinct.len() - 1
                        }
                    };
                    Some(
                        i16::try_from(index).map_err(|_| {
                            RpcError::value_error("more distinct strings than an int16 dictionary holds")
                        })?,
                    )
                }
            });
        }
        let array =
            DictionaryArray::<Int16Type>::try_new(Int16Array::from(keys), Arc::new(StringArray::from(distinct)))
                .map_err(|e| RpcError::type_error(format!("cannot build a dictionary column: {e}")))?;
        Ok(Arc::new(array))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        let strings = match array.data_type() {
            DataType::Dictionary(_, value) if is_string(value) => cast_to_utf8(array)?,
            DataType::Utf8 => arrow_array::make_array(array.to_data()),
            other if is_string(other) => cast_to_utf8(array)?,
            other => return Err(mismatch(&enum_data_type(), other)),
        };
        Ok(strings.as_string::<i32>().iter().map(|v| v.map(|v| DictionaryString(v.to_owned()))).collect())
    }
}

fn is_string(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn cast_to_utf8(array: &dyn Array) -> Result<ArrayRef, RpcError> {
    let owned = arrow_array::make_array(array.to_data());
    arrow_cast::cast(&owned, &DataType::Utf8).map_err(|_| mismatch(&enum_data_type(), array.data_type()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Status {
        Pending,
        Closed,
    }

    impl Enum for Status {
        const NAME: &'static str = "Status";
        const MEMBERS: &'static [&'static str] = &["PENDING", "CLOSED"];
        fn index(&self) -> usize {
            match self {
                Status::Pending => 0,
                Status::Closed => 1,
            }
        }
        fn from_index(index: usize) -> Option<Self> {
            match index {
                0 => Some(Status::Pending),
                1 => Some(Status::Closed),
                _ => None,
            }
        }
    }

    #[test]
    fn values_are_keys_into_every_member() {
        let column = enum_into_array(vec![Some(Status::Closed), None, Some(Status::Pending)]).unwrap();
        let dict = column.as_dictionary::<Int16Type>();
        assert_eq!(dict.values().as_string::<i32>().iter().flatten().collect::<Vec<_>>(), ["PENDING", "CLOSED"]);
        assert_eq!(dict.keys().iter().collect::<Vec<_>>(), [Some(1), None, Some(0)]);
        let back = enum_from_array::<Status>(column.as_ref()).unwrap();
        assert_eq!(back, [Some(Status::Closed), None, Some(Status::Pending)]);
        assert_eq!(Status::Closed.name(), "CLOSED");
    }

    #[test]
    fn free_strings_dictionary_their_distinct_values() {
        let values = vec![Some(DictionaryString("x".into())), None, Some(DictionaryString("x".into()))];
        let column = DictionaryString::into_array_opt(values.clone()).unwrap();
        let dict = column.as_dictionary::<Int16Type>();
        assert_eq!(dict.values().len(), 1);
        assert_eq!(dict.keys().iter().collect::<Vec<_>>(), [Some(0), None, Some(0)]);
        assert_eq!(DictionaryString::from_array_opt(column.as_ref()).unwrap(), values);
    }

    #[test]
    fn unknown_names_are_value_errors_and_numbers_type_errors() {
        let strings = StringArray::from(vec!["PENDING", "OPEN"]);
        let err = enum_from_array::<Status>(&strings).unwrap_err();
        assert_eq!((err.error_type.as_str(), err.message.as_str()), ("ValueError", "'OPEN' is not a valid Status"));
        let other_dictionary = DictionaryArray::<arrow_array::types::Int8Type>::try_new(
            arrow_array::Int8Array::from(vec![0]),
            Arc::new(StringArray::from(vec!["CLOSED"])),
        )
        .unwrap();
        assert_eq!(enum_from_array::<Status>(&other_dictionary).unwrap(), [Some(Status::Closed)]);
        let ints = arrow_array::Int64Array::from(vec![1]);
        assert_eq!(enum_from_array::<Status>(&ints).unwrap_err().error_type, "TypeError");
    }
}
