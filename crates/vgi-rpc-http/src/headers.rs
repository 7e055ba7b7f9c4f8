//! Headers stamped on responses: capability discovery (§10, on every
//! response), request-id correlation, and CORS when configured.

use http::header::{HeaderMap, HeaderName, HeaderValue};

use vgi_rpc_core::Externalization;

use crate::config::HttpConfig;
use crate::sticky::StickySettings;

/// Content type of every request and response body (an Arrow IPC stream).
pub const ARROW_CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream";
/// Correlation id: taken from the request when valid, else generated, and
/// echoed on the response.
pub const REQUEST_ID: &str = "x-request-id";
/// `true` on a `200` response whose body carries an error batch.
pub const RPC_ERROR: &str = "x-vgi-rpc-error";
/// The coding the server applied to the response body, for clients whose
/// HTTP stack strips `Content-Encoding`.
pub const VGI_CONTENT_ENCODING: &str = "x-vgi-content-encoding";
/// The codings a client accepts, as an alternative to `Accept-Encoding`.
pub const VGI_ACCEPT_ENCODING: &str = "x-vgi-accept-encoding";
/// The largest response, in bytes, the client will take inline; bigger
/// ones are externalized when the server can.
pub const ACCEPT_MAX_RESPONSE_BYTES: &str = "vgi-accept-max-response-bytes";

/// Response headers a browser may read, beyond the capability headers.
const ALWAYS_EXPOSED: &[&str] = &[
    "WWW-Authenticate",
    "X-Request-ID",
    "X-VGI-Content-Encoding",
    "X-VGI-RPC-Error",
    "VGI-Auth-Reason",
    "VGI-Auth-Proxy-Required",
    "Content-Encoding",
    "VGI-Session",
    "VGI-Session-Close",
];

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The capability headers, built once from the configuration and the
/// server's externalization policy (`None` when no storage is configured).
pub fn capability_headers(config: &HttpConfig, external: Option<&Externalization>) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    let mut push = |name: &'static str, v: String| out.push((HeaderName::from_static(name), value(&v)));
    push("vgi-max-request-bytes", config.effective_max_request_bytes().to_string());
    if let Some(n) = config.max_response_bytes {
        push("vgi-max-response-bytes", n.to_string());
    }
    push("vgi-accept-max-response-bytes-support", "true".to_owned());
    let external_cap = config.max_externalized_response_bytes.or(external.and_then(|e| e.max_response_bytes));
    if let Some(n) = external_cap {
        push("vgi-max-externalized-response-bytes", n.to_string());
    }
    push("vgi-externalization-enabled", external.is_some().to_string());
    if external.is_some_and(|e| e.storage.vends_upload_urls()) {
        push("vgi-upload-url-support", "true".to_owned());
        if let Some(n) = config.max_upload_bytes {
            push("vgi-max-upload-bytes", n.to_string());
        }
    }
    let codecs: Vec<&str> = config.response_codecs.iter().map(|c| c.token()).collect();
    push("vgi-supported-encodings", codecs.join(", "));
    if config.proxy_proof_required {
        push("vgi-proxy-proof-required", "true".to_owned());
    }
    if let Some(sticky) = &config.sticky {
        out.extend(sticky.capability_headers());
    }
    out
}

/// CORS headers for an allowed origin, including the exposure list: the
/// fixed headers, every capability header, and the `VGI-Echo-<name>` header
/// of each configured sticky echo (a browser client must read them to
/// replay them).
pub fn cors_headers(
    capabilities: &[(HeaderName, HeaderValue)],
    sticky: Option<&StickySettings>,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut exposed: Vec<String> = ALWAYS_EXPOSED.iter().map(|s| s.to_string()).collect();
    exposed.extend(capabilities.iter().map(|(n, _)| n.as_str().to_owned()));
    let echoes = sticky.map(|s| s.echo_headers.as_slice()).unwrap_or_default();
    exposed.extend(echoes.iter().map(|(name, _)| format!("VGI-Echo-{name}")));
    vec![
        (HeaderName::from_static("access-control-expose-headers"), value(&exposed.join(", "))),
        (HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("cross-origin")),
        (HeaderName::from_static("vary"), HeaderValue::from_static("Origin")),
    ]
}

/// Copy `headers` onto `map`.
pub fn stamp(map: &mut HeaderMap, headers: &[(HeaderName, HeaderValue)]) {
    for (name, v) in headers {
        map.insert(name.clone(), v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposed(headers: &[(HeaderName, HeaderValue)]) -> String {
        let (_, v) = headers.iter().find(|(n, _)| n == "access-control-expose-headers").expect("expose header");
        v.to_str().expect("ascii").to_owned()
    }

    #[test]
    fn cors_exposes_capabilities_and_every_configured_echo_header() {
        let caps = vec![(HeaderName::from_static("vgi-sticky-enabled"), HeaderValue::from_static("true"))];
        let sticky = StickySettings {
            echo_headers: vec![("fly-force-instance-id".into(), "m1".into()), ("x-route".into(), "a".into())],
            ..StickySettings::default()
        };
        let list = exposed(&cors_headers(&caps, Some(&sticky)));
        let names: Vec<&str> = list.split(", ").collect();
        for want in
            ["X-Request-ID", "VGI-Session", "vgi-sticky-enabled", "VGI-Echo-fly-force-instance-id", "VGI-Echo-x-route"]
        {
            assert!(names.contains(&want), "{want} missing from {list}");
        }
        let without = exposed(&cors_headers(&caps, None));
        assert!(!without.contains("VGI-Echo-"), "no echo headers configured: {without}");
    }
}
