//! `Option<T>` (a nullable column), `Vec<T>` (a list) and maps
//! (`BTreeMap` / `HashMap` / [`OrderedMap`] as an Arrow map of `key` /
//! `value` entries).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, ListArray, MapArray, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields};

use super::arrow_type::{coerce, downcast, ArrowType};
use crate::RpcError;

impl<T: ArrowType> ArrowType for Option<T> {
    fn data_type() -> DataType {
        T::data_type()
    }
    fn nullable() -> bool {
        true
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        T::into_array_opt(values.into_iter().map(Option::flatten).collect())
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        Ok(T::from_array_opt(array)?.into_iter().map(Some).collect())
    }
    fn into_array(values: Vec<Self>) -> Result<ArrayRef, RpcError> {
        T::into_array_opt(values)
    }
    fn from_array(array: &dyn Array) -> Result<Vec<Self>, RpcError> {
        T::from_array_opt(array)
    }
    fn value_at(array: &dyn Array, row: usize) -> Result<Option<Self>, RpcError> {
        T::value_at(array, row).map(Some)
    }
}

impl<T: ArrowType> ArrowType for Vec<T> {
    fn data_type() -> DataType {
        T::list_data_type()
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        T::list_into_array(values)
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        T::list_from_array(array)
    }
}

/// Offsets and validity of rows holding `len(row)` children each.
fn offsets_and_nulls<V>(rows: &[Option<V>], len: impl Fn(&V) -> usize) -> (OffsetBuffer<i32>, Option<NullBuffer>) {
    let offsets = OffsetBuffer::from_lengths(rows.iter().map(|r| r.as_ref().map_or(0, &len)));
    let nulls = rows.iter().any(Option::is_none).then(|| NullBuffer::from_iter(rows.iter().map(Option::is_some)));
    (offsets, nulls)
}

/// A generic list column of `T` values.
pub(crate) fn list_into_array<T: ArrowType>(values: Vec<Option<Vec<T>>>) -> Result<ArrayRef, RpcError> {
    let (offsets, nulls) = offsets_and_nulls(&values, Vec::len);
    let children: Vec<T> = values.into_iter().flatten().flatten().collect();
    let item = Arc::new(Field::new("item", T::data_type(), T::nullable()));
    let list = ListArray::try_new(item, offsets, T::into_array(children)?, nulls)
        .map_err(|e| RpcError::type_error(format!("cannot build a list column: {e}")))?;
    Ok(Arc::new(list))
}

/// Read a list column (any list layout that casts to a list of `T`).
pub(crate) fn list_from_array<T: ArrowType>(array: &dyn Array) -> Result<Vec<Option<Vec<T>>>, RpcError> {
    let want = Vec::<T>::data_type();
    let coerced = match array.data_type() {
        DataType::List(_) => None,
        _ => coerce(array, &want)?,
    };
    let list = downcast::<ListArray>(coerced.as_deref().unwrap_or(array), &want)?;
    (0..list.len())
        .map(|i| if list.is_null(i) { Ok(None) } else { T::from_array(list.value(i).as_ref()).map(Some) })
        .collect()
}

/// The `entries` field of a map from `K` to `V`.
fn entries<K: ArrowType, V: ArrowType>() -> Arc<Field> {
    let fields = Fields::from(vec![
        Field::new("key", K::data_type(), false),
        Field::new("value", V::data_type(), V::nullable()),
    ]);
    Arc::new(Field::new("entries", DataType::Struct(fields), false))
}

fn map_into_array<K: ArrowType, V: ArrowType, M: IntoIterator<Item = (K, V)>>(
    rows: Vec<Option<M>>,
    len: impl Fn(&M) -> usize,
) -> Result<ArrayRef, RpcError> {
    let (offsets, nulls) = offsets_and_nulls(&rows, len);
    let (keys, values): (Vec<K>, Vec<V>) = rows.into_iter().flatten().flatten().unzip();
    let entries = entries::<K, V>();
    let DataType::Struct(fields) = entries.data_type().clone() else {
        return Err(RpcError::type_error("map entries are not a struct"));
    };
    let structs = StructArray::try_new(fields, vec![K::into_array(keys)?, V::into_array(values)?], None)
        .map_err(|e| RpcError::type_error(format!("cannot build map entries: {e}")))?;
    let map = MapArray::try_new(entries, offsets, structs, nulls, false)
        .map_err(|e| RpcError::type_error(format!("cannot build a map column: {e}")))?;
    Ok(Arc::new(map))
}

