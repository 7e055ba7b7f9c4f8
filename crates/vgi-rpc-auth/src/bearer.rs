//! Static bearer tokens: `Authorization: Bearer <token>` parsing
//! ([`bearer_token`]) and [`BearerTokens`], a fixed set of valid tokens each
//! mapped to a principal, compared in constant time.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use vgi_rpc_core::AuthContext;

use crate::authenticator::{AuthRequest, Authenticator};
use crate::reason::AuthFailure;
use crate::resource_metadata::www_authenticate;

/// The `AuthContext::domain` of a static bearer token.
pub const BEARER_DOMAIN: &str = "bearer";

/// Extract the token from `Authorization: Bearer <token>`.
///
/// The scheme compares case-insensitively. No header (or an empty one) is
/// `missing_credential`; anything else that is not exactly one well-formed
/// Bearer credential is `invalid_credential`.
pub fn bearer_token(headers: &http::HeaderMap) -> Result<&str, AuthFailure> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthFailure::missing("Missing Authorization header"));
    };
    if values.next().is_some() {
        return Err(AuthFailure::invalid("Multiple Authorization headers"));
    }
    let text = value.to_str().map_err(|_| AuthFailure::invalid("Authorization header is not valid text"))?.trim();
    if text.is_empty() {
        return Err(AuthFailure::missing("Missing Authorization header"));
    }
    let (scheme, rest) = match text.split_once([' ', '\t']) {
        Some((scheme, rest)) => (scheme, rest.trim()),
        None => (text, ""),
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::invalid("Authorization header is not a Bearer credential"));
    }
    if rest.is_empty() {
        return Err(AuthFailure::invalid("Bearer credential is empty"));
    }
    if rest.contains(|c: char| c.is_ascii_whitespace()) {
        return Err(AuthFailure::invalid("Bearer credential is malformed"));
    }
    Ok(rest)
}

/// A fixed set of valid bearer tokens, each naming a principal
/// (domain [`BEARER_DOMAIN`]).
///
/// Only SHA-256 digests of the tokens are kept. A presented token's digest is
/// compared against every configured digest in constant time, and the scan
/// never stops early, so response timing reveals neither a prefix match nor
/// which token matched.
#[derive(Clone, Default)]
pub struct BearerTokens {
    tokens: Vec<([u8; 32], String)>,
    challenge: Option<String>,
}

impl BearerTokens {
    /// No valid tokens yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accept `token` as `principal`. An empty token can never match.
    pub fn with_token(mut self, token: impl AsRef<str>, principal: impl Into<String>) -> Self {
        self.tokens.push((digest(token.as_ref()), principal.into()));
        self
    }

    /// Accept every `(token, principal)` pair.
    pub fn from_pairs<I, T, P>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (T, P)>,
        T: AsRef<str>,
        P: Into<String>,
    {
        pairs.into_iter().fold(Self::new(), |acc, (t, p)| acc.with_token(t, p))
    }

    /// Advertise RFC 9728 metadata in the challenge:
    /// `Bearer resource_metadata="<url>"`.
    pub fn with_resource_metadata(mut self, metadata_url: impl AsRef<str>) -> Self {
        self.challenge = Some(www_authenticate(metadata_url.as_ref()));
        self
    }

    /// Number of configured tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no token is configured (then every request is refused).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The principal for `token`, scanning every entry in constant time.
    fn lookup(&self, token: &str) -> Option<&str> {
        let presented = digest(token);
        // 0 = no match; otherwise index + 1 of the first matching entry.
        let mut matched: u64 = 0;
        let mut found = Choice::from(0);
        for (i, (known, _)) in self.tokens.iter().enumerate() {
            let eq = presented.ct_eq(known);
            let take = eq & !found;
            matched = u64::conditional_select(&matched, &(i as u64 + 1), take);
            found |= eq;
        }
        let index = usize::try_from(matched).ok()?.checked_sub(1)?;
        self.tokens.get(index).map(|(_, principal)| principal.as_str())
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl std::fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerTokens").field("tokens", &self.tokens.len()).field("challenge", &self.challenge).finish()
    }
}

