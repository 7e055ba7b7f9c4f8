//! The fixed `vgi_rpc.Identity.v2` policy of the conformance workers
//! (the reference's `IDENTITY_CONFORMANCE_FIXTURE.md`), behind the worker's
//! `--identity off|both|introspect-only|grants`:
//!
//! * `both`: the fixture resolver and minter, allowlist
//!   `conformance-introspector`, `max_auth_age` 900 s;
//! * `introspect-only`: the resolver alone (so `issue_grant` is not hosted);
//! * `grants`: the resolver and the published fixture grant keys with no mint
//!   hook (the framework mints sealed grants and accepts them back as
//!   bearers), plus `conformance.Whoami.v1`.
//!
//! The resolver answers for almost anything, so a guard that fails to fire
//! turns into a loud success. Callers authenticate by the
//! `X-Conformance-Principal` header (with `X-Conformance-Auth-Time` carried
//! verbatim as the `auth_time` claim): trivially spoofable, a test fixture
//! that must never be deployed.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, StringArray};
use arrow_schema::DataType;
use vgi_rpc::http::vgi_rpc_auth::identity::{HookError, Identity, IdentityConfig, IssuedGrant, TokenIdentity};
use vgi_rpc::http::vgi_rpc_auth::{from_fn, AuthFailure, AuthRequest, Authenticator};
use vgi_rpc::token::grant::GrantKeys;
use vgi_rpc::{AuthContext, MethodDef, Protocol};

/// Header naming the authenticated principal (absent: unauthenticated).
pub const PRINCIPAL_HEADER: &str = "x-conformance-principal";
/// Header carried verbatim as the `auth_time` claim.
pub const AUTH_TIME_HEADER: &str = "x-conformance-auth-time";
/// The one principal allowed to introspect.
pub const INTROSPECTOR_PRINCIPAL: &str = "conformance-introspector";
/// `max_auth_age` of the fixture (the documented default).
pub const MAX_AUTH_AGE: f64 = 900.0;
/// The identity every resolvable credential maps to.
pub const SUBJECT_PRINCIPAL: &str = "subject@conformance.example";
const SUBJECT_TOKEN_NAME: &str = "conformance-subject";
const SUBJECT_TTL: i64 = 300;
const TOKEN_UNKNOWN: &str = "conformance-unknown-token";
const TOKEN_UNAVAILABLE: &str = "conformance-unavailable-token";
const TOKEN_AUTH_UNAVAILABLE: &str = "conformance-auth-unavailable-token";
const TOKEN_ZERO_TTL: &str = "conformance-zero-ttl-token";
const TOKEN_MINIMAL: &str = "conformance-minimal-token";
const TOKEN_PADDED_PROBE: &str = "  conformance-padded-probe  ";
const TOKEN_PADDED_PROBE_NAME: &str = "conformance-padded";
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);
const AUTH_UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(7);
const GRANT_TOKEN_PREFIX: &str = "conformance-grant-for:";
/// 2030-01-01T00:00:00Z: a fixed `expires_at` the suite asserts exactly.
const GRANT_EXPIRES_AT_SECS: i64 = 1_893_456_000;
const GRANT_ID: &str = "conformance-grant-id";
const REFUSED_PURPOSE: &str = "conformance-refused";
const MINIMAL_PURPOSE: &str = "conformance-minimal";
const AUTH_UNAVAILABLE_PURPOSE: &str = "conformance-auth-unavailable";
/// Audience of the grant worker's tokens.
pub const GRANT_AUDIENCE: &str = "conformance";
/// Lifetime ceiling of the grant worker's tokens.
pub const GRANT_MAX_TTL: i64 = 3600;
/// Routing key of the grant worker's probe.
pub const WHOAMI_PROTOCOL: &str = "conformance.Whoami.v1";

/// Which identity policy a worker hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdentityMode {
    /// No identity protocol.
    Off,
    /// Resolver and minter.
    Both,
    /// Resolver only.
    IntrospectOnly,
    /// Resolver and sealed grants (framework-minted), plus Whoami.
    Grants,
}