fn map_from_array<K: ArrowType, V: ArrowType, M: FromIterator<(K, V)>>(
    array: &dyn Array,
    want: &DataType,
) -> Result<Vec<Option<M>>, RpcError> {
    let map = downcast::<MapArray>(array, want)?;
    (0..map.len())
        .map(|i| {
            if map.is_null(i) {
                return Ok(None);
            }
            let entries = map.value(i);
            let keys = K::from_array(entries.column(0).as_ref())?;
            let values = V::from_array(entries.column(1).as_ref())?;
            Ok(Some(keys.into_iter().zip(values).collect()))
        })
        .collect()
}

impl<K: ArrowType + Ord, V: ArrowType> ArrowType for BTreeMap<K, V> {
    fn data_type() -> DataType {
        DataType::Map(entries::<K, V>(), false)
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        map_into_array(values, BTreeMap::len)
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        map_from_array(array, &Self::data_type())
    }
}

impl<K: ArrowType + Eq + Hash, V: ArrowType, S: std::hash::BuildHasher + Default> ArrowType for HashMap<K, V, S> {
    fn data_type() -> DataType {
        DataType::Map(entries::<K, V>(), false)
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        map_into_array(values, HashMap::len)
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        map_from_array(array, &Self::data_type())
    }
}

/// A map that keeps its entries in wire order (a `BTreeMap` sorts them, a
/// `HashMap` scrambles them): what a Python `dict` is, so echoing one
/// returns its keys in the order they came.
///
/// ```
/// use vgi_rpc_core::typed::{ArrowType, OrderedMap};
///
/// let map = OrderedMap(vec![("b".to_owned(), 1i64), ("a".to_owned(), 2)]);
/// let column = OrderedMap::into_array(vec![map.clone()]).unwrap();
/// assert_eq!(OrderedMap::<String, i64>::from_array(column.as_ref()).unwrap(), vec![map]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct OrderedMap<K, V>(pub Vec<(K, V)>);

impl<K, V> FromIterator<(K, V)> for OrderedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        OrderedMap(iter.into_iter().collect())
    }
}

impl<K, V> IntoIterator for OrderedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<K: ArrowType, V: ArrowType> ArrowType for OrderedMap<K, V> {
    fn data_type() -> DataType {
        DataType::Map(entries::<K, V>(), false)
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        map_into_array(values, |m: &OrderedMap<K, V>| m.0.len())
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        map_from_array(array, &Self::data_type())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_nulls_at_both_levels() {
        let values = vec![Some(vec![Some(1i64), None]), None, Some(vec![])];
        let array = <Vec<Option<i64>>>::into_array_opt(values.clone()).unwrap();
        assert!(matches!(array.data_type(), DataType::List(f) if f.is_nullable()));
        assert_eq!(<Vec<Option<i64>>>::from_array_opt(array.as_ref()).unwrap(), values);
        assert!(<Vec<i64>>::from_array(array.as_ref()).is_err());
    }

    #[test]
    fn nested_lists_and_maps_round_trip() {
        let lists = vec![vec![vec!["a".to_owned()], vec![]], vec![]];
        let array = <Vec<Vec<String>>>::into_array(lists.clone()).unwrap();
        assert_eq!(<Vec<Vec<String>>>::from_array(array.as_ref()).unwrap(), lists);

        let maps = vec![BTreeMap::from([("a".to_owned(), 1i32), ("b".to_owned(), 2)]), BTreeMap::new()];
        let array = <BTreeMap<String, i32>>::into_array(maps.clone()).unwrap();
        assert_eq!(array.data_type(), &<BTreeMap<String, i32>>::data_type());
        assert_eq!(<BTreeMap<String, i32>>::from_array(array.as_ref()).unwrap(), maps);

        let ordered = vec![Some(OrderedMap(vec![("z".to_owned(), None), ("a".to_owned(), Some(1i64))])), None];
        let array = <OrderedMap<String, Option<i64>>>::into_array_opt(ordered.clone()).unwrap();
        assert_eq!(array.data_type(), &<BTreeMap<String, Option<i64>>>::data_type());
        assert_eq!(<OrderedMap<String, Option<i64>>>::from_array_opt(array.as_ref()).unwrap(), ordered);

        let hashed: Vec<HashMap<i64, Option<bool>>> = vec![HashMap::from([(1, Some(true)), (2, None)])];
        let array = <HashMap<i64, Option<bool>>>::into_array(hashed.clone()).unwrap();
        assert_eq!(<HashMap<i64, Option<bool>>>::from_array(array.as_ref()).unwrap(), hashed);
    }
}
