//! JSON Web Keys (RFC 7517) reduced to what verifies a signature:
//! [`KeySet`] parsed from a JWKS document, each usable key pinned to the
//! algorithms its type allows.
//!
//! Only public asymmetric signature keys are kept: RSA (RS256/384/512,
//! PS256/384/512, modulus of 2048 to 8192 bits), EC P-256 (ES256), EC P-384
//! (ES384) and OKP Ed25519 (EdDSA). Symmetric (`oct`) keys, encryption keys
//! (`"use":"enc"`), keys whose `key_ops` exclude `verify`, unknown types and
//! curves, and malformed members are skipped, so an RSA public key can never
//! be used as an HMAC secret. A key's own `alg`, when present, narrows it to
//! that one algorithm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::jws::Algorithm;

/// At most this many keys are kept from one document; the rest are ignored.
pub const MAX_KEYS: usize = 64;

/// Why a JWKS document could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The document is not JSON.
    #[error("JWKS is not valid JSON: {0}")]
    Json(String),
    /// The document has no `keys` array.
    #[error("JWKS has no \"keys\" array")]
    NotAKeySet,
    /// No key in the set is an asymmetric signature key this crate supports.
    #[error("JWKS contains no usable signature key")]
    NoUsableKeys,
    /// Fetching the document (or the discovery document) failed.
    #[error("JWKS fetch failed: {0}")]
    Fetch(String),
    /// The JWKS source is misconfigured (URL scheme, issuer).
    #[error("JWKS source: {0}")]
    Config(String),
}

/// The public material of one key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum KeyMaterial {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed EC point `04 || x || y` (P-256 or P-384).
    Ec(Vec<u8>),
    /// A 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
}

/// One usable verification key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct VerifyKey {
    pub(crate) kid: Option<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) material: KeyMaterial,
}

/// The usable keys of a JWKS document.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").field("keys", &self.keys.len()).finish()
    }
}

impl KeySet {
    /// Parse a JWKS JSON text (`{"keys":[…]}`).
    pub fn from_json(text: &[u8]) -> Result<Self, JwksError> {
        let doc: Value = serde_json::from_slice(text).map_err(|e| JwksError::Json(e.to_string()))?;
        Self::from_value(&doc)
    }

    /// Keep the usable keys of a parsed JWKS document; at least one must
    /// remain.
    pub fn from_value(doc: &Value) -> Result<Self, JwksError> {
        let entries = doc.get("keys").and_then(Value::as_array).ok_or(JwksError::NotAKeySet)?;
        let keys: Vec<VerifyKey> = entries.iter().filter_map(verify_key).take(MAX_KEYS).collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(Self { keys })
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable (only for a default-constructed set).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key with this `kid` is in the set.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys that may verify a token with this header `kid` and `alg`:
    /// the key(s) named by `kid`, or every key when the token names none.
    pub(crate) fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a VerifyKey> + 'a {
        self.keys
            .iter()
            .filter(move |k| kid.is_none() || k.kid.as_deref() == kid)
            .filter(move |k| k.algorithms.contains(&alg))
    }
}

fn field<'a>(jwk: &'a Value, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

