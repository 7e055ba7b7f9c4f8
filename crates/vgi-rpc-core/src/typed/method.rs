//! Typed method registration on the dynamic [`MethodBuilder`]: parameters
//! from a [`MethodParams`] struct, results from Rust types, stream output
//! schemas encoded once when the method is built, and the state codec of
//! typed streams registered by construction.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::DataType;
use vgi_rpc_wire::EncodedSchema;

use super::client::decode_error;
use super::state::{ExchangeAdapter, ProducerAdapter};
use super::{ArrowType, Exchange, MethodParams, Producer, Row};
use crate::client::{CallError, UnaryResponse};
use crate::method::MethodBuilder;
use crate::state_codec::decode_state;
use crate::stream::{StreamResult, StreamState};
use crate::{CallContext, MethodDef, RpcError};

/// What a typed unary method returns: any [`ArrowType`] (a `result`
/// column) or `()` (void).
///
/// ```
/// use arrow_schema::DataType;
/// use vgi_rpc_core::typed::UnaryReturn;
///
/// assert_eq!(<Option<String> as UnaryReturn>::result_type(), Some((DataType::Utf8, true)));
/// assert_eq!(<() as UnaryReturn>::result_type(), None);
/// assert!(().into_result().unwrap().is_none());
/// ```
pub trait UnaryReturn: Sized {
    /// The `result` column's type and nullability; `None` for void.
    fn result_type() -> Option<(DataType, bool)>;
    /// The one-row result column (server side).
    fn into_result(self) -> Result<Option<ArrayRef>, RpcError>;
    /// Read the value back from a response (client side).
    fn from_response(response: &UnaryResponse) -> Result<Self, CallError>;
}

impl<T: ArrowType> UnaryReturn for T {
    fn result_type() -> Option<(DataType, bool)> {
        Some((T::data_type(), T::nullable()))
    }
    fn into_result(self) -> Result<Option<ArrayRef>, RpcError> {
        T::into_array(vec![self]).map(Some)
    }
    fn from_response(response: &UnaryResponse) -> Result<Self, CallError> {
        let column = response.value().ok_or_else(|| CallError::Protocol("the response has no result column".into()))?;
        match T::value_at(column.as_ref(), 0) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(CallError::Protocol("the result is null for a non-optional return type".into())),
            Err(e) => Err(decode_error("result", e)),
        }
    }
}

impl UnaryReturn for () {
    fn result_type() -> Option<(DataType, bool)> {
        None
    }
    fn into_result(self) -> Result<Option<ArrayRef>, RpcError> {
        Ok(None)
    }
    fn from_response(_: &UnaryResponse) -> Result<Self, CallError> {
        Ok(())
    }
}

impl MethodBuilder {
    /// Declare the parameters of `P`: columns, defaults and docs.
    pub fn params_of<P: MethodParams>(mut self) -> Self {
        let defaults = P::defaults();
        for field in P::schema().fields() {
            match defaults.iter().find(|(name, _)| name == field.name()) {
                Some((_, value)) => {
                    self =
                        self.param_default(field.name(), field.data_type().clone(), field.is_nullable(), value.clone())
                }
                None => self = self.param(field.name(), field.data_type().clone(), field.is_nullable()),
            }
        }
        for (name, doc) in P::docs() {
            self = self.param_doc(name, doc);
        }
        self
    }

    /// Finish as a typed unary method: `f` gets the parameters as `P` and
    /// returns an `R` (declared as the `result` column).
    ///
    /// ```
    /// use vgi_rpc_core::{CallContext, MethodDef, RpcError};
    ///
    /// let square = MethodDef::builder("square")
    ///     .doc("Square a number.")
    ///     .typed_unary(|(): (), _ctx: &CallContext| -> Result<i64, RpcError> { Ok(49) });
    /// assert!(square.has_return());
    /// assert_eq!(square.result_schema().schema().field(0).name(), "result");
    /// ```
    pub fn typed_unary<P, R, F>(self, f: F) -> MethodDef
    where
        P: MethodParams,
        R: UnaryReturn,
        F: Fn(P, &CallContext) -> Result<R, RpcError> + Send + Sync + 'static,
    {
        let builder = self.params_of::<P>();
        let builder = match R::result_type() {
            Some((data_type, nullable)) => builder.returns(data_type, nullable),
            None => builder,
        };
        builder.unary(move |p, ctx| f(P::from_params(p)?, ctx)?.into_result())
    }

