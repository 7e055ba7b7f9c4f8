//! Schemas encoded once as framed IPC schema messages, plus the empty schema.

use std::sync::{Arc, OnceLock};

use arrow_ipc::writer::{DictionaryTracker, IpcDataGenerator};
use arrow_schema::{DataType, Schema, SchemaRef};

use crate::writer::{frame_message, write_options};

/// A schema together with its framed IPC schema message, computed once.
///
/// Writers copy the cached bytes instead of re-serializing the schema for
/// every call.
#[derive(Debug, Clone)]
pub struct EncodedSchema {
    schema: SchemaRef,
    message: Arc<[u8]>,
    has_dictionaries: bool,
}

impl EncodedSchema {
    /// Encode `schema` as a framed IPC schema message.
    pub fn new(schema: SchemaRef) -> Self {
        let mut tracker = DictionaryTracker::new(false);
        let message = encode_schema_message(&schema, &mut tracker);
        let has_dictionaries = schema.fields().iter().any(|f| contains_dictionary(f.data_type()));
        Self { schema, message: message.into(), has_dictionaries }
    }

    /// The shared empty schema (`pa.schema([])`).
    pub fn empty() -> &'static EncodedSchema {
        static EMPTY: OnceLock<EncodedSchema> = OnceLock::new();
        EMPTY.get_or_init(|| EncodedSchema::new(Arc::new(Schema::empty())))
    }

    /// The Arrow schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The framed schema message (continuation marker, length, flatbuffer, padding).
    pub fn message_bytes(&self) -> &[u8] {
        &self.message
    }

    /// Whether any field (at any depth) is dictionary encoded.
    pub fn has_dictionaries(&self) -> bool {
        self.has_dictionaries
    }

    /// A dictionary tracker primed with this schema's dictionary ids, as a
    /// writer of a fresh stream on this schema needs.
    pub(crate) fn fresh_tracker(&self) -> DictionaryTracker {
        let mut tracker = DictionaryTracker::new(false);
        if self.has_dictionaries {
            encode_schema_message(&self.schema, &mut tracker);
        }
        tracker
    }

    /// The serialized schema as `pa.Schema.serialize()` produces it: the
    /// framed schema message without an end-of-stream marker.
    pub fn ipc_bytes(&self) -> Vec<u8> {
        self.message.to_vec()
    }
}

impl From<Schema> for EncodedSchema {
    fn from(schema: Schema) -> Self {
        EncodedSchema::new(Arc::new(schema))
    }
}

impl From<SchemaRef> for EncodedSchema {
    fn from(schema: SchemaRef) -> Self {
        EncodedSchema::new(schema)
    }
}

fn encode_schema_message(schema: &Schema, tracker: &mut DictionaryTracker) -> Vec<u8> {
    let encoded = IpcDataGenerator::default().schema_to_bytes_with_dictionary_tracker(schema, tracker, write_options());
    let mut out = Vec::with_capacity(encoded.ipc_message.len() + 16);
    frame_message(&mut out, &encoded.ipc_message);
    out
}

fn contains_dictionary(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, _) => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            contains_dictionary(f.data_type())
        }
        DataType::ListView(f) | DataType::LargeListView(f) => contains_dictionary(f.data_type()),
        DataType::Map(f, _) => contains_dictionary(f.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| contains_dictionary(f.data_type())),
        DataType::Union(fields, _) => fields.iter().any(|(_, f)| contains_dictionary(f.data_type())),
        DataType::RunEndEncoded(_, v) => contains_dictionary(v.data_type()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_schema_matches_the_spec_appendix() {
        // WIRE_PROTOCOL.md Appendix C: the 56-byte serialized empty schema.
        let expected: [u8; 56] = [
            0xff, 0xff, 0xff, 0xff, 0x30, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x0c, 0x00,
            0x06, 0x00, 0x05, 0x00, 0x08, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x0c, 0x00, 0x00, 0x00,
            0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00,
        ];
        let bytes = EncodedSchema::empty().ipc_bytes();
        assert_eq!(bytes.len(), 56, "got {bytes:02x?}");
        // The flatbuffer layout may legitimately differ between Arrow
        // implementations; what must hold is the framing and that it decodes.
        assert_eq!(&bytes[..4], &expected[..4]);
        let schema = crate::reader::decode_schema_bytes(&bytes).expect("decodes");
        assert_eq!(schema.fields().len(), 0);
    }
}