fn b64(jwk: &Value, name: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(field(jwk, name)?).ok()
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// The verification key for one JWK, or `None` when it cannot verify
/// signatures with an algorithm this crate supports.
fn verify_key(jwk: &Value) -> Option<VerifyKey> {
    if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    let (family, material) = match field(jwk, "kty")? {
        "RSA" => {
            let n = strip_leading_zeros(b64(jwk, "n")?);
            let e = strip_leading_zeros(b64(jwk, "e")?);
            // ring verifies 2048..=8192-bit moduli; refuse the rest up front.
            if !(256..=1024).contains(&n.len()) || e.is_empty() || e.len() > 4 {
                return None;
            }
            (Algorithm::RSA.to_vec(), KeyMaterial::Rsa { n, e })
        }
        "EC" => {
            let (alg, size) = match field(jwk, "crv")? {
                "P-256" => (Algorithm::ES256, 32),
                "P-384" => (Algorithm::ES384, 48),
                _ => return None,
            };
            let (x, y) = (b64(jwk, "x")?, b64(jwk, "y")?);
            if x.len() != size || y.len() != size {
                return None;
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (vec![alg], KeyMaterial::Ec(point))
        }
        "OKP" if field(jwk, "crv")? == "Ed25519" => {
            let x = b64(jwk, "x")?;
            if x.len() != 32 {
                return None;
            }
            (vec![Algorithm::EdDSA], KeyMaterial::Ed25519(x))
        }
        _ => return None,
    };
    let algorithms = match jwk.get("alg") {
        None => family,
        Some(declared) => {
            let alg = Algorithm::from_name(declared.as_str()?)?;
            family.contains(&alg).then(|| vec![alg])?
        }
    };
    let kid = match jwk.get("kid") {
        None => None,
        Some(kid) => Some(kid.as_str()?.to_string()),
    };
    Some(VerifyKey { kid, algorithms, material })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64u(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa_jwk(kid: &str) -> Value {
        let mut n = vec![0xC5u8; 256];
        n.insert(0, 0); // a leading zero some issuers emit
        json!({"kty": "RSA", "kid": kid, "n": b64u(&n), "e": "AQAB"})
    }

    #[test]
    fn keeps_only_public_signature_keys() {
        let doc = json!({"keys": [
            rsa_jwk("r1"),
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "EC", "crv": "P-256", "kid": "e1", "x": b64u(&[1; 32]), "y": b64u(&[2; 32])},
            {"kty": "EC", "crv": "P-384", "kid": "e2", "x": b64u(&[1; 48]), "y": b64u(&[2; 48])},
            {"kty": "EC", "crv": "P-521", "kid": "e3", "x": b64u(&[1; 66]), "y": b64u(&[2; 66])},
            {"kty": "EC", "crv": "P-256", "kid": "short", "x": b64u(&[1; 31]), "y": b64u(&[2; 32])},
            {"kty": "OKP", "crv": "Ed25519", "kid": "o1", "x": b64u(&[3; 32])},
            {"kty": "OKP", "crv": "X25519", "kid": "o2", "x": b64u(&[3; 32])},
            {"kty": "RSA", "kid": "small", "n": b64u(&[0xC5; 128]), "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": b64u(&[0xC5; 256]), "e": "AQAB"},
            {"kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": b64u(&[0xC5; 256]), "e": "AQAB"},
            {"kty": "RSA", "kid": 7, "n": b64u(&[0xC5; 256]), "e": "AQAB"},
            {"kty": "RSA", "kid": "bad-b64", "n": "***", "e": "AQAB"},
            "not an object",
        ]});
        let set = KeySet::from_value(&doc).unwrap();
        assert_eq!(set.len(), 4);
        for kid in ["r1", "e1", "e2", "o1"] {
            assert!(set.has_kid(kid), "{kid}");
        }
        assert!(!set.has_kid("h") && !set.has_kid("small") && !set.has_kid("enc"));
        let r1 = set.candidates(Some("r1"), Algorithm::PS384).next().unwrap();
        assert!(matches!(&r1.material, KeyMaterial::Rsa { n, .. } if n.len() == 256));
        assert_eq!(set.candidates(Some("r1"), Algorithm::ES256).count(), 0);
        assert_eq!(set.candidates(None, Algorithm::ES384).count(), 1);
        assert_eq!(set.candidates(None, Algorithm::EdDSA).count(), 1);
    }

    #[test]
    fn declared_alg_narrows_and_must_fit() {
        let mut pinned = rsa_jwk("p");
        pinned["alg"] = json!("PS256");
        let mut wrong = rsa_jwk("w");
        wrong["alg"] = json!("ES256");
        let mut hmac = rsa_jwk("h");
        hmac["alg"] = json!("HS256");
        let set = KeySet::from_value(&json!({"keys": [pinned, wrong, hmac]})).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.candidates(Some("p"), Algorithm::PS256).count(), 1);
        assert_eq!(set.candidates(Some("p"), Algorithm::RS256).count(), 0);
    }

    #[test]
    fn document_errors() {
        assert!(matches!(KeySet::from_json(b"{"), Err(JwksError::Json(_))));
        assert_eq!(KeySet::from_json(b"{}").unwrap_err(), JwksError::NotAKeySet);
        assert_eq!(KeySet::from_json(br#"{"keys":{}}"#).unwrap_err(), JwksError::NotAKeySet);
        assert_eq!(
            KeySet::from_json(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"weird"}]}"#).unwrap_err(),
            JwksError::NoUsableKeys
        );
        let many: Vec<Value> = (0..100).map(|i| rsa_jwk(&format!("k{i}"))).collect();
        assert_eq!(KeySet::from_value(&json!({ "keys": many })).unwrap().len(), MAX_KEYS);
        assert!(format!("{:?}", KeySet::default()).contains("keys: 0"));
    }
}
