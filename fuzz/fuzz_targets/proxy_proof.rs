//! `proxy_proof`: the `VGI-Proxy-Proof` header and the proof secrets list.
//!
//! The first input byte picks the path; the rest is text:
//!
//! * `parse_proof` then `check_proof` (fixed secret, origin and time, 30 s
//!   skew): shape, charsets, the two-sided window and the MAC comparison;
//! * `ProxyProofGate::authenticate` in `require` mode (fixed clock, no
//!   replay cache, so a run is deterministic) with the text as the header,
//!   or split on `\n` into several header lines;
//! * `parse_secrets` on the text (`kid:<64 hex>,…`);
//! * the replay cache (`NonceCache`) driven by a sequence of
//!   (nonce, time step) operations decoded from the bytes.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use vgi_rpc_auth::proof::{check_proof, parse_proof, NonceCache, ProofKey, ProofSecrets};
use vgi_rpc_auth::{
    parse_secrets, AuthRequest, Authenticator, ProofMode, ProxyProofConfig, ProxyProofGate, PROOF_HEADER,
};

const SKEW: u64 = 30;

fn gate() -> &'static ProxyProofGate {
    static G: std::sync::OnceLock<ProxyProofGate> = std::sync::OnceLock::new();
    G.get_or_init(|| {
        let mut secrets = ProofSecrets::new();
        let kid = vgi_rpc_fuzz::PROOF_KID.to_owned();
        secrets.insert(kid.clone(), ProofKey { secret: vgi_rpc_fuzz::PROOF_SECRET, label: kid });
        let config = ProxyProofConfig {
            mode: ProofMode::Require,
            origin_id: vgi_rpc_fuzz::PROOF_ORIGIN.to_owned(),
            secrets,
            skew: Duration::from_secs(SKEW),
            replay_capacity: None,
        };
        ProxyProofGate::with_clock(config, Arc::new(vgi_rpc_fuzz::clock()))
            .unwrap_or_else(|e| unreachable!("valid proof config: {e}"))
    })
}

fn nonce_cache(ops: &[u8]) {
    let mut cache = NonceCache::new(Duration::from_secs(4), 3);
    let mut now = Duration::ZERO;
    for op in ops.chunks(2) {
        let [nonce, step] = op else { break };
        now += Duration::from_secs(u64::from(step & 7));
        let fresh = cache.check_and_add(&format!("n{}", nonce & 15), now);
        if fresh {
            assert!(!cache.check_and_add(&format!("n{}", nonce & 15), now), "a nonce just added is a replay");
        }
    }
    let stats = cache.stats();
    assert!(stats.size <= 3, "cache over its cap");
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    match mode % 5 {
        0 => {
            if let Ok(parsed) = parse_proof(&text) {
                let _ = check_proof(
                    &parsed,
                    &vgi_rpc_fuzz::PROOF_SECRET,
                    vgi_rpc_fuzz::PROOF_ORIGIN,
                    vgi_rpc_fuzz::NOW_UNIX,
                    SKEW,
                );
            }
        }
        1 | 2 => {
            let mut headers = HeaderMap::new();
            let lines: Vec<&[u8]> = if mode % 5 == 1 { vec![rest] } else { rest.split(|b| *b == b'\n').collect() };
            let mut sent = Vec::new();
            for line in lines {
                // Lines that are not valid header values never reach the gate.
                if let Ok(v) = HeaderValue::from_bytes(line) {
                    headers.append(PROOF_HEADER, v);
                    sent.push(line);
                }
            }
            let verdict = gate().authenticate(&AuthRequest::new(&headers));
            if verdict.is_ok() {
                let [only] = sent.as_slice() else { panic!("accepted {} proof headers", sent.len()) };
                let only = std::str::from_utf8(only).unwrap_or_default();
                assert!(parse_proof(only).is_ok(), "a proof that does not parse was accepted");
            }
        }
        3 => {
            if let Ok(secrets) = parse_secrets(&text) {
                assert!(secrets.len() <= text.len() / 66 + 1);
            }
        }
        _ => nonce_cache(rest),
    }
});
