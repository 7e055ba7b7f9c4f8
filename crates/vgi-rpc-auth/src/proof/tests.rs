//! Gate-level tests: the §6 table as the caller sees it (one refusal), the
//! §7 modes, §9 attribution, and composition with a credential.

use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderMap, HeaderValue};
use vgi_rpc_core::FakeClock;

use super::*;
use crate::authenticator::from_fn;
use crate::compose::{Chain, RequireAll};
use crate::reason::AuthReason;

const KID: &str = "conformance-proxy";
const KID2: &str = "conformance-proxy-v2";
const ORIGIN: &str = "conformance-origin";
const NOW: u64 = 1_700_000_000;
const HEX1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const HEX2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn config(mode: ProofMode) -> ProxyProofConfig {
    ProxyProofConfig {
        mode,
        origin_id: ORIGIN.into(),
        secrets: parse_secrets(&format!("{KID}:{HEX1},{KID2}:{HEX2}")).unwrap(),
        ..ProxyProofConfig::default()
    }
}

fn gate(mode: ProofMode) -> (ProxyProofGate, FakeClock) {
    let clock = FakeClock::at_unix(NOW);
    (ProxyProofGate::with_clock(config(mode), Arc::new(clock.clone())).unwrap(), clock)
}

fn headers(values: &[&str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(PROOF_HEADER, HeaderValue::from_str(v).unwrap());
    }
    map
}

fn run(a: &dyn Authenticator, values: &[&str]) -> Result<AuthContext, AuthFailure> {
    let map = headers(values);
    a.authenticate(&AuthRequest::new(&map))
}

fn mint(secret: u8, kid: &str, ts: u64, nonce: Option<&str>) -> String {
    mint_proof(&[secret; 32], kid, ORIGIN, ts, nonce).unwrap()
}

#[test]
fn reference_vectors() {
    // Known answers from the reference implementation.
    assert_eq!(
        mint(0x11, KID, NOW, Some("AAAAAAAAAAAAAAAAAAAAAA")),
        "v1.conformance-proxy.1700000000.AAAAAAAAAAAAAAAAAAAAAA.pbkCqAOjBHRZQEdGllYzePRph5t7AfpPDYCuvS5JqL8"
    );
    assert_eq!(
        hex::encode(derive_secret(&[0x42; 32], "prod-use1", ORIGIN).unwrap()),
        "bdc396f29cc99b39d4ef8d1f25663e8233744f46373f09a6cc71b1e191369e43"
    );
}

#[test]
fn valid_proof_is_accepted_and_attributed() {
    let (gate, _) = gate(ProofMode::Require);
    let ctx = run(&gate, &[&mint(0x11, KID, NOW, None)]).unwrap();
    assert!(ctx.authenticated);
    assert_eq!((ctx.domain.as_str(), ctx.principal.as_str()), (CLAIMS_DOMAIN, KID));
    let claim = |k: &str| ctx.claims.get(&format!("vgi_proxy_proof.{k}")).cloned().unwrap_or_default();
    assert_eq!(claim("verified"), "true");
    assert_eq!(claim("proxy"), KID);
    assert_eq!(claim("kid"), KID);
    assert_eq!(claim("origin_id"), ORIGIN);
    assert_eq!(claim("reason"), "ok");
    // Rotation overlap: the second key verifies too, attributed to its own label.
    let ctx = run(&gate, &[&mint(0x22, KID2, NOW, None)]).unwrap();
    assert_eq!(ctx.principal, KID2);
    assert_eq!(gate.stats().verified, 2);
}

