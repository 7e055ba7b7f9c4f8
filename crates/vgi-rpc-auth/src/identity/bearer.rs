//! Bearer authenticators that close the identity loop (WIRE_PROTOCOL.md §16
//! "Accepting identity credentials"), and their composition.
//!
//! Order, normative: the deployment's own authenticators, then sealed grants
//! (a prefix check: a bearer without `vgig1.` never reaches the verifier; one
//! with it that fails is a conclusive 401), then `resolve_token` (never
//! consulted for a `vgig1.`, JWS-shaped, blank or over-long bearer; an
//! outage is 503 with the hook's `Retry-After`). Every grant rejection says
//! only `invalid_credential`, or `expired_credential` once authentic.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use vgi_rpc_core::{AuthContext, Clock, SystemClock};
use vgi_rpc_token::grant::{GrantError, GrantKeys, GRANT_TOKEN_PREFIX};

use super::guards::resolvable_shape;
use super::service::{Identity, ResolveHook};
use super::{GRANT_AUTH_DOMAIN, TOKEN_AUTH_DOMAIN};
use crate::authenticator::{AuthRequest, Authenticator};
use crate::bearer::bearer_token;
use crate::compose::Chain;
use crate::reason::AuthFailure;

/// Accepts the deployment's own sealed grants: `domain "grant"`, the grant's
/// principal, claims `grant_id`, `purpose` and `scopes` (a JSON array, as
/// claims are strings), and no `auth_time`, so a grant can never mint one.
pub struct GrantAuthenticator {
    keys: GrantKeys,
    clock: Arc<dyn Clock>,
}

impl GrantAuthenticator {
    /// Verify with `keys` on the system clock.
    pub fn new(keys: GrantKeys) -> Self {
        Self { keys, clock: Arc::new(SystemClock::new()) }
    }

    /// Verify on `clock` instead.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl Authenticator for GrantAuthenticator {
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        let token = bearer_token(req.headers)?;
        if !token.starts_with(GRANT_TOKEN_PREFIX) {
            return Err(AuthFailure::invalid("not a sealed grant"));
        }
        let now = self.clock.now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let claims = self.keys.verify(token, now).map_err(|e| match e {
            GrantError::Invalid => AuthFailure::invalid("sealed grant rejected").conclusive(),
            GrantError::Expired => AuthFailure::expired("sealed grant is outside its lifetime").conclusive(),
        })?;
        let mut ctx = AuthContext::authenticated(GRANT_AUTH_DOMAIN, claims.principal);
        ctx.claims.insert("grant_id".into(), claims.grant_id);
        ctx.claims.insert("purpose".into(), claims.purpose);
        ctx.claims.insert("scopes".into(), serde_json::Value::from(claims.scopes).to_string());
        Ok(ctx)
    }
}

/// Accepts bearers the worker's `resolve_token` resolves: `domain "token"`,
/// the resolved principal, claim `token_name`, no `auth_time`.
pub struct ResolveTokenAuthenticator {
    resolve: ResolveHook,
}

impl ResolveTokenAuthenticator {
    /// Around the worker's hook.
    pub fn new(resolve: ResolveHook) -> Self {
        Self { resolve }
    }
}

impl Authenticator for ResolveTokenAuthenticator {
    /// The resolver may ask another service.
    fn may_block(&self) -> bool {
        true
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        let token = bearer_token(req.headers)?;
        if token.starts_with(GRANT_TOKEN_PREFIX) || !resolvable_shape(token) {
            return Err(AuthFailure::invalid("bearer credential not accepted"));
        }
        match (self.resolve)(token) {
            Ok(Some(identity)) => {
                let mut ctx = AuthContext::authenticated(TOKEN_AUTH_DOMAIN, identity.principal);
                ctx.claims.insert("token_name".into(), identity.token_name);
                Ok(ctx)
            }
            Ok(None) => Err(AuthFailure::invalid("bearer credential did not resolve")),
            Err(e) => match e.outage() {
                Some((_, retry_after)) => Err(AuthFailure::unavailable("identity lookup unavailable", retry_after)),
                None => Err(AuthFailure::invalid("bearer credential did not resolve")),
            },
        }
    }
}

