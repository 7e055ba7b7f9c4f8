//! The two token payloads and their length-prefixed framing.

use crate::TokenError;

/// A random 16-byte id binding a cursor to its call token.
pub type CallId = [u8; 16];

/// A fresh random call id.
pub fn new_call_id() -> Result<CallId, TokenError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| TokenError::Key(format!("no randomness: {e}")))?;
    Ok(id)
}

/// The per-turn cursor: the advancing state and the call it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorToken {
    /// The [`CallToken::call_id`] this cursor continues.
    pub call_id: CallId,
    /// The encoded producer or exchange state after the last turn.
    pub state: Vec<u8>,
}

/// What is fixed for a stream's life, minted once at `/init`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallToken {
    /// Random id shared with every cursor of this call.
    pub call_id: CallId,
    /// The method the stream belongs to.
    pub method: String,
    /// Call-level state (may be empty).
    pub call_state: Vec<u8>,
    /// Serialized output schema.
    pub output_schema: Vec<u8>,
    /// Serialized input schema (empty schema for producers).
    pub input_schema: Vec<u8>,
    /// Correlates every record of the stream.
    pub stream_id: String,
}

struct Writer(Vec<u8>);

impl Writer {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::Invalid);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn call_id(&mut self) -> Result<CallId, TokenError> {
        let mut id = [0u8; 16];
        id.copy_from_slice(self.take(16)?);
        Ok(id)
    }

    fn bytes(&mut self) -> Result<&'a [u8], TokenError> {
        let mut len = [0u8; 4];
        len.copy_from_slice(self.take(4)?);
        self.take(u32::from_le_bytes(len) as usize)
    }

    fn string(&mut self) -> Result<String, TokenError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| TokenError::Invalid)
    }

    fn finish(self) -> Result<(), TokenError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(TokenError::Invalid)
        }
    }
}

impl CursorToken {
    /// Frame for sealing.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(20 + self.state.len()));
        w.0.extend_from_slice(&self.call_id);
        w.bytes(&self.state);
        w.0
    }

    /// Parse an opened payload.
    pub fn decode(bytes: &[u8]) -> Result<Self, TokenError> {
        let mut r = Reader(bytes);
        let call_id = r.call_id()?;
        let state = r.bytes()?.to_vec();
        r.finish()?;
        Ok(Self { call_id, state })
    }
}

impl CallToken {
    /// Frame for sealing.
    pub fn encode(&self) -> Vec<u8> {
        let mut w =
            Writer(Vec::with_capacity(64 + self.call_state.len() + self.output_schema.len() + self.input_schema.len()));
        w.0.extend_from_slice(&self.call_id);
        w.bytes(self.method.as_bytes());
        w.bytes(&self.call_state);
        w.bytes(&self.output_schema);
        w.bytes(&self.input_schema);
        w.bytes(self.stream_id.as_bytes());
        w.0
    }

    /// Parse an opened payload.
    pub fn decode(bytes: &[u8]) -> Result<Self, TokenError> {
        let mut r = Reader(bytes);
        let call_id = r.call_id()?;
        let method = r.string()?;
        let call_state = r.bytes()?.to_vec();
        let output_schema = r.bytes()?.to_vec();
        let input_schema = r.bytes()?.to_vec();
        let stream_id = r.string()?;
        r.finish()?;
        Ok(Self { call_id, method, call_state, output_schema, input_schema, stream_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_reject_trailing_or_short_bytes() {
        let cursor = CursorToken { call_id: [3; 16], state: b"s".to_vec() };
        assert_eq!(CursorToken::decode(&cursor.encode()).unwrap(), cursor);
        let call = CallToken {
            call_id: [4; 16],
            method: "m".into(),
            call_state: vec![],
            output_schema: vec![1, 2],
            input_schema: vec![3],
            stream_id: "abc".into(),
        };
        let mut bytes = call.encode();
        assert_eq!(CallToken::decode(&bytes).unwrap(), call);
        bytes.push(0);
        assert_eq!(CallToken::decode(&bytes), Err(TokenError::Invalid));
        assert_eq!(CursorToken::decode(&[1, 2, 3]), Err(TokenError::Invalid));
    }
}
