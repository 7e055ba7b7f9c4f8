//! Rendering the standardized HTTP 401 (`docs/unauthorized-spec.md` §4–§5)
//! independently of any web framework: headers, the JSON envelope for
//! machine clients, and a small HTML page for browsers.
//!
//! The proxy note (`VGI-Auth-Proxy-Required` + `proxy_hint`) is driven only
//! by the `proxy_headers` the *server configuration* declares — typically
//! [`Authenticator::proxy_headers`](crate::Authenticator::proxy_headers) plus
//! operator-stated names — so it is identical on every 401 of a service and
//! discloses nothing about why this request failed. Likewise, a caller must
//! never be able to steer a failure onto `proxy_required`: authenticators
//! choose it from their configuration, never from a request-supplied value.

use serde_json::{Map, Value};

use crate::authenticator::merge_header_names;
use crate::reason::AuthFailure;

/// Header carrying the reason code on every 401.
pub const REASON_HEADER: &str = "VGI-Auth-Reason";
/// Header set to `true` on 401s of a proxy-dependent service; never `false`.
pub const PROXY_REQUIRED_HEADER: &str = "VGI-Auth-Proxy-Required";
/// Response headers a CORS-enabled service must list in
/// `Access-Control-Expose-Headers` so browsers can read a 401.
pub const EXPOSE_HEADERS: [&str; 3] = [REASON_HEADER, PROXY_REQUIRED_HEADER, "WWW-Authenticate"];

/// `Content-Type` of the JSON envelope.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// `Content-Type` of the HTML page.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// A rendered 401: add `headers`, set `Content-Type` to `content_type`, and
/// send `body` with status 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unauthorized {
    /// Response headers, excluding `Content-Type`.
    pub headers: Vec<(String, String)>,
    /// `application/json`, or `text/html; charset=utf-8` for browsers.
    pub content_type: &'static str,
    /// The response body.
    pub body: String,
}

/// Render the 401 for `failure`.
///
/// * `accept` — the request's `Accept` header; HTML only when it contains
///   `text/html`, JSON otherwise (including `*/*` and absent).
/// * `proxy_headers` — the header names the service's authentication needs a
///   reverse proxy to inject, from configuration (§5). Non-empty adds
///   `VGI-Auth-Proxy-Required: true` and `proxy_hint`.
/// * `challenge` — the `WWW-Authenticate` value, if the service declares one.
pub fn unauthorized(
    failure: &AuthFailure,
    accept: Option<&str>,
    proxy_headers: &[String],
    challenge: Option<&str>,
) -> Unauthorized {
    let hint = proxy_hint(proxy_headers);
    let mut headers = vec![
        (REASON_HEADER.to_string(), failure.reason.as_str().to_string()),
        ("Cache-Control".to_string(), "no-store".to_string()),
    ];
    if hint.is_some() {
        headers.push((PROXY_REQUIRED_HEADER.to_string(), "true".to_string()));
    }
    if let Some(challenge) = challenge.filter(|c| !c.is_empty()) {
        headers.push(("WWW-Authenticate".to_string(), challenge.to_string()));
    }
    let wants_html = accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/html"));
    if wants_html {
        Unauthorized { headers, content_type: HTML_CONTENT_TYPE, body: html_page(failure, hint.as_deref()) }
    } else {
        Unauthorized { headers, content_type: JSON_CONTENT_TYPE, body: json_envelope(failure, hint.as_deref()) }
    }
}

/// The §4.3 envelope: `{"error":"unauthorized","reason":…,"detail":…}` plus
/// `proxy_hint` only when one applies.
pub fn json_envelope(failure: &AuthFailure, proxy_hint: Option<&str>) -> String {
    let mut doc = Map::new();
    doc.insert("error".into(), Value::from("unauthorized"));
    doc.insert("reason".into(), Value::from(failure.reason.as_str()));
    doc.insert("detail".into(), Value::from(failure.detail.as_str()));
    if let Some(hint) = proxy_hint {
        doc.insert("proxy_hint".into(), Value::from(hint));
    }
    Value::Object(doc).to_string()
}

/// The operator-facing note for a proxy-dependent service, naming the
/// headers the proxy must set; `None` when `headers` is empty.
pub fn proxy_hint(headers: &[String]) -> Option<String> {
    let mut names = Vec::new();
    merge_header_names(&mut names, headers.iter().filter(|h| !h.trim().is_empty()).cloned());
    if names.is_empty() {
        return None;
    }
    let (noun, pronoun) = if names.len() == 1 { ("header", "it") } else { ("headers", "them") };
    Some(format!(
        "This service is only reachable through its configured reverse proxy, which must set the {} {noun}. \
         A rejection here is at least as likely to mean the proxy is not forwarding {pronoun}, or that the \
         request bypassed the proxy, as that the credential is bad: check the proxy configuration before \
         rotating credentials.",
        names.join(", ")
    ))
}

