//! The closed set of 401 reason codes (`docs/unauthorized-spec.md` §3) and
//! [`AuthFailure`], the typed refusal every authenticator returns.
//!
//! A reason names the *stage* that refused a request, never a verifier's
//! internal diagnosis (§2): details must not echo per-attempt verifier state
//! such as a `kid` the caller chose.

use std::fmt;

/// Why a request was refused. The set is closed: a failure that maps onto
/// none of the specific codes uses [`AuthReason::Unauthorized`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthReason {
    /// No credential was presented at all.
    MissingCredential,
    /// A credential was presented and rejected.
    InvalidCredential,
    /// A well-formed credential outside its validity window.
    ExpiredCredential,
    /// The caller was identified but is not permitted.
    InsufficientScope,
    /// The request carried no evidence that it came through the trusted proxy.
    ///
    /// Derived from server configuration only; a request must never be able
    /// to choose this code (§5, §7.1).
    ProxyRequired,
    /// Refused, unclassified: the fallback.
    Unauthorized,
}

impl AuthReason {
    /// Every code, in the spec's order.
    pub const ALL: [AuthReason; 6] = [
        AuthReason::MissingCredential,
        AuthReason::InvalidCredential,
        AuthReason::ExpiredCredential,
        AuthReason::InsufficientScope,
        AuthReason::ProxyRequired,
        AuthReason::Unauthorized,
    ];

    /// The wire code, as carried by `VGI-Auth-Reason` and the JSON `reason`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthReason::MissingCredential => "missing_credential",
            AuthReason::InvalidCredential => "invalid_credential",
            AuthReason::ExpiredCredential => "expired_credential",
            AuthReason::InsufficientScope => "insufficient_scope",
            AuthReason::ProxyRequired => "proxy_required",
            AuthReason::Unauthorized => "unauthorized",
        }
    }

    /// The code for an exact wire string, or `None` when it is not one of §3.
    pub fn parse(code: &str) -> Option<AuthReason> {
        AuthReason::ALL.into_iter().find(|r| r.as_str() == code)
    }

    /// The reader's rule (§4.3): an unrecognised code means "the server is
    /// newer", and is treated as [`AuthReason::Unauthorized`].
    pub fn from_wire(code: &str) -> AuthReason {
        AuthReason::parse(code.trim()).unwrap_or(AuthReason::Unauthorized)
    }
}

impl fmt::Display for AuthReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused request: the reason code plus a human-readable detail.
///
/// The detail is shown to the caller; keep it to facts about the credential
/// the caller holds (§2).
///
/// Two refinements matter to composition ([`crate::Chain`]): a failure
/// built by [`AuthFailure::unavailable`] is not a rejection at all (the
/// authority could not answer: HTTP `503` with `Retry-After`, never `401`),
/// and a [`conclusive`](AuthFailure::conclusive) one is a rejection no later
/// alternative may overturn (a `vgig1.` grant that failed verification).
/// Both end a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct AuthFailure {
    /// The code the 401 carries.
    pub reason: AuthReason,
    /// Free text for a human; may be empty.
    pub detail: String,
    /// `Some(delay)`: the authority was unreachable, retry after `delay`.
    pub retry_after: Option<std::time::Duration>,
    /// No later alternative in a chain is consulted.
    pub is_conclusive: bool,
}

impl AuthFailure {
    /// A failure with a reason and detail.
    pub fn new(reason: AuthReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into(), retry_after: None, is_conclusive: false }
    }

    /// Not a rejection: the authority behind the credential could not be
    /// reached (a sidecar restarting, a 5xx upstream). Answered `503` with
    /// `Retry-After: retry_after` so callers neither re-authenticate nor
    /// negative-cache an outage; ends a [`crate::Chain`].
    pub fn unavailable(detail: impl Into<String>, retry_after: std::time::Duration) -> Self {
        Self { retry_after: Some(retry_after), is_conclusive: true, ..Self::new(AuthReason::Unauthorized, detail) }
    }

    /// The same failure, ending any [`crate::Chain`] it is part of.
    pub fn conclusive(mut self) -> Self {
        self.is_conclusive = true;
        self
    }

    /// [`AuthReason::MissingCredential`].
    pub fn missing(detail: impl Into<String>) -> Self {
        Self::new(AuthReason::MissingCredential, detail)
    }

    /// [`AuthReason::InvalidCredential`].
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(AuthReason::InvalidCredential, detail)
    }

    /// [`AuthReason::ExpiredCredential`].
    pub fn expired(detail: impl Into<String>) -> Self {
        Self::new(AuthReason::ExpiredCredential, detail)
    }

    /// [`AuthReason::InsufficientScope`].
    pub fn insufficient_scope(detail: impl Into<String>) -> Self {
        Self::new(AuthReason::InsufficientScope, detail)
    }

    /// [`AuthReason::ProxyRequired`]. Only for authenticators whose
    /// configuration depends on a proxy — never chosen from request input.
    pub fn proxy_required(detail: impl Into<String>) -> Self {
        Self::new(AuthReason::ProxyRequired, detail)
    }

    /// [`AuthReason::Unauthorized`], the unclassified fallback.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(AuthReason::Unauthorized, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for reason in AuthReason::ALL {
            assert_eq!(AuthReason::parse(reason.as_str()), Some(reason));
            assert_eq!(AuthReason::from_wire(reason.as_str()), reason);
            assert_eq!(reason.to_string(), reason.as_str());
        }
    }

    #[test]
    fn codes_are_the_spec_set() {
        let codes: Vec<&str> = AuthReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            codes,
            [
                "missing_credential",
                "invalid_credential",
                "expired_credential",
                "insufficient_scope",
                "proxy_required",
                "unauthorized"
            ]
        );
    }

    #[test]
    fn unknown_codes() {
        assert_eq!(AuthReason::parse("token_revoked"), None);
        assert_eq!(AuthReason::parse("Missing_Credential"), None);
        assert_eq!(AuthReason::from_wire("token_revoked"), AuthReason::Unauthorized);
        assert_eq!(AuthReason::from_wire(" expired_credential "), AuthReason::ExpiredCredential);
    }

    #[test]
    fn failure_display() {
        let f = AuthFailure::invalid("Unknown bearer token");
        assert_eq!(f.reason, AuthReason::InvalidCredential);
        assert_eq!(f.to_string(), "invalid_credential: Unknown bearer token");
        assert_eq!(AuthFailure::missing("").reason, AuthReason::MissingCredential);
        assert_eq!(AuthFailure::expired("").reason, AuthReason::ExpiredCredential);
        assert_eq!(AuthFailure::insufficient_scope("").reason, AuthReason::InsufficientScope);
        assert_eq!(AuthFailure::proxy_required("").reason, AuthReason::ProxyRequired);
        assert_eq!(AuthFailure::unauthorized("").reason, AuthReason::Unauthorized);
    }
}