#[test]
fn every_failure_is_one_refusal() {
    let (gate, _) = gate(ProofMode::Require);
    let good = mint(0x11, KID, NOW, Some("AAAAAAAAAAAAAAAAAAAAAA"));
    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 5.., "AAAAA");
    let cases: Vec<(Vec<String>, ProofRejection)> = vec![
        (vec![], ProofRejection::NoProof),
        (vec![String::new()], ProofRejection::Malformed),
        (vec!["garbage".into()], ProofRejection::Malformed),
        (vec![good.clone(), good.clone()], ProofRejection::Malformed),
        (vec![format!("{good}, {good}")], ProofRejection::Malformed),
        (vec![good.replacen("v1", "v2", 1)], ProofRejection::Malformed),
        (vec![mint(0x11, "no-such-kid", NOW, None)], ProofRejection::UnknownKid),
        (vec![mint(0x11, KID, NOW - 31, None)], ProofRejection::Expired),
        (vec![mint(0x11, KID, NOW + 31, None)], ProofRejection::NotYetValid),
        (vec![tampered], ProofRejection::BadMac),
        // The claimed kid and the signing secret disagree.
        (vec![mint(0x22, KID, NOW, None)], ProofRejection::BadMac),
        (vec![mint_proof(&[0x11; 32], KID, "other-worker", NOW, None).unwrap()], ProofRejection::BadMac),
    ];
    for (values, want) in cases {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let map = headers(&refs);
        assert_eq!(gate.verify(&map).map(|_| ()), Err(want), "{values:?}");
        let err = run(&gate, &refs).unwrap_err();
        assert_eq!(err, AuthFailure::new(AuthReason::ProxyRequired, REJECTION_DETAIL), "{values:?}");
    }
    // Non-UTF-8 header bytes are malformed too.
    let mut map = HeaderMap::new();
    map.insert(PROOF_HEADER, HeaderValue::from_bytes(b"v1.\xff").unwrap());
    assert_eq!(gate.verify(&map).map(|_| ()), Err(ProofRejection::Malformed));
    let stats = gate.stats();
    assert_eq!((stats.verified, stats.unverified), (0, 12));
}

#[test]
fn replay_is_refused_and_fresh_nonce_passes() {
    let (gate, clock) = gate(ProofMode::Require);
    let token = mint(0x11, KID, NOW, Some("Q0ZPUk1BTkNFTk9OQ0UxMQ"));
    assert!(run(&gate, &[&token]).is_ok());
    assert_eq!(run(&gate, &[&token]).unwrap_err().reason, AuthReason::ProxyRequired);
    assert_eq!(gate.verify(&headers(&[&token])).map(|_| ()), Err(ProofRejection::Replayed));
    assert!(run(&gate, &[&mint(0x11, KID, NOW, Some("Q0ZPUk1BTkNFTk9OQ0UyMg"))]).is_ok());
    // A future-dated token stays valid for 2 × skew; its nonce is remembered as long.
    let future = mint(0x11, KID, NOW + 30, Some("RlVUVVJFRlVUVVJFRlVUVQ"));
    assert!(run(&gate, &[&future]).is_ok());
    clock.advance(Duration::from_secs(45));
    assert!(run(&gate, &[&future]).is_err(), "replay after one skew but inside the token's window");
    assert_eq!(gate.stats().replay.map(|r| r.replays_rejected), Some(3));
}

#[test]
fn replay_cache_can_be_disabled() {
    let cfg = ProxyProofConfig { replay_capacity: None, ..config(ProofMode::Require) };
    let gate = ProxyProofGate::with_clock(cfg, Arc::new(FakeClock::at_unix(NOW))).unwrap();
    let token = mint(0x11, KID, NOW, None);
    assert!(run(&gate, &[&token]).is_ok());
    assert!(run(&gate, &[&token]).is_ok());
    assert_eq!(gate.stats().replay, None);
}

#[test]
fn window_follows_the_clock() {
    let (gate, clock) = gate(ProofMode::Require);
    let token = mint(0x11, KID, NOW, None);
    clock.advance(Duration::from_secs(31));
    assert_eq!(gate.verify(&headers(&[&token])).map(|_| ()), Err(ProofRejection::Expired));
}

