//! Proxy proof (`docs/proxy-proof-spec.md`): evidence, per request, that a
//! call arrived through a trusted proxy. The proxy mints an HMAC-SHA256 over
//! a timestamp, a nonce and this worker's `origin_id`, keyed by a secret
//! shared only with this worker; [`ProxyProofGate`] recomputes and compares.
//!
//! The proof establishes the *hop*, never the caller: the gate is a
//! precondition to AND with a credential through
//! [`RequireAll`](crate::RequireAll), never an alternative in a
//! [`Chain`](crate::Chain) (which refuses it).
//!
//! Every failure in `require` mode is the same refusal — reason
//! `proxy_required`, detail [`REJECTION_DETAIL`] — whatever check tripped;
//! the verifier's reason code goes to the log only. In `allow` mode a
//! failure is recorded and the request proceeds anonymously.
//!
//! Attribution rides in the context's claims under `vgi_proxy_proof.*`
//! (`verified`, `proxy`, `kid`, `origin_id`, `reason`), never in its domain
//! or principal when a credential supplies identity.

mod config;
mod replay;
mod token;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use vgi_rpc_core::{AuthContext, Clock, SystemClock};

pub use config::{
    parse_secrets, ProofConfigError, ProofKey, ProofMode, ProofSecrets, ProxyProofConfig, DEFAULT_SKEW, SECRETS_ENV,
};
pub use replay::{NonceCache, ReplayStats, DEFAULT_CAPACITY};
pub use token::{
    canonical_string, check_proof, derive_secret, mint_proof, parse_proof, random_nonce, valid_kid, valid_origin_id,
    InvalidIdentifier, MintError, ParsedProof, ProofRejection, Secret, MAX_HEADER_BYTES, SECRET_LEN,
};

use crate::authenticator::{AuthRequest, Authenticator};
use crate::reason::AuthFailure;

/// The request header carrying the proof.
pub const PROOF_HEADER: &str = "VGI-Proxy-Proof";
/// The capability header a `require`-mode worker sends on every response.
pub const PROOF_REQUIRED_HEADER: &str = "VGI-Proxy-Proof-Required";
/// Domain of the gate's context, and the prefix of its claims.
pub const CLAIMS_DOMAIN: &str = "vgi_proxy_proof";
/// The one detail every proof refusal carries.
pub const REJECTION_DETAIL: &str = "Proxy proof required";

/// Verified and unverified request counts, so an `allow` → `require`
/// cutover can be checked rather than hoped for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProofStats {
    /// Requests whose proof verified.
    pub verified: u64,
    /// Requests without a valid proof.
    pub unverified: u64,
    /// Nonce-cache counters, when the cache is enabled.
    pub replay: Option<ReplayStats>,
}

/// The verifier for one worker, in `allow` or `require` mode.
pub struct ProxyProofGate {
    mode: ProofMode,
    origin_id: String,
    secrets: ProofSecrets,
    skew: Duration,
    cache: Option<Mutex<NonceCache>>,
    clock: Arc<dyn Clock>,
    verified: AtomicU64,
    unverified: AtomicU64,
}