/// Keeps a deployment without an authenticator anonymous for requests that
/// carry no `Authorization` header; a bearer nothing accepted is refused.
struct AnonymousWithoutCredentials;

impl Authenticator for AnonymousWithoutCredentials {
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        if req.headers.contains_key(http::header::AUTHORIZATION) {
            Err(AuthFailure::invalid("bearer credential not accepted"))
        } else {
            Ok(AuthContext::anonymous())
        }
    }
}

/// Why the identity bearers cannot be appended automatically.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// The deployment's authenticator depends on proxy-injected evidence; an
    /// OR beside it would bypass that. Compose explicitly with
    /// [`crate::RequireAll`] instead.
    #[error(
        "the deployment's authenticator depends on proxy-injected evidence ({0}); accepting grants or \
         resolve_token bearers beside it would bypass that requirement: compose explicitly with RequireAll"
    )]
    ProxyEvidence(String),
}

/// The deployment's authenticator followed by the identity bearers the
/// configuration implies (sealed grants, then `resolve_token`). With
/// neither, `deployment` is returned as it is. Without a deployment
/// authenticator, requests with no credential stay anonymous.
pub fn compose_identity(
    deployment: Option<Arc<dyn Authenticator>>,
    identity: &Identity,
) -> Result<Option<Arc<dyn Authenticator>>, ComposeError> {
    let mut members: Vec<Arc<dyn Authenticator>> = Vec::new();
    if let Some(keys) = identity.grant_keys() {
        members.push(Arc::new(GrantAuthenticator::new(keys.clone())));
    }
    if let Some(hook) = identity.resolve_hook() {
        members.push(Arc::new(ResolveTokenAuthenticator::new(hook.clone())));
    }
    if members.is_empty() {
        return Ok(deployment);
    }
    let mut chain = Chain::new();
    match deployment {
        Some(first) => {
            let evidence = first.proxy_headers();
            if !evidence.is_empty() || first.precondition_gate() {
                return Err(ComposeError::ProxyEvidence(evidence.join(", ")));
            }
            chain = chain.or_shared(first);
            for m in members {
                chain = chain.or_shared(m);
            }
        }
        None => {
            for m in members {
                chain = chain.or_shared(m);
            }
            chain = chain.or(AnonymousWithoutCredentials);
        }
    }
    Ok(Some(Arc::new(chain)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::identity::{HookError, IdentityConfig, TokenIdentity};
    use crate::reason::AuthReason;
    use crate::{from_fn, BearerTokens};
    use vgi_rpc_core::FakeClock;
    use vgi_rpc_token::grant::GrantRequest;

    fn resolver(token: &str) -> Result<Option<TokenIdentity>, HookError> {
        match token {
            "unknown" => Ok(None),
            "down" => Err(AuthFailure::unavailable("authority down", Duration::from_secs(7)).into()),
            _ => Ok(Some(TokenIdentity::new("subject").with_token_name("name"))),
        }
    }

    fn headers(bearer: Option<&str>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        if let Some(b) = bearer {
            h.insert(http::header::AUTHORIZATION, format!("Bearer {b}").parse().expect("header"));
        }
        h
    }

    fn identity(keys: &GrantKeys) -> Identity {
        IdentityConfig::new()
            .resolve_token(resolver)
            .introspect_principals(["proxy"])
            .grant_keys(keys.clone())
            .build()
            .expect("valid")
    }

    fn run(auth: &dyn Authenticator, bearer: Option<&str>) -> Result<AuthContext, AuthFailure> {
        auth.authenticate(&AuthRequest::new(&headers(bearer)))
    }

    #[test]
    fn the_chain_routes_grants_resolves_opaque_bearers_and_stops_at_a_bad_grant() {
        let keys = GrantKeys::new(&[[3u8; 32]]).expect("key");
        let now = std::time::SystemTime::now().duration_since(UNIX_EPOCH).expect("after epoch").as_secs() as i64;
        let scopes = vec!["read".to_owned()];
        let req = GrantRequest { principal: "alice", scopes: &scopes, purpose: "nightly", ttl_seconds: 600 };
        let (grant, _) = keys.mint(&req, now).expect("minted");
        let chain = compose_identity(None, &identity(&keys)).expect("composes").expect("some");

        let by_grant = run(&*chain, Some(&grant)).expect("grant accepted");
        assert_eq!((by_grant.domain.as_str(), by_grant.principal.as_str()), ("grant", "alice"));
        assert_eq!(by_grant.claims.get("scopes").map(String::as_str), Some(r#"["read"]"#));
        assert!(!by_grant.claims.contains_key("auth_time"), "grants never mint grants");

        let tampered = format!("{}A", &grant[..grant.len() - 1]);
        let refused = run(&*chain, Some(&tampered)).expect_err("refused");
        assert_eq!(refused.reason, AuthReason::InvalidCredential, "and not resolved by the permissive resolver");

        let (expired, _) = keys.mint(&req, now - 10_000).expect("minted");
        assert_eq!(run(&*chain, Some(&expired)).expect_err("refused").reason, AuthReason::ExpiredCredential);

        let opaque = run(&*chain, Some(&format!("vgig2.{}", &grant[6..]))).expect("resolved");
        assert_eq!((opaque.domain.as_str(), opaque.claims["token_name"].as_str()), ("token", "name"));
        assert!(run(&*chain, Some("unknown")).is_err());
        assert!(run(&*chain, Some("a.b.c")).is_err(), "a JWS is never resolved");
        let outage = run(&*chain, Some("down")).expect_err("unavailable");
        assert_eq!(outage.retry_after, Some(Duration::from_secs(7)));
        assert!(!run(&*chain, None).expect("anonymous").authenticated);
    }

    #[test]
    fn the_deployment_authenticator_comes_first_and_proxy_evidence_refuses_to_compose() {
        let keys = GrantKeys::new(&[[3u8; 32]]).expect("key");
        let statics: Arc<dyn Authenticator> = Arc::new(BearerTokens::new().with_token("static-token", "svc"));
        let chain = compose_identity(Some(statics), &identity(&keys)).expect("composes").expect("some");
        assert_eq!(run(&*chain, Some("static-token")).expect("static").principal, "svc");
        assert_eq!(run(&*chain, Some("opaque")).expect("resolved").domain, "token");

        let proxied: Arc<dyn Authenticator> =
            Arc::new(from_fn(|_| Ok(AuthContext::anonymous())).with_proxy_headers(["X-Proof"]));
        assert!(matches!(compose_identity(Some(proxied), &identity(&keys)), Err(ComposeError::ProxyEvidence(_))));

        let nothing = IdentityConfig::new().build().expect("valid");
        assert!(compose_identity(None, &nothing).expect("composes").is_none());
    }

    #[test]
    fn grant_verification_follows_the_injected_clock() {
        let keys = GrantKeys::new(&[[3u8; 32]]).expect("key");
        let req = GrantRequest { principal: "a", scopes: &[], purpose: "", ttl_seconds: 60 };
        let (grant, _) = keys.mint(&req, 1_000).expect("minted");
        let clock = Arc::new(FakeClock::at_unix(1_030));
        let auth = GrantAuthenticator::new(keys).with_clock(clock.clone());
        assert!(run(&auth, Some(&grant)).is_ok());
        clock.advance(Duration::from_secs(90));
        assert_eq!(run(&auth, Some(&grant)).expect_err("expired").reason, AuthReason::ExpiredCredential);
    }
}
