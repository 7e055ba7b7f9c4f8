//! Dates, timestamps, times of day, durations and decimals.
//!
//! Arrow stores these as integers with a unit; the wrappers here say which
//! unit a value is in, so the declared column type follows from the Rust
//! type. `std::time::SystemTime` is a UTC microsecond timestamp and
//! `std::time::Duration` a nanosecond duration.
//!
//! ```
//! use arrow_schema::{DataType, TimeUnit};
//! use vgi_rpc_core::typed::{ArrowType, Date32, TimestampMillis};
//!
//! assert_eq!(Date32::data_type(), DataType::Date32);
//! assert_eq!(TimestampMillis::data_type(), DataType::Timestamp(TimeUnit::Millisecond, None));
//! let column = std::time::Duration::into_array(vec![std::time::Duration::from_micros(3)]).unwrap();
//! assert_eq!(column.data_type(), &DataType::Duration(TimeUnit::Nanosecond));
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
    DurationSecondType, Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::{DataType, TimeUnit};

use super::arrow_type::{downcast, ArrowType};
use crate::RpcError;

fn read<P: ArrowPrimitiveType>(array: &dyn Array, want: &DataType) -> Result<Vec<Option<P::Native>>, RpcError> {
    if array.data_type() != want {
        return Err(super::arrow_type::mismatch(want, array.data_type()));
    }
    Ok(downcast::<PrimitiveArray<P>>(array, want)?.iter().collect())
}

macro_rules! wrapper {
    ($(#[$doc:meta] $name:ident($native:ty) => $arrow:ty, $dt:expr;)*) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub $native);

        impl ArrowType for $name {
            fn data_type() -> DataType {
                $dt
            }
            fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
                let array = PrimitiveArray::<$arrow>::from(values.into_iter().map(|v| v.map(|v| v.0)).collect::<Vec<_>>());
                Ok(Arc::new(array.with_data_type(Self::data_type())))
            }
            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
                Ok(read::<$arrow>(array, &Self::data_type())?.into_iter().map(|v| v.map($name)).collect())
            }
        }
    )*};
}

wrapper! {
    /// Days since 1970-01-01 (`date32`).
    Date32(i32) => Date32Type, DataType::Date32;
    /// Milliseconds since 1970-01-01 (`date64`).
    Date64(i64) => Date64Type, DataType::Date64;
    /// Seconds since the epoch, no time zone (`timestamp(s)`).
    TimestampSeconds(i64) => TimestampSecondType, DataType::Timestamp(TimeUnit::Second, None);
    /// Milliseconds since the epoch, no time zone (`timestamp(ms)`).
    TimestampMillis(i64) => TimestampMillisecondType, DataType::Timestamp(TimeUnit::Millisecond, None);
    /// Microseconds since the epoch, no time zone (`timestamp(us)`).
    TimestampMicros(i64) => TimestampMicrosecondType, DataType::Timestamp(TimeUnit::Microsecond, None);
    /// Nanoseconds since the epoch, no time zone (`timestamp(ns)`).
    TimestampNanos(i64) => TimestampNanosecondType, DataType::Timestamp(TimeUnit::Nanosecond, None);
    /// Seconds since midnight (`time32(s)`).
    Time32Seconds(i32) => Time32SecondType, DataType::Time32(TimeUnit::Second);
    /// Milliseconds since midnight (`time32(ms)`).
    Time32Millis(i32) => Time32MillisecondType, DataType::Time32(TimeUnit::Millisecond);
    /// Microseconds since midnight (`time64(us)`).
    Time64Micros(i64) => Time64MicrosecondType, DataType::Time64(TimeUnit::Microsecond);
    /// Nanoseconds since midnight (`time64(ns)`).
    Time64Nanos(i64) => Time64NanosecondType, DataType::Time64(TimeUnit::Nanosecond);
    /// A signed span in seconds (`duration(s)`).
    DurationSeconds(i64) => DurationSecondType, DataType::Duration(TimeUnit::Second);
    /// A signed span in milliseconds (`duration(ms)`).
    DurationMillis(i64) => DurationMillisecondType, DataType::Duration(TimeUnit::Millisecond);
    /// A signed span in microseconds (`duration(us)`).
    DurationMicros(i64) => DurationMicrosecondType, DataType::Duration(TimeUnit::Microsecond);
    /// A signed span in nanoseconds (`duration(ns)`; `std::time::Duration` is the unsigned one).
    DurationNanos(i64) => DurationNanosecondType, DataType::Duration(TimeUnit::Nanosecond);
}

/// A fixed-point decimal with precision `P` and scale `S`, stored as its
/// unscaled integer (`decimal128(P,S)`): `Decimal128::<10, 2>(1234)` is 12.34.
///
/// ```
/// use arrow_schema::DataType;
/// use vgi_rpc_core::typed::{ArrowType, Decimal128};
///
/// type Price = Decimal128<10, 2>;
/// let column = Price::into_array(vec![Decimal128(1234)]).unwrap();
/// assert_eq!(column.data_type(), &DataType::Decimal128(10, 2));
/// assert_eq!(Price::from_array(column.as_ref()).unwrap(), vec![Decimal128(1234)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Decimal128<const P: u8, const S: i8>(pub i128);

