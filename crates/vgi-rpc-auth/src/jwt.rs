//! Bearer JWT validation against a JWKS document (feature `jwt`):
//! [`JwtAuthenticator`].
//!
//! Only asymmetric keys are used (RS*/PS*, ES256/ES384, EdDSA); symmetric
//! (`oct`) and encryption keys in the set are ignored, and a token's `alg`
//! must agree with the key that verifies it, so an RSA public key can never
//! be abused as an HMAC secret. Refusal details name the failing stage only
//! (signature, audience, expiry…) and never echo the token's `kid` or the
//! verifier's internals (`docs/unauthorized-spec.md` §2).

use std::collections::HashSet;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::{Map, Value};
use vgi_rpc_core::AuthContext;

use crate::authenticator::{AuthRequest, Authenticator};
use crate::bearer::bearer_token;
use crate::reason::AuthFailure;
use crate::resource_metadata::www_authenticate;

/// Domain reported when the token names no issuer and none is configured.
pub const JWT_DOMAIN: &str = "jwt";

/// Why a JWKS document could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
}

struct VerifyKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// Validates `Authorization: Bearer <jwt>` against a fixed JWKS.
///
/// * no `Authorization` header → `missing_credential`;
/// * `exp` passed or `nbf` not reached (beyond the leeway) → `expired_credential`;
/// * anything else wrong (signature, unknown `kid`, algorithm, issuer,
///   audience, malformed token, missing subject) → `invalid_credential`.
///
/// `exp` is required. When issuers / audiences are configured the `iss` /
/// `aud` claims are required and must match one of them; when no audience is
/// configured, tokens that carry an `aud` claim are refused.
///
/// On success: principal = the principal claim (`sub` by default, a
/// non-empty string); domain = the configured domain, else the token's `iss`,
/// else `"jwt"`; claims = every claim, strings verbatim and other values as
/// compact JSON text.
pub struct JwtAuthenticator {
    keys: Vec<VerifyKey>,
    validation: Validation,
    principal_claim: String,
    domain: Option<String>,
    challenge: Option<String>,
}

impl std::fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("keys", &self.keys.len())
            .field("issuers", &self.validation.iss)
            .field("audiences", &self.validation.aud)
            .field("leeway", &self.validation.leeway)
            .field("principal_claim", &self.principal_claim)
            .field("domain", &self.domain)
            .finish()
    }
}

impl JwtAuthenticator {
    /// Load the key set from a JWKS JSON text (`{"keys":[…]}`).
    pub fn from_jwks_str(jwks: &str) -> Result<Self, JwksError> {
        let doc: Value = serde_json::from_str(jwks).map_err(|e| JwksError::Json(e.to_string()))?;
        Self::from_jwks_value(&doc)
    }

    /// Load the key set from a parsed JWKS document. Keys that cannot be
    /// used (symmetric, encryption-only, unsupported type or curve,
    /// unparseable) are skipped; at least one must remain.
    pub fn from_jwks_value(jwks: &Value) -> Result<Self, JwksError> {
        let entries = jwks.get("keys").and_then(Value::as_array).ok_or(JwksError::NotAKeySet)?;
        let keys: Vec<VerifyKey> = entries
            .iter()
            .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
            .filter_map(|jwk| verify_key(&jwk))
            .collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_nbf = true;
        validation.leeway = 60;
        Ok(Self { keys, validation, principal_claim: "sub".to_string(), domain: None, challenge: None })
    }

    /// Accept tokens whose `iss` is one of `issuers` (and require `iss`).
    pub fn with_issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set: HashSet<String> = issuers.into_iter().map(Into::into).collect();
        if !set.is_empty() {
            self.validation.iss = Some(set);
            self.validation.required_spec_claims.insert("iss".to_string());
        }
        self
    }

    /// Accept tokens whose `aud` contains one of `audiences` (and require `aud`).
    pub fn with_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set: HashSet<String> = audiences.into_iter().map(Into::into).collect();
        if !set.is_empty() {
            self.validation.aud = Some(set);
            self.validation.required_spec_claims.insert("aud".to_string());
        }
        self
    }

    /// Clock-skew allowance for `exp` / `nbf`, in seconds (default 60).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.validation.leeway = seconds;
        self
    }

    /// The claim naming the principal (default `sub`).
    pub fn with_principal_claim(mut self, claim: impl Into<String>) -> Self {
        self.principal_claim = claim.into();
        self
    }

    /// A fixed `AuthContext::domain` instead of the token's issuer.
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Advertise RFC 9728 metadata in the challenge:
    /// `Bearer resource_metadata="<url>"`.
    pub fn with_resource_metadata(mut self, metadata_url: impl AsRef<str>) -> Self {
        self.challenge = Some(www_authenticate(metadata_url.as_ref()));
        self
    }

    /// Number of usable keys loaded from the JWKS.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn verify(&self, token: &str) -> Result<Map<String, Value>, AuthFailure> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| AuthFailure::invalid("Invalid JWT: malformed token"))?;
        let by_kid: Vec<&VerifyKey> = match header.kid.as_deref() {
            Some(kid) => self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect(),
            None => self.keys.iter().collect(),
        };
        if by_kid.is_empty() {
            return Err(AuthFailure::invalid("Invalid JWT: signing key not recognised"));
        }
        let candidates: Vec<&VerifyKey> = by_kid.into_iter().filter(|k| k.algorithms.contains(&header.alg)).collect();
        if candidates.is_empty() {
            return Err(AuthFailure::invalid("Invalid JWT: signing algorithm not accepted"));
        }
        let mut validation = self.validation.clone();
        validation.algorithms = vec![header.alg];
        for candidate in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &candidate.key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                Err(e) => return Err(classify(e.kind())),
            }
        }
        Err(AuthFailure::invalid("Invalid JWT: signature verification failed"))
    }
}

