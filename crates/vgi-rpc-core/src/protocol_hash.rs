//! `protocol_hash`: SHA-256 over the RFC 8785 canonical JSON of a protocol's
//! decoded description (WIRE_PROTOCOL.md §14).
//!
//! The preimage holds only objects, arrays, strings and booleans, so JCS
//! reduces to: keys sorted, no whitespace, ECMAScript string escaping.

use std::collections::BTreeMap;

use arrow_schema::Schema;
use sha2::{Digest, Sha256};

use crate::method::{MethodDef, MethodKind};
use crate::type_tokens::{type_token, UnsupportedType};

const DOMAIN_TAG: &[u8] = b"vgi_rpc.protocol_hash.v1|";

/// A JSON value restricted to what the preimage may hold.
#[derive(Debug, Clone)]
pub(crate) enum Canon {
    Str(String),
    Bool(bool),
    Arr(Vec<Canon>),
    Obj(BTreeMap<&'static str, Canon>),
}

impl Canon {
    /// Serialize canonically.
    pub(crate) fn write(&self, out: &mut String) {
        match self {
            Canon::Str(s) => write_string(s, out),
            Canon::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Canon::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Canon::Obj(map) => {
                // BTreeMap orders by bytes; every key here is ASCII, where that
                // equals JCS's UTF-16 code-unit order.
                out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn schema_fields(schema: &Schema) -> Result<Canon, UnsupportedType> {
    let mut fields = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let mut o = BTreeMap::new();
        o.insert("name", Canon::Str(f.name().clone()));
        o.insert("nullable", Canon::Bool(f.is_nullable()));
        o.insert("type", Canon::Str(type_token(f.data_type())?));
        fields.push(Canon::Obj(o));
    }
    Ok(Canon::Arr(fields))
}

fn method_canon(m: &MethodDef) -> Result<Canon, UnsupportedType> {
    let mut o = BTreeMap::new();
    o.insert("name", Canon::Str(m.name().to_owned()));
    let ty = match m.kind() {
        MethodKind::Unary => "unary",
        MethodKind::Producer | MethodKind::Exchange => "stream",
    };
    o.insert("type", Canon::Str(ty.into()));
    o.insert("has_return", Canon::Bool(m.has_return()));
    o.insert("has_header", Canon::Bool(m.header_schema().is_some()));
    o.insert("params", schema_fields(m.params_schema().schema())?);
    if m.has_return() {
        o.insert("result", schema_fields(m.result_schema().schema())?);
    }
    if let Some(header) = m.header_schema() {
        o.insert("header", schema_fields(header.schema())?);
    }
    Ok(Canon::Obj(o))
}

/// The canonical preimage JSON of a protocol (methods sorted by name).
pub fn canonical_description<'a>(
    protocol: &str,
    methods: impl IntoIterator<Item = &'a MethodDef>,
) -> Result<String, UnsupportedType> {
    let mut sorted: Vec<&MethodDef> = methods.into_iter().collect();
    sorted.sort_by(|a, b| a.name().cmp(b.name()));
    let methods: Result<Vec<Canon>, _> = sorted.into_iter().map(method_canon).collect();
    let mut root = BTreeMap::new();
    root.insert("protocol", Canon::Str(protocol.to_owned()));
    root.insert("methods", Canon::Arr(methods?));
    let mut out = String::new();
    Canon::Obj(root).write(&mut out);
    Ok(out)
}

/// `lowercase_hex(sha256("vgi_rpc.protocol_hash.v1|" + canonical_json))`.
pub fn hash_preimage(canonical_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN_TAG);
    h.update(canonical_json.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_ecmascript() {
        let mut out = String::new();
        write_string("a\"b\\c\n\u{1}é", &mut out);
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
