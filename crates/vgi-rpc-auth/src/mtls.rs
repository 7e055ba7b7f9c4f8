//! Proxy-terminated mTLS via Envoy's `x-forwarded-client-cert` (XFCC)
//! header: [`parse_xfcc`], the grammar (comma-separated elements of
//! `;`-separated `Key=Value` pairs, values optionally quoted with `\`
//! escapes), and [`XfccAuthenticator`], which trusts the header only from
//! configured proxy addresses.
//!
//! The proxy terminating TLS must strip any client-supplied XFCC header
//! (Envoy's `SANITIZE_SET`), and the worker must not be reachable except
//! through it; the trusted-peer check enforces the second half.

use vgi_rpc_core::AuthContext;

use crate::authenticator::{AuthRequest, Authenticator};
use crate::cidr::{CidrError, IpNet};
use crate::reason::AuthFailure;

/// The header this module reads.
pub const XFCC_HEADER: &str = "x-forwarded-client-cert";

/// One XFCC element: what one proxy recorded about its client's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XfccElement {
    /// `By`: the URI SAN of the proxy that added the element.
    pub by: Option<String>,
    /// `Hash`: hex SHA-256 of the client certificate.
    pub hash: Option<String>,
    /// `Cert`: the client certificate PEM (URL-decoded).
    pub cert: Option<String>,
    /// `Chain`: the client certificate chain PEM (URL-decoded).
    pub chain: Option<String>,
    /// `Subject`: the certificate's subject DN.
    pub subject: Option<String>,
    /// `URI`: URI SANs, in order.
    pub uri: Vec<String>,
    /// `DNS`: DNS SANs, in order.
    pub dns: Vec<String>,
}

impl XfccElement {
    /// The common name from [`Self::subject`], if any.
    pub fn subject_cn(&self) -> Option<String> {
        self.subject.as_deref().and_then(subject_cn)
    }
}

/// Why an XFCC header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XfccError {
    /// A quoted value has no closing quote.
    #[error("unterminated quoted value")]
    UnterminatedQuote,
    /// A pair has no `=`.
    #[error("pair without '='")]
    MissingEquals,
    /// A pair has an empty key.
    #[error("empty key")]
    EmptyKey,
    /// Something other than `;` or `,` follows a quoted value.
    #[error("unexpected text after quoted value")]
    TrailingText,
    /// A `"` inside an unquoted value.
    #[error("stray quote in unquoted value")]
    StrayQuote,
    /// A single-valued field appears twice in one element.
    #[error("duplicate {0} field")]
    DuplicateField(&'static str),
    /// A URL-encoded field is not valid percent-encoded UTF-8.
    #[error("bad percent-encoding in {0} field")]
    BadEncoding(&'static str),
}

/// One `Key=Value` pair as written: for a quoted value, the raw text between
/// the quotes (backslash escapes still in place).
struct RawPair {
    key: String,
    value: String,
    quoted: bool,
}

/// Parse an XFCC header value into its elements, in header order.
///
/// Commas and semicolons inside quoted values do not split, and `\"` does not
/// end one. `Subject` keeps its text exactly as written between the quotes,
/// because it is an RFC 4514 DN with its own backslash escaping (Envoy
/// writes it unmodified); in other quoted values `\x` stands for `x`. `Cert`
/// and `Chain` are URL-decoded. Empty elements are skipped, unknown keys are
/// ignored, keys compare case-insensitively.
pub fn parse_xfcc(value: &str) -> Result<Vec<XfccElement>, XfccError> {
    let mut elements = Vec::new();
    let mut pairs: Vec<RawPair> = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        match chars.peek() {
            None => break,
            Some(',') => {
                chars.next();
                if !pairs.is_empty() {
                    elements.push(build_element(std::mem::take(&mut pairs))?);
                }
                continue;
            }
            Some(';') => {
                chars.next();
                continue;
            }
            Some(_) => {}
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !matches!(c, '=' | ',' | ';' | '"')) {
            key.push(c);
        }
        match chars.next() {
            Some('=') => {}
            Some('"') => return Err(XfccError::StrayQuote),
            _ => return Err(XfccError::MissingEquals),
        }
        let key = key.trim().to_string();
        if key.is_empty() {
            return Err(XfccError::EmptyKey);
        }
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut val = String::new();
        let quoted = chars.next_if_eq(&'"').is_some();
        if quoted {
            loop {
                match chars.next() {
                    None => return Err(XfccError::UnterminatedQuote),
                    Some('"') => break,
                    Some('\\') => {
                        val.push('\\');
                        val.push(chars.next().ok_or(XfccError::UnterminatedQuote)?);
                    }
                    Some(c) => val.push(c),
                }
            }
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            if !matches!(chars.peek(), None | Some(',') | Some(';')) {
                return Err(XfccError::TrailingText);
            }
        } else {
            while let Some(c) = chars.next_if(|c| !matches!(c, ',' | ';')) {
                if c == '"' {
                    return Err(XfccError::StrayQuote);
                }
                val.push(c);
            }
            val = val.trim_end().to_string();
        }
        pairs.push(RawPair { key, value: val, quoted });
    }
    if !pairs.is_empty() {
        elements.push(build_element(pairs)?);
    }
    Ok(elements)
}

