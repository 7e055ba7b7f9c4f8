//! Composition of authenticators (`docs/unauthorized-spec.md` §3.1, §5.1):
//! [`Chain`] tries alternatives (OR), [`RequireAll`] ANDs precondition gates
//! with a credential. Both carry their parts' proxy-header declarations
//! through, so wrapping an authenticator never drops the 401's proxy note.

use std::sync::Arc;

use vgi_rpc_core::AuthContext;

use crate::authenticator::{merge_header_names, AuthRequest, Authenticator};
use crate::reason::{AuthFailure, AuthReason};

/// Alternative credentials: the first part that succeeds wins, and a
/// [conclusive](AuthFailure::conclusive) failure (an outage, or a credential
/// its part owns and refused) ends the chain as it is.
///
/// On refusal the reason is `missing_credential` only when *every*
/// alternative said nothing was presented; otherwise it is the first code
/// that is not `missing_credential`.
///
/// Do not put a precondition gate (such as a proxy check) in a chain: any
/// later alternative would bypass it. Use [`RequireAll`] for that.
#[derive(Clone, Default)]
pub struct Chain {
    parts: Vec<Arc<dyn Authenticator>>,
}

impl Chain {
    /// An empty chain (refuses everything with `unauthorized` until a part is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an alternative, tried after the ones already present.
    ///
    /// # Panics
    ///
    /// When `alternative` is a precondition gate
    /// ([`Authenticator::precondition_gate`]): any later alternative would
    /// bypass it. Wrap the credential with [`RequireAll`] instead.
    pub fn or<A: Authenticator + 'static>(self, alternative: A) -> Self {
        self.or_shared(Arc::new(alternative))
    }

    /// Add a shared alternative.
    ///
    /// # Panics
    ///
    /// As [`Chain::or`], when `alternative` is a precondition gate.
    pub fn or_shared(mut self, alternative: Arc<dyn Authenticator>) -> Self {
        assert!(
            !alternative.precondition_gate(),
            "a precondition gate cannot be an alternative in a Chain (OR): any later alternative would bypass it; \
             AND it with the credential through RequireAll instead"
        );
        self.parts.push(alternative);
        self
    }

    /// Number of alternatives.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether the chain has no alternatives.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("parts", &self.parts.len()).finish()
    }
}

/// Reduce per-alternative codes to the one a chain reports (§3.1).
pub fn combine_reasons(codes: &[AuthReason]) -> AuthReason {
    if codes.is_empty() {
        return AuthReason::Unauthorized;
    }
    codes.iter().copied().find(|c| *c != AuthReason::MissingCredential).unwrap_or(AuthReason::MissingCredential)
}

impl Authenticator for Chain {
    fn may_block(&self) -> bool {
        self.parts.iter().any(|p| p.may_block())
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        let mut failures = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            match part.authenticate(req) {
                Ok(ctx) => return Ok(ctx),
                // An outage, or a credential this part owns and refused.
                Err(failure) if failure.is_conclusive => return Err(failure),
                Err(failure) => failures.push(failure),
            }
        }
        if failures.len() == 1 {
            if let Some(only) = failures.pop() {
                return Err(only);
            }
        }
        if failures.is_empty() {
            return Err(AuthFailure::unauthorized("No authenticator is configured"));
        }
        let codes: Vec<AuthReason> = failures.iter().map(|f| f.reason).collect();
        let details: Vec<&str> =
            failures.iter().map(|f| if f.detail.is_empty() { f.reason.as_str() } else { f.detail.as_str() }).collect();
        Err(AuthFailure::new(
            combine_reasons(&codes),
            format!("No authenticator accepted the request ({})", details.join("; ")),
        ))
    }

    fn proxy_headers(&self) -> Vec<String> {
        union_proxy_headers(self.parts.iter())
    }

    fn challenge(&self) -> Option<String> {
        self.parts.iter().find_map(|p| p.challenge())
    }
}

/// Precondition gates ANDed with a credential.
///
/// Gates run first, in order; the first failure is the response and nothing
/// after it is consulted. The caller's identity comes from the credential
/// (or, without one, from the last gate). Claims of the other parts are
/// merged in under `"<domain>.<claim>"` keys (kept as they are when already
/// so namespaced), never overwriting.
#[derive(Clone, Default)]
pub struct RequireAll {
    gates: Vec<Arc<dyn Authenticator>>,
    credential: Option<Arc<dyn Authenticator>>,
}

