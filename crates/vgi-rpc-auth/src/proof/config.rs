//! Worker-side proxy-proof configuration (`docs/proxy-proof-spec.md` §5.2,
//! §5.3, §7): the mode, the `kid → (secret, label)` map and its strict
//! `kid:<64 hex>,…` syntax, and validation that fails closed — a worker
//! that cannot verify what the operator configured refuses to start.
//!
//! Error messages name the offending `kid` or entry position, never secret
//! material.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::replay::DEFAULT_CAPACITY;
use super::token::{valid_kid, valid_origin_id, Secret, KID_PATTERN, ORIGIN_PATTERN, SECRET_LEN};

/// Environment variable holding the secret map when no flag supplies it.
pub const SECRETS_ENV: &str = "VGI_PROXY_PROOF_SECRETS";
/// Default half-width of the timestamp window.
pub const DEFAULT_SKEW: Duration = Duration::from_secs(30);

/// How the gate treats a request (§7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ProofMode {
    /// No gate at all: nothing is read, nothing is emitted.
    #[default]
    Off,
    /// Verify and record, never deny.
    Allow,
    /// A request without a valid proof is a 401.
    Require,
}

impl ProofMode {
    /// The configuration spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProofMode::Off => "off",
            ProofMode::Allow => "allow",
            ProofMode::Require => "require",
        }
    }
}

impl fmt::Display for ProofMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProofMode {
    type Err = ProofConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(ProofMode::Off),
            "allow" => Ok(ProofMode::Allow),
            "require" => Ok(ProofMode::Require),
            other => Err(ProofConfigError::Mode(other.to_owned())),
        }
    }
}

/// Why a proxy-proof configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofConfigError {
    /// Not one of `off`, `allow`, `require`.
    #[error("proof mode must be off, allow or require, got {0:?}")]
    Mode(String),
    /// A gate was requested for `off` mode, which installs none.
    #[error("proof mode is off: install no gate")]
    ModeOff,
    /// `origin_id` missing or out of its charset in `allow`/`require`.
    #[error("proof origin id is required in {mode} mode and must match {ORIGIN_PATTERN}")]
    OriginId {
        /// The configured mode.
        mode: ProofMode,
    },
    /// No secret configured in `allow`/`require`.
    #[error("at least one proof secret is required in {mode} mode")]
    NoSecrets {
        /// The configured mode.
        mode: ProofMode,
    },
    /// An entry of the secret list is not `kid:hex`.
    #[error("proof secret entry {position} is not 'kid:hex'")]
    Entry {
        /// 1-based position in the comma-separated list.
        position: usize,
    },
    /// A `kid` outside `[A-Za-z0-9_-]{1,64}`.
    #[error("proof secret entry {position}: kid must match {KID_PATTERN}")]
    Kid {
        /// 1-based position in the comma-separated list.
        position: usize,
    },
    /// The same `kid` twice.
    #[error("proof secret kid {kid:?} is configured twice")]
    DuplicateKid {
        /// The repeated key id.
        kid: String,
    },
    /// A secret that is not exactly 64 hex characters.
    #[error("proof secret for kid {kid:?} must be exactly {} hex characters ({SECRET_LEN} bytes)", SECRET_LEN * 2)]
    SecretHex {
        /// The key id whose secret is bad.
        kid: String,
    },
    /// A non-positive skew.
    #[error("proof skew must be at least one second")]
    Skew,
}

/// One configured key: its secret, and the label naming the proxy that holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProofKey {
    /// The 32-byte shared secret.
    pub secret: Secret,
    /// The operator's name for the calling proxy (attributed only after the MAC verifies).
    pub label: String,
}

impl fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofKey").field("label", &self.label).finish_non_exhaustive()
    }
}

/// The `kid → key` map.
pub type ProofSecrets = BTreeMap<String, ProofKey>;

/// Parse `kid:<64 hex>,kid:<64 hex>`; each `kid` is also its label. Blank
/// entries between commas are ignored; anything else malformed refuses the
/// whole list — a partial parse would silently drop a proxy's access.
pub fn parse_secrets(raw: &str) -> Result<ProofSecrets, ProofConfigError> {
    let mut out = ProofSecrets::new();
    for (index, item) in raw.split(',').map(str::trim).enumerate() {
        let position = index + 1;
        if item.is_empty() {
            continue;
        }
        let (kid, hex_secret) = item.split_once(':').ok_or(ProofConfigError::Entry { position })?;
        if !valid_kid(kid) {
            return Err(ProofConfigError::Kid { position });
        }
        let secret = parse_secret_hex(hex_secret).ok_or_else(|| ProofConfigError::SecretHex { kid: kid.to_owned() })?;
        if out.insert(kid.to_owned(), ProofKey { secret, label: kid.to_owned() }).is_some() {
            return Err(ProofConfigError::DuplicateKid { kid: kid.to_owned() });
        }
    }
    Ok(out)
}

fn parse_secret_hex(text: &str) -> Option<Secret> {
    if text.len() != SECRET_LEN * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut secret = [0u8; SECRET_LEN];
    hex::decode_to_slice(text, &mut secret).ok()?;
    Some(secret)
}

