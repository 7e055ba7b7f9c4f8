//! Whose quota a request spends: the authenticated principal, or, for an
//! anonymous caller, the peer's address.

use crate::ConnectionInfo;

/// The key quotas are kept under.
///
/// * An authenticated caller is keyed by `(domain, principal)`: the same
///   name proved by two schemes (a bearer token and an mTLS certificate,
///   say) counts as two principals, because nothing says they are one.
/// * An anonymous caller is keyed by the peer's **IP address** (the port is
///   dropped, so reconnecting does not buy a fresh quota), or by the whole
///   address string when it is not an IP socket address (a Unix socket's
///   path). Behind a reverse proxy every anonymous caller shares the
///   proxy's address: authenticate callers there if they must not share.
/// * An anonymous caller with no address (a stdin/stdout pipe) shares the
///   one anonymous key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrincipalKey {
    /// An authenticated principal.
    Principal {
        /// The authentication scheme (`"bearer"`, `"mtls"`, …).
        domain: String,
        /// The principal's name.
        principal: String,
    },
    /// An anonymous caller, by address.
    Address(String),
    /// An anonymous caller the transport gave no address for.
    Anonymous,
}

impl PrincipalKey {
    /// The key of the caller on `conn`.
    pub fn of(conn: &ConnectionInfo) -> Self {
        let auth = &conn.auth;
        if auth.authenticated && !auth.principal.is_empty() {
            return PrincipalKey::Principal { domain: auth.domain.clone(), principal: auth.principal.clone() };
        }
        match conn.remote_addr.as_deref().filter(|a| !a.is_empty()) {
            Some(addr) => match addr.parse::<std::net::SocketAddr>() {
                Ok(socket) => PrincipalKey::Address(socket.ip().to_string()),
                Err(_) => PrincipalKey::Address(addr.to_owned()),
            },
            None => PrincipalKey::Anonymous,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::AuthContext;

    fn conn(auth: AuthContext, addr: Option<&str>) -> ConnectionInfo {
        ConnectionInfo { auth: Arc::new(auth), remote_addr: addr.map(str::to_owned), kind: None, trace: None }
    }

    #[test]
    fn principals_by_domain_and_name_anonymous_by_ip() {
        let alice = PrincipalKey::of(&conn(AuthContext::authenticated("bearer", "alice"), Some("10.0.0.1:5000")));
        assert_eq!(alice, PrincipalKey::Principal { domain: "bearer".into(), principal: "alice".into() });
        let other_scheme = PrincipalKey::of(&conn(AuthContext::authenticated("mtls", "alice"), None));
        assert_ne!(alice, other_scheme);

        let a = PrincipalKey::of(&conn(AuthContext::anonymous(), Some("10.0.0.1:5000")));
        let b = PrincipalKey::of(&conn(AuthContext::anonymous(), Some("10.0.0.1:6000")));
        assert_eq!(a, PrincipalKey::Address("10.0.0.1".into()));
        assert_eq!(a, b, "the port is not part of an anonymous caller's key");
        let v6 = PrincipalKey::of(&conn(AuthContext::anonymous(), Some("[::1]:80")));
        assert_eq!(v6, PrincipalKey::Address("::1".into()));
        let path = PrincipalKey::of(&conn(AuthContext::anonymous(), Some("/run/worker.sock")));
        assert_eq!(path, PrincipalKey::Address("/run/worker.sock".into()));
        assert_eq!(PrincipalKey::of(&ConnectionInfo::default()), PrincipalKey::Anonymous);
    }
}
