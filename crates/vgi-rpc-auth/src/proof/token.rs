//! The proof token itself (`docs/proxy-proof-spec.md` §3–§6): charset
//! checks, the canonical MAC input, key derivation, minting, and the
//! verifier's table of reason codes.
//!
//! Every field is checked against its charset *before* anything is decoded
//! or hashed, so an out-of-charset value is always [`ProofRejection::Malformed`]
//! and the NUL-separated canonical string is unambiguous.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Version tag, the token's first field.
pub(crate) const VERSION: &str = "v1";
/// Longest header value accepted, checked before parsing.
pub const MAX_HEADER_BYTES: usize = 512;
/// Length of every shared secret and of a proxy's base key.
pub const SECRET_LEN: usize = 32;
/// Random bytes in a nonce (22 base64url characters).
pub(crate) const NONCE_BYTES: usize = 16;

const DOMAIN_PREFIX: &[u8] = b"vgi.proxy.proof.v1";
const DERIVE_LABEL: &[u8] = b"vgi.proxy.proof.v1/";
const NONCE_CHARS: usize = 22;
const MAC_CHARS: usize = 43;

/// A 32-byte secret shared by one proxy and one worker.
pub type Secret = [u8; SECRET_LEN];

/// Why a proof did not verify (§6). These codes go to logs only: the caller
/// always sees the single `proxy_required` refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofRejection {
    /// No `VGI-Proxy-Proof` header.
    NoProof,
    /// Repeated, empty, oversized, wrongly split, or out-of-charset.
    Malformed,
    /// The claimed `kid` has no configured secret.
    UnknownKid,
    /// `now - ts > skew`.
    Expired,
    /// `ts - now > skew`.
    NotYetValid,
    /// The recomputed MAC differs.
    BadMac,
    /// The nonce was already accepted within the window.
    Replayed,
}

impl ProofRejection {
    /// The spec's reason code.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProofRejection::NoProof => "no_proof",
            ProofRejection::Malformed => "malformed",
            ProofRejection::UnknownKid => "unknown_kid",
            ProofRejection::Expired => "expired",
            ProofRejection::NotYetValid => "not_yet_valid",
            ProofRejection::BadMac => "bad_mac",
            ProofRejection::Replayed => "replayed",
        }
    }
}