impl<const P: u8, const S: i8> ArrowType for Decimal128<P, S> {
    fn data_type() -> DataType {
        DataType::Decimal128(P, S)
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        let array =
            PrimitiveArray::<Decimal128Type>::from(values.into_iter().map(|v| v.map(|v| v.0)).collect::<Vec<_>>())
                .with_precision_and_scale(P, S)
                .map_err(|e| RpcError::type_error(format!("invalid decimal128({P},{S}): {e}")))?;
        Ok(Arc::new(array))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        Ok(read::<Decimal128Type>(array, &Self::data_type())?.into_iter().map(|v| v.map(Decimal128)).collect())
    }
}

/// UTC time zone name used for `SystemTime` columns.
const UTC: &str = "UTC";

impl ArrowType for SystemTime {
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        let micros =
            values.into_iter().map(|v| v.map(micros_since_epoch).transpose()).collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(PrimitiveArray::<TimestampMicrosecondType>::from(micros).with_timezone(UTC)))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        let DataType::Timestamp(TimeUnit::Microsecond, _) = array.data_type() else {
            return Err(super::arrow_type::mismatch(&Self::data_type(), array.data_type()));
        };
        let typed = downcast::<PrimitiveArray<TimestampMicrosecondType>>(array, &Self::data_type())?;
        Ok(typed.iter().map(|v| v.map(from_micros)).collect())
    }
}

fn micros_since_epoch(t: SystemTime) -> Result<i64, RpcError> {
    let out_of_range = || RpcError::value_error("time is outside the range of a microsecond timestamp");
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).map_err(|_| out_of_range()),
        Err(before) => i64::try_from(before.duration().as_micros()).map(|m| -m).map_err(|_| out_of_range()),
    }
}

fn from_micros(m: i64) -> SystemTime {
    let magnitude = Duration::from_micros(m.unsigned_abs());
    if m >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

impl ArrowType for Duration {
    fn data_type() -> DataType {
        DataType::Duration(TimeUnit::Nanosecond)
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        let nanos = values
            .into_iter()
            .map(|v| {
                v.map(|d| {
                    i64::try_from(d.as_nanos()).map_err(|_| RpcError::value_error("duration exceeds i64 nanoseconds"))
                })
                .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(PrimitiveArray::<DurationNanosecondType>::from(nanos)))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        read::<DurationNanosecondType>(array, &Self::data_type())?
            .into_iter()
            .map(|v| {
                v.map(|n| {
                    u64::try_from(n).map(Duration::from_nanos).map_err(|_| RpcError::value_error("negative duration"))
                })
                .transpose()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporal_values_round_trip_with_their_units() {
        let dates = vec![Date32(19000), Date32(-1)];
        let array = Date32::into_array(dates.clone()).unwrap();
        assert_eq!(Date32::from_array(array.as_ref()).unwrap(), dates);
        let ts = vec![Some(TimestampNanos(1)), None];
        let array = TimestampNanos::into_array_opt(ts.clone()).unwrap();
        assert_eq!(array.data_type(), &DataType::Timestamp(TimeUnit::Nanosecond, None));
        assert_eq!(TimestampNanos::from_array_opt(array.as_ref()).unwrap(), ts);
        assert!(TimestampMicros::from_array(array.as_ref()).is_err());

        let times = vec![UNIX_EPOCH + Duration::from_micros(5), UNIX_EPOCH - Duration::from_secs(3)];
        let array = SystemTime::into_array(times.clone()).unwrap();
        assert_eq!(SystemTime::from_array(array.as_ref()).unwrap(), times);
        let durations = vec![Duration::from_nanos(7)];
        let array = Duration::into_array(durations.clone()).unwrap();
        assert_eq!(Duration::from_array(array.as_ref()).unwrap(), durations);
    }

    #[test]
    fn times_of_day_and_signed_durations_keep_their_units() {
        let times = vec![Some(Time64Micros(3_600_000_000)), None];
        let array = Time64Micros::into_array_opt(times.clone()).unwrap();
        assert_eq!(array.data_type(), &DataType::Time64(TimeUnit::Microsecond));
        assert_eq!(Time64Micros::from_array_opt(array.as_ref()).unwrap(), times);
        assert!(Time64Nanos::from_array(array.as_ref()).is_err());
        let array = Time32Millis::into_array(vec![Time32Millis(5)]).unwrap();
        assert_eq!(array.data_type(), &DataType::Time32(TimeUnit::Millisecond));
        let spans = vec![DurationMicros(-5), DurationMicros(7)];
        let array = DurationMicros::into_array(spans.clone()).unwrap();
        assert_eq!(array.data_type(), &DataType::Duration(TimeUnit::Microsecond));
        assert_eq!(DurationMicros::from_array(array.as_ref()).unwrap(), spans);
        assert!(std::time::Duration::from_array(array.as_ref()).is_err());
        assert_eq!(DurationSeconds::data_type(), DataType::Duration(TimeUnit::Second));
        assert_eq!(DurationMillis::data_type(), DataType::Duration(TimeUnit::Millisecond));
        assert_eq!(DurationNanos::data_type(), DataType::Duration(TimeUnit::Nanosecond));
        assert_eq!(Time32Seconds::data_type(), DataType::Time32(TimeUnit::Second));
    }

    #[test]
    fn decimals_carry_precision_and_scale() {
        let values = vec![Decimal128::<10, 2>(1234)];
        let array = Decimal128::<10, 2>::into_array(values.clone()).unwrap();
        assert_eq!(array.data_type(), &DataType::Decimal128(10, 2));
        assert_eq!(Decimal128::<10, 2>::from_array(array.as_ref()).unwrap(), values);
        assert!(Decimal128::<12, 2>::from_array(array.as_ref()).is_err());
    }
}