impl Authenticator for BearerTokens {
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        let token = bearer_token(req.headers)?;
        match self.lookup(token) {
            Some(principal) => Ok(AuthContext::authenticated(BEARER_DOMAIN, principal)),
            None => Err(AuthFailure::invalid("Unknown bearer token")),
        }
    }

    fn challenge(&self) -> Option<String> {
        Some(self.challenge.clone().unwrap_or_else(|| "Bearer".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::*;
    use crate::reason::AuthReason;

    fn with_auth(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(http::header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn tokens() -> BearerTokens {
        BearerTokens::from_pairs([("s3cret-a", "alice"), ("s3cret-b", "bob")]).with_token("s3cret-c", "carol")
    }

    fn run(auth: &BearerTokens, values: &[&str]) -> Result<AuthContext, AuthFailure> {
        let headers = with_auth(values);
        auth.authenticate(&AuthRequest::new(&headers))
    }

    #[test]
    fn right_token_names_its_principal() {
        let auth = tokens();
        for (token, who) in [("s3cret-a", "alice"), ("s3cret-b", "bob"), ("s3cret-c", "carol")] {
            let ctx = run(&auth, &[&format!("Bearer {token}")]).unwrap();
            assert!(ctx.authenticated);
            assert_eq!(ctx.domain, "bearer");
            assert_eq!(ctx.principal, who);
        }
    }

    #[test]
    fn scheme_is_case_insensitive() {
        let auth = tokens();
        assert_eq!(run(&auth, &["bearer s3cret-b"]).unwrap().principal, "bob");
        assert_eq!(run(&auth, &["BEARER   s3cret-a  "]).unwrap().principal, "alice");
    }

    #[test]
    fn wrong_token_is_invalid() {
        let auth = tokens();
        for bad in ["Bearer nope", "Bearer s3cret-a2", "Bearer s3cret-"] {
            let err = run(&auth, &[bad]).unwrap_err();
            assert_eq!(err.reason, AuthReason::InvalidCredential, "{bad}");
            assert!(!err.detail.contains("s3cret"), "detail must not echo tokens");
        }
        // An empty token set refuses everything.
        assert_eq!(run(&BearerTokens::new(), &["Bearer x"]).unwrap_err().reason, AuthReason::InvalidCredential);
    }

    #[test]
    fn missing_header_is_missing() {
        let auth = tokens();
        assert_eq!(run(&auth, &[]).unwrap_err().reason, AuthReason::MissingCredential);
        assert_eq!(run(&auth, &[""]).unwrap_err().reason, AuthReason::MissingCredential);
    }

    #[test]
    fn malformed_header_is_invalid() {
        let auth = tokens();
        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearers s3cret-a", "Bearer a b", "s3cret-a"] {
            assert_eq!(run(&auth, &[bad]).unwrap_err().reason, AuthReason::InvalidCredential, "{bad:?}");
        }
        assert_eq!(
            run(&auth, &["Bearer s3cret-a", "Bearer s3cret-b"]).unwrap_err().reason,
            AuthReason::InvalidCredential
        );
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap());
        let err = auth.authenticate(&AuthRequest::new(&headers)).unwrap_err();
        assert_eq!(err.reason, AuthReason::InvalidCredential);
    }

    #[test]
    fn challenge_and_debug() {
        assert_eq!(tokens().challenge().as_deref(), Some("Bearer"));
        let with_meta = tokens().with_resource_metadata("https://api.example/.well-known/oauth-protected-resource");
        assert_eq!(
            with_meta.challenge().as_deref(),
            Some("Bearer resource_metadata=\"https://api.example/.well-known/oauth-protected-resource\"")
        );
        assert!(tokens().proxy_headers().is_empty());
        let dbg = format!("{:?}", tokens());
        assert!(!dbg.contains("s3cret"), "{dbg}");
        assert_eq!(tokens().len(), 3);
    }
}
