//! `jwt`: bearer JWT validation (vgi-rpc-auth feature `jwt`).
//!
//! The first input byte picks the path; the rest is text:
//!
//! * `JwtAuthenticator::authenticate` (fixed JWKS: an ES256 and an RS256 key
//!   plus an ignored `oct` key; issuer and audience required) with the text
//!   as `Authorization: Bearer <text>`, or as the whole `Authorization`
//!   value, so the bearer-scheme parsing runs too;
//! * `JwtAuthenticator::from_jwks_str` on the text; a key set that loads is
//!   then asked to verify fixed valid ES256 and RS256 tokens, so keys built
//!   from arbitrary JWK parameters reach signature verification.
#![no_main]

use http::{HeaderMap, HeaderValue};
use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use vgi_rpc_auth::{AuthRequest, Authenticator, JwtAuthenticator};

struct Fixtures {
    auth: JwtAuthenticator,
    tokens: [String; 2],
}

fn fixtures() -> &'static Fixtures {
    static F: std::sync::OnceLock<Fixtures> = std::sync::OnceLock::new();
    F.get_or_init(|| Fixtures {
        auth: vgi_rpc_fuzz::jwt_authenticator(),
        tokens: [Algorithm::ES256, Algorithm::RS256]
            .map(|alg| vgi_rpc_fuzz::sign_jwt(alg, &vgi_rpc_fuzz::good_claims())),
    })
}

fn run(auth: &JwtAuthenticator, authorization: &str) {
    let Ok(value) = HeaderValue::from_str(authorization) else { return };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, value);
    if let Ok(ctx) = auth.authenticate(&AuthRequest::new(&headers)) {
        assert!(ctx.authenticated && !ctx.principal.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    let f = fixtures();
    let text = String::from_utf8_lossy(rest);
    match mode % 3 {
        0 => run(&f.auth, &format!("Bearer {text}")),
        1 => run(&f.auth, &text),
        _ => {
            if let Ok(auth) = JwtAuthenticator::from_jwks_str(&text) {
                assert!(auth.key_count() > 0);
                for token in &f.tokens {
                    run(&auth, &format!("Bearer {token}"));
                }
            }
        }
    }
});
