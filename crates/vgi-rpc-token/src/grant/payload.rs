//! The sealed grant's plaintext: a fixed little-endian record
//! `issued_at i64, expires_at i64, grant_id, principal, purpose, u16 count,
//! scopes…`, every string a `u16` byte length then UTF-8. Decoding is strict:
//! exact lengths, valid UTF-8, nothing trailing.

/// What a verified grant says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantClaims {
    /// Whose standing delegation this is: the caller it was minted for.
    pub principal: String,
    /// What it may do; the worker interprets them.
    pub scopes: Vec<String>,
    /// Why it was minted, for the audit trail.
    pub purpose: String,
    /// Correlation handle (not a secret).
    pub grant_id: String,
    /// Seconds since the Unix epoch.
    pub issued_at: i64,
    /// Seconds since the Unix epoch.
    pub expires_at: i64,
}

impl GrantClaims {
    /// The plaintext record these claims seal as; `None` when a field does
    /// not fit (a string over 65535 bytes, more than 65535 scopes).
    pub fn to_payload(&self) -> Option<Vec<u8>> {
        encode(self).ok()
    }
}

/// A field that does not fit the record (a string over 65535 bytes, or more
/// than 65535 scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldTooLong;

fn put_text(out: &mut Vec<u8>, text: &str) -> Result<(), FieldTooLong> {
    let len = u16::try_from(text.len()).map_err(|_| FieldTooLong)?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// Encode `claims` as the payload record.
pub(crate) fn encode(claims: &GrantClaims) -> Result<Vec<u8>, FieldTooLong> {
    let count = u16::try_from(claims.scopes.len()).map_err(|_| FieldTooLong)?;
    let text_len: usize = claims.scopes.iter().map(|s| s.len() + 2).sum::<usize>()
        + claims.grant_id.len()
        + claims.principal.len()
        + claims.purpose.len();
    let mut out = Vec::with_capacity(16 + 8 + text_len);
    out.extend_from_slice(&claims.issued_at.to_le_bytes());
    out.extend_from_slice(&claims.expires_at.to_le_bytes());
    put_text(&mut out, &claims.grant_id)?;
    put_text(&mut out, &claims.principal)?;
    put_text(&mut out, &claims.purpose)?;
    out.extend_from_slice(&count.to_le_bytes());
    for scope in &claims.scopes {
        put_text(&mut out, scope)?;
    }
    Ok(out)
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn text(&mut self) -> Option<String> {
        let len = usize::from(self.u16()?);
        std::str::from_utf8(self.take(len)?).ok().map(str::to_owned)
    }
}

/// Decode a payload record; `None` for anything but an exact, valid one.
pub(crate) fn decode(payload: &[u8]) -> Option<GrantClaims> {
    let mut c = Cursor { rest: payload };
    let issued_at = c.i64()?;
    let expires_at = c.i64()?;
    let grant_id = c.text()?;
    let principal = c.text()?;
    let purpose = c.text()?;
    let count = c.u16()?;
    let scopes = (0..count).map(|_| c.text()).collect::<Option<Vec<String>>>()?;
    if !c.rest.is_empty() {
        return None;
    }
    Some(GrantClaims { principal, scopes, purpose, grant_id, issued_at, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GrantClaims {
        GrantClaims {
            principal: "zoë".into(),
            scopes: vec!["read".into(), String::new()],
            purpose: "p".into(),
            grant_id: "g".into(),
            issued_at: -5,
            expires_at: 1 << 40,
        }
    }

    #[test]
    fn a_record_round_trips_and_every_truncation_or_extension_is_refused() {
        let bytes = encode(&sample()).expect("fits");
        assert_eq!(decode(&bytes), Some(sample()));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "truncated at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None, "trailing byte");
    }

    #[test]
    fn invalid_utf8_and_oversized_fields_are_refused() {
        let mut bytes = encode(&sample()).expect("fits");
        // grant_id "g" sits after the two timestamps and its length.
        bytes[18] = 0xFF;
        assert_eq!(decode(&bytes), None);
        let mut long = sample();
        long.purpose = "x".repeat(70_000);
        assert_eq!(encode(&long), Err(FieldTooLong));
    }
}
