//! Bearer JWT validation (feature `jwt`): [`JwtAuthenticator`], with keys
//! from a JWKS document given up front ([`KeySet`]) or fetched from the
//! issuer and cached ([`RemoteJwks`]: `jwks_uri` or OIDC discovery).
//!
//! Signatures are verified with `ring` (verify-only; no `rsa` crate, so no
//! RUSTSEC-2023-0071): RS256/384/512, PS256/384/512, ES256, ES384, EdDSA.
//! A token's `alg` must be one its key's type allows (and the key's own
//! `alg`, when declared); `none` and `HS*` are never accepted, and keys
//! are only ever taken from the configured set, never from the token.
//!
//! Rejections are uniform (`docs/unauthorized-spec.md` §2): every invalid
//! token — malformed, unknown `kid`, algorithm, signature, issuer,
//! audience, missing claim — is `invalid_credential` with the same detail.
//! Only a token whose signature *verified* and whose `exp`/`nbf` window
//! has passed is told apart, as `expired_credential` ("refresh and
//! retry"), which reveals nothing the holder cannot read from the token.
//! See `docs/jwt.md`.

mod claims;
mod fetch;
mod jwk;
mod jws;
mod remote;
#[cfg(test)]
mod test_keys;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde_json::{Map, Value};
use vgi_rpc_core::{AuthContext, Clock, SystemClock};

pub use jwk::{JwksError, KeySet, MAX_KEYS};
pub use jws::Algorithm;
pub use remote::{JwksSettings, RemoteJwks};

use crate::authenticator::{AuthRequest, Authenticator};
use crate::bearer::bearer_token;
use crate::reason::AuthFailure;
use crate::resource_metadata::www_authenticate;
use claims::{ClaimError, ClaimRules};

/// Domain reported when the token names no issuer and none is configured.
pub const JWT_DOMAIN: &str = "jwt";

/// The one detail of every `invalid_credential` refusal.
pub const INVALID_DETAIL: &str = "Invalid JWT";

/// The detail of an `expired_credential` refusal.
pub const EXPIRED_DETAIL: &str = "JWT is outside its validity window";

/// Default cap on the token's length in bytes (see
/// [`JwtAuthenticator::with_max_token_bytes`]).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
enum Keys {
    Fixed(Arc<KeySet>),
    Remote(RemoteJwks),
}

/// Validates `Authorization: Bearer <jwt>`.
///
/// * no `Authorization` header → `missing_credential`;
/// * a verified token outside `nbf`..`exp` (beyond the leeway) →
///   `expired_credential`;
/// * anything else → `invalid_credential`, detail [`INVALID_DETAIL`].
///
/// `exp` is required. When issuers / audiences are configured the `iss` /
/// `aud` claims are required and must match one of them; when no audience
/// is configured, tokens that carry an `aud` claim are refused.
///
/// On success: principal = the principal claim (`sub` by default, a
/// non-empty string); domain = the configured domain, else the token's
/// `iss`, else `"jwt"`; claims = every claim, strings verbatim and other
/// values as compact JSON text.
pub struct JwtAuthenticator {
    keys: Keys,
    rules: ClaimRules,
    principal_claim: String,
    domain: Option<String>,
    challenge: Option<String>,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("keys", &self.keys)
            .field("issuers", &self.rules.issuers)
            .field("audiences", &self.rules.audiences)
            .field("leeway", &self.rules.leeway)
            .field("principal_claim", &self.principal_claim)
            .field("domain", &self.domain)
            .field("max_token_bytes", &self.max_token_bytes)
            .finish()
    }
}

impl JwtAuthenticator {
    fn with_keys(keys: Keys) -> Self {
        Self {
            keys,
            rules: ClaimRules { leeway: 60, ..ClaimRules::default() },
            principal_claim: "sub".to_string(),
            domain: None,
            challenge: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            clock: Arc::new(SystemClock::new()),
        }
    }

    /// Verify against a fixed key set.
    pub fn from_key_set(keys: KeySet) -> Self {
        Self::with_keys(Keys::Fixed(Arc::new(keys)))
    }

    /// Load the key set from a JWKS JSON text (`{"keys":[…]}`).
    pub fn from_jwks_str(jwks: &str) -> Result<Self, JwksError> {
        KeySet::from_json(jwks.as_bytes()).map(Self::from_key_set)
    }

    /// Load the key set from a parsed JWKS document. Keys that cannot be
    /// used are skipped ([`KeySet`]); at least one must remain.
    pub fn from_jwks_value(jwks: &Value) -> Result<Self, JwksError> {
        KeySet::from_value(jwks).map(Self::from_key_set)
    }

    /// Verify against keys fetched from the issuer and cached.
    pub fn from_remote(keys: RemoteJwks) -> Self {
        Self::with_keys(Keys::Remote(keys))
    }

