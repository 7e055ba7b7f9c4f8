//! Sealed stream-state tokens for stateless HTTP streaming
//! (WIRE_PROTOCOL.md §10, "State token binary format").
//!
//! A stream's state is split by lifetime into a **call token**, minted once
//! at `/init`, and a per-turn **cursor token**, bound together by a random
//! `call_id`. Both are AES-256-GCM sealed (under a per-worker epoch key
//! derived from the shared master key) with associated data that
//! names the token kind, the protocol and the caller's identity, so a token
//! minted for one principal (or protocol, or kind) fails to open for
//! another. Payloads are compressed inside the seal under a codec tag and
//! checked against a TTL, after authenticity, on an injectable clock.
//! Every failure is the same uniform [`TokenError`].

#![warn(missing_docs, unreachable_pub)]

pub mod codec;
mod epoch;
pub mod error;
pub mod grant;
pub mod keyring;
pub mod seal;
pub mod tokens;
pub mod xchacha;

pub use error::TokenError;
pub use grant::{GrantClaims, GrantError, GrantKeys, GrantRequest};
pub use keyring::{Key, Keyring};
pub use seal::{Identity, Sealer, TokenKind};
pub use tokens::{CallToken, CursorToken};
