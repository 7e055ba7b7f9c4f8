//! The two result records of `vgi_rpc.Identity.v2`, each sent as a complete
//! one-row Arrow IPC stream in the method's `result: binary` column:
//!
//! ```text
//! TokenIdentity: principal utf8, token_name utf8 (default ""), ttl_seconds int64 (default 300)
//! IssuedGrant:   token utf8, expires_at timestamp[us, tz="UTC"], grant_id utf8 (default "")
//! ```
//!
//! Every column is non-null and the declaration order is part of the wire
//! shape. A value a hook set is sent as set: a `ttl_seconds` of zero means
//! "do not cache" and is never raised to the default.

use std::sync::{Arc, LazyLock};

use arrow_array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use vgi_rpc_core::wire::writer::write_stream_bytes;
use vgi_rpc_core::wire::EncodedSchema;
use vgi_rpc_core::{Metadata, RpcError};

/// Default `ttl_seconds` of a resolved identity.
pub const DEFAULT_IDENTITY_TTL_SECONDS: i64 = 300;

/// The identity an opaque credential authenticates as. Never carries
/// claims: the asker derives what it needs from the principal alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    /// The canonical principal.
    pub principal: String,
    /// A human-readable name for the credential (never the credential).
    pub token_name: String,
    /// How long the answer may be cached: the revocation lag.
    pub ttl_seconds: i64,
}

impl TokenIdentity {
    /// An identity with the documented defaults (`token_name` `""`, 300 s).
    pub fn new(principal: impl Into<String>) -> Self {
        Self { principal: principal.into(), token_name: String::new(), ttl_seconds: DEFAULT_IDENTITY_TTL_SECONDS }
    }

    /// Name the credential.
    pub fn with_token_name(mut self, name: impl Into<String>) -> Self {
        self.token_name = name.into();
        self
    }

    /// Set the cache lifetime (zero included).
    pub fn with_ttl_seconds(mut self, ttl: i64) -> Self {
        self.ttl_seconds = ttl;
        self
    }

    /// The record as a one-row IPC stream.
    pub fn to_ipc(&self) -> Result<Vec<u8>, RpcError> {
        let batch = RecordBatch::try_new(
            TOKEN_IDENTITY_SCHEMA.schema().clone(),
            vec![
                Arc::new(StringArray::from(vec![self.principal.as_str()])),
                Arc::new(StringArray::from(vec![self.token_name.as_str()])),
                Arc::new(Int64Array::from(vec![self.ttl_seconds])),
            ],
        )
        .map_err(|e| RpcError::runtime_error(format!("TokenIdentity: {e}")))?;
        Ok(write_stream_bytes(&TOKEN_IDENTITY_SCHEMA, &[(&batch, &Metadata::new())])?)
    }
}

/// A standing delegation credential. The token format is the minter's
/// entirely; the framework never parses or logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedGrant {
    /// The credential.
    pub token: String,
    /// When the minter stops honouring it, in microseconds since the epoch (UTC).
    pub expires_at_micros: i64,
    /// Correlation handle for the audit trail (not a secret).
    pub grant_id: String,
}

impl IssuedGrant {
    /// A grant expiring `expires_at_secs` seconds after the epoch, with no grant id.
    pub fn new(token: impl Into<String>, expires_at_secs: i64) -> Self {
        Self {
            token: token.into(),
            expires_at_micros: expires_at_secs.saturating_mul(1_000_000),
            grant_id: String::new(),
        }
    }

    /// Attach a correlation handle.
    pub fn with_grant_id(mut self, grant_id: impl Into<String>) -> Self {
        self.grant_id = grant_id.into();
        self
    }

    /// The record as a one-row IPC stream.
    pub fn to_ipc(&self) -> Result<Vec<u8>, RpcError> {
        let batch = RecordBatch::try_new(
            ISSUED_GRANT_SCHEMA.schema().clone(),
            vec![
                Arc::new(StringArray::from(vec![self.token.as_str()])),
                Arc::new(TimestampMicrosecondArray::from(vec![self.expires_at_micros]).with_timezone("UTC")),
                Arc::new(StringArray::from(vec![self.grant_id.as_str()])),
            ],
        )
        .map_err(|e| RpcError::runtime_error(format!("IssuedGrant: {e}")))?;
        Ok(write_stream_bytes(&ISSUED_GRANT_SCHEMA, &[(&batch, &Metadata::new())])?)
    }
}

static TOKEN_IDENTITY_SCHEMA: LazyLock<EncodedSchema> = LazyLock::new(|| {
    EncodedSchema::new(Arc::new(Schema::new(vec![
        Field::new("principal", DataType::Utf8, false),
        Field::new("token_name", DataType::Utf8, false),
        Field::new("ttl_seconds", DataType::Int64, false),
    ])))
});

static ISSUED_GRANT_SCHEMA: LazyLock<EncodedSchema> = LazyLock::new(|| {
    EncodedSchema::new(Arc::new(Schema::new(vec![
        Field::new("token", DataType::Utf8, false),
        Field::new("expires_at", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        Field::new("grant_id", DataType::Utf8, false),
    ])))
});

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use vgi_rpc_core::wire::reader::read_stream_bytes;

    #[test]
    fn records_round_trip_with_their_declared_columns() {
        let bytes = TokenIdentity::new("alice").with_ttl_seconds(0).to_ipc().expect("encodes");
        let (schema, batches) = read_stream_bytes(&bytes).expect("decodes");
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["principal", "token_name", "ttl_seconds"]);
        let ttl = batches[0].batch.column(2).as_any().downcast_ref::<Int64Array>().expect("int64").value(0);
        assert_eq!(ttl, 0, "zero is sent as zero");

        let bytes = IssuedGrant::new("t", 1_893_456_000).to_ipc().expect("encodes");
        let (schema, batches) = read_stream_bytes(&bytes).expect("decodes");
        let field = schema.field_with_name("expires_at").expect("column");
        assert_eq!(field.data_type(), &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
        assert!(!field.is_nullable());
        let at = batches[0].batch.column(1).as_any().downcast_ref::<TimestampMicrosecondArray>().expect("ts");
        assert_eq!(at.value(0), 1_893_456_000_000_000);
        assert_eq!(batches[0].batch.num_rows(), 1);
    }
}