fn html_page(failure: &AuthFailure, hint: Option<&str>) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>401 Unauthorized</title>\n\
         <style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}\
         code{background:#f2f2f2;padding:0 .25rem}.hint{border-left:4px solid #c80;padding:.5rem 1rem;background:#fff8ec}\
         </style>\n</head>\n<body>\n<h1>401 Unauthorized</h1>\n",
    );
    page.push_str(&format!("<p>Reason: <code>{}</code></p>\n", escape_html(failure.reason.as_str())));
    if !failure.detail.is_empty() {
        page.push_str(&format!("<p>{}</p>\n", escape_html(&failure.detail)));
    }
    if let Some(hint) = hint {
        page.push_str(&format!("<p class=\"hint\">{}</p>\n", escape_html(hint)));
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::AuthReason;

    fn header<'a>(u: &'a Unauthorized, name: &str) -> Option<&'a str> {
        u.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn body(u: &Unauthorized) -> Value {
        serde_json::from_str(&u.body).unwrap()
    }

    #[test]
    fn json_for_machine_clients() {
        let failure = AuthFailure::expired("Token has expired");
        for accept in [None, Some("*/*"), Some("application/vnd.apache.arrow.stream"), Some("application/json")] {
            let u = unauthorized(&failure, accept, &[], None);
            assert_eq!(u.content_type, "application/json", "{accept:?}");
            let doc = body(&u);
            assert_eq!(doc["error"], "unauthorized");
            assert_eq!(doc["reason"], "expired_credential");
            assert_eq!(doc["detail"], "Token has expired");
            assert!(doc.get("proxy_hint").is_none(), "proxy_hint must be absent, not empty");
            assert_eq!(header(&u, "VGI-Auth-Reason"), Some("expired_credential"));
            assert_eq!(header(&u, "Cache-Control"), Some("no-store"));
            assert_eq!(header(&u, "VGI-Auth-Proxy-Required"), None);
            assert_eq!(header(&u, "WWW-Authenticate"), None);
            assert_eq!(header(&u, "Content-Type"), None);
        }
    }

    #[test]
    fn envelope_field_order_and_empty_detail() {
        let u = unauthorized(&AuthFailure::unauthorized(""), Some("*/*"), &[], None);
        assert_eq!(u.body, r#"{"error":"unauthorized","reason":"unauthorized","detail":""}"#);
    }

    #[test]
    fn html_for_browsers() {
        let failure = AuthFailure::invalid("bad <script>alert(1)</script> & co");
        let accept = Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        let u = unauthorized(&failure, accept, &[], Some("Bearer"));
        assert_eq!(u.content_type, "text/html; charset=utf-8");
        assert!(u.body.starts_with("<!DOCTYPE html>"));
        assert!(u.body.contains("invalid_credential"));
        assert!(u.body.contains("bad &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(!u.body.contains("<script>"));
        assert_eq!(header(&u, "VGI-Auth-Reason"), Some("invalid_credential"));
        assert_eq!(header(&u, "Cache-Control"), Some("no-store"));
        assert_eq!(header(&u, "WWW-Authenticate"), Some("Bearer"));
        assert!(!u.body.contains("class=\"hint\""));
        assert_eq!(unauthorized(&failure, Some("TEXT/HTML"), &[], None).content_type, HTML_CONTENT_TYPE);
    }

    #[test]
    fn proxy_note_only_with_proxy_headers() {
        let failure = AuthFailure::proxy_required("Missing x-forwarded-client-cert header");
        let none = unauthorized(&failure, Some("*/*"), &[], None);
        assert_eq!(header(&none, PROXY_REQUIRED_HEADER), None);
        assert!(body(&none).get("proxy_hint").is_none());
        let blank = unauthorized(&failure, Some("*/*"), &[" ".to_string()], None);
        assert_eq!(header(&blank, PROXY_REQUIRED_HEADER), None);

        let names = vec!["x-forwarded-client-cert".to_string(), "VGI-Proxy-Proof".to_string()];
        // The note is the same whatever failed: it depends on configuration only.
        for failure in [failure, AuthFailure::invalid("bad token"), AuthFailure::missing("")] {
            let u = unauthorized(&failure, Some("*/*"), &names, None);
            assert_eq!(header(&u, "VGI-Auth-Proxy-Required"), Some("true"));
            let hint = body(&u)["proxy_hint"].as_str().unwrap().to_string();
            assert!(hint.contains("x-forwarded-client-cert, VGI-Proxy-Proof headers"), "{hint}");
            assert!(hint.contains("reverse proxy"));
            assert_eq!(Some(hint), proxy_hint(&names));

            let html = unauthorized(&failure, Some("text/html"), &names, None);
            assert_eq!(header(&html, "VGI-Auth-Proxy-Required"), Some("true"));
            assert!(html.body.contains("class=\"hint\"") && html.body.contains("x-forwarded-client-cert"));
        }
    }

    #[test]
    fn hint_wording_and_dedup() {
        let one = proxy_hint(&["X-SSL-Client-Cert".to_string(), "x-ssl-client-cert".to_string()]).unwrap();
        assert!(one.contains("the X-SSL-Client-Cert header."), "{one}");
        assert!(!one.contains("x-ssl-client-cert"));
        assert_eq!(proxy_hint(&[]), None);
    }

    #[test]
    fn every_reason_renders() {
        for reason in AuthReason::ALL {
            let u = unauthorized(&AuthFailure::new(reason, "d"), None, &[], None);
            assert_eq!(header(&u, REASON_HEADER), Some(reason.as_str()));
            assert_eq!(body(&u)["reason"], reason.as_str());
        }
        assert!(EXPOSE_HEADERS.contains(&"VGI-Auth-Reason"));
    }
}
