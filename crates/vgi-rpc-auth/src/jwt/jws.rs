//! Compact JWS (RFC 7515) parsing and verify-only signature checks on
//! `ring`.
//!
//! Supported: RS256/384/512 (PKCS#1 v1.5), PS256/384/512 (PSS), ES256,
//! ES384 (fixed-width `r || s`), EdDSA (Ed25519). `none` and every HMAC
//! algorithm are refused before any key is looked at; a header with `crit`
//! is refused (no extension is understood); header members that point at
//! keys (`jku`, `jwk`, `x5u`, `x5c`) are ignored, never trusted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

use super::jwk::KeyMaterial;

/// A JWS signature algorithm this crate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// The algorithms an RSA key may verify.
    pub const RSA: [Algorithm; 6] =
        [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512];

    /// The algorithm for a JOSE `alg` name, or `None` for anything else
    /// (including `none` and `HS*`).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Some(match name {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "PS256" => Algorithm::PS256,
            "PS384" => Algorithm::PS384,
            "PS512" => Algorithm::PS512,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "EdDSA" => Algorithm::EdDSA,
            _ => return None,
        })
    }
}

/// A compact JWS split and decoded, signature not yet checked.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    /// The payload bytes (the JWT claims set, before verification).
    pub(crate) payload: Vec<u8>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`.
    pub(crate) signing_input: &'a str,
    pub(crate) signature: Vec<u8>,
}

/// Split and decode a compact JWS. `None` for anything malformed or using
/// an algorithm that is not supported.
pub(crate) fn parse(token: &str) -> Option<Jws<'_>> {
    let (signing_input, sig_b64) = token.rsplit_once('.')?;
    let (header_b64, payload_b64) = signing_input.split_once('.')?;
    if payload_b64.contains('.') {
        return None;
    }
    let header: Map<String, Value> = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
    if header.contains_key("crit") {
        return None;
    }
    let alg = Algorithm::from_name(header.get("alg")?.as_str()?)?;
    let kid = match header.get("kid") {
        None => None,
        Some(kid) => Some(kid.as_str()?.to_string()),
    };
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(sig_b64).ok()?;
    Some(Jws { alg, kid, payload, signing_input, signature })
}

/// Whether `signature` over `message` verifies under `key` with `alg`.
/// The caller has already checked that `alg` fits the key's type.
pub(crate) fn verify(alg: Algorithm, key: &KeyMaterial, message: &[u8], sig: &[u8]) -> bool {
    match (alg, key) {
        (Algorithm::ES256, KeyMaterial::Ec(point)) => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, sig).is_ok()
        }
        (Algorithm::ES384, KeyMaterial::Ec(point)) => {
            UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point).verify(message, sig).is_ok()
        }
        (Algorithm::EdDSA, KeyMaterial::Ed25519(x)) => {
            UnparsedPublicKey::new(&signature::ED25519, x).verify(message, sig).is_ok()
        }
        (_, KeyMaterial::Rsa { n, e }) => {
            let params = match alg {
                Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                _ => return false,
            };
            RsaPublicKeyComponents { n, e }.verify(params, message, sig).is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64u(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn parses_header_and_parts() {
        let token = format!("{}.{}.{}", b64u(r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#), b64u("{}"), b64u("sig"));
        let jws = parse(&token).unwrap();
        assert_eq!((jws.alg, jws.kid.as_deref()), (Algorithm::ES256, Some("k1")));
        assert_eq!((jws.payload.as_slice(), jws.signature.as_slice()), (&b"{}"[..], &b"sig"[..]));
        assert_eq!(jws.signing_input.matches('.').count(), 1);
    }

    #[test]
    fn refuses_none_hmac_crit_and_malformed() {
        let body = b64u("{}");
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS256","kid":"k"}"#,
            r#"{"alg":"RS256","crit":["b64"],"b64":false}"#,
            r#"{"alg":"RS256","kid":7}"#,
            r#"{"alg":"rs256"}"#,
            r#"{"kid":"k"}"#,
            r#"["alg"]"#,
        ] {
            assert!(parse(&format!("{}.{body}.{}", b64u(header), b64u("s"))).is_none(), "{header}");
        }
        let ok = b64u(r#"{"alg":"RS256"}"#);
        for junk in [
            "".to_string(),
            "a.b".to_string(),
            format!("{ok}.{body}"),
            format!("{ok}.{body}.sig.extra"),
            format!("{ok}.{body}=.c2ln"),
            format!("{ok}.{body}.c2ln="),
            format!("{ok}.@@.c2ln"),
        ] {
            assert!(parse(&junk).is_none(), "{junk}");
        }
        assert!(parse(&format!("{ok}.{body}.")).is_some(), "an empty signature parses and then fails to verify");
    }

    #[test]
    fn verify_refuses_mismatched_key_types() {
        let ec = KeyMaterial::Ec(vec![4; 65]);
        assert!(!verify(Algorithm::RS256, &ec, b"m", b"s"));
        assert!(!verify(Algorithm::EdDSA, &ec, b"m", b"s"));
        let rsa = KeyMaterial::Rsa { n: vec![0xC5; 256], e: vec![1, 0, 1] };
        assert!(!verify(Algorithm::ES256, &rsa, b"m", b"s"));
        assert!(!verify(Algorithm::RS256, &rsa, b"m", &[0; 256]));
    }
}
