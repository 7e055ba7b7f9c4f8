//! [`JwtAuthenticator`] against fixed key sets: every supported algorithm,
//! claim rules, uniform refusals, algorithm confusion.

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{HeaderMap, HeaderValue};
use serde_json::json;
use vgi_rpc_core::FakeClock;

use super::test_keys::{hs256, Signer, RSA_A, RSA_B};
use super::*;
use crate::reason::AuthReason;

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "vgi-rpc-tests";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn jwks() -> Value {
    json!({"keys": [
        Signer::rsa(RSA_A).jwk("rsa-a"),
        Signer::p256().jwk("ec-1"),
        // Symmetric keys are never used, even if a token names them.
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
    ]})
}

fn authenticator() -> JwtAuthenticator {
    JwtAuthenticator::from_jwks_value(&jwks()).unwrap().with_issuers([ISSUER]).with_audiences([AUDIENCE])
}

fn claims(exp_offset: i64) -> Value {
    let now = now();
    json!({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now + exp_offset, "iat": now, "scope": "rpc.read rpc.write", "admin": false})
}

fn run(auth: &JwtAuthenticator, token: Option<&str>) -> Result<AuthContext, AuthFailure> {
    let mut headers = HeaderMap::new();
    if let Some(t) = token {
        headers.insert(http::header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {t}")).unwrap());
    }
    auth.authenticate(&AuthRequest::new(&headers))
}

/// Refused as `invalid_credential` with the one uniform detail.
fn assert_invalid(auth: &JwtAuthenticator, token: &str, what: &str) {
    let err = run(auth, Some(token)).unwrap_err();
    assert_eq!((err.reason, err.detail.as_str()), (AuthReason::InvalidCredential, INVALID_DETAIL), "{what}");
}

#[test]
fn valid_rsa_token_is_accepted() {
    let auth = authenticator();
    assert_eq!(auth.key_count(), 2);
    assert!(auth.remote().is_none());
    let t = Signer::rsa(RSA_A).sign("RS256", Some("rsa-a"), &claims(3600));
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
fn every_supported_algorithm_verifies() {
    let rsa = Signer::rsa(RSA_A);
    let (p256, p384, ed) = (Signer::p256(), Signer::p384(), Signer::ed25519());
    let doc = json!({"keys": [rsa.jwk("rsa"), p256.jwk("p256"), p384.jwk("p384"), ed.jwk("ed")]});
    let auth = JwtAuthenticator::from_jwks_value(&doc).unwrap().with_audiences([AUDIENCE]);
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        assert_eq!(run(&auth, Some(&rsa.sign(alg, Some("rsa"), &claims(60)))).unwrap().principal, "alice", "{alg}");
    }
    for (signer, alg, kid) in [(&p256, "ES256", "p256"), (&p384, "ES384", "p384"), (&ed, "EdDSA", "ed")] {
        assert_eq!(run(&auth, Some(&signer.sign(alg, Some(kid), &claims(60)))).unwrap().principal, "alice", "{alg}");
        // Without a kid every key of the right algorithm is tried.
        assert!(run(&auth, Some(&signer.sign(alg, None, &claims(60)))).is_ok(), "{alg} without kid");
    }
    // A P-384 key cannot pass for ES256, nor an RSA signature under an EC kid.
    assert_invalid(&auth, &p384.sign("ES256", Some("p384"), &claims(60)), "ES256 on a P-384 key");
    assert_invalid(&auth, &rsa.sign("RS256", Some("p256"), &claims(60)), "RS256 under an EC kid");
}

#[test]
fn domain_defaults_and_override() {
    let auth = JwtAuthenticator::from_jwks_value(&jwks()).unwrap().with_audiences([AUDIENCE]);
    let mut c = claims(3600);
    c.as_object_mut().unwrap().remove("iss");
    let t = Signer::rsa(RSA_A).sign("RS256", Some("rsa-a"), &c);
    assert_eq!(run(&auth, Some(&t)).unwrap().domain, JWT_DOMAIN);
    let t = Signer::p256().sign("ES256", Some("ec-1"), &claims(3600));
    let ctx = run(&authenticator().with_domain("corp"), Some(&t)).unwrap();
    assert_eq!((ctx.domain.as_str(), ctx.principal.as_str()), ("corp", "alice"));
}

#[test]
fn validity_window_is_expired_credential_only_after_the_signature() {
    let rsa = Signer::rsa(RSA_A);
    let err = run(&authenticator(), Some(&rsa.sign("RS256", Some("rsa-a"), &claims(-3600)))).unwrap_err();
    assert_eq!((err.reason, err.detail.as_str()), (AuthReason::ExpiredCredential, EXPIRED_DETAIL));
    // Within the leeway it is still accepted; without leeway it is not.
    let t = rsa.sign("RS256", Some("rsa-a"), &claims(-10));
    assert!(run(&authenticator(), Some(&t)).is_ok());
    assert_eq!(run(&authenticator().with_leeway(0), Some(&t)).unwrap_err().reason, AuthReason::ExpiredCredential);
    let mut c = claims(3600);
    c["nbf"] = json!(now() + 3600);
    let err = run(&authenticator(), Some(&rsa.sign("RS256", Some("rsa-a"), &c))).unwrap_err();
    assert_eq!(err.reason, AuthReason::ExpiredCredential);
    // An expired token with a bad signature is just invalid.
    assert_invalid(
        &authenticator(),
        &Signer::rsa(RSA_B).sign("RS256", Some("rsa-a"), &claims(-3600)),
        "forged+expired",
    );
}

#[test]
fn injected_clock_drives_expiry() {
    let clock = Arc::new(FakeClock::at_unix(2_000_000_000));
    let auth = authenticator().with_leeway(0).with_clock(clock.clone());
    let mut c = claims(0);
    c["exp"] = json!(2_000_000_100u64);
    let t = Signer::rsa(RSA_A).sign("RS256", Some("rsa-a"), &c);
    assert!(run(&auth, Some(&t)).is_ok());
    clock.advance(Duration::from_secs(100));
    assert_eq!(run(&auth, Some(&t)).unwrap_err().reason, AuthReason::ExpiredCredential);
}

#[test]
fn refusals_are_uniform() {
    let auth = authenticator();
    let rsa = Signer::rsa(RSA_A);
    let mut cases: Vec<(&str, String)> = Vec::new();
    for (what, key, value) in [
        ("wrong audience", "aud", json!("someone-else")),
        ("wrong issuer", "iss", json!("https://evil.example")),
        ("numeric exp as text", "exp", json!("tomorrow")),
    ] {
        let mut c = claims(3600);
        c[key] = value;
        cases.push((what, rsa.sign("RS256", Some("rsa-a"), &c)));
    }
    for (what, claim) in [("no audience", "aud"), ("no issuer", "iss"), ("no exp", "exp"), ("no subject", "sub")] {
        let mut c = claims(3600);
        c.as_object_mut().unwrap().remove(claim);
        cases.push((what, rsa.sign("RS256", Some("rsa-a"), &c)));
    }
    let kid = "attacker-chosen-kid-7f3a";
    cases.push(("unknown kid", rsa.sign("RS256", Some(kid), &claims(3600))));
    cases.push(("other key", Signer::rsa(RSA_B).sign("RS256", Some("rsa-a"), &claims(3600))));
    cases.push(("HS256 under the oct kid", hs256(b"secret", "hmac", &claims(3600))));
    // The classic confusion: HMAC keyed with the RSA public key's bytes.
    let n = jwks()["keys"][0]["n"].as_str().unwrap().to_string();
    cases.push(("HS256 naming the RSA key", hs256(n.as_bytes(), "rsa-a", &claims(3600))));
    let body = URL_SAFE_NO_PAD.encode(claims(3600).to_string());
    cases.push(("alg none", format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#))));
    let crit = json!({"alg": "RS256", "kid": "rsa-a", "crit": ["exp"], "exp": 1});
    cases.push(("crit header", rsa.sign_with_header(&crit, &claims(3600))));
    let good = rsa.sign("RS256", Some("rsa-a"), &claims(3600));
    let forged = Signer::rsa(RSA_B).sign("RS256", Some("rsa-a"), &json!({"sub": "mallory"}));
    let mut parts: Vec<&str> = good.split('.').collect();
    parts[1] = forged.split('.').nth(1).unwrap();
    cases.push(("tampered payload", parts.join(".")));
    cases.push(("payload not an object", rsa.sign("RS256", Some("rsa-a"), &json!(["sub", "alice"]))));
    for junk in ["not-a-jwt", "a.b.c", "e30.e30.", "...."] {
        cases.push(("junk", junk.to_string()));
    }
    cases.push(("oversized", format!("{good}{}", "A".repeat(DEFAULT_MAX_TOKEN_BYTES))));
    for (what, token) in &cases {
        assert_invalid(&auth, token, what);
        let detail = run(&auth, Some(token)).unwrap_err().detail;
        assert!(!detail.contains(kid) && !detail.contains("7f3a"), "{what}");
    }
    assert!(run(&auth, Some(&good)).is_ok());
    assert_eq!(run(&auth, None).unwrap_err().reason, AuthReason::MissingCredential);
}

#[test]
fn principal_claim_and_token_cap() {
    let rsa = Signer::rsa(RSA_A);
    let by_email = authenticator().with_principal_claim("email");
    let mut c = claims(3600);
    c["email"] = json!("alice@example.com");
    assert_eq!(run(&by_email, Some(&rsa.sign("RS256", Some("rsa-a"), &c))).unwrap().principal, "alice@example.com");
    c["email"] = json!("");
    assert_invalid(&by_email, &rsa.sign("RS256", Some("rsa-a"), &c), "empty principal");
    let t = rsa.sign("RS256", Some("rsa-a"), &claims(3600));
    assert!(run(&authenticator().with_max_token_bytes(t.len()), Some(&t)).is_ok());
    assert_invalid(&authenticator().with_max_token_bytes(t.len() - 1), &t, "one byte over the cap");
}

#[test]
fn declared_alg_restricts_the_key() {
    let mut pss = Signer::rsa(RSA_A).jwk("pss");
    pss["alg"] = json!("PS256");
    let mut enc = Signer::rsa(RSA_B).jwk("enc");
    enc["use"] = json!("enc");
    let auth = JwtAuthenticator::from_jwks_value(&json!({"keys": [pss, enc]})).unwrap().with_audiences([AUDIENCE]);
    assert_eq!(auth.key_count(), 1);
    assert_invalid(&auth, &Signer::rsa(RSA_A).sign("RS256", Some("pss"), &claims(3600)), "RS256 on a PS256 key");
    assert_eq!(
        run(&auth, Some(&Signer::rsa(RSA_A).sign("PS256", Some("pss"), &claims(3600)))).unwrap().principal,
        "alice"
    );
    assert!(matches!(JwtAuthenticator::from_jwks_str("{"), Err(JwksError::Json(_))));
    assert_eq!(JwtAuthenticator::from_jwks_str(&jwks().to_string()).unwrap().key_count(), 2);
}

#[test]
fn remote_constructors_check_urls_without_io() {
    assert!(matches!(JwtAuthenticator::from_jwks_uri("http://issuer.example/jwks"), Err(JwksError::Config(_))));
    assert!(matches!(JwtAuthenticator::from_issuer("ftp://issuer.example"), Err(JwksError::Config(_))));
    let auth = JwtAuthenticator::from_jwks_uri("https://issuer.example/jwks").unwrap();
    assert_eq!(auth.key_count(), 0);
    assert!(auth.remote().is_some());
    let auth = JwtAuthenticator::from_issuer("https://issuer.example").unwrap();
    assert!(auth.rules.issuers.contains("https://issuer.example"));
    assert!(format!("{auth:?}").contains("RemoteJwks"));
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

#[test]
fn only_issuer_fetched_keys_may_block_and_compositions_say_so() {
    let fixed = authenticator();
    assert!(!fixed.may_block(), "a fixed key set never waits");
    // No I/O at construction: the first fetch happens on first use.
    let remote = JwtAuthenticator::from_jwks_uri("https://issuer.example/jwks.json").expect("remote");
    assert!(remote.may_block());
    let remote: Arc<dyn Authenticator> = Arc::new(remote);
    let chain = crate::Chain::new().or_shared(remote.clone());
    assert!(chain.may_block(), "a chain with a remote part may block");
    assert!(!crate::Chain::new().or(authenticator()).may_block());
    assert!(crate::RequireAll::new().credential_shared(remote).may_block());
}
