//! `xfcc`: the `x-forwarded-client-cert` grammar and subject-DN parsing.
//!
//! `vgi_rpc_auth::parse_xfcc` on the input as text, `subject_cn` on every
//! parsed element and on the raw text, and `XfccAuthenticator::authenticate`
//! with the input as the header value(s) from a trusted proxy peer (a `\n`
//! in the input splits it into several header lines, which the
//! authenticator joins).
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use vgi_rpc_auth::mtls::subject_cn;
use vgi_rpc_auth::{parse_xfcc, AuthRequest, Authenticator, XfccAuthenticator, XfccSelect, XFCC_HEADER};

fn authenticators() -> &'static [XfccAuthenticator; 2] {
    static A: std::sync::OnceLock<[XfccAuthenticator; 2]> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        let trusted = || XfccAuthenticator::new(["127.0.0.1/32"]).unwrap_or_else(|e| unreachable!("valid CIDR: {e}"));
        [trusted().with_select(XfccSelect::First), trusted().with_select(XfccSelect::Single)]
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(elements) = parse_xfcc(&text) {
        for e in &elements {
            if let Some(cn) = e.subject_cn() {
                assert!(!cn.is_empty());
            }
        }
    }
    let _ = subject_cn(&text);

    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append(XFCC_HEADER, v);
        }
    }
    let req = AuthRequest { headers: &headers, remote_addr: Some(([127, 0, 0, 1], 443).into()), path: "/vgi/echo" };
    for a in authenticators() {
        if let Ok(ctx) = a.authenticate(&req) {
            assert!(ctx.authenticated);
        }
    }
});
