//! The request batch (WIRE_PROTOCOL.md §5): one row of parameters plus
//! routing metadata.

use arrow_array::RecordBatch;

use crate::{keys, Metadata, REQUEST_VERSION};

/// Routing and correlation fields a client puts on a request batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHeader {
    /// `vgi_rpc.protocol`: the routing key.
    pub protocol: String,
    /// `vgi_rpc.method`.
    pub method: String,
    /// `vgi_rpc.protocol_version`, when the protocol declares one.
    pub protocol_version: Option<String>,
    /// `vgi_rpc.request_id`, optional.
    pub request_id: Option<String>,
}

impl RequestHeader {
    /// Header for `protocol` / `method`.
    pub fn new(protocol: impl Into<String>, method: impl Into<String>) -> Self {
        Self { protocol: protocol.into(), method: method.into(), ..Default::default() }
    }

    /// The request batch metadata, with `extra` entries appended.
    pub fn to_metadata(&self, extra: &Metadata) -> Metadata {
        let mut md = Metadata::with_capacity(5 + extra.len());
        md.insert(keys::METHOD, self.method.as_str());
        md.insert(keys::PROTOCOL, self.protocol.as_str());
        md.insert(keys::REQUEST_VERSION, REQUEST_VERSION);
        if let Some(v) = &self.protocol_version {
            md.insert(keys::PROTOCOL_VERSION, v.as_str());
        }
        if let Some(id) = &self.request_id {
            md.insert(keys::REQUEST_ID, id.as_str());
        }
        for (k, v) in extra.iter() {
            md.insert(k, v);
        }
        md
    }
}

/// A request batch as a server reads it: the parameter batch and its metadata.
#[derive(Debug, Clone)]
pub struct Request {
    /// One row of parameters (zero columns for parameterless methods).
    pub batch: RecordBatch,
    /// The request metadata, framework keys included.
    pub metadata: Metadata,
}

impl Request {
    /// `vgi_rpc.protocol`.
    pub fn protocol(&self) -> Option<&str> {
        self.metadata.get(keys::PROTOCOL)
    }
    /// `vgi_rpc.method`.
    pub fn method(&self) -> Option<&str> {
        self.metadata.get(keys::METHOD)
    }
    /// `vgi_rpc.request_version`.
    pub fn request_version(&self) -> Option<&str> {
        self.metadata.get(keys::REQUEST_VERSION)
    }
    /// `vgi_rpc.protocol_version`.
    pub fn protocol_version(&self) -> Option<&str> {
        self.metadata.get(keys::PROTOCOL_VERSION)
    }
    /// `vgi_rpc.request_id`.
    pub fn request_id(&self) -> Option<&str> {
        self.metadata.get(keys::REQUEST_ID)
    }
}
