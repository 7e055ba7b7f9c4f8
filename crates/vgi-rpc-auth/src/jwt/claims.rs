//! JWT claim checks (RFC 7519 §4.1) on a payload whose signature has
//! already verified: `exp` (required), `nbf`, `iat` types, `iss` and `aud`
//! against the configured sets, with a clock-skew allowance.

use std::collections::HashSet;

use serde_json::{Map, Value};

/// What the claims must satisfy.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClaimRules {
    /// Accepted issuers; when non-empty, `iss` is required and must be one.
    pub(crate) issuers: HashSet<String>,
    /// Accepted audiences; when non-empty, `aud` is required and must name
    /// one. When empty, a token that carries `aud` is refused (RFC 7519
    /// §4.1.3: a recipient that cannot identify itself in `aud` rejects).
    pub(crate) audiences: HashSet<String>,
    /// Clock-skew allowance for `exp` / `nbf`, in seconds.
    pub(crate) leeway: u64,
}

/// Why the claims were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// Outside the `nbf`..`exp` window (beyond the leeway).
    OutsideWindow,
    /// Anything else: a missing or mistyped claim, issuer, audience.
    Invalid,
}

fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, ClaimError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(ClaimError::Invalid),
    }
}

impl ClaimRules {
    /// Check `claims` at `now` (seconds since the Unix epoch).
    pub(crate) fn check(&self, claims: &Map<String, Value>, now: u64) -> Result<(), ClaimError> {
        let exp = numeric_date(claims, "exp")?.ok_or(ClaimError::Invalid)?;
        let nbf = numeric_date(claims, "nbf")?;
        numeric_date(claims, "iat")?;
        match claims.get("iss") {
            Some(Value::String(iss)) if self.issuers.is_empty() || self.issuers.contains(iss) => {}
            None if self.issuers.is_empty() => {}
            _ => return Err(ClaimError::Invalid),
        }
        let audience_ok = match claims.get("aud") {
            None => self.audiences.is_empty(),
            Some(Value::String(aud)) => self.audiences.contains(aud),
            Some(Value::Array(auds)) => {
                let names: Option<Vec<&str>> = auds.iter().map(Value::as_str).collect();
                names.is_some_and(|names| names.iter().any(|a| self.audiences.contains(*a)))
            }
            Some(_) => false,
        };
        if !audience_ok {
            return Err(ClaimError::Invalid);
        }
        let (now, leeway) = (now as f64, self.leeway as f64);
        if now >= exp + leeway || nbf.is_some_and(|nbf| now + leeway < nbf) {
            return Err(ClaimError::OutsideWindow);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuers: ["https://iss".to_string()].into(),
            audiences: ["svc".to_string(), "other".to_string()].into(),
            leeway: 30,
        }
    }

    fn check(rules: &ClaimRules, claims: Value) -> Result<(), ClaimError> {
        rules.check(claims.as_object().unwrap(), NOW)
    }

    #[test]
    fn window_with_leeway() {
        let r = rules();
        let base = |exp: u64| json!({"iss": "https://iss", "aud": "svc", "exp": exp});
        assert_eq!(check(&r, base(NOW + 1)), Ok(()));
        assert_eq!(check(&r, base(NOW - 29)), Ok(()));
        assert_eq!(check(&r, base(NOW - 30)), Err(ClaimError::OutsideWindow));
        let mut c = base(NOW + 100);
        c["nbf"] = json!(NOW + 30);
        assert_eq!(check(&r, c.clone()), Ok(()));
        c["nbf"] = json!(NOW + 31);
        assert_eq!(check(&r, c), Err(ClaimError::OutsideWindow));
        assert_eq!(check(&r, json!({"iss": "https://iss", "aud": "svc", "exp": (NOW + 5) as f64 + 0.5})), Ok(()));
    }

    #[test]
    fn required_and_typed_claims() {
        let r = rules();
        assert_eq!(check(&r, json!({"iss": "https://iss", "aud": "svc"})), Err(ClaimError::Invalid));
        assert_eq!(check(&r, json!({"iss": "https://iss", "aud": "svc", "exp": "soon"})), Err(ClaimError::Invalid));
        let c = json!({"iss": "https://iss", "aud": "svc", "exp": NOW + 60, "iat": "x"});
        assert_eq!(check(&r, c), Err(ClaimError::Invalid));
        let c = json!({"iss": "https://iss", "aud": "svc", "exp": NOW + 60, "nbf": null});
        assert_eq!(check(&r, c), Err(ClaimError::Invalid));
    }

    #[test]
    fn issuer_and_audience() {
        let r = rules();
        let ok = json!({"iss": "https://iss", "aud": ["x", "other"], "exp": NOW + 60});
        assert_eq!(check(&r, ok), Ok(()));
        for bad in [
            json!({"iss": "https://evil", "aud": "svc", "exp": NOW + 60}),
            json!({"aud": "svc", "exp": NOW + 60}),
            json!({"iss": "https://iss", "exp": NOW + 60}),
            json!({"iss": "https://iss", "aud": "nope", "exp": NOW + 60}),
            json!({"iss": "https://iss", "aud": ["svc", 3], "exp": NOW + 60}),
            json!({"iss": "https://iss", "aud": [], "exp": NOW + 60}),
            json!({"iss": 1, "aud": "svc", "exp": NOW + 60}),
        ] {
            assert_eq!(check(&r, bad.clone()), Err(ClaimError::Invalid), "{bad}");
        }
        // Nothing configured: any issuer, and no audience allowed.
        let open = ClaimRules::default();
        assert_eq!(check(&open, json!({"iss": "whoever", "exp": NOW + 60})), Ok(()));
        assert_eq!(check(&open, json!({"exp": NOW + 60})), Ok(()));
        assert_eq!(check(&open, json!({"aud": "svc", "exp": NOW + 60})), Err(ClaimError::Invalid));
    }
}
