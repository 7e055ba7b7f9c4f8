//! The typed layer: Rust types in place of hand-built Arrow arrays, on top
//! of the dynamic [`MethodBuilder`](crate::method::MethodBuilder) (which
//! stays for workers whose schemas are chosen at run time).
//!
//! * [`ArrowType`]: one Rust type ↔ one Arrow column (integers, floats,
//!   `bool`, `String`, `Vec<u8>`, their large and fixed-size layouts, dates,
//!   timestamps, times of day, durations, decimals, `Option<T>`, `Vec<T>`,
//!   maps (sorted, hashed or in wire order), structs, enums).
//! * [`Enum`]: an enum of unit variants as a `dictionary<int16, utf8>`
//!   ([`DictionaryString`]: any string so declared).
//! * [`Row`]: a struct is one row; `Vec<Row>` ↔ `RecordBatch`.
//! * [`MethodParams`]: a struct is a method's parameter list.
//! * [`Producer`] / [`Exchange`]: stream states emitting typed rows,
//!   resumable by construction (serde).
//! * [`RpcClient`]: one client interface over every transport, and the
//!   typed calls ([`call_unary`], [`open_producer`], [`open_exchange`])
//!   that generated clients make.
//!
//! The `vgi-rpc-macros` crate derives these (`#[derive(Params)]`,
//! `#[derive(Row)]`, `#[service]`); this module holds every piece of
//! runtime logic the derives expand to.
//!
//! ```
//! use vgi_rpc_core::typed::{ArrowType, Row, Value};
//! use vgi_rpc_core::{CallContext, MethodDef, Protocol, RpcError, Server};
//!
//! let double = MethodDef::builder("double")
//!     .typed_unary(|(): (), _: &CallContext| -> Result<Vec<i32>, RpcError> { Ok(vec![2, 4]) });
//! let server = Server::builder().protocol(Protocol::new("demo.v1").method(double)).build().unwrap();
//! assert!(server.protocol("demo.v1").is_some());
//! ```

mod arrow_type;
mod client;
mod enumeration;
mod method;
pub(crate) mod nested;
mod params;
mod primitive;
mod row;
mod state;
pub(crate) mod string;
mod temporal;

pub use arrow_type::{field, ArrowType};
pub use client::{
    call_unary, open_exchange, open_producer, open_producer_with_header, ExchangeStream, ProducerStream, RpcClient,
    TypedExchange, TypedProducer,
};
pub use enumeration::{enum_data_type, enum_from_array, enum_into_array, DictionaryString, Enum};
pub use method::UnaryReturn;
pub use nested::OrderedMap;
pub use params::{param, param_or, params_batch, MethodParams};
pub use row::{next_value, read_column, struct_from_array, struct_into_array, Row, Value};
pub use state::{Exchange, Input, Producer, Rows};
pub use string::{FixedBinary, LargeBinary, LargeString};
pub use temporal::{
    Date32, Date64, Decimal128, DurationMicros, DurationMillis, DurationNanos, DurationSeconds, Time32Millis,
    Time32Seconds, Time64Micros, Time64Nanos, TimestampMicros, TimestampMillis, TimestampNanos, TimestampSeconds,
};

/// `Result` with the error a handler returns.
pub type RpcResult<T> = Result<T, crate::RpcError>;

/// What generated code names; not part of the semver promise.
#[doc(hidden)]
pub mod __private {
    pub use arrow_array::{Array, ArrayRef, RecordBatch};
    pub use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
    pub use serde;
    pub use serde_json;
    pub use std::sync::{Arc, OnceLock};

    pub use crate::client::CallError;
    pub use crate::{CallContext, MethodDef, Params, Protocol, RpcError};
}
