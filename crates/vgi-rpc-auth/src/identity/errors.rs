//! The identity protocol's error model: five `error_kind`s, each with one
//! canonical code (WIRE_PROTOCOL.md §16), and what a hook may fail with.
//!
//! Introspection rejections are uniform (one type, one message, no
//! credential-derived text: unknown, malformed, over-long and blank look the
//! same); minting rejections are actionable. `identity_unavailable` is
//! transient and always carries `vgi_rpc.RetryInfo`.

use std::time::Duration;

use vgi_rpc_core::wire::error_model::retry_info;
use vgi_rpc_core::{ErrorCode, RpcError};

use crate::reason::AuthFailure;

/// Default retry hint of an unavailable identity store.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A refusal of an identity call, as it reaches the wire.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IdentityError {
    /// The caller may not introspect (not authenticated, or off the
    /// allowlist). Definitive; never a throttle.
    #[error("caller is not an introspector")]
    IntrospectionRefused,
    /// The subject credential did not resolve. Uniform on purpose.
    #[error("unresolved")]
    TokenUnresolved,
    /// The caller has not authenticated recently enough to mint.
    #[error("{0}")]
    StaleAuth(String),
    /// The worker declined to mint.
    #[error("{0}")]
    GrantRefused(String),
    /// The answer is not knowable now (a store is down). Transient.
    #[error("{detail}")]
    Unavailable {
        /// Operator-facing text.
        detail: String,
        /// When to ask again.
        retry_after: Duration,
    },
}

impl IdentityError {
    /// The wire `error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            IdentityError::IntrospectionRefused => "introspection_refused",
            IdentityError::TokenUnresolved => "token_unresolved",
            IdentityError::StaleAuth(_) => "stale_auth",
            IdentityError::GrantRefused(_) => "grant_refused",
            IdentityError::Unavailable { .. } => "identity_unavailable",
        }
    }

    /// The canonical code the kind carries.
    pub fn code(&self) -> ErrorCode {
        match self {
            IdentityError::IntrospectionRefused | IdentityError::GrantRefused(_) => ErrorCode::PermissionDenied,
            IdentityError::TokenUnresolved => ErrorCode::NotFound,
            IdentityError::StaleAuth(_) => ErrorCode::Unauthenticated,
            IdentityError::Unavailable { .. } => ErrorCode::Unavailable,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            IdentityError::IntrospectionRefused => "IntrospectionRefusedError",
            IdentityError::TokenUnresolved => "TokenUnresolvedError",
            IdentityError::StaleAuth(_) => "StaleAuthError",
            IdentityError::GrantRefused(_) => "GrantRefusedError",
            IdentityError::Unavailable { .. } => "IdentityUnavailableError",
        }
    }

    /// The EXCEPTION the caller receives.
    pub fn to_rpc_error(&self) -> RpcError {
        let err = RpcError::new(self.type_name(), self.to_string()).with_kind(self.kind(), self.code());
        match self {
            IdentityError::Unavailable { retry_after, .. } => {
                err.with_details(vec![retry_info(retry_after.as_secs_f64())])
            }
            _ => err,
        }
    }
}

impl From<IdentityError> for RpcError {
    fn from(e: IdentityError) -> Self {
        e.to_rpc_error()
    }
}

/// What a `resolve_token` or `mint_grant` hook may fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HookError {
    /// The backing store cannot be reached: `identity_unavailable`.
    #[error("{detail}")]
    Unavailable {
        /// Operator-facing text.
        detail: String,
        /// When to ask again.
        retry_after: Duration,
    },
    /// The minter declines (`grant_refused`); for a resolver, unresolved.
    #[error("{0}")]
    Refused(String),
    /// What an authenticator calling the same store returns. One built by
    /// [`AuthFailure::unavailable`] becomes `identity_unavailable` with its
    /// own retry hint (never a substituted default); any other is a refusal.
    #[error(transparent)]
    Auth(#[from] AuthFailure),
}

impl HookError {
    /// `identity_unavailable` with the default 5 s hint.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        HookError::Unavailable { detail: detail.into(), retry_after: DEFAULT_RETRY_AFTER }
    }

    /// The outage this error reports, if it is one: `(detail, retry_after)`.
    pub fn outage(&self) -> Option<(String, Duration)> {
        match self {
            HookError::Unavailable { detail, retry_after } => Some((detail.clone(), *retry_after)),
            HookError::Auth(failure) => failure.retry_after.map(|d| (failure.detail.clone(), d)),
            HookError::Refused(_) => None,
        }
    }

    /// The identity error a minting hook's failure surfaces as.
    pub(crate) fn into_mint_error(self) -> IdentityError {
        match self.outage() {
            Some((detail, retry_after)) => IdentityError::Unavailable { detail, retry_after },
            None => IdentityError::GrantRefused(match self {
                HookError::Refused(why) => why,
                _ => "the worker declined to mint this grant".to_owned(),
            }),
        }
    }

    /// The identity error a resolving hook's failure surfaces as.
    pub(crate) fn into_resolve_error(self) -> IdentityError {
        match self.outage() {
            Some((detail, retry_after)) => IdentityError::Unavailable { detail, retry_after },
            None => IdentityError::TokenUnresolved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_carries_its_code_and_only_unavailable_carries_retry_info() {
        let cases = [
            (IdentityError::IntrospectionRefused, "introspection_refused", ErrorCode::PermissionDenied),
            (IdentityError::TokenUnresolved, "token_unresolved", ErrorCode::NotFound),
            (IdentityError::StaleAuth("old".into()), "stale_auth", ErrorCode::Unauthenticated),
            (IdentityError::GrantRefused("no".into()), "grant_refused", ErrorCode::PermissionDenied),
        ];
        for (error, kind, code) in cases {
            let rpc = error.to_rpc_error();
            assert_eq!((rpc.kind.as_deref(), rpc.code), (Some(kind), code));
            assert!(rpc.details.is_empty());
        }
        let outage = IdentityError::Unavailable { detail: "down".into(), retry_after: Duration::from_secs(7) };
        let rpc = outage.to_rpc_error();
        assert_eq!((rpc.kind.as_deref(), rpc.code), (Some("identity_unavailable"), ErrorCode::Unavailable));
        assert_eq!(rpc.details, vec![retry_info(7.0)]);
    }

    #[test]
    fn an_authenticator_outage_from_a_hook_keeps_its_own_hint() {
        let from_auth = HookError::from(AuthFailure::unavailable("authority down", Duration::from_secs(7)));
        assert_eq!(
            from_auth.clone().into_resolve_error(),
            IdentityError::Unavailable { detail: "authority down".into(), retry_after: Duration::from_secs(7) }
        );
        assert_eq!(from_auth.into_mint_error().kind(), "identity_unavailable");
        let rejected = HookError::from(AuthFailure::invalid("bad"));
        assert_eq!(rejected.clone().into_resolve_error(), IdentityError::TokenUnresolved);
        assert_eq!(rejected.into_mint_error().kind(), "grant_refused");
        assert_eq!(HookError::unavailable("x").outage(), Some(("x".into(), DEFAULT_RETRY_AFTER)));
    }
}