impl RequireAll {
    /// Nothing required yet (refuses everything with `unauthorized` until a part is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a precondition gate, run after the gates already present.
    pub fn gate<A: Authenticator + 'static>(mut self, gate: A) -> Self {
        self.gates.push(Arc::new(gate));
        self
    }

    /// Add a shared precondition gate.
    pub fn gate_shared(mut self, gate: Arc<dyn Authenticator>) -> Self {
        self.gates.push(gate);
        self
    }

    /// The credential that establishes identity, run after every gate passed.
    pub fn credential<A: Authenticator + 'static>(mut self, credential: A) -> Self {
        self.credential = Some(Arc::new(credential));
        self
    }

    /// A shared credential.
    pub fn credential_shared(mut self, credential: Arc<dyn Authenticator>) -> Self {
        self.credential = Some(credential);
        self
    }

    fn parts(&self) -> impl Iterator<Item = &Arc<dyn Authenticator>> {
        self.gates.iter().chain(self.credential.iter())
    }
}

impl std::fmt::Debug for RequireAll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireAll")
            .field("gates", &self.gates.len())
            .field("credential", &self.credential.is_some())
            .finish()
    }
}

impl Authenticator for RequireAll {
    fn may_block(&self) -> bool {
        self.parts().any(|p| p.may_block())
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        let mut contexts = Vec::with_capacity(self.gates.len() + 1);
        for part in self.parts() {
            contexts.push(part.authenticate(req)?);
        }
        let Some(mut identity) = contexts.pop() else {
            return Err(AuthFailure::unauthorized("No authenticator is configured"));
        };
        for other in contexts {
            for (key, value) in other.claims {
                // Keys already namespaced under the part's domain keep their name.
                let namespaced = other.domain.is_empty()
                    || key.strip_prefix(other.domain.as_str()).is_some_and(|rest| rest.starts_with('.'));
                let key = if namespaced { key } else { format!("{}.{key}", other.domain) };
                identity.claims.entry(key).or_insert(value);
            }
        }
        Ok(identity)
    }

    fn proxy_headers(&self) -> Vec<String> {
        union_proxy_headers(self.parts())
    }

    fn challenge(&self) -> Option<String> {
        self.parts().find_map(|p| p.challenge())
    }
}