fn unescape_quoted(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    out
}

fn build_element(pairs: Vec<RawPair>) -> Result<XfccElement, XfccError> {
    fn set(slot: &mut Option<String>, name: &'static str, value: String) -> Result<(), XfccError> {
        if slot.is_some() {
            return Err(XfccError::DuplicateField(name));
        }
        *slot = Some(value);
        Ok(())
    }
    let mut el = XfccElement::default();
    for RawPair { key, value: raw, quoted } in pairs {
        let key = key.to_ascii_lowercase();
        if key == "subject" {
            set(&mut el.subject, "Subject", raw)?;
            continue;
        }
        let value = if quoted { unescape_quoted(&raw) } else { raw };
        match key.as_str() {
            "by" => set(&mut el.by, "By", value)?,
            "hash" => set(&mut el.hash, "Hash", value)?,
            "cert" => set(&mut el.cert, "Cert", percent_decode(&value).ok_or(XfccError::BadEncoding("Cert"))?)?,
            "chain" => set(&mut el.chain, "Chain", percent_decode(&value).ok_or(XfccError::BadEncoding("Chain"))?)?,
            "uri" => el.uri.push(value),
            "dns" => el.dns.push(value),
            _ => {}
        }
    }
    Ok(el)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The CN of a subject DN: RFC 4514/2253 (`CN=a,O=b`, first CN) or the
/// OpenSSL one-line form (`/O=b/CN=a`, last CN). Escapes are undone.
pub fn subject_cn(subject: &str) -> Option<String> {
    let subject = subject.trim();
    let (separators, slash_form): (&[char], bool) =
        if subject.starts_with('/') { (&['/'], true) } else { (&[',', '+'], false) };
    let mut attrs = Vec::new();
    let mut current = String::new();
    let mut chars = subject.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            current.push(c);
            if let Some(next) = chars.next() {
                current.push(next);
            }
        } else if separators.contains(&c) {
            attrs.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    attrs.push(current);
    let mut cns = attrs.iter().filter_map(|attr| {
        let (ty, value) = attr.split_once('=')?;
        let ty = ty.trim();
        (ty.eq_ignore_ascii_case("CN") || ty == "2.5.4.3").then(|| unescape_dn_value(value.trim()))
    });
    let cn = if slash_form { cns.next_back() } else { cns.next() };
    cn.filter(|cn| !cn.is_empty())
}

fn unescape_dn_value(value: &str) -> String {
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner,
        None => value,
    };
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(b) =
                hex.filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit())).and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
            } else {
                out.push(bytes[i + 1]);
                i += 2;
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Which XFCC element identifies the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XfccSelect {
    /// The last element: the one the nearest (trusted) proxy appended.
    #[default]
    Last,
    /// The first element: the original client in an append/forward chain.
    First,
    /// Exactly one element must be present (Envoy `SANITIZE_SET`); chains are refused.
    Single,
}

/// Authenticates from `x-forwarded-client-cert`, but only on requests whose
/// socket peer is a configured trusted proxy.
///
/// * peer not trusted (or unknown), or header absent → `proxy_required`;
/// * header malformed, or with no usable identity → `invalid_credential`.
///
/// The principal is the first URI SAN when present, else the subject CN.
/// Claims: `subject`, `uri`, `dns` (multiple SANs comma-joined), `hash`, `by`
/// where present. Domain `"mtls"` unless changed.
#[derive(Debug, Clone)]
pub struct XfccAuthenticator {
    trusted: Vec<IpNet>,
    domain: String,
    select: XfccSelect,
}

impl XfccAuthenticator {
    /// Trust the header from these proxies (addresses or CIDRs such as
    /// `10.0.0.0/8`, `::1`). An empty list trusts nobody.
    pub fn new<I, S>(trusted_proxies: I) -> Result<Self, CidrError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let trusted = trusted_proxies.into_iter().map(|s| IpNet::parse(s.as_ref())).collect::<Result<_, _>>()?;
        Ok(Self::from_networks(trusted))
    }

    /// Trust the header from these networks.
    pub fn from_networks(trusted: Vec<IpNet>) -> Self {
        Self { trusted, domain: "mtls".to_string(), select: XfccSelect::Last }
    }

    /// The `AuthContext::domain` to report (default `"mtls"`).
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    /// Which element identifies the caller (default [`XfccSelect::Last`]).
    pub fn with_select(mut self, select: XfccSelect) -> Self {
        self.select = select;
        self
    }

    /// The trusted networks.
    pub fn trusted(&self) -> &[IpNet] {
        &self.trusted
    }

    fn peer_trusted(&self, req: &AuthRequest<'_>) -> bool {
        req.remote_addr.is_some_and(|peer| self.trusted.iter().any(|net| net.contains(peer.ip())))
    }
}