impl fmt::Display for ProofRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that cannot be used to mint or derive (out of its charset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must match {pattern}")]
pub struct InvalidIdentifier {
    /// Which input was refused (`kid`, `origin_id`, `proxy_id`, `nonce`).
    pub field: &'static str,
    /// The charset it must match.
    pub pattern: &'static str,
}

pub(crate) const KID_PATTERN: &str = "[A-Za-z0-9_-]{1,64}";
pub(crate) const ORIGIN_PATTERN: &str = "[A-Za-z0-9._:/-]{1,255}";

fn b64url_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// `kid`: `[A-Za-z0-9_-]{1,64}` — no dots, so wire splitting is unambiguous.
pub fn valid_kid(kid: &str) -> bool {
    (1..=64).contains(&kid.len()) && kid.bytes().all(b64url_char)
}

/// `origin_id` / `proxy_id`: `[A-Za-z0-9._:/-]{1,255}`.
pub fn valid_origin_id(id: &str) -> bool {
    (1..=255).contains(&id.len()) && id.bytes().all(|b| b64url_char(b) || matches!(b, b'.' | b':' | b'/'))
}

fn valid_ts(ts: &str) -> bool {
    (1..=20).contains(&ts.len()) && ts.bytes().all(|b| b.is_ascii_digit())
}

fn valid_nonce(nonce: &str) -> bool {
    nonce.len() == NONCE_CHARS && nonce.bytes().all(b64url_char)
}

fn valid_mac(mac: &str) -> bool {
    mac.len() == MAC_CHARS && mac.bytes().all(b64url_char)
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// The MAC input (§4): `"vgi.proxy.proof.v1" NUL kid NUL ts NUL nonce NUL origin_id`.
/// Callers validate every part's charset first.
pub fn canonical_string(kid: &str, ts: &str, nonce: &str, origin_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN_PREFIX.len() + kid.len() + ts.len() + nonce.len() + origin_id.len() + 4);
    out.extend_from_slice(DOMAIN_PREFIX);
    for part in [kid, ts, nonce, origin_id] {
        out.push(0);
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn compute_mac(secret: &Secret, kid: &str, ts: &str, nonce: &str, origin_id: &str) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(secret);
    mac.update(&canonical_string(kid, ts, nonce, origin_id));
    mac
}

/// Derive the secret one proxy shares with one worker (§5.1):
/// `HMAC-SHA256(base_key, "vgi.proxy.proof.v1/" proxy_id NUL origin_id)`.
pub fn derive_secret(base_key: &Secret, proxy_id: &str, origin_id: &str) -> Result<Secret, InvalidIdentifier> {
    if !valid_origin_id(proxy_id) {
        return Err(InvalidIdentifier { field: "proxy_id", pattern: ORIGIN_PATTERN });
    }
    if !valid_origin_id(origin_id) {
        return Err(InvalidIdentifier { field: "origin_id", pattern: ORIGIN_PATTERN });
    }
    let mut mac = hmac_sha256(base_key);
    mac.update(DERIVE_LABEL);
    mac.update(proxy_id.as_bytes());
    mac.update(&[0]);
    mac.update(origin_id.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

/// A fresh nonce: 16 CSPRNG bytes, base64url without padding.
pub fn random_nonce() -> Result<String, getrandom::Error> {
    let mut raw = [0u8; NONCE_BYTES];
    getrandom::fill(&mut raw)?;
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// Errors minting a proof.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// `kid`, `origin_id` or the supplied nonce is out of its charset.
    #[error(transparent)]
    Invalid(#[from] InvalidIdentifier),
    /// The operating system's CSPRNG failed.
    #[error("no randomness for the nonce: {0}")]
    Random(getrandom::Error),
}

/// Mint a `VGI-Proxy-Proof` header value for `origin_id`, stamped `now_unix`
/// (wall-clock seconds). `nonce` is for tests; `None` draws a fresh one, as
/// every real request must.
pub fn mint_proof(
    secret: &Secret,
    kid: &str,
    origin_id: &str,
    now_unix: u64,
    nonce: Option<&str>,
) -> Result<String, MintError> {
    if !valid_kid(kid) {
        return Err(InvalidIdentifier { field: "kid", pattern: KID_PATTERN }.into());
    }
    if !valid_origin_id(origin_id) {
        return Err(InvalidIdentifier { field: "origin_id", pattern: ORIGIN_PATTERN }.into());
    }
    let nonce = match nonce {
        Some(n) if valid_nonce(n) => n.to_owned(),
        Some(_) => return Err(InvalidIdentifier { field: "nonce", pattern: "[A-Za-z0-9_-]{22}" }.into()),
        None => random_nonce().map_err(MintError::Random)?,
    };
    let ts = now_unix.to_string();
    let tag = compute_mac(secret, kid, &ts, &nonce, origin_id).finalize().into_bytes();
    Ok(format!("{VERSION}.{kid}.{ts}.{nonce}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

/// A token that passed steps 2–4 (shape and charsets); nothing is verified yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedProof<'a> {
    /// The *claimed* key id: log it as such, never act on it.
    pub kid: &'a str,
    /// The timestamp field, digits only.
    pub ts: &'a str,
    /// The nonce field.
    pub nonce: &'a str,
    /// The MAC field, still base64url.
    pub mac: &'a str,
}

/// Steps 2–4: length bound, exactly five fields, `v1`, and every charset.
pub fn parse_proof(value: &str) -> Result<ParsedProof<'_>, ProofRejection> {
    if value.is_empty() || value.len() > MAX_HEADER_BYTES {
        return Err(ProofRejection::Malformed);
    }
    let mut fields = value.split('.');
    let (Some(version), Some(kid), Some(ts), Some(nonce), Some(mac), None) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(ProofRejection::Malformed);
    };
    if version != VERSION || !valid_kid(kid) || !valid_ts(ts) || !valid_nonce(nonce) || !valid_mac(mac) {
        return Err(ProofRejection::Malformed);
    }
    Ok(ParsedProof { kid, ts, nonce, mac })
}

/// Steps 6–8 for one parsed token against the secret its `kid` selected:
/// the two-sided window, then the constant-time MAC comparison.
pub fn check_proof(
    proof: &ParsedProof<'_>,
    secret: &Secret,
    origin_id: &str,
    now_unix: u64,
    skew_seconds: u64,
) -> Result<(), ProofRejection> {
    // Up to 20 digits overflows u64, never i128.
    let ts: i128 = proof.ts.parse().map_err(|_| ProofRejection::Malformed)?;
    let age = i128::from(now_unix) - ts;
    let skew = i128::from(skew_seconds);
    if age > skew {
        return Err(ProofRejection::Expired);
    }
    if -age > skew {
        return Err(ProofRejection::NotYetValid);
    }
    // Canonical encodings only: a tag whose last character carries non-zero
    // padding bits is refused rather than silently normalised.
    let received = URL_SAFE_NO_PAD.decode(proof.mac).map_err(|_| ProofRejection::BadMac)?;
    compute_mac(secret, proof.kid, proof.ts, proof.nonce, origin_id)
        .verify_slice(&received)
        .map_err(|_| ProofRejection::BadMac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: Secret = [0x11; 32];
    const KID: &str = "conformance-proxy";
    const ORIGIN: &str = "conformance-origin";
    const NONCE: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn canonical_framing() {
        assert_eq!(canonical_string("k", "1", "n", "o"), b"vgi.proxy.proof.v1\x00k\x001\x00n\x00o".to_vec());
    }

    #[test]
    fn mint_is_deterministic_and_checks() {
        let token = mint_proof(&SECRET, KID, ORIGIN, 1_700_000_000, Some(NONCE)).unwrap();
        assert_eq!(token, mint_proof(&SECRET, KID, ORIGIN, 1_700_000_000, Some(NONCE)).unwrap());
        let parsed = parse_proof(&token).unwrap();
        assert_eq!((parsed.kid, parsed.ts, parsed.nonce), (KID, "1700000000", NONCE));
        assert_eq!(parsed.mac.len(), 43);
        assert_eq!(check_proof(&parsed, &SECRET, ORIGIN, 1_700_000_000, 30), Ok(()));
        // The MAC is HMAC-SHA256 over the canonical string, nothing else.
        let mut mac = hmac_sha256(&SECRET);
        mac.update(&canonical_string(KID, "1700000000", NONCE, ORIGIN));
        assert_eq!(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()), parsed.mac);
        // Fresh nonces differ.
        let a = mint_proof(&SECRET, KID, ORIGIN, 1, None).unwrap();
        let b = mint_proof(&SECRET, KID, ORIGIN, 1, None).unwrap();
        assert_ne!(parse_proof(&a).unwrap().nonce, parse_proof(&b).unwrap().nonce);
    }

    #[test]
    fn mint_refuses_bad_identifiers() {
        assert!(matches!(mint_proof(&SECRET, "a.b", ORIGIN, 1, None), Err(MintError::Invalid(e)) if e.field == "kid"));
        assert!(
            matches!(mint_proof(&SECRET, KID, "bad origin", 1, None), Err(MintError::Invalid(e)) if e.field == "origin_id")
        );
        assert!(
            matches!(mint_proof(&SECRET, KID, ORIGIN, 1, Some("short")), Err(MintError::Invalid(e)) if e.field == "nonce")
        );
    }

    #[test]
    fn charsets() {
        assert!(valid_kid("a") && valid_kid("A-z_0") && valid_kid(&"k".repeat(64)));
        assert!(!valid_kid("") && !valid_kid("a.b") && !valid_kid("bad!") && !valid_kid(&"k".repeat(65)));
        assert!(valid_origin_id("svc.example:443/a-b_c") && valid_origin_id(&"o".repeat(255)));
        assert!(!valid_origin_id("") && !valid_origin_id("a b") && !valid_origin_id("a\0b"));
        assert!(!valid_origin_id(&"o".repeat(256)));
        assert!(valid_ts("0") && valid_ts(&"9".repeat(20)) && !valid_ts(&"9".repeat(21)) && !valid_ts("+1"));
        assert!(!valid_nonce(&"A".repeat(21)) && !valid_nonce("AAAAAAAAAAAAAAAAAAAAA=") && valid_nonce(NONCE));
        assert!(!valid_mac(&"A".repeat(42)) && !valid_mac(&format!("{}+", "A".repeat(42))));
    }

    #[test]
    fn parse_rejections_are_malformed() {
        let mac = "A".repeat(43);
        let cases = [
            String::new(),
            "garbage".into(),
            "v1.a.b.c".into(),
            "v1.a.b.c.d.e".into(),
            format!("v2.k.1.{NONCE}.{mac}"),
            format!("v1.bad!kid.1.{NONCE}.{mac}"),
            format!("v1.k.notanumber.{NONCE}.{mac}"),
            format!("v1.k.+1.{NONCE}.{mac}"),
            format!("v1.k.1.short.{mac}"),
            format!("v1.k.1.{NONCE}.{}", "A".repeat(42)),
            format!("v1.k.1.{NONCE}.{}=", "A".repeat(42)),
            format!("v1.k.1.{NONCE}.{}/", "A".repeat(42)),
            format!("v1.{}.1.{NONCE}.{mac}", "k".repeat(65)),
            format!("v1.k.{}.{NONCE}.{mac}", "1".repeat(21)),
            "v1.".repeat(200),
        ];
        for case in &cases {
            assert_eq!(parse_proof(case), Err(ProofRejection::Malformed), "{case:?}");
        }
        // Oversized even when otherwise plausible.
        let long = format!("v1.k.1.{NONCE}.{mac}{}", "A".repeat(MAX_HEADER_BYTES));
        assert_eq!(parse_proof(&long), Err(ProofRejection::Malformed));
    }

    #[test]
    fn window_is_two_sided() {
        let now = 1_700_000_000;
        let at = |ts| mint_proof(&SECRET, KID, ORIGIN, ts, Some(NONCE)).unwrap();
        let check = |token: &str| check_proof(&parse_proof(token).unwrap(), &SECRET, ORIGIN, now, 30);
        assert_eq!(check(&at(now - 30)), Ok(()));
        assert_eq!(check(&at(now + 30)), Ok(()));
        assert_eq!(check(&at(now - 31)), Err(ProofRejection::Expired));
        assert_eq!(check(&at(now + 31)), Err(ProofRejection::NotYetValid));
        // A 20-digit timestamp is far future, not an overflow.
        let huge = format!("v1.{KID}.{}.{NONCE}.{}", "9".repeat(20), "A".repeat(43));
        assert_eq!(check(&huge), Err(ProofRejection::NotYetValid));
    }

    #[test]
    fn mac_binds_every_field_and_the_audience() {
        let now = 1_700_000_000;
        let token = mint_proof(&SECRET, KID, ORIGIN, now, Some(NONCE)).unwrap();
        let parsed = parse_proof(&token).unwrap();
        assert_eq!(check_proof(&parsed, &SECRET, "other-origin", now, 30), Err(ProofRejection::BadMac));
        assert_eq!(check_proof(&parsed, &[0x22; 32], ORIGIN, now, 30), Err(ProofRejection::BadMac));
        let tampered = ParsedProof { nonce: "BBBBBBBBBBBBBBBBBBBBBB", ..parsed };
        assert_eq!(check_proof(&tampered, &SECRET, ORIGIN, now, 30), Err(ProofRejection::BadMac));
        let tampered = ParsedProof { ts: "1700000001", ..parsed };
        assert_eq!(check_proof(&tampered, &SECRET, ORIGIN, now, 30), Err(ProofRejection::BadMac));
        let zeros = "A".repeat(43);
        let tampered = ParsedProof { mac: &zeros, ..parsed };
        assert_eq!(check_proof(&tampered, &SECRET, ORIGIN, now, 30), Err(ProofRejection::BadMac));
        // Non-zero padding bits in the last character: not canonical, refused.
        let mut bits = parsed.mac.to_owned();
        let last = bits.pop().unwrap();
        bits.push(if last == 'B' { 'C' } else { 'B' });
        let tampered = ParsedProof { mac: &bits, ..parsed };
        assert_eq!(check_proof(&tampered, &SECRET, ORIGIN, now, 30), Err(ProofRejection::BadMac));
        // A MAC over a differently framed string (no NULs) does not verify.
        let mut wrong = hmac_sha256(&SECRET);
        wrong.update(format!("vgi.proxy.proof.v1{KID}{now}{NONCE}{ORIGIN}").as_bytes());
        let wrong = URL_SAFE_NO_PAD.encode(wrong.finalize().into_bytes());
        let tampered = ParsedProof { mac: &wrong, ..parsed };
        assert_eq!(check_proof(&tampered, &SECRET, ORIGIN, now, 30), Err(ProofRejection::BadMac));
    }

    #[test]
    fn derivation() {
        let base = [0x42; 32];
        let a = derive_secret(&base, "prod-use1", ORIGIN).unwrap();
        assert_eq!(a, derive_secret(&base, "prod-use1", ORIGIN).unwrap());
        assert_ne!(a, derive_secret(&base, "prod-euw1", ORIGIN).unwrap());
        assert_ne!(a, derive_secret(&base, "prod-use1", "other-origin").unwrap());
        let mut mac = hmac_sha256(&base);
        mac.update(b"vgi.proxy.proof.v1/prod-use1\0conformance-origin");
        assert_eq!(a.to_vec(), mac.finalize().into_bytes().to_vec());
        assert_eq!(derive_secret(&base, "a b", ORIGIN).unwrap_err().field, "proxy_id");
        assert_eq!(derive_secret(&base, "p", "").unwrap_err().field, "origin_id");
    }
}