    /// Finish as a typed producer stream: `f` builds the state, whose rows
    /// are `S::Row`; the output schema is encoded now, and the state's serde
    /// codec is registered so HTTP can resume it on any worker.
    pub fn typed_producer<P, S, F>(self, f: F) -> MethodDef
    where
        P: MethodParams,
        S: Producer,
        F: Fn(P, &CallContext) -> Result<S, RpcError> + Send + Sync + 'static,
    {
        let schema = Arc::new(EncodedSchema::new(S::Row::schema()));
        self.params_of::<P>().producer_decoder::<S>().producer(move |p, ctx| {
            Ok(StreamResult::producer(schema.clone(), ProducerAdapter(f(P::from_params(p)?, ctx)?)))
        })
    }

    /// Finish as a typed producer stream that opens with a header: `f`
    /// returns the header (one row of `H`, declared as the method's header
    /// schema) and the state.
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use vgi_rpc_core::typed::{Producer, Rows, Value};
    /// use vgi_rpc_core::{CallContext, MethodDef, RpcError};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Done;
    /// impl Producer for Done {
    ///     type Row = Value<i64>;
    ///     fn produce(&mut self, out: &mut Rows<'_, Value<i64>>, _: &CallContext) -> Result<(), RpcError> {
    ///         out.finish()
    ///     }
    /// }
    ///
    /// let method = MethodDef::builder("with_total")
    ///     .typed_producer_with_header(|(): (), _: &CallContext| Ok((Value(0i64), Done)));
    /// assert_eq!(method.header_schema().unwrap().schema().field(0).name(), "value");
    /// ```
    pub fn typed_producer_with_header<P, H, S, F>(self, f: F) -> MethodDef
    where
        P: MethodParams,
        H: Row,
        S: Producer,
        F: Fn(P, &CallContext) -> Result<(H, S), RpcError> + Send + Sync + 'static,
    {
        let schema = Arc::new(EncodedSchema::new(S::Row::schema()));
        self.params_of::<P>().header(H::schema()).producer_decoder::<S>().producer(move |p, ctx| {
            let (header, state) = f(P::from_params(p)?, ctx)?;
            Ok(StreamResult::producer(schema.clone(), ProducerAdapter(state)).with_header(H::to_batch(vec![header])?))
        })
    }

    /// Finish as a typed exchange stream: input rows `S::Input`, output rows
    /// `S::Output`; schemas are encoded now and the state codec registered.
    pub fn typed_exchange<P, S, F>(self, f: F) -> MethodDef
    where
        P: MethodParams,
        S: Exchange,
        F: Fn(P, &CallContext) -> Result<S, RpcError> + Send + Sync + 'static,
    {
        let schema = Arc::new(EncodedSchema::new(S::Output::schema()));
        self.params_of::<P>().exchange_decoder::<S>().exchange(move |p, ctx| {
            let state = ExchangeAdapter(f(P::from_params(p)?, ctx)?);
            Ok(StreamResult::exchange(schema.clone(), S::Input::schema(), state))
        })
    }

    /// Finish as a typed exchange stream that opens with a header (one row
    /// of `H`, declared as the method's header schema), as
    /// [`MethodBuilder::typed_producer_with_header`].
    pub fn typed_exchange_with_header<P, H, S, F>(self, f: F) -> MethodDef
    where
        P: MethodParams,
        H: Row,
        S: Exchange,
        F: Fn(P, &CallContext) -> Result<(H, S), RpcError> + Send + Sync + 'static,
    {
        let schema = Arc::new(EncodedSchema::new(S::Output::schema()));
        self.params_of::<P>().header(H::schema()).exchange_decoder::<S>().exchange(move |p, ctx| {
            let (header, state) = f(P::from_params(p)?, ctx)?;
            Ok(StreamResult::exchange(schema.clone(), S::Input::schema(), ExchangeAdapter(state))
                .with_header(H::to_batch(vec![header])?))
        })
    }

    /// The serde state codec of producer `S`.
    fn producer_decoder<S: Producer>(self) -> Self {
        self.state_decoder(|bytes| Ok(StreamState::Producer(Box::new(ProducerAdapter(decode_state::<S>(bytes)?)))))
    }

    /// The serde state codec of exchange `S`.
    fn exchange_decoder<S: Exchange>(self) -> Self {
        self.state_decoder(|bytes| {
            Ok(StreamState::Exchange {
                input_schema: S::Input::schema(),
                state: Box::new(ExchangeAdapter(decode_state::<S>(bytes)?)),
            })
        })
    }
}
