//! `vgi_rpc.Identity.v2` (WIRE_PROTOCOL.md §16): resolving a credential and
//! minting a standing grant, as an ordinary co-hosted protocol, plus the
//! bearer authenticators that accept what it vouches for.
//!
//! * [`IdentityConfig`] → [`Identity`]: the deployment's hooks
//!   (`resolve_token`, `mint_grant`), the introspector allowlist (required
//!   with a resolver; no permissive default), the freshness ceiling and,
//!   optionally, sealed-grant keys (the framework then mints grants itself
//!   unless the worker supplies a hook). [`Identity::protocol`] hosts only
//!   the methods whose hook is configured, so the protocol hash narrows with
//!   them; no hook at all means no protocol.
//! * [`guards`]: the normative guards (authorization before the credential
//!   is touched; trimmed JWS-shape test; 4096-byte cap on what arrived;
//!   `auth_time` freshness). [`errors`]: the five wire `error_kind`s, with
//!   uniform messages that never echo a credential.
//! * [`bearer`]: [`GrantAuthenticator`] (sealed grants, `domain "grant"`),
//!   [`ResolveTokenAuthenticator`] (`domain "token"`, outages are 503) and
//!   [`compose_identity`], which appends both after the deployment's own
//!   authenticator in the normative order.

pub mod bearer;
pub mod errors;
pub mod guards;
pub mod records;
pub mod service;

pub use bearer::{compose_identity, ComposeError, GrantAuthenticator, ResolveTokenAuthenticator};
pub use errors::{HookError, IdentityError};
pub use records::{IssuedGrant, TokenIdentity};
pub use service::{Identity, IdentityConfig, IdentityConfigError, MintHook, ResolveHook};

/// The protocol's routing key.
pub const IDENTITY_PROTOCOL: &str = "vgi_rpc.Identity.v2";
/// `AuthContext::domain` of a grant-authenticated request.
pub const GRANT_AUTH_DOMAIN: &str = "grant";
/// `AuthContext::domain` of a request authenticated through `resolve_token`.
pub const TOKEN_AUTH_DOMAIN: &str = "token";
