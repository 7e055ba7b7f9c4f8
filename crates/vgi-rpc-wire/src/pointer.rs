//! External-storage pointer batches (WIRE_PROTOCOL.md §12): a zero-row
//! batch on the original schema whose metadata carries `vgi_rpc.location`
//! and, optionally, `vgi_rpc.location.sha256`, standing in for a batch (or a
//! whole output cycle) uploaded elsewhere.
//!
//! This module owns the format both ways: building a pointer batch and
//! reading one back with typed errors. Fetching, verifying and decoding the
//! object a pointer names is not wire business (see the core's resolver).

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use thiserror::Error;

use crate::{classify, keys, BatchClass, Metadata};

/// Length of a SHA-256 digest in lowercase hex.
pub const SHA256_HEX_LEN: usize = 64;

/// Why a batch classified as an external pointer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PointerError {
    /// `vgi_rpc.location` is present but empty.
    #[error("external pointer batch has an empty 'vgi_rpc.location'")]
    EmptyLocation,
    /// `vgi_rpc.location.sha256` is not 64 hex characters.
    #[error("external pointer batch has a malformed 'vgi_rpc.location.sha256' ({len} characters, expected 64 hex)")]
    MalformedDigest {
        /// Length of the value that was sent.
        len: usize,
    },
}

/// What a pointer batch says: where the object is and, optionally, the
/// SHA-256 of its bytes before any content coding.
#[derive(Clone, PartialEq, Eq)]
pub struct ExternalPointer {
    /// The URL to fetch (often presigned: its query string is a credential).
    pub location: String,
    /// Lowercase hex SHA-256 of the uncompressed payload, when recorded.
    pub sha256: Option<String>,
}

impl std::fmt::Debug for ExternalPointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a signature; render only its diagnostic form.
        f.debug_struct("ExternalPointer")
            .field("location", &redact_url(&self.location))
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl ExternalPointer {
    /// A pointer to `location` with an optional digest.
    pub fn new(location: impl Into<String>, sha256: Option<String>) -> Self {
        Self { location: location.into(), sha256 }
    }

    /// The pointer's metadata: exactly `vgi_rpc.location` and, when a digest
    /// was recorded, `vgi_rpc.location.sha256` (never provenance keys).
    pub fn to_metadata(&self) -> Metadata {
        let mut md = Metadata::with_capacity(2).with(keys::LOCATION, self.location.as_str());
        if let Some(digest) = &self.sha256 {
            md.insert(keys::LOCATION_SHA256, digest.as_str());
        }
        md
    }

    /// The zero-row pointer batch on `schema` and its metadata.
    pub fn to_batch(&self, schema: &SchemaRef) -> (RecordBatch, Metadata) {
        (RecordBatch::new_empty(schema.clone()), self.to_metadata())
    }

    /// Read a pointer from a batch's row count and metadata: `Ok(None)` when
    /// the batch is not an external pointer (§7: it has rows, log keys take
    /// priority, or there is no `vgi_rpc.location`).
    pub fn parse(num_rows: usize, metadata: &Metadata) -> Result<Option<Self>, PointerError> {
        if classify(num_rows, metadata) != BatchClass::ExternalPointer {
            return Ok(None);
        }
        let location = metadata.get(keys::LOCATION).unwrap_or_default();
        if location.is_empty() {
            return Err(PointerError::EmptyLocation);
        }
        let sha256 = match metadata.get(keys::LOCATION_SHA256) {
            None => None,
            Some(d) if d.len() == SHA256_HEX_LEN && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(d.to_ascii_lowercase())
            }
            Some(d) => return Err(PointerError::MalformedDigest { len: d.len() }),
        };
        Ok(Some(Self { location: location.to_owned(), sha256 }))
    }
}

/// A URL's diagnostic form (§12 *Fetch safety*): scheme, host, port and
/// path only; userinfo, query string and fragment are dropped.
pub fn redact_url(url: &str) -> String {
    let cut = url.find(['?', '#']).map_or(url, |i| &url[..i]);
    match cut.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.find('/').map_or((rest, ""), |i| (&rest[..i], &rest[i..]));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => cut.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn builds_and_parses_round_trip() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let pointer = ExternalPointer::new("http://127.0.0.1:1/download/ab", Some(DIGEST.to_owned()));
        let (batch, md) = pointer.to_batch(&schema);
        assert_eq!(batch.num_rows(), 0);
        assert_eq!(batch.schema(), schema);
        let keys_sent: Vec<&str> = md.iter().map(|(k, _)| k).collect();
        assert_eq!(keys_sent, vec![keys::LOCATION, keys::LOCATION_SHA256]);
        assert_eq!(classify(0, &md), BatchClass::ExternalPointer);
        assert_eq!(ExternalPointer::parse(0, &md), Ok(Some(pointer)));
    }

    #[test]
    fn digest_is_optional_and_normalised() {
        let md = Metadata::new().with(keys::LOCATION, "https://s/o");
        assert_eq!(ExternalPointer::parse(0, &md).unwrap().unwrap().sha256, None);
        let upper = md.clone().with(keys::LOCATION_SHA256, DIGEST.to_ascii_uppercase());
        assert_eq!(ExternalPointer::parse(0, &upper).unwrap().unwrap().sha256.as_deref(), Some(DIGEST));
    }

    #[test]
    fn non_pointers_are_none() {
        let md = Metadata::new().with(keys::LOCATION, "https://s/o");
        assert_eq!(ExternalPointer::parse(3, &md), Ok(None), "rows make it data");
        let log = md.clone().with(keys::LOG_LEVEL, "INFO").with(keys::LOG_MESSAGE, "m");
        assert_eq!(ExternalPointer::parse(0, &log), Ok(None), "log keys take priority");
        assert_eq!(ExternalPointer::parse(0, &Metadata::new()), Ok(None));
    }

    #[test]
    fn malformed_pointers_are_typed_errors() {
        let empty = Metadata::new().with(keys::LOCATION, "");
        assert_eq!(ExternalPointer::parse(0, &empty), Err(PointerError::EmptyLocation));
        let short = Metadata::new().with(keys::LOCATION, "https://s/o").with(keys::LOCATION_SHA256, "abc");
        assert_eq!(ExternalPointer::parse(0, &short), Err(PointerError::MalformedDigest { len: 3 }));
        let not_hex = Metadata::new().with(keys::LOCATION, "u").with(keys::LOCATION_SHA256, "z".repeat(64));
        assert_eq!(ExternalPointer::parse(0, &not_hex), Err(PointerError::MalformedDigest { len: 64 }));
    }

    #[test]
    fn redaction_keeps_scheme_host_port_path() {
        assert_eq!(redact_url("https://u:p@h.example:8443/b/k?X-Sig=s#f"), "https://h.example:8443/b/k");
        assert_eq!(redact_url("http://127.0.0.1:9/blob/1"), "http://127.0.0.1:9/blob/1");
        assert_eq!(redact_url("https://h?q=1"), "https://h");
        let pointer = ExternalPointer::new("https://h/k?sig=secret", None);
        assert!(!format!("{pointer:?}").contains("secret"));
    }
}
