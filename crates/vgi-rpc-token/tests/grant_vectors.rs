//! Every case of the reference's sealed-grant vectors
//! (`vgi_rpc/conformance/grant_token_vectors.json`): each `mint` case must
//! produce exactly its token, payload, key id and AAD; each `accept` case must
//! verify; each `reject` case must fail with its `expired` flag.
//!
//! The data is committed beside this test (`tests/data/`, Apache-2.0, with its
//! source named). When the reference checkout is present (or
//! `VGI_GRANT_VECTORS` names a file) the committed copy must still equal it;
//! with `VGI_REQUIRE_REFERENCE=1` its absence is a failure.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;
use vgi_rpc_token::grant::{grant_key_id, GrantClaims, GrantError, GrantKeys, GrantRequest};

const REFERENCE: &str = "/opt/vgi-ref/opt/vgi-rpc-src/vgi_rpc/conformance/grant_token_vectors.json";

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn committed() -> Value {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/grant_token_vectors.json"))
}

fn reference_path() -> Option<PathBuf> {
    let path = std::env::var_os("VGI_GRANT_VECTORS").map(PathBuf::from).unwrap_or_else(|| REFERENCE.into());
    path.exists().then_some(path)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn int(v: &Value, key: &str) -> i64 {
    v[key].as_i64().unwrap_or_else(|| panic!("{key} is not an integer in {v}"))
}

fn key_bytes(b64: &str) -> [u8; 32] {
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).expect("vector key is base64");
    raw.as_slice().try_into().expect("vector key is 32 bytes")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().expect("string").to_owned()).collect()
}

/// The verifier a case describes: its own fields, else the file's defaults.
fn verifier(case: &Value, defaults: &Value) -> (GrantKeys, f64) {
    let pick = |key: &str| if case.get(key).is_some() { &case[key] } else { &defaults[key] };
    let keys: Vec<[u8; 32]> = strings(pick("verify_keys_b64")).iter().map(|k| key_bytes(k)).collect();
    let keys = GrantKeys::new(&keys)
        .and_then(|k| k.with_audience(pick("audience").as_str().expect("audience")))
        .and_then(|k| k.with_max_ttl_seconds(pick("max_ttl_seconds").as_i64().expect("max ttl")))
        .and_then(|k| k.with_clock_skew_seconds(pick("clock_skew_seconds").as_i64().expect("skew")))
        .expect("vector configuration is valid");
    (keys, pick("now").as_f64().expect("now"))
}

#[test]
fn the_committed_vectors_match_the_reference() {
    let Some(path) = reference_path() else {
        assert!(
            std::env::var("VGI_REQUIRE_REFERENCE").as_deref() != Ok("1"),
            "VGI_REQUIRE_REFERENCE=1 but the reference vectors are absent ({REFERENCE}; or set VGI_GRANT_VECTORS)"
        );
        eprintln!("reference vectors absent; checking the committed copy only");
        return;
    };
    let (reference, ours) = (load(&path), committed());
    for section in ["defaults", "mint", "accept", "reject"] {
        assert_eq!(ours[section], reference[section], "section {section} differs from {}", path.display());
    }
}

#[test]
fn every_mint_vector_is_reproduced_byte_for_byte() {
    let vectors = committed();
    let cases = vectors["mint"].as_array().expect("mint cases");
    assert!(cases.len() >= 4, "expected the reference's mint cases");
    for case in cases {
        let name = text(case, "name");
        let key = key_bytes(text(case, "minting_key_b64"));
        let keys = GrantKeys::new(&[key])
            .and_then(|k| k.with_audience(text(case, "audience")))
            .and_then(|k| k.with_max_ttl_seconds(int(case, "max_ttl_seconds")))
            .expect("valid");
        let nonce: [u8; 24] =
            hex::decode(text(case, "nonce_hex")).expect("hex").as_slice().try_into().expect("24-byte nonce");
        let request = &case["request"];
        let scopes = strings(&request["scopes"]);
        let req = GrantRequest {
            principal: text(request, "principal"),
            scopes: &scopes,
            purpose: text(request, "purpose"),
            ttl_seconds: int(request, "ttl_seconds"),
        };
        let (token, claims) =
            keys.mint_with(&req, int(case, "now"), text(request, "grant_id").to_owned(), &nonce).expect("mints");
        assert_eq!(token, text(case, "token"), "{name}: token");
        let expected = &case["claims"];
        assert_eq!(
            claims,
            GrantClaims {
                principal: text(expected, "principal").to_owned(),
                scopes: strings(&expected["scopes"]),
                purpose: text(expected, "purpose").to_owned(),
                grant_id: text(expected, "grant_id").to_owned(),
                issued_at: int(expected, "issued_at"),
                expires_at: int(expected, "expires_at"),
            },
            "{name}: claims"
        );
        assert_eq!(hex::encode(grant_key_id(&key)), text(case, "kid_hex"), "{name}: kid");
        let kid: [u8; 8] = grant_key_id(&key);
        assert_eq!(hex::encode(keys.aad(&kid)), text(case, "aad_hex"), "{name}: aad");
        assert_eq!(hex::encode(claims.to_payload().expect("fits")), text(case, "payload_hex"), "{name}: payload");
        assert_eq!(keys.verify(&token, claims.issued_at as f64), Ok(claims), "{name}: verifies");
    }
}

#[test]
fn every_accept_vector_verifies() {
    let vectors = committed();
    let cases = vectors["accept"].as_array().expect("accept cases");
    assert!(!cases.is_empty());
    for case in cases {
        let (keys, now) = verifier(case, &vectors["defaults"]);
        let claims = keys.verify(text(case, "token"), now);
        assert!(claims.is_ok(), "{}: {claims:?}", text(case, "name"));
    }
}

#[test]
fn every_reject_vector_is_refused_with_its_expired_flag() {
    let vectors = committed();
    let cases = vectors["reject"].as_array().expect("reject cases");
    assert!(cases.len() >= 9, "expected the reference's reject cases");
    for case in cases {
        let (keys, now) = verifier(case, &vectors["defaults"]);
        let expected =
            if case["expired"].as_bool().expect("expired flag") { GrantError::Expired } else { GrantError::Invalid };
        assert_eq!(keys.verify(text(case, "token"), now), Err(expected), "{}", text(case, "name"));
    }
}