/// The fixture resolver: pure, answering for everything but four probes.
pub fn resolve_token(token: &str) -> Result<Option<TokenIdentity>, HookError> {
    let subject = || TokenIdentity::new(SUBJECT_PRINCIPAL).with_token_name(SUBJECT_TOKEN_NAME);
    Ok(Some(match token {
        TOKEN_UNAVAILABLE => {
            return Err(HookError::Unavailable {
                detail: "conformance: mapping store unreachable".into(),
                retry_after: UNAVAILABLE_RETRY_AFTER,
            })
        }
        // The transport-auth spelling of an outage, which the framework translates.
        TOKEN_AUTH_UNAVAILABLE => {
            return Err(
                AuthFailure::unavailable("conformance: authority unreachable", AUTH_UNAVAILABLE_RETRY_AFTER).into()
            )
        }
        TOKEN_UNKNOWN => return Ok(None),
        TOKEN_ZERO_TTL => subject().with_ttl_seconds(0),
        TOKEN_MINIMAL => TokenIdentity::new(SUBJECT_PRINCIPAL),
        TOKEN_PADDED_PROBE => subject().with_token_name(TOKEN_PADDED_PROBE_NAME),
        _ => subject().with_ttl_seconds(SUBJECT_TTL),
    }))
}

/// The fixture minter: the token names the caller and echoes the scopes;
/// `ttl_seconds` is ignored so `expires_at` is a constant.
pub fn mint_grant(principal: &str, purpose: &str, scopes: &[String], _ttl: i64) -> Result<IssuedGrant, HookError> {
    match purpose {
        AUTH_UNAVAILABLE_PURPOSE => {
            Err(AuthFailure::unavailable("conformance: grant store unreachable", AUTH_UNAVAILABLE_RETRY_AFTER).into())
        }
        REFUSED_PURPOSE => Err(HookError::Refused("conformance: this purpose is refused".into())),
        _ => {
            let grant = IssuedGrant::new(
                format!("{GRANT_TOKEN_PREFIX}{principal}|{}", scopes.join(",")),
                GRANT_EXPIRES_AT_SECS,
            );
            Ok(if purpose == MINIMAL_PURPOSE { grant } else { grant.with_grant_id(GRANT_ID) })
        }
    }
}

/// The grant worker's keys: `0x10..0x2f` mints, `0x30..0x4f` still verifies.
pub fn grant_keys() -> GrantKeys {
    let current: [u8; 32] = std::array::from_fn(|i| 0x10 + i as u8);
    let previous: [u8; 32] = std::array::from_fn(|i| 0x30 + i as u8);
    GrantKeys::new(&[current, previous])
        .and_then(|k| k.with_audience(GRANT_AUDIENCE))
        .and_then(|k| k.with_max_ttl_seconds(GRANT_MAX_TTL))
        .expect("the fixture grant configuration is valid")
}

/// The identity policy of `mode` (`None` for [`IdentityMode::Off`]).
pub fn identity(mode: IdentityMode) -> Option<Identity> {
    let base = IdentityConfig::new()
        .resolve_token(resolve_token)
        .introspect_principals([INTROSPECTOR_PRINCIPAL])
        .max_auth_age_secs(MAX_AUTH_AGE);
    let config = match mode {
        IdentityMode::Off => return None,
        IdentityMode::Both => base.mint_grant(mint_grant),
        IdentityMode::IntrospectOnly => base,
        IdentityMode::Grants => base.grant_keys(grant_keys()),
    };
    Some(config.build().expect("the fixture identity policy is valid"))
}

