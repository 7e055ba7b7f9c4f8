//! [`IdentityConfig`] → [`Identity`]: the deployment's hooks behind the
//! framework's guards, and the `vgi_rpc.Identity.v2` binding built from
//! exactly the methods a hook backs (absent beats routed-and-refusing).
//!
//! The framework owns the guards and none of the policy: the allowlist and
//! freshness ceiling decide who may ask; the hooks decide what a credential
//! resolves to and whether a grant is minted. With sealed-grant keys and no
//! mint hook, the framework mints [`vgi_rpc_token::grant`] grants itself.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use arrow_array::{Array, ArrayRef, BinaryArray, ListArray, StringArray};
use arrow_schema::{DataType, Field};
use vgi_rpc_core::{AuthContext, Clock, MethodDef, Params, Protocol, RpcError, SystemClock};
use vgi_rpc_token::grant::{GrantKeys, GrantMintError, GrantRequest};

use super::errors::{HookError, IdentityError};
use super::guards::DEFAULT_MAX_AUTH_AGE_SECS;
use super::guards::{check_freshness, check_introspector, normalise_principals, resolvable_shape};
use super::records::{IssuedGrant, TokenIdentity};
use super::IDENTITY_PROTOCOL;

/// `resolve_token`: `Ok(None)` means the store answered and the credential is unknown.
pub type ResolveHook = Arc<dyn Fn(&str) -> Result<Option<TokenIdentity>, HookError> + Send + Sync>;
/// `mint_grant(principal, purpose, scopes, ttl_seconds)`; the principal is
/// always the authenticated caller.
pub type MintHook = Arc<dyn Fn(&str, &str, &[String], i64) -> Result<IssuedGrant, HookError> + Send + Sync>;

/// A configuration that must not serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityConfigError {
    /// A resolver without an introspector allowlist: there is no permissive default.
    #[error(
        "introspect_principals must name at least one principal: introspection is a distinct capability from \
         authentication, and allowing any authenticated caller lets any user resolve any other user's credential"
    )]
    NoIntrospectors,
    /// A non-positive or non-finite freshness ceiling.
    #[error("max_auth_age must be a positive number of seconds")]
    BadMaxAuthAge,
}

/// The deployment's identity policy, before validation.
#[derive(Clone)]
pub struct IdentityConfig {
    resolve_token: Option<ResolveHook>,
    mint_grant: Option<MintHook>,
    introspect_principals: Vec<String>,
    max_auth_age_secs: f64,
    grant_keys: Option<GrantKeys>,
    clock: Arc<dyn Clock>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            resolve_token: None,
            mint_grant: None,
            introspect_principals: Vec::new(),
            max_auth_age_secs: DEFAULT_MAX_AUTH_AGE_SECS,
            grant_keys: None,
            clock: Arc::new(SystemClock::new()),
        }
    }
}

impl IdentityConfig {
    /// Nothing configured (builds an [`Identity`] that hosts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolve opaque credentials (hosts `introspect_token`; also backs
    /// bearer authentication through [`super::ResolveTokenAuthenticator`]).
    pub fn resolve_token(
        mut self,
        hook: impl Fn(&str) -> Result<Option<TokenIdentity>, HookError> + Send + Sync + 'static,
    ) -> Self {
        self.resolve_token = Some(Arc::new(hook));
        self
    }

    /// Mint grants (hosts `issue_grant`).
    pub fn mint_grant(
        mut self,
        hook: impl Fn(&str, &str, &[String], i64) -> Result<IssuedGrant, HookError> + Send + Sync + 'static,
    ) -> Self {
        self.mint_grant = Some(Arc::new(hook));
        self
    }

    /// Who may call `introspect_token` (required with a resolver).
    pub fn introspect_principals<I, S>(mut self, principals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.introspect_principals = principals.into_iter().map(Into::into).collect();
        self
    }

    /// How recently (seconds) a caller must have authenticated to mint (default 900).
    pub fn max_auth_age_secs(mut self, secs: f64) -> Self {
        self.max_auth_age_secs = secs;
        self
    }

    /// Sealed grants: minted by the framework when no mint hook is set, and
    /// accepted back as bearers by [`super::GrantAuthenticator`].
    pub fn grant_keys(mut self, keys: GrantKeys) -> Self {
        self.grant_keys = Some(keys);
        self
    }

    /// The clock for freshness and minting.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Validate. A resolver without an allowlist refuses to start.
    pub fn build(self) -> Result<Identity, IdentityConfigError> {
        if !(self.max_auth_age_secs.is_finite() && self.max_auth_age_secs > 0.0) {
            return Err(IdentityConfigError::BadMaxAuthAge);
        }
        let principals = match &self.resolve_token {
            Some(_) => normalise_principals(self.introspect_principals).ok_or(IdentityConfigError::NoIntrospectors)?,
            None => BTreeSet::new(),
        };
        let mint = match (self.mint_grant, &self.grant_keys) {
            (Some(hook), _) => Some(Minter::Hook(hook)),
            (None, Some(keys)) => Some(Minter::Sealed(keys.clone())),
            (None, None) => None,
        };
        Ok(Identity {
            inner: Arc::new(Inner {
                resolve: self.resolve_token,
                mint,
                principals,
                max_auth_age_secs: self.max_auth_age_secs,
                grant_keys: self.grant_keys,
                clock: self.clock,
            }),
        })
    }
}

