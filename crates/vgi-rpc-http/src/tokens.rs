//! Stream tokens for the HTTP server: the core's [`StateTokens`] over
//! `vgi-rpc-token`'s sealer, with a per-process cache of resolved calls.
//!
//! The cache is keyed by the call id the *cursor* authenticated plus the
//! caller's identity and protocol, so a hit can never hand one principal's
//! call to another; a miss opens the client's echoed call token.

use std::sync::Arc;

use vgi_rpc_core::stateless::{CallId, StateTokens, StreamCall, TokenRejected};
use vgi_rpc_core::wire::reader::decode_schema_bytes;
use vgi_rpc_core::wire::EncodedSchema;
use vgi_rpc_core::AuthContext;
use vgi_rpc_token::tokens::new_call_id;
use vgi_rpc_token::{CallToken, CursorToken, Identity, Sealer, TokenError, TokenKind};

use crate::call_cache::CallCache;

/// Seals and opens call and cursor tokens for one server.
#[derive(Debug)]
pub struct SealedTokens {
    sealer: Sealer,
    cache: CallCache,
}

impl SealedTokens {
    /// Tokens sealed by `sealer`, with room for `cache_entries` resolved calls (0 disables the cache).
    pub fn new(sealer: Sealer, cache_entries: usize) -> Self {
        Self { sealer, cache: CallCache::new(cache_entries) }
    }
}

fn identity(auth: &AuthContext) -> Identity<'_> {
    Identity { authenticated: auth.authenticated, domain: &auth.domain, principal: &auth.principal }
}

fn cursor_error(e: TokenError) -> TokenRejected {
    TokenRejected(match e {
        TokenError::Expired => "State token expired".to_owned(),
        _ => "State token signature verification failed".to_owned(),
    })
}

fn call_error(e: TokenError) -> TokenRejected {
    TokenRejected(match e {
        TokenError::Expired => "Call token expired".to_owned(),
        _ => "Call token signature verification failed".to_owned(),
    })
}

fn decode_schema(bytes: &[u8], what: &str) -> Result<Arc<EncodedSchema>, TokenRejected> {
    decode_schema_bytes(bytes)
        .map(|schema| Arc::new(EncodedSchema::new(Arc::new(schema))))
        .map_err(|e| TokenRejected(format!("Failed to deserialize {what} schema: {e}")))
}

/// The response cap rides in the call-state slot: 8 bytes LE, or empty for none.
fn encode_limit(limit: Option<u64>) -> Vec<u8> {
    limit.map(|l| l.to_le_bytes().to_vec()).unwrap_or_default()
}

fn decode_limit(bytes: &[u8]) -> Result<Option<u64>, TokenRejected> {
    match bytes.len() {
        0 => Ok(None),
        8 => {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(bytes);
            Ok(Some(u64::from_le_bytes(raw)))
        }
        _ => Err(TokenRejected("Malformed call token".to_owned())),
    }
}

impl StateTokens for SealedTokens {
    fn new_call_id(&self) -> Result<CallId, TokenRejected> {
        new_call_id().map_err(|e| TokenRejected(e.to_string()))
    }

    fn mint_call(&self, protocol: &str, auth: &AuthContext, call: &Arc<StreamCall>) -> Result<String, TokenRejected> {
        let payload = CallToken {
            call_id: call.call_id,
            method: call.method.clone(),
            call_state: encode_limit(call.response_limit),
            output_schema: call.output_schema.ipc_bytes(),
            input_schema: call.input_schema.ipc_bytes(),
            stream_id: call.stream_id.clone(),
        };
        let token = self
            .sealer
            .seal(TokenKind::Call, protocol, identity(auth), &payload.encode())
            .map_err(|e| TokenRejected(e.to_string()))?;
        self.cache.put(protocol, auth, call.clone());
        Ok(token)
    }

    fn mint_cursor(
        &self,
        protocol: &str,
        auth: &AuthContext,
        call_id: &CallId,
        state: &[u8],
    ) -> Result<String, TokenRejected> {
        let payload = CursorToken { call_id: *call_id, state: state.to_vec() };
        self.sealer
            .seal(TokenKind::Cursor, protocol, identity(auth), &payload.encode())
            .map_err(|e| TokenRejected(e.to_string()))
    }

    fn open_cursor(&self, protocol: &str, auth: &AuthContext, token: &str) -> Result<(CallId, Vec<u8>), TokenRejected> {
        let plain = self.sealer.open(TokenKind::Cursor, protocol, identity(auth), token).map_err(cursor_error)?;
        let cursor = CursorToken::decode(&plain).map_err(|_| TokenRejected("Malformed state token".to_owned()))?;
        Ok((cursor.call_id, cursor.state))
    }

    fn resolve_call(
        &self,
        protocol: &str,
        auth: &AuthContext,
        call_id: &CallId,
        call_token: Option<&str>,
    ) -> Result<Arc<StreamCall>, TokenRejected> {
        if let Some(hit) = self.cache.get(protocol, auth, call_id) {
            return Ok(hit);
        }
        let Some(call_token) = call_token else {
            return Err(TokenRejected("Missing call token in exchange request".to_owned()));
        };
        let plain = self.sealer.open(TokenKind::Call, protocol, identity(auth), call_token).map_err(call_error)?;
        let payload = CallToken::decode(&plain).map_err(|_| TokenRejected("Malformed call token".to_owned()))?;
        if &payload.call_id != call_id {
            return Err(TokenRejected("State token does not belong to the supplied call token".to_owned()));
        }
        let call = Arc::new(StreamCall {
            call_id: payload.call_id,
            method: payload.method,
            output_schema: decode_schema(&payload.output_schema, "output")?,
            input_schema: decode_schema(&payload.input_schema, "input")?,
            stream_id: payload.stream_id,
            response_limit: decode_limit(&payload.call_state)?,
        });
        self.cache.put(protocol, auth, call.clone());
        Ok(call)
    }
}
