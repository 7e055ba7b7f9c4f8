//! The guards `vgi_rpc.Identity.v2` applies before any hook runs
//! (IDENTITY_V2_SPEC §4), in their normative order:
//!
//! * introspection: the caller is authenticated and on the allowlist,
//!   checked **before** the subject credential is looked at; then the
//!   credential is refused when blank, over [`MAX_TOKEN_BYTES`] UTF-8 bytes
//!   (measured on what arrived), or JWS-shaped once trimmed (the resolver
//!   still receives the untrimmed original);
//! * minting: the caller is authenticated and carries a parseable, recent
//!   `auth_time` claim (grants and static bearers carry none, so they can
//!   never mint).

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use vgi_rpc_core::AuthContext;

use super::errors::IdentityError;

/// Longest credential considered at all, in UTF-8 bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Default ceiling on the caller's `auth_time` age for minting, in seconds.
pub const DEFAULT_MAX_AUTH_AGE_SECS: f64 = 900.0;
/// The claim freshness reads.
pub const AUTH_TIME_CLAIM: &str = "auth_time";

/// SHA-256 hex of a credential: what diagnostics may record instead of it.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn is_b64url_segment(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Three dot-separated base64url segments, the last possibly empty
/// (`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`), matched by hand so
/// no regex engine's anchor rules apply.
pub fn is_jws_shaped(candidate: &str) -> bool {
    let mut parts = candidate.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => {
            !header.is_empty()
                && !payload.is_empty()
                && is_b64url_segment(header)
                && is_b64url_segment(payload)
                && is_b64url_segment(signature)
        }
        _ => false,
    }
}

/// Whether a credential may be handed to a resolver at all. The shape test
/// runs on the trimmed form (Unicode `White_Space`, a superset of the
/// required floor U+0009–U+000D, U+0020, U+0085, U+00A0); the cap on the
/// credential that arrived.
pub fn resolvable_shape(token: &str) -> bool {
    let trimmed = token.trim();
    !trimmed.is_empty() && token.len() <= MAX_TOKEN_BYTES && !is_jws_shaped(trimmed)
}

/// The introspector allowlist, validated: at least one non-empty principal.
pub fn normalise_principals<I, S>(principals: I) -> Option<BTreeSet<String>>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let set: BTreeSet<String> = principals.into_iter().map(Into::into).filter(|p| !p.is_empty()).collect();
    (!set.is_empty()).then_some(set)
}

/// Refuse a caller that may not introspect.
pub fn check_introspector(auth: &AuthContext, allowed: &BTreeSet<String>) -> Result<(), IdentityError> {
    if auth.authenticated && allowed.contains(&auth.principal) {
        Ok(())
    } else {
        Err(IdentityError::IntrospectionRefused)
    }
}

/// Refuse a caller that has not authenticated recently enough to mint;
/// `now` and the result are seconds since the Unix epoch.
pub fn check_freshness(auth: &AuthContext, max_auth_age: f64, now: f64) -> Result<f64, IdentityError> {
    if !auth.authenticated || auth.principal.is_empty() {
        return Err(IdentityError::StaleAuth("caller is not authenticated".into()));
    }
    let Some(raw) = auth.claims.get(AUTH_TIME_CLAIM) else {
        return Err(IdentityError::StaleAuth(
            "credential carries no auth_time; only a recently authenticated user may mint a grant".into(),
        ));
    };
    let auth_time = raw
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite())
        .ok_or_else(|| IdentityError::StaleAuth("credential carries an unusable auth_time".into()))?;
    let age = now - auth_time;
    if age > max_auth_age {
        return Err(IdentityError::StaleAuth(format!(
            "last authentication was {age:.0}s ago, which exceeds the {max_auth_age:.0}s ceiling for minting a \
             grant; re-authenticate"
        )));
    }
    Ok(auth_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWS: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

    #[test]
    fn the_jws_shape_is_exactly_three_base64url_segments() {
        assert!(is_jws_shaped(JWS));
        assert!(is_jws_shaped("a.b."), "the signature may be empty");
        for not in ["opaque-token", "two.segments", "a.b.c.d", ".b.c", "a..c", "a.b.c\n", "a+b.c.d", ""] {
            assert!(!is_jws_shaped(not), "{not:?}");
        }
    }

    #[test]
    fn padding_on_the_enumerated_floor_does_not_hide_a_jws() {
        for pad in ['\u{9}', '\u{a}', '\u{b}', '\u{c}', '\u{d}', ' ', '\u{85}', '\u{a0}'] {
            for token in [format!("{pad}{JWS}"), format!("{JWS}{pad}"), format!("{pad}{JWS}{pad}{pad}")] {
                assert!(!resolvable_shape(&token), "{token:?}");
            }
        }
    }

    #[test]
    fn the_cap_is_utf8_bytes_of_the_untrimmed_credential() {
        assert!(resolvable_shape(&"a".repeat(4096)));
        assert!(!resolvable_shape(&"a".repeat(4097)));
        assert!(!resolvable_shape(&"é".repeat(2100)), "2100 codepoints are 4200 bytes");
        assert!(!resolvable_shape(&format!("x{}", " ".repeat(9000))), "padding counts");
        for blank in ["", " ", "\t\r\n"] {
            assert!(!resolvable_shape(blank));
        }
        assert!(resolvable_shape("  padded-opaque  "));
    }

    #[test]
    fn introspection_needs_an_authenticated_allowlisted_caller() {
        let allowed = normalise_principals(["proxy", ""]).expect("one principal");
        assert!(normalise_principals(Vec::<String>::new()).is_none());
        assert!(normalise_principals([""]).is_none(), "no permissive default");
        assert!(check_introspector(&AuthContext::authenticated("d", "proxy"), &allowed).is_ok());
        for caller in [AuthContext::authenticated("d", "other"), AuthContext::anonymous()] {
            assert_eq!(check_introspector(&caller, &allowed), Err(IdentityError::IntrospectionRefused));
        }
    }

    #[test]
    fn freshness_wants_a_recent_parseable_auth_time() {
        let mut caller = AuthContext::authenticated("d", "alice");
        assert_eq!(check_freshness(&caller, 900.0, 1000.0).map_err(|e| e.kind()), Err("stale_auth"));
        for bad in ["not-a-timestamp", "NaN", "inf"] {
            caller.claims.insert(AUTH_TIME_CLAIM.into(), bad.into());
            assert!(check_freshness(&caller, 900.0, 1000.0).is_err(), "{bad}");
        }
        caller.claims.insert(AUTH_TIME_CLAIM.into(), "940.5".into());
        assert_eq!(check_freshness(&caller, 900.0, 1000.0), Ok(940.5));
        assert!(check_freshness(&caller, 900.0, 1841.0).is_err(), "stale");
        assert!(check_freshness(&AuthContext::anonymous(), 900.0, 0.0).is_err());
    }

    #[test]
    fn a_digest_is_not_the_credential() {
        assert_eq!(token_digest("abc").len(), 64);
        assert!(!token_digest("secret").contains("secret"));
    }
}
