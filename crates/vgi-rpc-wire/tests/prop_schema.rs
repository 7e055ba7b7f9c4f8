//! Property tests: arbitrary nested Arrow schemas (every primitive type,
//! dictionaries, lists, structs, maps, unions, run-end encoding; field and
//! schema metadata) survive `EncodedSchema` -> `decode_schema_bytes`, and
//! open a stream whose reader reports the same schema.

mod prop_support;

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use prop_support::{config, schema};
use proptest::prelude::*;
use vgi_rpc_wire::reader::{decode_schema_bytes, read_stream_bytes};
use vgi_rpc_wire::writer::EOS;
use vgi_rpc_wire::EncodedSchema;

/// Every field of `dt` at any depth, depth first.
fn children(dt: &DataType) -> Vec<&Field> {
    match dt {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => vec![f.as_ref()],
        DataType::Struct(fs) => fs.iter().map(|f| f.as_ref()).collect(),
        DataType::Union(fs, _) => fs.iter().map(|(_, f)| f.as_ref()).collect(),
        DataType::RunEndEncoded(r, v) => vec![r.as_ref(), v.as_ref()],
        _ => Vec::new(),
    }
}

fn walk<'a>(fields: impl IntoIterator<Item = &'a Field>, out: &mut Vec<&'a Field>) {
    for f in fields {
        out.push(f);
        walk(children(f.data_type()), out);
    }
}

fn all_fields(schema: &Schema) -> Vec<&Field> {
    let mut out = Vec::new();
    walk(schema.fields().iter().map(|f| f.as_ref()), &mut out);
    out
}

proptest! {
    #![proptest_config(config(128, "proptest-regressions/prop_schema.txt"))]

    #[test]
    fn schemas_round_trip(schema in schema()) {
        let encoded = EncodedSchema::new(Arc::new(schema.clone()));
        let bytes = encoded.ipc_bytes();
        prop_assert_eq!(&bytes[..4], &[0xFF; 4][..], "continuation marker");
        prop_assert_eq!(bytes.len() % 8, 0, "messages are padded to 8 bytes");
        let back = decode_schema_bytes(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &schema);

        // `Field` equality ignores the dictionary ordering flag; check it apart.
        let sent: Vec<bool> = all_fields(&schema).iter().map(|f| f.dict_is_ordered().unwrap_or(false)).collect();
        let got: Vec<bool> = all_fields(&back).iter().map(|f| f.dict_is_ordered().unwrap_or(false)).collect();
        prop_assert_eq!(got, sent);

        let has_dict = all_fields(&schema).iter().any(|f| matches!(f.data_type(), DataType::Dictionary(..)));
        prop_assert_eq!(encoded.has_dictionaries(), has_dict);
    }

    #[test]
    fn schema_bytes_followed_by_eos_are_an_empty_stream(schema in schema()) {
        let mut bytes = EncodedSchema::new(Arc::new(schema.clone())).ipc_bytes();
        bytes.extend_from_slice(&EOS);
        let back = decode_schema_bytes(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &schema);
        let (stream_schema, batches) = read_stream_bytes(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(stream_schema.as_ref(), &schema);
        prop_assert!(batches.is_empty());
    }
}