impl std::fmt::Debug for ProxyProofGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyProofGate")
            .field("mode", &self.mode)
            .field("origin_id", &self.origin_id)
            .field("kids", &self.secrets.keys().collect::<Vec<_>>())
            .field("skew", &self.skew)
            .field("replay_cache", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

impl ProxyProofGate {
    /// A gate for a validated configuration. `off` is refused: an off worker
    /// installs no gate, rather than one that always passes.
    pub fn new(config: ProxyProofConfig) -> Result<Self, ProofConfigError> {
        Self::with_clock(config, Arc::new(SystemClock::new()))
    }

    /// A gate reading time from `clock`: wall time for the window, monotonic
    /// time for nonce expiry.
    pub fn with_clock(config: ProxyProofConfig, clock: Arc<dyn Clock>) -> Result<Self, ProofConfigError> {
        config.validate()?;
        if config.mode == ProofMode::Off {
            return Err(ProofConfigError::ModeOff);
        }
        // A token stamped `skew` ahead of now stays valid until `2 * skew`
        // from now, so its nonce is remembered that long.
        let cache = config.replay_capacity.map(|cap| Mutex::new(NonceCache::new(config.skew * 2, cap)));
        Ok(Self {
            mode: config.mode,
            origin_id: config.origin_id,
            secrets: config.secrets,
            skew: config.skew,
            cache,
            clock,
            verified: AtomicU64::new(0),
            unverified: AtomicU64::new(0),
        })
    }

    /// The configured mode.
    pub fn mode(&self) -> ProofMode {
        self.mode
    }

    /// Counters since start.
    pub fn stats(&self) -> ProofStats {
        ProofStats {
            verified: self.verified.load(Ordering::Relaxed),
            unverified: self.unverified.load(Ordering::Relaxed),
            replay: self.cache.as_ref().map(|c| c.lock().unwrap_or_else(|p| p.into_inner()).stats()),
        }
    }

    /// Run the §6 table over a request's headers, returning the verified
    /// key's label and the claimed `kid`.
    pub fn verify(&self, headers: &http::HeaderMap) -> Result<(&str, String), ProofRejection> {
        let mut values = headers.get_all(PROOF_HEADER).iter();
        let value = values.next().ok_or(ProofRejection::NoProof)?;
        if values.next().is_some() {
            return Err(ProofRejection::Malformed);
        }
        let text = value.to_str().map_err(|_| ProofRejection::Malformed)?;
        let proof = parse_proof(text)?;
        let key = self.secrets.get(proof.kid).ok_or(ProofRejection::UnknownKid)?;
        let now = self.clock.now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        check_proof(&proof, &key.secret, &self.origin_id, now, self.skew.as_secs())?;
        if let Some(cache) = &self.cache {
            let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
            if !cache.check_and_add(proof.nonce, self.clock.monotonic()) {
                return Err(ProofRejection::Replayed);
            }
        }
        Ok((key.label.as_str(), proof.kid.to_owned()))
    }

    fn context(&self, authenticated: bool, label: &str, kid: &str, reason: &str) -> AuthContext {
        // An unverified request in `allow` mode proceeds as the anonymous caller.
        let mut ctx =
            if authenticated { AuthContext::authenticated(CLAIMS_DOMAIN, label) } else { AuthContext::anonymous() };
        let verified = if authenticated { "true" } else { "false" };
        for (name, value) in
            [("verified", verified), ("proxy", label), ("kid", kid), ("origin_id", &self.origin_id), ("reason", reason)]
        {
            ctx.claims.insert(format!("{CLAIMS_DOMAIN}.{name}"), value.to_owned());
        }
        ctx
    }
}

impl Authenticator for ProxyProofGate {
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        match self.verify(req.headers) {
            Ok((label, kid)) => {
                self.verified.fetch_add(1, Ordering::Relaxed);
                Ok(self.context(true, label, &kid, "ok"))
            }
            Err(rejection) => {
                self.unverified.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    proof_reason = rejection.as_str(),
                    mode = self.mode.as_str(),
                    remote_addr = req.remote_addr.map(|a| a.to_string()).unwrap_or_default(),
                    "proxy proof rejected"
                );
                match self.mode {
                    ProofMode::Require => Err(AuthFailure::proxy_required(REJECTION_DETAIL)),
                    _ => Ok(self.context(false, "", "", rejection.as_str())),
                }
            }
        }
    }

    fn proxy_headers(&self) -> Vec<String> {
        // Only `require` can refuse, so only `require` sends the proxy note.
        match self.mode {
            ProofMode::Require => vec![PROOF_HEADER.to_owned()],
            _ => Vec::new(),
        }
    }

    fn precondition_gate(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