enum Minter {
    Hook(MintHook),
    Sealed(GrantKeys),
}

struct Inner {
    resolve: Option<ResolveHook>,
    mint: Option<Minter>,
    principals: BTreeSet<String>,
    max_auth_age_secs: f64,
    grant_keys: Option<GrantKeys>,
    clock: Arc<dyn Clock>,
}

/// A validated identity policy. Cloning is cheap.
#[derive(Clone)]
pub struct Identity {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("methods", &self.offered_methods())
            .field("introspectors", &self.inner.principals)
            .field("grant_keys", &self.inner.grant_keys)
            .finish_non_exhaustive()
    }
}

impl Identity {
    fn now(&self) -> f64 {
        self.inner.clock.now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
    }

    /// The methods this deployment can answer, in wire order.
    pub fn offered_methods(&self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.inner.resolve.is_some() {
            methods.push("introspect_token");
        }
        if self.inner.mint.is_some() {
            methods.push("issue_grant");
        }
        methods
    }

    /// The sealed-grant configuration, when there is one.
    pub fn grant_keys(&self) -> Option<&GrantKeys> {
        self.inner.grant_keys.as_ref()
    }

    /// The worker's resolver, when there is one.
    pub fn resolve_hook(&self) -> Option<&ResolveHook> {
        self.inner.resolve.as_ref()
    }

    /// `introspect_token` for `caller`: authorization first, then the shape
    /// guards, then the resolver (handed the credential as it arrived).
    pub fn introspect(&self, caller: &AuthContext, token: &str) -> Result<TokenIdentity, IdentityError> {
        let resolve = self.inner.resolve.as_ref().ok_or(IdentityError::IntrospectionRefused)?;
        check_introspector(caller, &self.inner.principals)?;
        if !resolvable_shape(token) {
            return Err(IdentityError::TokenUnresolved);
        }
        match resolve(token) {
            Ok(Some(identity)) => Ok(identity),
            Ok(None) => Err(IdentityError::TokenUnresolved),
            Err(e) => Err(e.into_resolve_error()),
        }
    }

    /// `issue_grant` for `caller`: freshness first, then the minter, for
    /// the caller's own principal (there is no subject parameter).
    pub fn issue(
        &self,
        caller: &AuthContext,
        purpose: &str,
        scopes: &[String],
        ttl_seconds: i64,
    ) -> Result<IssuedGrant, IdentityError> {
        let mint = self
            .inner
            .mint
            .as_ref()
            .ok_or_else(|| IdentityError::GrantRefused("this worker does not mint grants".into()))?;
        let now = self.now();
        check_freshness(caller, self.inner.max_auth_age_secs, now)?;
        match mint {
            Minter::Hook(hook) => {
                hook(&caller.principal, purpose, scopes, ttl_seconds).map_err(HookError::into_mint_error)
            }
            Minter::Sealed(keys) => {
                let req = GrantRequest { principal: &caller.principal, scopes, purpose, ttl_seconds };
                let (token, claims) = keys.mint(&req, now.floor() as i64).map_err(|e| match e {
                    GrantMintError::Random => IdentityError::Unavailable {
                        detail: "no randomness available".into(),
                        retry_after: super::errors::DEFAULT_RETRY_AFTER,
                    },
                    other => IdentityError::GrantRefused(other.to_string()),
                })?;
                Ok(IssuedGrant::new(token, claims.expires_at).with_grant_id(claims.grant_id))
            }
        }
    }

    /// The `vgi_rpc.Identity.v2` binding with the configured methods only;
    /// `None` when neither hook is configured (the protocol is not hosted).
    pub fn protocol(&self) -> Option<Protocol> {
        let mut protocol = Protocol::new(IDENTITY_PROTOCOL).framework_reserved();
        if self.inner.resolve.is_some() {
            let me = self.clone();
            protocol = protocol.method(
                MethodDef::builder("introspect_token")
                    .doc("Resolve an opaque bearer credential to the identity it authenticates as.")
                    .param("token", DataType::Utf8, false)
                    .returns(DataType::Binary, false)
                    .unary(move |p, ctx| {
                        let identity = me.introspect(ctx.auth(), p.str("token")?)?;
                        Ok(Some(binary(identity.to_ipc()?)))
                    }),
            );
        }
        if self.inner.mint.is_some() {
            let me = self.clone();
            let item = Field::new("item", DataType::Utf8, true);
            protocol = protocol.method(
                MethodDef::builder("issue_grant")
                    .doc("Mint a standing delegation credential for the calling user.")
                    .param("purpose", DataType::Utf8, false)
                    .param("scopes", DataType::List(Arc::new(item)), false)
                    .param("ttl_seconds", DataType::Int64, false)
                    .returns(DataType::Binary, false)
                    .unary(move |p, ctx| {
                        let scopes = string_list(p, "scopes")?;
                        let grant = me.issue(ctx.auth(), p.str("purpose")?, &scopes, p.i64("ttl_seconds")?)?;
                        Ok(Some(binary(grant.to_ipc()?)))
                    }),
            );
        }
        (!self.offered_methods().is_empty()).then_some(protocol)
    }
}