/// The verification key for a JWK, or `None` when it cannot verify signatures.
fn verify_key(jwk: &Jwk) -> Option<VerifyKey> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let family_algorithms: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa.algorithms().to_vec(),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => vec![Algorithm::EdDSA],
        _ => return None,
    };
    let algorithms = match jwk.common.key_algorithm {
        Some(declared) => {
            let alg = Algorithm::try_from(declared).ok()?;
            family_algorithms.contains(&alg).then(|| vec![alg])?
        }
        None => family_algorithms,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyKey { kid: jwk.common.key_id.clone(), algorithms, key })
}

fn classify(kind: &ErrorKind) -> AuthFailure {
    match kind {
        ErrorKind::ExpiredSignature => AuthFailure::expired("JWT has expired"),
        ErrorKind::ImmatureSignature => AuthFailure::expired("JWT is not yet valid"),
        ErrorKind::InvalidAudience => AuthFailure::invalid("Invalid JWT: audience not accepted"),
        ErrorKind::InvalidIssuer => AuthFailure::invalid("Invalid JWT: issuer not accepted"),
        ErrorKind::InvalidSubject => AuthFailure::invalid("Invalid JWT: subject not accepted"),
        ErrorKind::MissingRequiredClaim(claim) => {
            // `claim` is one of the registered names this crate requires.
            AuthFailure::invalid(format!("Invalid JWT: missing required claim {claim:?}"))
        }
        ErrorKind::InvalidClaimFormat(_) => AuthFailure::invalid("Invalid JWT: malformed claim"),
        ErrorKind::InvalidSignature => AuthFailure::invalid("Invalid JWT: signature verification failed"),
        ErrorKind::InvalidAlgorithm => AuthFailure::invalid("Invalid JWT: signing algorithm not accepted"),
        _ => AuthFailure::invalid("Invalid JWT: malformed token"),
    }
}