/// Everything a worker needs to verify proofs.
#[derive(Debug, Clone)]
pub struct ProxyProofConfig {
    /// `off`, `allow` or `require`.
    pub mode: ProofMode,
    /// This worker's identifier, folded into every MAC and never transmitted.
    pub origin_id: String,
    /// Accepted keys.
    pub secrets: ProofSecrets,
    /// Half-width of the timestamp window.
    pub skew: Duration,
    /// Hard cap of the nonce cache; `None` disables replay rejection (the
    /// timestamp window alone then bounds replay).
    pub replay_capacity: Option<usize>,
}

impl Default for ProxyProofConfig {
    fn default() -> Self {
        Self {
            mode: ProofMode::Off,
            origin_id: String::new(),
            secrets: ProofSecrets::new(),
            skew: DEFAULT_SKEW,
            replay_capacity: Some(DEFAULT_CAPACITY),
        }
    }
}

impl ProxyProofConfig {
    /// Check the configuration as §5.3 requires. `off` is always valid.
    pub fn validate(&self) -> Result<(), ProofConfigError> {
        if self.mode == ProofMode::Off {
            return Ok(());
        }
        if !valid_origin_id(&self.origin_id) {
            return Err(ProofConfigError::OriginId { mode: self.mode });
        }
        if self.secrets.is_empty() {
            return Err(ProofConfigError::NoSecrets { mode: self.mode });
        }
        if let Some(position) = self.secrets.keys().position(|kid| !valid_kid(kid)) {
            return Err(ProofConfigError::Kid { position: position + 1 });
        }
        if self.skew.as_secs() == 0 {
            return Err(ProofConfigError::Skew);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX1: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn modes() {
        for mode in [ProofMode::Off, ProofMode::Allow, ProofMode::Require] {
            assert_eq!(mode.as_str().parse::<ProofMode>(), Ok(mode));
        }
        assert_eq!("REQUIRE".parse::<ProofMode>(), Err(ProofConfigError::Mode("REQUIRE".into())));
        assert_eq!(ProofMode::default(), ProofMode::Off);
    }

    #[test]
    fn secrets_parse_strictly() {
        let parsed = parse_secrets(&format!(" a:{HEX1} ,, b-2:{} ", HEX1.to_uppercase().replace('1', "2"))).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["a"].secret, [0x11; 32]);
        assert_eq!(parsed["a"].label, "a");
        assert_eq!(parsed["b-2"].secret, [0x22; 32]);
        assert!(parse_secrets("").unwrap().is_empty());

        let short = &HEX1[..62];
        let cases: [(String, ProofConfigError); 8] = [
            ("nocolon".into(), ProofConfigError::Entry { position: 1 }),
            (format!("a:{HEX1},b"), ProofConfigError::Entry { position: 2 }),
            (format!("a.b:{HEX1}"), ProofConfigError::Kid { position: 1 }),
            (format!(":{HEX1}"), ProofConfigError::Kid { position: 1 }),
            (format!("a:{short}"), ProofConfigError::SecretHex { kid: "a".into() }),
            (format!("a:{HEX1}00"), ProofConfigError::SecretHex { kid: "a".into() }),
            (format!("a:{}zz", &HEX1[..62]), ProofConfigError::SecretHex { kid: "a".into() }),
            (format!("a:{HEX1},a:{HEX1}"), ProofConfigError::DuplicateKid { kid: "a".into() }),
        ];
        for (raw, want) in cases {
            let err = parse_secrets(&raw).unwrap_err();
            assert_eq!(err, want, "{raw}");
            assert!(!err.to_string().contains(HEX1), "secret leaked into {err}");
        }
    }

    #[test]
    fn validation_fails_closed() {
        let secrets = parse_secrets(&format!("a:{HEX1}")).unwrap();
        let good = ProxyProofConfig {
            mode: ProofMode::Require,
            origin_id: "worker-1".into(),
            secrets: secrets.clone(),
            ..ProxyProofConfig::default()
        };
        assert_eq!(good.validate(), Ok(()));
        assert_eq!(ProxyProofConfig::default().validate(), Ok(()), "off needs nothing");

        let no_origin = ProxyProofConfig { origin_id: String::new(), ..good.clone() };
        assert_eq!(no_origin.validate(), Err(ProofConfigError::OriginId { mode: ProofMode::Require }));
        let bad_origin = ProxyProofConfig { origin_id: "a b".into(), mode: ProofMode::Allow, ..good.clone() };
        assert_eq!(bad_origin.validate(), Err(ProofConfigError::OriginId { mode: ProofMode::Allow }));
        let no_secrets = ProxyProofConfig { secrets: ProofSecrets::new(), ..good.clone() };
        assert_eq!(no_secrets.validate(), Err(ProofConfigError::NoSecrets { mode: ProofMode::Require }));
        let zero_skew = ProxyProofConfig { skew: Duration::ZERO, ..good.clone() };
        assert_eq!(zero_skew.validate(), Err(ProofConfigError::Skew));
        let mut bad_kid = good;
        bad_kid.secrets.insert("a.b".into(), ProofKey { secret: [0; 32], label: "x".into() });
        assert!(matches!(bad_kid.validate(), Err(ProofConfigError::Kid { .. })));
    }

    #[test]
    fn debug_hides_secret() {
        let key = ProofKey { secret: [0xab; 32], label: "edge".into() };
        let shown = format!("{key:?}");
        assert_eq!(shown, "ProofKey { label: \"edge\", .. }");
    }
}
