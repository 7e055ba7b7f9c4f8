//! The caller's identity as the transport established it.

use std::collections::BTreeMap;

/// Who is calling. Byte-stream transports are anonymous unless a transport
/// says otherwise; HTTP fills this from its authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthContext {
    /// The authentication scheme or realm (`"bearer"`, `"mtls"`, …); empty when anonymous.
    pub domain: String,
    /// Whether the caller proved an identity.
    pub authenticated: bool,
    /// The authenticated principal; empty when anonymous.
    pub principal: String,
    /// Extra claims (string values).
    pub claims: BTreeMap<String, String>,
}

impl AuthContext {
    /// The anonymous caller.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// An authenticated caller.
    pub fn authenticated(domain: impl Into<String>, principal: impl Into<String>) -> Self {
        Self { domain: domain.into(), authenticated: true, principal: principal.into(), claims: BTreeMap::new() }
    }
}
