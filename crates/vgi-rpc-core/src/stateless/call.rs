//! What a stateless stream carries between turns, and the interface a
//! transport implements to seal it into tokens.
//!
//! The **call** is fixed for a stream's life (schemas, stream id, the
//! response cap sealed at `/init`); the **cursor** is the state's bytes
//! after each turn. Both are bound by a random [`CallId`].

use std::sync::Arc;

use vgi_rpc_wire::EncodedSchema;

use crate::AuthContext;

/// A random 16-byte id binding a cursor to its call.
pub type CallId = [u8; 16];

/// The half of a stream's state that never changes after `/init`.
#[derive(Debug, Clone)]
pub struct StreamCall {
    /// Random id that binds every cursor token of this call to its call token.
    pub call_id: CallId,
    /// The method the stream belongs to.
    pub method: String,
    /// Output schema of every turn.
    pub output_schema: Arc<EncodedSchema>,
    /// Input schema (the empty schema for producers).
    pub input_schema: Arc<EncodedSchema>,
    /// Correlates every access-log record of the stream.
    pub stream_id: String,
    /// The response cap in force at `/init`; later turns never exceed it.
    pub response_limit: Option<u64>,
}

/// A token the transport could not open, resolve or mint; the message is
/// sent to the client with a `400`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenRejected(pub String);

/// Seals, opens and caches stream tokens for one transport.
///
/// Resolution order is normative (§10): [`StateTokens::open_cursor`] first,
/// then [`StateTokens::resolve_call`] with the call id the cursor
/// authenticated — never a value the client controls directly.
pub trait StateTokens: Send + Sync {
    /// A fresh random call id.
    fn new_call_id(&self) -> Result<CallId, TokenRejected>;

    /// Seal the call token for `call` (once, at `/init`), remembering the
    /// call for later turns where the implementation caches.
    fn mint_call(&self, protocol: &str, auth: &AuthContext, call: &Arc<StreamCall>) -> Result<String, TokenRejected>;

    /// Seal a cursor carrying `state` for the call `call_id`.
    fn mint_cursor(
        &self,
        protocol: &str,
        auth: &AuthContext,
        call_id: &CallId,
        state: &[u8],
    ) -> Result<String, TokenRejected>;

    /// Open and authenticate a cursor: its call id and state bytes.
    fn open_cursor(&self, protocol: &str, auth: &AuthContext, token: &str) -> Result<(CallId, Vec<u8>), TokenRejected>;

    /// The call `call_id` names: from a cache, or by opening the client's
    /// echoed `call_token`, whose embedded id must equal `call_id`.
    fn resolve_call(
        &self,
        protocol: &str,
        auth: &AuthContext,
        call_id: &CallId,
        call_token: Option<&str>,
    ) -> Result<Arc<StreamCall>, TokenRejected>;
}
