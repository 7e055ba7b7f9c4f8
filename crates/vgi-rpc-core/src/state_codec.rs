//! Encoding stream states so another worker can resume them (HTTP
//! continuations): serde + bincode, size-bounded on decode, and decoder
//! constructors for [`crate::method::MethodBuilder::state_decoder`].
//!
//! ```ignore
//! #[derive(Serialize, Deserialize)]
//! struct Counter { next: i64, end: i64 }
//! impl ProducerState for Counter {
//!     fn produce(&mut self, out: &mut OutputCollector, ctx: &CallContext) -> Result<(), RpcError> { /* … */ }
//!     fn encode_state(&self) -> Option<Vec<u8>> { encode_state(self).ok() }
//! }
//! MethodDef::builder("count").state_decoder(producer_decoder::<Counter>()).producer(/* … */);
//! ```

use arrow_schema::SchemaRef;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::stream::StreamState;
use crate::{ExchangeState, ProducerState, RpcError};

/// Largest encoded state accepted when decoding.
pub const MAX_STATE_BYTES: usize = 64 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_STATE_BYTES>()
}

/// Serialize a state.
pub fn encode_state<T: Serialize>(state: &T) -> Result<Vec<u8>, RpcError> {
    bincode::serde::encode_to_vec(state, config())
        .map_err(|e| RpcError::runtime_error(format!("cannot encode stream state: {e}")))
}

/// Deserialize a state; trailing bytes or oversize input are errors.
pub fn decode_state<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RpcError> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| RpcError::value_error(format!("cannot decode stream state: {e}")))?;
    if used != bytes.len() {
        return Err(RpcError::value_error("cannot decode stream state: trailing bytes"));
    }
    Ok(value)
}

/// A state decoder that rebuilds producer state `T`.
pub fn producer_decoder<T>() -> impl Fn(&[u8]) -> Result<StreamState, RpcError> + Send + Sync + 'static
where
    T: ProducerState + DeserializeOwned + 'static,
{
    |bytes| Ok(StreamState::Producer(Box::new(decode_state::<T>(bytes)?)))
}

/// A state decoder that rebuilds exchange state `T`. The input schema is
/// the stream's, restored by the transport from the call it resumes.
pub fn exchange_decoder<T>() -> impl Fn(&[u8]) -> Result<StreamState, RpcError> + Send + Sync + 'static
where
    T: ExchangeState + DeserializeOwned + 'static,
{
    |bytes| {
        let input_schema: SchemaRef = vgi_rpc_wire::EncodedSchema::empty().schema().clone();
        Ok(StreamState::Exchange { input_schema, state: Box::new(decode_state::<T>(bytes)?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CallContext, OutputCollector};
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Counter {
        next: i64,
        end: i64,
        label: String,
    }

    impl ProducerState for Counter {
        fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
            out.finish()
        }
        fn encode_state(&self) -> Option<Vec<u8>> {
            encode_state(self).ok()
        }
    }

    #[test]
    fn states_round_trip_and_reject_garbage() {
        let state = Counter { next: 3, end: 10, label: "x".into() };
        let bytes = state.encode_state().unwrap();
        assert_eq!(decode_state::<Counter>(&bytes).unwrap(), state);
        let decoder = producer_decoder::<Counter>();
        assert!(matches!(decoder(&bytes).unwrap(), StreamState::Producer(_)));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode_state::<Counter>(&trailing).is_err());
        assert!(decode_state::<Counter>(&[0xff; 3]).is_err());
        assert!(decoder(&[]).is_err());
    }
}