fn binary(bytes: Vec<u8>) -> ArrayRef {
    Arc::new(BinaryArray::from_iter_values([bytes]))
}

/// A non-null `list<utf8>` parameter with non-null items.
fn string_list(p: &Params<'_>, name: &str) -> Result<Vec<String>, RpcError> {
    let value = p.value(name)?;
    let list = value
        .as_any()
        .downcast_ref::<ListArray>()
        .filter(|l| !l.is_null(0))
        .ok_or_else(|| RpcError::type_error(format!("parameter '{name}' expected a list of strings")))?;
    let items = list.value(0);
    let strings = items
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| RpcError::type_error(format!("parameter '{name}' expected a list of strings")))?;
    (0..strings.len())
        .map(|i| {
            (!strings.is_null(i))
                .then(|| strings.value(i).to_owned())
                .ok_or_else(|| RpcError::type_error(format!("parameter '{name}' has a null item")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vgi_rpc_core::FakeClock;

    fn resolver(token: &str) -> Result<Option<TokenIdentity>, HookError> {
        Ok((token != "unknown").then(|| TokenIdentity::new("subject").with_token_name("t")))
    }

    #[test]
    fn a_resolver_needs_an_allowlist_and_nothing_configured_hosts_nothing() {
        assert_eq!(
            IdentityConfig::new().resolve_token(resolver).build().unwrap_err(),
            IdentityConfigError::NoIntrospectors
        );
        let nothing = IdentityConfig::new().build().expect("valid");
        assert!(nothing.protocol().is_none());
        assert!(nothing.offered_methods().is_empty());
        assert_eq!(
            IdentityConfig::new().max_auth_age_secs(0.0).build().unwrap_err(),
            IdentityConfigError::BadMaxAuthAge
        );
    }

    #[test]
    fn the_binding_carries_exactly_the_configured_methods() {
        let introspect_only =
            IdentityConfig::new().resolve_token(resolver).introspect_principals(["proxy"]).build().expect("valid");
        let protocol = introspect_only.protocol().expect("hosted");
        let names: Vec<&str> = protocol.method_defs().iter().map(|m| m.name()).collect();
        assert_eq!(names, ["introspect_token"]);
        let keys = GrantKeys::new(&[[1u8; 32]]).expect("key");
        let grant_only = IdentityConfig::new().grant_keys(keys).build().expect("valid");
        assert_eq!(grant_only.offered_methods(), ["issue_grant"]);
    }

    #[test]
    fn introspection_checks_the_caller_before_the_credential() {
        let identity =
            IdentityConfig::new().resolve_token(resolver).introspect_principals(["proxy"]).build().expect("valid");
        let proxy = AuthContext::authenticated("d", "proxy");
        assert_eq!(identity.introspect(&proxy, "opaque").map(|i| i.principal), Ok("subject".into()));
        assert_eq!(identity.introspect(&proxy, "unknown"), Err(IdentityError::TokenUnresolved));
        assert_eq!(identity.introspect(&proxy, "a.b.c"), Err(IdentityError::TokenUnresolved));
        let outsider = AuthContext::authenticated("d", "outsider");
        assert_eq!(identity.introspect(&outsider, "a.b.c"), Err(IdentityError::IntrospectionRefused));
    }

    #[test]
    fn sealed_minting_is_fresh_caller_only_and_verifies() {
        let keys = GrantKeys::new(&[[1u8; 32]]).expect("key").with_max_ttl_seconds(3600).expect("ttl");
        let clock = Arc::new(FakeClock::at_unix(1_000_000));
        let identity = IdentityConfig::new().grant_keys(keys.clone()).clock(clock).build().expect("valid");
        let mut caller = AuthContext::authenticated("oidc", "alice");
        assert_eq!(identity.issue(&caller, "p", &[], 60).map_err(|e| e.kind()), Err("stale_auth"));
        caller.claims.insert("auth_time".into(), "999990".into());
        let grant = identity.issue(&caller, "p", &["read".into()], 1_000_000).expect("minted");
        assert_eq!(grant.expires_at_micros, (1_000_000 + 3600) * 1_000_000, "capped lifetime");
        let claims = keys.verify(&grant.token, 1_000_001.0).expect("verifies");
        assert_eq!((claims.principal.as_str(), claims.grant_id.as_str()), ("alice", grant.grant_id.as_str()));
        assert_eq!(identity.issue(&caller, "p", &[], 0).map_err(|e| e.kind()), Err("grant_refused"));
    }
}