    /// Keys fetched from `jwks_uri` with default [`JwksSettings`]. No I/O
    /// happens here; the first token fetches.
    pub fn from_jwks_uri(jwks_uri: &str) -> Result<Self, JwksError> {
        RemoteJwks::from_jwks_uri(jwks_uri, JwksSettings::default()).map(Self::from_remote)
    }

    /// Keys found by OIDC discovery on `issuer` (default [`JwksSettings`]),
    /// and tokens required to carry `"iss": issuer` — what a relying party
    /// of one identity provider wants.
    pub fn from_issuer(issuer: &str) -> Result<Self, JwksError> {
        let keys = RemoteJwks::from_issuer(issuer, JwksSettings::default())?;
        Ok(Self::from_remote(keys).with_issuers([issuer]))
    }

    /// Accept tokens whose `iss` is one of `issuers` (and require `iss`).
    pub fn with_issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules.issuers = issuers.into_iter().map(Into::into).collect::<HashSet<_>>();
        self
    }

    /// Accept tokens whose `aud` names one of `audiences` (and require `aud`).
    pub fn with_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules.audiences = audiences.into_iter().map(Into::into).collect::<HashSet<_>>();
        self
    }

    /// Clock-skew allowance for `exp` / `nbf`, in seconds (default 60).
    /// Raise it only for issuers whose clocks drift; it extends every
    /// token's life by as much.
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.rules.leeway = seconds;
        self
    }

    /// The claim naming the principal (default `sub`).
    pub fn with_principal_claim(mut self, claim: impl Into<String>) -> Self {
        self.principal_claim = claim.into();
        self
    }

    /// A fixed `AuthContext::domain` instead of the token's issuer.
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Refuse longer tokens before parsing them (default 16 KiB). Raise it
    /// for issuers that pack large group lists into access tokens.
    pub fn with_max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The clock for `exp` / `nbf` (default the system clock; tests use
    /// [`vgi_rpc_core::FakeClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Advertise RFC 9728 metadata in the challenge:
    /// `Bearer resource_metadata="<url>"`.
    pub fn with_resource_metadata(mut self, metadata_url: impl AsRef<str>) -> Self {
        self.challenge = Some(www_authenticate(metadata_url.as_ref()));
        self
    }

    /// Number of usable keys held now (for a remote set, 0 before the
    /// first successful fetch).
    pub fn key_count(&self) -> usize {
        match &self.keys {
            Keys::Fixed(keys) => keys.len(),
            Keys::Remote(remote) => remote.key_count(),
        }
    }

    /// The remote key set, when keys are fetched from the issuer.
    pub fn remote(&self) -> Option<&RemoteJwks> {
        match &self.keys {
            Keys::Fixed(_) => None,
            Keys::Remote(remote) => Some(remote),
        }
    }

    fn verify(&self, token: &str) -> Result<Map<String, Value>, AuthFailure> {
        let invalid = || AuthFailure::invalid(INVALID_DETAIL);
        if token.len() > self.max_token_bytes {
            return Err(invalid());
        }
        let jws = jws::parse(token).ok_or_else(invalid)?;
        let keys = match &self.keys {
            Keys::Fixed(keys) => Arc::clone(keys),
            Keys::Remote(remote) => remote.keys_for(jws.kid.as_deref()).ok_or_else(invalid)?,
        };
        let verified = keys
            .candidates(jws.kid.as_deref(), jws.alg)
            .any(|key| jws::verify(jws.alg, &key.material, jws.signing_input.as_bytes(), &jws.signature));
        if !verified {
            return Err(invalid());
        }
        let claims: Map<String, Value> = serde_json::from_slice(&jws.payload).map_err(|_| invalid())?;
        let now = self.clock.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        match self.rules.check(&claims, now) {
            Ok(()) => Ok(claims),
            Err(ClaimError::OutsideWindow) => Err(AuthFailure::expired(EXPIRED_DETAIL)),
            Err(ClaimError::Invalid) => Err(invalid()),
        }
    }
}

impl Authenticator for JwtAuthenticator {
    /// Keys fetched from an issuer may have to be refreshed (bounded by the
    /// fetch timeout and the unknown-kid wait).
    fn may_block(&self) -> bool {
        matches!(self.keys, Keys::Remote(_))
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        let token = bearer_token(req.headers)?;
        let claims = self.verify(token)?;
        let principal = match claims.get(&self.principal_claim) {
            Some(Value::String(p)) if !p.is_empty() => p.clone(),
            _ => return Err(AuthFailure::invalid(INVALID_DETAIL)),
        };
        let domain = match (&self.domain, claims.get("iss")) {
            (Some(domain), _) => domain.clone(),
            (None, Some(Value::String(iss))) if !iss.is_empty() => iss.clone(),
            _ => JWT_DOMAIN.to_string(),
        };
        let mut ctx = AuthContext::authenticated(domain, principal);
        for (name, value) in claims {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            ctx.claims.insert(name, text);
        }
        Ok(ctx)
    }

    fn challenge(&self) -> Option<String> {
        Some(self.challenge.clone().unwrap_or_else(|| "Bearer".to_string()))
    }
}
