//! `CallContext`: what a handler knows about the call it is serving.

use std::sync::{Arc, Mutex};

use vgi_rpc_wire::log::LogMessage;
use vgi_rpc_wire::{LogLevel, Metadata};

use crate::AuthContext;

/// Per-call (for streams, per-turn) context handed to every handler.
#[derive(Debug)]
pub struct CallContext {
    request_id: Arc<str>,
    server_id: Arc<str>,
    protocol: Arc<str>,
    method: Arc<str>,
    auth: Arc<AuthContext>,
    request_metadata: Metadata,
    logs: Mutex<Vec<LogMessage>>,
}

impl CallContext {
    /// A context for one call.
    pub fn new(
        request_id: Arc<str>,
        server_id: Arc<str>,
        protocol: Arc<str>,
        method: Arc<str>,
        auth: Arc<AuthContext>,
        request_metadata: Metadata,
    ) -> Self {
        Self { request_id, server_id, protocol, method, auth, request_metadata, logs: Mutex::new(Vec::new()) }
    }

    /// The request correlation id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
    /// This server instance's id.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }
    /// The protocol that owns the method being served.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }
    /// The method being served.
    pub fn method(&self) -> &str {
        &self.method
    }
    /// The caller's identity.
    pub fn auth(&self) -> &AuthContext {
        &self.auth
    }
    /// The metadata of the batch that started this turn: the request batch
    /// for unary calls and stream init, the tick or input batch for stream turns.
    pub fn request_metadata(&self) -> &Metadata {
        &self.request_metadata
    }

    /// Send a log message to the client.
    pub fn client_log(&self, level: LogLevel, message: impl Into<String>) {
        self.push(LogMessage::new(level, message));
    }

    /// Send a log message with structured extras.
    pub fn client_log_with(
        &self,
        level: LogLevel,
        message: impl Into<String>,
        extra: serde_json::Map<String, serde_json::Value>,
    ) {
        self.push(LogMessage { level, message: message.into(), extra: Some(extra) });
    }

    fn push(&self, msg: LogMessage) {
        match self.logs.lock() {
            Ok(mut logs) => logs.push(msg),
            Err(poisoned) => poisoned.into_inner().push(msg),
        }
    }

    /// Take the logs emitted so far.
    pub fn take_logs(&self) -> Vec<LogMessage> {
        match self.logs.lock() {
            Ok(mut logs) => std::mem::take(&mut *logs),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// A context for the next stream turn: same call, new batch metadata, no logs.
    pub fn for_turn(&self, request_metadata: Metadata) -> Self {
        Self::new(
            self.request_id.clone(),
            self.server_id.clone(),
            self.protocol.clone(),
            self.method.clone(),
            self.auth.clone(),
            request_metadata,
        )
    }
}
