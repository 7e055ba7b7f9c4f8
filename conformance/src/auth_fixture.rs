//! The reject-all authenticator behind the worker's `--http-auth` flag: the
//! conformance suite's `conformance_http_auth_port` and
//! `conformance_http_auth_reason_port` fixtures.
//!
//! Every authenticated route is refused. A request may name the reason it
//! wants refused with in `X-Conformance-Auth-Reason` (only the four
//! request-classifiable codes); anything else is the unclassified refusal.
//! That header is a fixture affordance proving the server discriminates its
//! reason codes — a production server never lets a request pick one.
//!
//! Also the `--sticky-auth` authenticator (`conformance_http_sticky_auth_port`):
//! the principal named in `X-Conformance-Principal`, anonymous without it.
//! Trivially spoofable; it exists so the suite can present one session
//! token under two identities.

use vgi_rpc::http::vgi_rpc_auth::{from_fn, AuthFailure, AuthReason, AuthRequest, Authenticator};

/// The fixture's request header.
pub const REASON_HEADER: &str = "x-conformance-auth-reason";
/// The header naming the `--sticky-auth` principal.
pub const PRINCIPAL_HEADER: &str = "x-conformance-principal";

/// The `--sticky-auth` authenticator: domain `conformance`, the header's
/// principal, or anonymous when the header is absent or empty.
pub fn principal_from_header() -> impl Authenticator {
    from_fn(|req: &AuthRequest<'_>| {
        let principal = req.headers.get(PRINCIPAL_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").trim();
        Ok(if principal.is_empty() {
            vgi_rpc::AuthContext::anonymous()
        } else {
            vgi_rpc::AuthContext::authenticated("conformance", principal)
        })
    })
}

fn refuse(req: &AuthRequest<'_>) -> AuthFailure {
    let requested = req.headers.get(REASON_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    match AuthReason::parse(requested) {
        Some(
            reason @ (AuthReason::MissingCredential
            | AuthReason::InvalidCredential
            | AuthReason::ExpiredCredential
            | AuthReason::InsufficientScope),
        ) => AuthFailure::new(reason, reason.as_str()),
        _ => AuthFailure::new(AuthReason::Unauthorized, "authentication required"),
    }
}

/// An authenticator that refuses everything, with the requested reason.
pub fn reject_all() -> impl Authenticator {
    from_fn(|req: &AuthRequest<'_>| Err(refuse(req)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason_for(header: Option<&str>) -> AuthReason {
        let mut headers = http::HeaderMap::new();
        if let Some(v) = header {
            headers.insert(REASON_HEADER, v.parse().expect("header value"));
        }
        match reject_all().authenticate(&AuthRequest { headers: &headers, remote_addr: None, path: "/" }) {
            Err(failure) => failure.reason,
            Ok(ctx) => panic!("admitted {ctx:?}"),
        }
    }

    #[test]
    fn the_principal_header_names_the_caller_and_its_absence_is_anonymous() {
        let mut headers = http::HeaderMap::new();
        let anonymous = principal_from_header()
            .authenticate(&AuthRequest { headers: &headers, remote_addr: None, path: "/" })
            .expect("admitted");
        assert!(!anonymous.authenticated);
        headers.insert(PRINCIPAL_HEADER, "alice".parse().expect("header value"));
        let alice = principal_from_header()
            .authenticate(&AuthRequest { headers: &headers, remote_addr: None, path: "/" })
            .expect("admitted");
        assert_eq!(
            (alice.domain.as_str(), alice.principal.as_str(), alice.authenticated),
            ("conformance", "alice", true)
        );
    }

    #[test]
    fn requested_reasons_are_honoured_and_others_are_unclassified() {
        assert_eq!(reason_for(Some("expired_credential")), AuthReason::ExpiredCredential);
        assert_eq!(reason_for(Some("insufficient_scope")), AuthReason::InsufficientScope);
        assert_eq!(reason_for(Some("proxy_required")), AuthReason::Unauthorized, "never request-driven");
        assert_eq!(reason_for(Some("unauthorized")), AuthReason::Unauthorized);
        assert_eq!(reason_for(None), AuthReason::Unauthorized);
    }
}