impl Authenticator for XfccAuthenticator {
    fn authenticate(&self, req: &AuthRequest<'_>) -> Result<AuthContext, AuthFailure> {
        if !self.peer_trusted(req) {
            return Err(AuthFailure::proxy_required("Request did not arrive through a trusted proxy"));
        }
        let mut joined = String::new();
        for value in req.headers.get_all(XFCC_HEADER) {
            let text = value
                .to_str()
                .map_err(|_| AuthFailure::invalid(format!("Malformed {XFCC_HEADER} header: not valid text")))?;
            if !joined.is_empty() {
                joined.push(',');
            }
            joined.push_str(text);
        }
        if joined.trim().trim_matches(',').trim().is_empty() {
            return Err(AuthFailure::proxy_required(format!("Missing {XFCC_HEADER} header")));
        }
        let elements =
            parse_xfcc(&joined).map_err(|e| AuthFailure::invalid(format!("Malformed {XFCC_HEADER} header: {e}")))?;
        let element = match (self.select, elements.as_slice()) {
            (_, []) => return Err(AuthFailure::invalid(format!("Empty {XFCC_HEADER} header"))),
            (XfccSelect::Single, [only]) => only,
            (XfccSelect::Single, _) => {
                return Err(AuthFailure::invalid(format!("Forwarded {XFCC_HEADER} chains are not accepted")))
            }
            (XfccSelect::First, [first, ..]) => first,
            (XfccSelect::Last, [.., last]) => last,
        };
        let principal = match element.uri.first() {
            Some(uri) if !uri.is_empty() => uri.clone(),
            _ => element.subject_cn().ok_or_else(|| {
                AuthFailure::invalid(format!("{XFCC_HEADER} element has neither a URI SAN nor a subject CN"))
            })?,
        };
        let mut ctx = AuthContext::authenticated(self.domain.clone(), principal);
        let mut claim = |key: &str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                ctx.claims.insert(key.to_string(), v);
            }
        };
        claim("subject", element.subject.clone());
        claim("uri", Some(element.uri.join(",")));
        claim("dns", Some(element.dns.join(",")));
        claim("hash", element.hash.clone());
        claim("by", element.by.clone());
        Ok(ctx)
    }

    fn proxy_headers(&self) -> Vec<String> {
        vec![XFCC_HEADER.to_string()]
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use http::{HeaderMap, HeaderValue};

    use super::*;
    use crate::reason::AuthReason;

    const PROXY: &str = "10.0.0.5:443";

    fn auth() -> XfccAuthenticator {
        XfccAuthenticator::new(["10.0.0.0/24", "::1"]).unwrap()
    }

    fn run(a: &XfccAuthenticator, peer: Option<&str>, values: &[&[u8]]) -> Result<AuthContext, AuthFailure> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(XFCC_HEADER, HeaderValue::from_bytes(v).unwrap());
        }
        let remote_addr = peer.map(|p| p.parse::<SocketAddr>().unwrap());
        a.authenticate(&AuthRequest { headers: &headers, remote_addr, path: "/vgi/echo" })
    }

    #[test]
    fn parses_quoted_subject_with_commas_and_semicolons() {
        let header = r#"By=spiffe://mesh/edge;Hash=abc123;Subject="CN=Doe\, John,OU=Eng;Ops,O=Acme \"Q\" Inc";URI=spiffe://mesh/ns/a/sa/b;DNS=a.example;DNS=b.example"#;
        let els = parse_xfcc(header).unwrap();
        assert_eq!(els.len(), 1);
        let el = &els[0];
        assert_eq!(el.by.as_deref(), Some("spiffe://mesh/edge"));
        assert_eq!(el.hash.as_deref(), Some("abc123"));
        assert_eq!(el.subject.as_deref(), Some(r#"CN=Doe\, John,OU=Eng;Ops,O=Acme \"Q\" Inc"#));
        assert_eq!(el.uri, ["spiffe://mesh/ns/a/sa/b"]);
        assert_eq!(el.dns, ["a.example", "b.example"]);
        assert_eq!(el.subject_cn().as_deref(), Some("Doe, John"));

        let els = parse_xfcc(r#"Subject="CN=say \"hi\",O=x";URI="spiffe://x/\"q\";a,b""#).unwrap();
        assert_eq!(els[0].subject_cn().as_deref(), Some(r#"say "hi""#));
        assert_eq!(els[0].uri, [r#"spiffe://x/"q";a,b"#]);
    }

    #[test]
    fn parses_multiple_elements_and_url_encoded_cert() {
        let header = r#"By=http://frontend.lyft.com;Hash=468e;Cert="-----BEGIN%20CERTIFICATE-----%0AMIIB";Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com,By=http://backend.lyft.com;Hash=9ba6;URI=http://frontend.lyft.com"#;
        let els = parse_xfcc(header).unwrap();
        assert_eq!(els.len(), 2);
        assert_eq!(els[0].cert.as_deref(), Some("-----BEGIN CERTIFICATE-----\nMIIB"));
        assert_eq!(els[0].subject_cn().as_deref(), Some("Test Client"));
        assert_eq!(els[1].by.as_deref(), Some("http://backend.lyft.com"));
        assert_eq!(els[1].uri, ["http://frontend.lyft.com"]);
        // Empty elements and empty pairs are tolerated; keys are case-insensitive.
        let els = parse_xfcc(" ,hash=1;;uri=u1 ,, ").unwrap();
        assert_eq!(els, [XfccElement { hash: Some("1".into()), uri: vec!["u1".into()], ..Default::default() }]);
    }

    #[test]
    fn rejects_malformed_grammar() {
        for (bad, want) in [
            (r#"Subject="CN=a"#, XfccError::UnterminatedQuote),
            (r#"Subject="CN=a\"#, XfccError::UnterminatedQuote),
            ("Hash", XfccError::MissingEquals),
            ("Hash=1;URI", XfccError::MissingEquals),
            ("=x", XfccError::EmptyKey),
            (r#"Subject="CN=a"x;Hash=1"#, XfccError::TrailingText),
            (r#"Hash=a"b"#, XfccError::StrayQuote),
            (r#""quoted"=x"#, XfccError::StrayQuote),
            ("Hash=1;Hash=2", XfccError::DuplicateField("Hash")),
            ("Cert=%zz", XfccError::BadEncoding("Cert")),
        ] {
            assert_eq!(parse_xfcc(bad), Err(want), "{bad:?}");
        }
    }

    #[test]
    fn subject_cn_forms() {
        assert_eq!(subject_cn("CN=svc,O=Acme").as_deref(), Some("svc"));
        assert_eq!(subject_cn("O=Acme, cn=lower").as_deref(), Some("lower"));
        assert_eq!(subject_cn("CN=first,CN=second").as_deref(), Some("first"));
        assert_eq!(subject_cn("/O=Acme/CN=root/CN=leaf").as_deref(), Some("leaf"));
        assert_eq!(subject_cn(r"CN=a\2Cb\+c,O=x").as_deref(), Some("a,b+c"));
        assert_eq!(subject_cn("2.5.4.3=oid-cn").as_deref(), Some("oid-cn"));
        assert_eq!(subject_cn("O=Acme"), None);
        assert_eq!(subject_cn("CN="), None);
    }

    #[test]
    fn uri_san_is_the_principal() {
        let header = br#"Hash=aa;Subject="CN=ignored";URI=spiffe://mesh/ns/default/sa/api;DNS=api.internal"#;
        let ctx = run(&auth(), Some(PROXY), &[header]).unwrap();
        assert!(ctx.authenticated);
        assert_eq!(ctx.domain, "mtls");
        assert_eq!(ctx.principal, "spiffe://mesh/ns/default/sa/api");
        assert_eq!(ctx.claims.get("subject").map(String::as_str), Some("CN=ignored"));
        assert_eq!(ctx.claims.get("uri").map(String::as_str), Some("spiffe://mesh/ns/default/sa/api"));
        assert_eq!(ctx.claims.get("dns").map(String::as_str), Some("api.internal"));
        assert_eq!(ctx.claims.get("hash").map(String::as_str), Some("aa"));
        assert!(!ctx.claims.contains_key("by"));
    }

    #[test]
    fn subject_cn_when_no_uri() {
        let header = br#"Subject="CN=billing, Inc.,O=Acme""#;
        let ctx = run(&auth().with_domain("edge-mtls"), Some("[::1]:9000"), &[header]).unwrap();
        assert_eq!(ctx.principal, "billing");
        assert_eq!(ctx.domain, "edge-mtls");
        assert!(!ctx.claims.contains_key("uri") && !ctx.claims.contains_key("dns"));
    }

    #[test]
    fn last_element_is_chosen_by_default() {
        let header = br#"URI=spiffe://mesh/original-client,By=spiffe://mesh/edge;URI=spiffe://mesh/hop"#;
        assert_eq!(run(&auth(), Some(PROXY), &[header]).unwrap().principal, "spiffe://mesh/hop");
        let first = auth().with_select(XfccSelect::First);
        assert_eq!(run(&first, Some(PROXY), &[header]).unwrap().principal, "spiffe://mesh/original-client");
        let single = auth().with_select(XfccSelect::Single);
        assert_eq!(run(&single, Some(PROXY), &[header]).unwrap_err().reason, AuthReason::InvalidCredential);
        // Repeated header lines form one comma-separated list.
        let ctx = run(&auth(), Some(PROXY), &[b"URI=spiffe://a", b"URI=spiffe://b"]).unwrap();
        assert_eq!(ctx.principal, "spiffe://b");
    }

    #[test]
    fn untrusted_peer_is_proxy_required() {
        let header: &[u8] = b"URI=spiffe://mesh/x";
        for peer in [Some("10.0.1.5:443"), Some("[2001:db8::1]:443"), None] {
            let err = run(&auth(), peer, &[header]).unwrap_err();
            assert_eq!(err.reason, AuthReason::ProxyRequired, "{peer:?}");
        }
        let nobody = XfccAuthenticator::new(Vec::<String>::new()).unwrap();
        assert_eq!(run(&nobody, Some(PROXY), &[header]).unwrap_err().reason, AuthReason::ProxyRequired);
        // A v4-mapped v6 socket address of a trusted proxy is trusted.
        assert!(run(&auth(), Some("[::ffff:10.0.0.9]:443"), &[header]).is_ok());
    }

    #[test]
    fn missing_header_is_proxy_required() {
        let err = run(&auth(), Some(PROXY), &[]).unwrap_err();
        assert_eq!(err.reason, AuthReason::ProxyRequired);
        assert_eq!(err.detail, "Missing x-forwarded-client-cert header");
        assert_eq!(run(&auth(), Some(PROXY), &[b"  "]).unwrap_err().reason, AuthReason::ProxyRequired);
    }

    #[test]
    fn garbage_is_invalid_credential() {
        for bad in [&b"garbage"[..], b"Subject=\"CN=x", b"Hash=1;Hash=2", b"By=x", b"Subject=\"O=NoCn\"", b"\xff\xfe"] {
            let err = run(&auth(), Some(PROXY), &[bad]).unwrap_err();
            assert_eq!(err.reason, AuthReason::InvalidCredential, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn declares_its_proxy_header() {
        assert_eq!(auth().proxy_headers(), ["x-forwarded-client-cert"]);
        assert_eq!(auth().challenge(), None);
        assert_eq!(auth().trusted().len(), 2);
        assert!(XfccAuthenticator::new(["10.0.0.0/99"]).is_err());
    }
}
