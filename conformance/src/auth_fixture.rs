//! The reject-all authenticator behind the worker's `--http-auth` flag: the
//! conformance suite's `conformance_http_auth_port` and
//! `conformance_http_auth_reason_port` fixtures.
//!
//! Every authenticated route is refused. A request may name the reason it
//! wants refused with in `X-Conformance-Auth-Reason` (only the four
//! request-classifiable codes); anything else is the unclassified refusal.
//! That header is a fixture affordance proving the server discriminates its
//! reason codes — a production server never lets a request pick one.

use vgi_rpc::http::vgi_rpc_auth::{from_fn, AuthFailure, AuthReason, AuthRequest, Authenticator};

/// The fixture's request header.
pub const REASON_HEADER: &str = "x-conformance-auth-reason";

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
    fn requested_reasons_are_honoured_and_others_are_unclassified() {
        assert_eq!(reason_for(Some("expired_credential")), AuthReason::ExpiredCredential);
        assert_eq!(reason_for(Some("insufficient_scope")), AuthReason::InsufficientScope);
        assert_eq!(reason_for(Some("proxy_required")), AuthReason::Unauthorized, "never request-driven");
        assert_eq!(reason_for(Some("unauthorized")), AuthReason::Unauthorized);
        assert_eq!(reason_for(None), AuthReason::Unauthorized);
    }
}