fn union_proxy_headers<'a>(parts: impl Iterator<Item = &'a Arc<dyn Authenticator>>) -> Vec<String> {
    let mut all = Vec::new();
    for part in parts {
        merge_header_names(&mut all, part.proxy_headers());
    }
    all
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::authenticator::{from_fn, FnAuthenticator};

    type Closure = FnAuthenticator<Box<dyn Fn(&AuthRequest<'_>) -> Result<AuthContext, AuthFailure> + Send + Sync>>;

    fn failing(reason: AuthReason, detail: &'static str) -> Closure {
        from_fn(Box::new(move |_: &AuthRequest<'_>| Err(AuthFailure::new(reason, detail))))
    }

    fn ok(domain: &'static str, principal: &'static str) -> Closure {
        from_fn(Box::new(move |_: &AuthRequest<'_>| {
            let mut ctx = AuthContext::authenticated(domain, principal);
            ctx.claims.insert("k".into(), principal.into());
            Ok(ctx)
        }))
    }

    fn run(a: &dyn Authenticator) -> Result<AuthContext, AuthFailure> {
        let headers = http::HeaderMap::new();
        a.authenticate(&AuthRequest::new(&headers))
    }

    #[test]
    fn combine_rules() {
        use AuthReason::*;
        assert_eq!(combine_reasons(&[]), Unauthorized);
        assert_eq!(combine_reasons(&[MissingCredential, MissingCredential]), MissingCredential);
        assert_eq!(combine_reasons(&[MissingCredential, InvalidCredential]), InvalidCredential);
        assert_eq!(combine_reasons(&[ExpiredCredential, InvalidCredential]), ExpiredCredential);
        assert_eq!(combine_reasons(&[MissingCredential, ProxyRequired, InvalidCredential]), ProxyRequired);
    }

    #[test]
    fn chain_all_missing_is_missing() {
        let chain = Chain::new()
            .or(failing(AuthReason::MissingCredential, "no token"))
            .or(failing(AuthReason::MissingCredential, "no cert"));
        let err = run(&chain).unwrap_err();
        assert_eq!(err.reason, AuthReason::MissingCredential);
        assert!(err.detail.contains("no token") && err.detail.contains("no cert"), "{}", err.detail);
    }

    #[test]
    fn chain_missing_then_invalid_is_invalid() {
        let chain = Chain::new()
            .or(failing(AuthReason::MissingCredential, "no token"))
            .or(failing(AuthReason::InvalidCredential, "bad cert"))
            .or(failing(AuthReason::ExpiredCredential, "old"));
        assert_eq!(run(&chain).unwrap_err().reason, AuthReason::InvalidCredential);
    }

    #[test]
    fn chain_first_success_wins() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let chain = Chain::new().or(failing(AuthReason::InvalidCredential, "bad")).or(ok("first", "alice")).or(
            from_fn(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(AuthContext::authenticated("second", "bob"))
            }),
        );
        let ctx = run(&chain).unwrap();
        assert_eq!((ctx.domain.as_str(), ctx.principal.as_str()), ("first", "alice"));
        assert_eq!(calls.load(Ordering::SeqCst), 0, "later alternatives are not consulted");
    }

    #[test]
    fn chain_single_part_passes_through() {
        let chain = Chain::new().or(failing(AuthReason::ExpiredCredential, "token expired"));
        assert_eq!(run(&chain).unwrap_err(), AuthFailure::expired("token expired"));
        assert_eq!(run(&Chain::new()).unwrap_err().reason, AuthReason::Unauthorized);
    }

    #[test]
    fn chain_carries_proxy_headers_and_first_challenge() {
        let chain = Chain::new()
            .or(failing(AuthReason::MissingCredential, "").with_proxy_headers(["x-forwarded-client-cert"]))
            .or(from_fn(|_| Err(AuthFailure::missing(""))).with_challenge("Bearer realm=\"a\""))
            .or(from_fn(|_| Err(AuthFailure::missing("")))
                .with_challenge("Bearer realm=\"b\"")
                .with_proxy_headers(["VGI-Proxy-Proof", "X-Forwarded-Client-Cert"]));
        assert_eq!(chain.proxy_headers(), ["x-forwarded-client-cert", "VGI-Proxy-Proof"]);
        assert_eq!(chain.challenge().as_deref(), Some("Bearer realm=\"a\""));
        // Nested composition keeps the declarations too.
        let nested = RequireAll::new().credential(chain);
        assert_eq!(nested.proxy_headers(), ["x-forwarded-client-cert", "VGI-Proxy-Proof"]);
    }

    #[test]
    fn require_all_gate_first_and_short_circuits() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let all =
            RequireAll::new().gate(failing(AuthReason::ProxyRequired, "no proof")).credential(from_fn(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
                Err(AuthFailure::missing("no token"))
            }));
        assert_eq!(run(&all).unwrap_err(), AuthFailure::proxy_required("no proof"));
        assert_eq!(calls.load(Ordering::SeqCst), 0, "credential never consulted after a gate failure");
    }

    #[test]
    fn require_all_credential_failure_and_success() {
        let all = RequireAll::new().gate(ok("proxy", "edge")).credential(failing(AuthReason::InvalidCredential, "bad"));
        assert_eq!(run(&all).unwrap_err().reason, AuthReason::InvalidCredential);

        let all = RequireAll::new().gate(ok("proxy", "edge")).credential(ok("bearer", "alice"));
        let ctx = run(&all).unwrap();
        assert_eq!((ctx.domain.as_str(), ctx.principal.as_str()), ("bearer", "alice"));
        assert_eq!(ctx.claims.get("k").map(String::as_str), Some("alice"));
        assert_eq!(ctx.claims.get("proxy.k").map(String::as_str), Some("edge"));

        // Without a credential the last gate provides identity.
        let gate_only = RequireAll::new().gate(ok("proxy", "edge"));
        assert_eq!(run(&gate_only).unwrap().principal, "edge");
        assert_eq!(run(&RequireAll::new()).unwrap_err().reason, AuthReason::Unauthorized);
    }

    #[test]
    fn require_all_carries_proxy_headers() {
        let all = RequireAll::new()
            .gate(ok("proxy", "edge").with_proxy_headers(["VGI-Proxy-Proof"]))
            .credential(ok("mtls", "svc").with_proxy_headers(["x-forwarded-client-cert"]).with_challenge("Bearer"));
        assert_eq!(all.proxy_headers(), ["VGI-Proxy-Proof", "x-forwarded-client-cert"]);
        assert_eq!(all.challenge().as_deref(), Some("Bearer"));
    }
}