/// Principal-header authentication: the header's principal (domain
/// `conformance`, `auth_time` verbatim); anonymous with neither header nor
/// bearer; "not mine" for a bearer, so the identity bearers are reached.
pub fn principal_authenticator() -> impl Authenticator {
    from_fn(|req: &AuthRequest<'_>| {
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
        let principal = header(PRINCIPAL_HEADER).unwrap_or("");
        if principal.is_empty() {
            if req.headers.contains_key(vgi_rpc::http::axum::http::header::AUTHORIZATION) {
                return Err(AuthFailure::missing("no conformance principal header"));
            }
            return Ok(AuthContext::anonymous());
        }
        let mut ctx = AuthContext::authenticated("conformance", principal);
        if let Some(auth_time) = header(AUTH_TIME_HEADER) {
            ctx.claims.insert("auth_time".into(), auth_time.to_owned());
        }
        Ok(ctx)
    })
}

/// The caller's `AuthContext` as compact sorted JSON; claims are strings,
/// except `scopes`, which a grant carries as a JSON array.
pub fn whoami_json(auth: &AuthContext) -> String {
    let mut claims = serde_json::Map::new();
    for (name, value) in &auth.claims {
        let parsed = (name == "scopes").then(|| serde_json::from_str::<serde_json::Value>(value).ok()).flatten();
        claims.insert(name.clone(), parsed.unwrap_or_else(|| value.clone().into()));
    }
    let mut out = serde_json::Map::new();
    out.insert("authenticated".into(), auth.authenticated.into());
    out.insert("claims".into(), claims.into());
    out.insert("domain".into(), auth.domain.clone().into());
    out.insert("principal".into(), auth.principal.clone().into());
    serde_json::Value::Object(out).to_string()
}

/// `conformance.Whoami.v1`: `whoami() -> utf8`.
pub fn whoami_protocol() -> Protocol {
    Protocol::new(WHOAMI_PROTOCOL).method(
        MethodDef::builder("whoami")
            .returns(DataType::Utf8, false)
            .unary(|_, ctx| Ok(Some(Arc::new(StringArray::from(vec![whoami_json(ctx.auth())])) as ArrayRef))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: &str = "145267755ff90d5c3313d79c7ff771306f2530626380d01cb0e57a951d0f9ec3";
    const INTROSPECT_ONLY: &str = "4039fbf6db3e64ae234e0be605b977477150ace892f10b6c691920eaf925e7ac";
    const GRANT_ONLY: &str = "4199df7403c9ca1a02c4c524b405a999eb1489614a1480873ffc23a0e5b0d312";
    const WHOAMI: &str = "a280333ba72432020e162cab388a78355969a30aa74f0665ad9d2932d7a10b8f";

    fn hash_of(protocol: Protocol) -> String {
        let server = vgi_rpc::Server::builder().protocol(protocol).build().expect("registers");
        server.protocols()[0].hash().to_owned()
    }

    #[test]
    fn the_pinned_protocol_hashes_match() {
        let both = identity(IdentityMode::Both).and_then(|i| i.protocol()).expect("hosted");
        assert_eq!(hash_of(both), BOTH);
        let narrowed = identity(IdentityMode::IntrospectOnly).and_then(|i| i.protocol()).expect("hosted");
        assert_eq!(hash_of(narrowed), INTROSPECT_ONLY);
        let grant_only = IdentityConfig::new().grant_keys(grant_keys()).build().expect("valid");
        assert_eq!(hash_of(grant_only.protocol().expect("hosted")), GRANT_ONLY);
        assert_eq!(hash_of(whoami_protocol()), WHOAMI);
        assert!(identity(IdentityMode::Off).is_none());
    }

    #[test]
    fn whoami_is_sorted_compact_json_with_scopes_as_a_list() {
        let mut auth = AuthContext::authenticated("grant", "alice");
        auth.claims.insert("scopes".into(), r#"["read","write"]"#.into());
        auth.claims.insert("grant_id".into(), "123".into());
        assert_eq!(
            whoami_json(&auth),
            r#"{"authenticated":true,"claims":{"grant_id":"123","scopes":["read","write"]},"domain":"grant","principal":"alice"}"#
        );
        assert_eq!(
            whoami_json(&AuthContext::anonymous()),
            r#"{"authenticated":false,"claims":{},"domain":"","principal":""}"#
        );
    }
}
