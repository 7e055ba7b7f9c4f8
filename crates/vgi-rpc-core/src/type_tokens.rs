//! Canonical type tokens of the `protocol_hash` preimage (WIRE_PROTOCOL.md §14).
//!
//! The table is exhaustive on purpose: a type without a token is an error,
//! never a fall-back to Arrow's own display string.

use arrow_schema::{DataType, Field, IntervalUnit, TimeUnit, UnionMode};

/// A type the token table does not cover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no protocol_hash type token for Arrow type {0}")]
pub struct UnsupportedType(pub String);

fn unit(u: &TimeUnit) -> &'static str {
    match u {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    }
}

/// `name:token` or `name?:token` for a child field.
fn child(name: &str, field: &Field) -> Result<String, UnsupportedType> {
    let q = if field.is_nullable() { "?" } else { "" };
    Ok(format!("{name}{q}:{}", type_token(field.data_type())?))
}

/// The token of one Arrow type.
pub fn type_token(dt: &DataType) -> Result<String, UnsupportedType> {
    Ok(match dt {
        DataType::Null => "null".into(),
        DataType::Boolean => "bool".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float16 => "float16".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Decimal128(p, s) => format!("decimal128({p},{s})"),
        DataType::Decimal256(p, s) => format!("decimal256({p},{s})"),
        DataType::Utf8 => "utf8".into(),
        DataType::LargeUtf8 => "large_utf8".into(),
        DataType::Utf8View => "utf8_view".into(),
        DataType::Binary => "binary".into(),
        DataType::LargeBinary => "large_binary".into(),
        DataType::BinaryView => "binary_view".into(),
        DataType::FixedSizeBinary(n) => format!("fixed_size_binary({n})"),
        DataType::Date32 => "date32".into(),
        DataType::Date64 => "date64".into(),
        DataType::Time32(u) => format!("time32({})", unit(u)),
        DataType::Time64(u) => format!("time64({})", unit(u)),
        DataType::Timestamp(u, None) => format!("timestamp({})", unit(u)),
        DataType::Timestamp(u, Some(tz)) => format!("timestamp({},tz={tz})", unit(u)),
        DataType::Duration(u) => format!("duration({})", unit(u)),
        DataType::Interval(IntervalUnit::YearMonth) => "interval_months".into(),
        DataType::Interval(IntervalUnit::DayTime) => "interval_day_time".into(),
        DataType::Interval(IntervalUnit::MonthDayNano) => "interval_month_day_nano".into(),
        DataType::List(f) => format!("list<{}>", child("item", f)?),
        DataType::LargeList(f) => format!("large_list<{}>", child("item", f)?),
        DataType::ListView(f) => format!("list_view<{}>", child("item", f)?),
        DataType::LargeListView(f) => format!("large_list_view<{}>", child("item", f)?),
        DataType::FixedSizeList(f, n) => format!("fixed_size_list({n})<{}>", child("item", f)?),
        DataType::Struct(fields) => {
            let parts: Result<Vec<_>, _> = fields.iter().map(|f| child(f.name(), f)).collect();
            format!("struct<{}>", parts?.join(","))
        }
        DataType::Map(entries, sorted) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(UnsupportedType(dt.to_string()));
            };
            if kv.len() != 2 {
                return Err(UnsupportedType(dt.to_string()));
            }
            let suffix = if *sorted { ",keys_sorted" } else { "" };
            format!("map<{},{}{suffix}>", child("key", &kv[0])?, child("value", &kv[1])?)
        }
        DataType::Union(fields, mode) => {
            let prefix = match mode {
                UnionMode::Dense => "dense_union",
                UnionMode::Sparse => "sparse_union",
            };
            let parts: Result<Vec<_>, _> =
                fields.iter().map(|(code, f)| child(f.name(), f).map(|c| format!("{code}={c}"))).collect();
            format!("{prefix}<{}>", parts?.join(","))
        }
        DataType::Dictionary(k, v) => format!("dictionary<index:{},value:{}>", type_token(k)?, type_token(v)?),
        DataType::RunEndEncoded(r, v) => {
            format!("run_end_encoded<run_ends:{},values:{}>", type_token(r.data_type())?, type_token(v.data_type())?)
        }
        other => return Err(UnsupportedType(other.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn tokens_follow_the_table() {
        let list = DataType::List(Arc::new(Field::new("element", DataType::Int64, true)));
        assert_eq!(type_token(&list).unwrap(), "list<item?:int64>", "list child names normalise to item");
        let map = DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(
                    vec![Field::new("k", DataType::Utf8, false), Field::new("v", DataType::Int64, true)].into(),
                ),
                false,
            )),
            false,
        );
        assert_eq!(type_token(&map).unwrap(), "map<key:utf8,value?:int64>");
        assert_eq!(
            type_token(&DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))).unwrap(),
            "timestamp(us,tz=UTC)"
        );
        assert_eq!(type_token(&DataType::Decimal128(20, 4)).unwrap(), "decimal128(20,4)");
        let dict = DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8));
        assert_eq!(type_token(&dict).unwrap(), "dictionary<index:int16,value:utf8>");
    }
}