impl Authenticator for JwtAuthenticator {
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        let token = bearer_token(req.headers)?;
        let claims = self.verify(token)?;
        let principal = match claims.get(&self.principal_claim) {
            Some(Value::String(p)) if !p.is_empty() => p.clone(),
            _ => return Err(AuthFailure::invalid("Invalid JWT: no principal claim")),
        };
        let domain = match (&self.domain, claims.get("iss")) {
            (Some(domain), _) => domain.clone(),
            (None, Some(Value::String(iss))) if !iss.is_empty() => iss.clone(),
            _ => JWT_DOMAIN.to_string(),
        };
        let mut ctx = AuthContext::authenticated(domain, principal);
        for (name, value) in claims {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            ctx.claims.insert(name, text);
        }
        Ok(ctx)
    }

    fn challenge(&self) -> Option<String> {
        Some(self.challenge.clone().unwrap_or_else(|| "Bearer".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};
    use jsonwebtoken::{encode, get_current_timestamp, EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::reason::AuthReason;

    const RSA_A: &str = include_str!("../testdata/rsa-a.pem");
    const RSA_B: &str = include_str!("../testdata/rsa-b.pem");
    const EC_P256: &str = include_str!("../testdata/ec-p256.pem");
    const ISSUER: &str = "https://issuer.example";
    const AUDIENCE: &str = "vgi-rpc-tests";

    fn rsa(pem: &str) -> EncodingKey {
        EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
    }

    fn ec() -> EncodingKey {
        EncodingKey::from_ec_pem(EC_P256.as_bytes()).unwrap()
    }

    fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
        let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
        jwk.common.key_id = Some(kid.to_string());
        serde_json::to_value(jwk).unwrap()
    }

    fn jwks() -> Value {
        json!({"keys": [
            public_jwk(&rsa(RSA_A), Algorithm::RS256, "rsa-a"),
            public_jwk(&ec(), Algorithm::ES256, "ec-1"),
            // Symmetric keys are never used, even if a token names them.
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        ]})
    }

    fn authenticator() -> JwtAuthenticator {
        JwtAuthenticator::from_jwks_value(&jwks()).unwrap().with_issuers([ISSUER]).with_audiences([AUDIENCE])
    }

    fn claims(exp_offset: i64) -> Value {
        let now = get_current_timestamp() as i64;
        json!({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now + exp_offset, "iat": now, "scope": "rpc.read rpc.write", "admin": false})
    }

    fn token(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        encode(&header, claims, key).unwrap()
    }

    fn run(auth: &JwtAuthenticator, token: Option<&str>) -> Result<AuthContext, AuthFailure> {
        let mut headers = HeaderMap::new();
        if let Some(t) = token {
            headers.insert(http::header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {t}")).unwrap());
        }
        auth.authenticate(&AuthRequest::new(&headers))
    }

    #[test]
    fn valid_rsa_token_is_accepted() {
        let auth = authenticator();
        assert_eq!(auth.key_count(), 2);
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &claims(3600));
        let ctx = run(&auth, Some(&t)).unwrap();
        assert!(ctx.authenticated);
        assert_eq!(ctx.principal, "alice");
        assert_eq!(ctx.domain, ISSUER);
        assert_eq!(ctx.claims.get("scope").map(String::as_str), Some("rpc.read rpc.write"));
        assert_eq!(ctx.claims.get("aud").map(String::as_str), Some(AUDIENCE));
        assert_eq!(ctx.claims.get("admin").map(String::as_str), Some("false"));
        assert!(ctx.claims.contains_key("exp"));
        assert_eq!(auth.challenge().as_deref(), Some("Bearer"));
        assert!(auth.proxy_headers().is_empty());
    }

    #[test]
    fn valid_ec_token_and_no_kid() {
        let auth = authenticator().with_domain("corp");
        let t = token(Algorithm::ES256, Some("ec-1"), &ec(), &claims(3600));
        let ctx = run(&auth, Some(&t)).unwrap();
        assert_eq!((ctx.domain.as_str(), ctx.principal.as_str()), ("corp", "alice"));
        // Without a kid, every key of the right algorithm is tried.
        let t = token(Algorithm::RS256, None, &rsa(RSA_A), &claims(3600));
        assert_eq!(run(&auth, Some(&t)).unwrap().principal, "alice");
    }

    #[test]
    fn domain_defaults_to_jwt_without_issuer() {
        let auth = JwtAuthenticator::from_jwks_value(&jwks()).unwrap().with_audiences([AUDIENCE]);
        let mut c = claims(3600);
        c.as_object_mut().unwrap().remove("iss");
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &c);
        assert_eq!(run(&auth, Some(&t)).unwrap().domain, "jwt");
    }

    #[test]
    fn expired_token_is_expired_credential() {
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &claims(-3600));
        let err = run(&authenticator(), Some(&t)).unwrap_err();
        assert_eq!(err.reason, AuthReason::ExpiredCredential);
        // Within the leeway it is still accepted.
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &claims(-10));
        assert!(run(&authenticator(), Some(&t)).is_ok());
        assert_eq!(run(&authenticator().with_leeway(0), Some(&t)).unwrap_err().reason, AuthReason::ExpiredCredential);
        // Not yet valid is outside the validity window too.
        let mut c = claims(3600);
        c["nbf"] = json!(get_current_timestamp() + 3600);
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &c);
        assert_eq!(run(&authenticator(), Some(&t)).unwrap_err().reason, AuthReason::ExpiredCredential);
    }

    #[test]
    fn wrong_audience_or_issuer_is_invalid() {
        let mut c = claims(3600);
        c["aud"] = json!("someone-else");
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &c);
        let err = run(&authenticator(), Some(&t)).unwrap_err();
        assert_eq!(err.reason, AuthReason::InvalidCredential);
        assert!(err.detail.contains("audience"), "{}", err.detail);

        let mut c = claims(3600);
        c["iss"] = json!("https://evil.example");
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &c);
        assert_eq!(run(&authenticator(), Some(&t)).unwrap_err().reason, AuthReason::InvalidCredential);

        // A configured audience is required, not merely checked when present.
        let mut c = claims(3600);
        c.as_object_mut().unwrap().remove("aud");
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &c);
        assert_eq!(run(&authenticator(), Some(&t)).unwrap_err().reason, AuthReason::InvalidCredential);
    }

    #[test]
    fn unknown_kid_is_invalid_without_echo() {
        let kid = "attacker-chosen-kid-7f3a";
        let t = token(Algorithm::RS256, Some(kid), &rsa(RSA_A), &claims(3600));
        let err = run(&authenticator(), Some(&t)).unwrap_err();
        assert_eq!(err.reason, AuthReason::InvalidCredential);
        assert!(!err.detail.contains(kid), "{}", err.detail);
        assert!(!err.detail.contains("7f3a"));
    }

    #[test]
    fn bad_signature_and_alg_confusion_are_invalid() {
        // Signed by another key under a known kid.
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_B), &claims(3600));
        let err = run(&authenticator(), Some(&t)).unwrap_err();
        assert_eq!(err.reason, AuthReason::InvalidCredential);
        assert!(err.detail.contains("signature"), "{}", err.detail);
        // HS256 under the symmetric key's kid: that key is never loaded.
        let t = token(Algorithm::HS256, Some("hmac"), &EncodingKey::from_secret(b"secret"), &claims(3600));
        assert_eq!(run(&authenticator(), Some(&t)).unwrap_err().reason, AuthReason::InvalidCredential);
        // HS256 naming the RSA key: the algorithm does not fit the key.
        let t = token(Algorithm::HS256, Some("rsa-a"), &EncodingKey::from_secret(b"secret"), &claims(3600));
        assert_eq!(run(&authenticator(), Some(&t)).unwrap_err().reason, AuthReason::InvalidCredential);
        // Tampered payload.
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &claims(3600));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_B), &json!({"sub": "mallory"}));
        parts[1] = forged.split('.').nth(1).unwrap();
        assert_eq!(run(&authenticator(), Some(&parts.join("."))).unwrap_err().reason, AuthReason::InvalidCredential);
    }

    #[test]
    fn missing_and_malformed() {
        assert_eq!(run(&authenticator(), None).unwrap_err().reason, AuthReason::MissingCredential);
        for junk in ["not-a-jwt", "a.b.c", "e30.e30."] {
            assert_eq!(run(&authenticator(), Some(junk)).unwrap_err().reason, AuthReason::InvalidCredential, "{junk}");
        }
        // No subject.
        let mut c = claims(3600);
        c.as_object_mut().unwrap().remove("sub");
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &c);
        assert_eq!(run(&authenticator(), Some(&t)).unwrap_err().reason, AuthReason::InvalidCredential);
        let by_email = authenticator().with_principal_claim("email");
        let mut c = claims(3600);
        c["email"] = json!("alice@example.com");
        let t = token(Algorithm::RS256, Some("rsa-a"), &rsa(RSA_A), &c);
        assert_eq!(run(&by_email, Some(&t)).unwrap().principal, "alice@example.com");
    }

    #[test]
    fn jwks_loading_errors() {
        assert!(matches!(JwtAuthenticator::from_jwks_str("{"), Err(JwksError::Json(_))));
        assert_eq!(JwtAuthenticator::from_jwks_str("{}").unwrap_err(), JwksError::NotAKeySet);
        assert_eq!(
            JwtAuthenticator::from_jwks_str(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"weird"}]}"#).unwrap_err(),
            JwksError::NoUsableKeys
        );
        let text = jwks().to_string();
        assert_eq!(JwtAuthenticator::from_jwks_str(&text).unwrap().key_count(), 2);
        // A declared `alg` restricts the key; an encryption key is skipped.
        let mut enc = public_jwk(&rsa(RSA_B), Algorithm::RS256, "enc");
        enc["use"] = json!("enc");
        let doc = json!({"keys": [public_jwk(&rsa(RSA_A), Algorithm::PS256, "pss"), enc]});
        let auth = JwtAuthenticator::from_jwks_value(&doc).unwrap().with_audiences([AUDIENCE]);
        assert_eq!(auth.key_count(), 1);
        let t = token(Algorithm::RS256, Some("pss"), &rsa(RSA_A), &claims(3600));
        assert_eq!(run(&auth, Some(&t)).unwrap_err().reason, AuthReason::InvalidCredential);
        let t = token(Algorithm::PS256, Some("pss"), &rsa(RSA_A), &claims(3600));
        assert_eq!(run(&auth, Some(&t)).unwrap().principal, "alice");
    }

    #[test]
    fn challenge_with_metadata() {
        let auth = authenticator().with_resource_metadata("https://h/.well-known/oauth-protected-resource");
        assert_eq!(
            auth.challenge().as_deref(),
            Some(r#"Bearer resource_metadata="https://h/.well-known/oauth-protected-resource""#)
        );
        assert!(!format!("{auth:?}").is_empty());
    }
}
