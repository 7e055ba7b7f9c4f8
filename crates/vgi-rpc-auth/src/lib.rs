//! HTTP authentication for vgi-rpc, independent of any web framework.
//!
//! * [`Authenticator`] turns an [`AuthRequest`] (headers, socket peer, path)
//!   into a [`vgi_rpc_core::AuthContext`] or refuses with an [`AuthFailure`]
//!   carrying one of the six [`AuthReason`] codes of
//!   `docs/unauthorized-spec.md` §3.
//! * Built-in authenticators: [`BearerTokens`] (static tokens, constant-time),
//!   [`XfccAuthenticator`] (proxy-terminated mTLS via Envoy's
//!   `x-forwarded-client-cert`, trusted only from configured proxies), and
//!   with the `jwt` feature `JwtAuthenticator` (Bearer JWTs against a JWKS
//!   document or keys fetched from the issuer).
//! * [`ProxyProofGate`]: the proxy-proof precondition
//!   (`docs/proxy-proof-spec.md`), per-request HMAC evidence that a call came
//!   through a trusted proxy; [`mint_proof`] is the proxy side.
//! * Composition: [`Chain`] (alternatives) and [`RequireAll`] (gates AND a
//!   credential), both carrying proxy-header declarations and challenges.
//! * [`identity`]: the `vgi_rpc.Identity.v2` protocol (introspection and
//!   grant issuance behind the framework's guards) and the bearer
//!   authenticators for sealed grants and `resolve_token`.
//! * [`unauthorized()`] renders the standardized 401 (headers, JSON envelope,
//!   or an HTML page for browsers); [`ProtectedResourceMetadata`] is the RFC
//!   9728 document for [`WELL_KNOWN_PATH`].
//!
//! The HTTP transport calls the authenticator before reading the body, and
//! on failure sends [`unauthorized()`] with the union of
//! [`Authenticator::proxy_headers`] and any operator-declared names.

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod authenticator;
pub mod bearer;
pub mod cidr;
pub mod compose;
pub mod identity;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub mod jwt;
pub mod mtls;
pub mod proof;
pub mod reason;
pub mod resource_metadata;
pub mod unauthorized;

pub use authenticator::{from_fn, AuthRequest, Authenticator, FnAuthenticator};
pub use bearer::{bearer_token, BearerTokens};
pub use cidr::{CidrError, IpNet};
pub use compose::{Chain, RequireAll};
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use jwt::{JwksError, JwksSettings, JwtAuthenticator, KeySet, RemoteJwks};
pub use mtls::{parse_xfcc, XfccAuthenticator, XfccElement, XfccError, XfccSelect, XFCC_HEADER};
pub use proof::{
    mint_proof, parse_secrets, ProofConfigError, ProofMode, ProxyProofConfig, ProxyProofGate, PROOF_HEADER,
    PROOF_REQUIRED_HEADER,
};
pub use reason::{AuthFailure, AuthReason};
pub use resource_metadata::{www_authenticate, ProtectedResourceMetadata, WELL_KNOWN_PATH};
pub use unauthorized::{proxy_hint, unauthorized, Unauthorized};