#[test]
fn allow_mode_never_denies() {
    let (gate, _) = gate(ProofMode::Allow);
    for values in [vec![], vec!["garbage".to_owned()], vec![mint(0x22, KID, NOW, None)]] {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let ctx = run(&gate, &refs).unwrap();
        assert!(!ctx.authenticated && ctx.domain.is_empty() && ctx.principal.is_empty());
        assert_eq!(ctx.claims.get("vgi_proxy_proof.verified").map(String::as_str), Some("false"));
        assert_eq!(ctx.claims.get("vgi_proxy_proof.proxy").map(String::as_str), Some(""));
    }
    let ctx = run(&gate, &[]).unwrap();
    assert_eq!(ctx.claims.get("vgi_proxy_proof.reason").map(String::as_str), Some("no_proof"));
    let ctx = run(&gate, &[&mint(0x11, KID, NOW, None)]).unwrap();
    assert_eq!(ctx.claims.get("vgi_proxy_proof.verified").map(String::as_str), Some("true"));
    assert!(gate.proxy_headers().is_empty(), "allow mode never refuses, so no proxy note");
}

#[test]
fn construction_fails_closed() {
    assert_eq!(ProxyProofGate::new(config(ProofMode::Off)).unwrap_err(), ProofConfigError::ModeOff);
    let no_origin = ProxyProofConfig { origin_id: String::new(), ..config(ProofMode::Require) };
    assert!(matches!(ProxyProofGate::new(no_origin), Err(ProofConfigError::OriginId { .. })));
    let no_secrets = ProxyProofConfig { secrets: ProofSecrets::new(), ..config(ProofMode::Allow) };
    assert!(matches!(ProxyProofGate::new(no_secrets), Err(ProofConfigError::NoSecrets { .. })));
}

#[test]
fn require_all_runs_the_gate_first() {
    let (gate, _) = gate(ProofMode::Require);
    assert_eq!(gate.proxy_headers(), [PROOF_HEADER]);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let all = RequireAll::new().gate(gate).credential(from_fn(move |req| {
        counter.fetch_add(1, Ordering::SeqCst);
        match req.headers.get("authorization") {
            Some(_) => Ok(AuthContext::authenticated("bearer", "alice")),
            None => Err(AuthFailure::missing("no token")),
        }
    }));
    assert_eq!(all.proxy_headers(), [PROOF_HEADER]);
    // No proof: refused without consulting the credential.
    let mut map = HeaderMap::new();
    map.insert("authorization", HeaderValue::from_static("Bearer t"));
    assert_eq!(all.authenticate(&AuthRequest::new(&map)).unwrap_err().reason, AuthReason::ProxyRequired);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Proof without credential: the credential's refusal.
    let err = run(&all, &[&mint(0x11, KID, NOW, None)]).unwrap_err();
    assert_eq!(err.reason, AuthReason::MissingCredential);
    // Both: the user's identity, the proxy's attribution in claims.
    map.insert(PROOF_HEADER, HeaderValue::from_str(&mint(0x11, KID, NOW, None)).unwrap());
    let ctx = all.authenticate(&AuthRequest::new(&map)).unwrap();
    assert_eq!((ctx.domain.as_str(), ctx.principal.as_str()), ("bearer", "alice"));
    assert_eq!(ctx.claims.get("vgi_proxy_proof.proxy").map(String::as_str), Some(KID));
    assert_eq!(ctx.claims.get("vgi_proxy_proof.verified").map(String::as_str), Some("true"));
}

#[test]
#[should_panic(expected = "precondition gate")]
fn chain_refuses_a_gate() {
    let (gate, _) = gate(ProofMode::Require);
    let _ = Chain::new().or(gate);
}

#[test]
fn chain_refuses_a_shared_gate() {
    let (first, _) = gate(ProofMode::Require);
    let shared: Arc<dyn Authenticator> = Arc::new(first);
    assert!(shared.precondition_gate());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Chain::new().or_shared(shared)));
    assert!(outcome.is_err());
    // Gated credentials can still be alternatives.
    let (second, _) = gate(ProofMode::Require);
    let gated = RequireAll::new().gate(second).credential(from_fn(|_| Err(AuthFailure::missing(""))));
    assert_eq!(Chain::new().or(gated).len(), 1);
}
