//! Proxy proof at the HTTP edge, in process: a `require`-mode gate refuses
//! with one uniform 401 carrying the proxy note, admits a minted proof,
//! leaves health, `OPTIONS` and `/.well-known/` reachable, and the
//! capability header appears only when the configuration says `require`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::DataType;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vgi_rpc_auth::proof::{parse_secrets, ProofMode, ProxyProofConfig, ProxyProofGate, PROOF_HEADER};
use vgi_rpc_auth::{mint_proof, RequireAll};
use vgi_rpc_core::wire::{EncodedSchema, Metadata, RequestHeader, StreamWriter};
use vgi_rpc_core::{MethodDef, Protocol, Server};
use vgi_rpc_http::{AuthSettings, HttpApp, HttpConfig};

const ARROW: &str = "application/vnd.apache.arrow.stream";
const KID: &str = "edge";
const ORIGIN: &str = "worker-1";
const SECRET: [u8; 32] = [0x11; 32];

fn server() -> Arc<Server> {
    let echo = MethodDef::builder("echo")
        .param("value", DataType::Int64, false)
        .returns(DataType::Int64, false)
        .unary(|p, _| Ok(Some(Arc::new(Int64Array::from(vec![p.i64("value")?])) as _)));
    Arc::new(Server::builder().protocol(Protocol::new("Demo").method(echo)).build().expect("server"))
}

fn body() -> Body {
    let batch = RecordBatch::try_from_iter([("value", Arc::new(Int64Array::from(vec![1])) as _)]).expect("batch");
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &EncodedSchema::new(batch.schema())).expect("begin");
    w.write(&mut out, &batch, &RequestHeader::new("Demo", "echo").to_metadata(&Metadata::new())).expect("write");
    w.finish(&mut out).expect("finish");
    Body::from(out)
}

fn config(mode: ProofMode) -> HttpConfig {
    let gate = ProxyProofGate::new(ProxyProofConfig {
        mode,
        origin_id: ORIGIN.into(),
        secrets: parse_secrets(&format!("{KID}:{}", "11".repeat(32))).expect("secrets"),
        ..ProxyProofConfig::default()
    })
    .expect("gate");
    HttpConfig {
        prefix: "/vgi".into(),
        auth: Some(AuthSettings::new(Arc::new(RequireAll::new().gate(gate)))),
        proxy_proof_required: mode == ProofMode::Require,
        ..HttpConfig::default()
    }
}

fn proof() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    mint_proof(&SECRET, KID, ORIGIN, now, None).expect("mint")
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.expect("body").to_bytes().to_vec())
}

fn rpc(token: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/vgi/Demo/echo").header("content-type", ARROW).header("accept", "*/*");
    if let Some(token) = token {
        req = req.header(PROOF_HEADER, token);
    }
    req.body(body()).expect("request")
}

#[tokio::test]
async fn require_mode_admits_a_proof_and_refuses_uniformly() {
    let app = HttpApp::new(server(), config(ProofMode::Require)).expect("app").router();
    let (status, headers, _) = send(&app, rpc(Some(&proof()))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["vgi-proxy-proof-required"], "true");

    let mut details = Vec::new();
    for token in
        [None, Some("garbage"), Some("v1.edge.1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    {
        let (status, headers, body) = send(&app, rpc(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(headers["vgi-auth-reason"], "proxy_required");
        assert_eq!(headers["vgi-auth-proxy-required"], "true");
        assert_eq!(headers["vgi-proxy-proof-required"], "true", "capability header on refusals too");
        let doc: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert!(doc["proxy_hint"].as_str().is_some_and(|h| h.contains(PROOF_HEADER)));
        details.push(doc["detail"].as_str().unwrap_or_default().to_owned());
    }
    details.dedup();
    assert_eq!(details.len(), 1, "one detail for every failure: {details:?}");
}

#[tokio::test]
async fn exemptions_need_no_proof() {
    let app = HttpApp::new(server(), config(ProofMode::Require)).expect("app").router();
    let (status, headers, _) = send(&app, Request::get("/vgi/health").body(Body::empty()).expect("r")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["vgi-proxy-proof-required"], "true");
    let head = Request::head("/vgi/health").body(Body::empty()).expect("r");
    assert_eq!(send(&app, head).await.0, StatusCode::OK);
    let options = Request::options("/vgi/Demo/echo").body(Body::empty()).expect("r");
    let (status, headers, _) = send(&app, options).await;
    assert_ne!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["vgi-proxy-proof-required"], "true");
    let well_known = Request::get("/.well-known/oauth-protected-resource").body(Body::empty()).expect("r");
    assert_ne!(send(&app, well_known).await.0, StatusCode::UNAUTHORIZED);
    let other = Request::get("/.well-known/anything").body(Body::empty()).expect("r");
    assert_ne!(send(&app, other).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn allow_mode_serves_everyone_without_advertising() {
    let app = HttpApp::new(server(), config(ProofMode::Allow)).expect("app").router();
    for token in [None, Some("garbage".to_owned()), Some(proof())] {
        let (status, headers, _) = send(&app, rpc(token.as_deref())).await;
        assert_eq!(status, StatusCode::OK, "{token:?}");
        assert!(!headers.contains_key("vgi-proxy-proof-required"));
    }
}

#[tokio::test]
async fn unconfigured_worker_ignores_the_header() {
    let app =
        HttpApp::new(server(), HttpConfig { prefix: "/vgi".into(), ..HttpConfig::default() }).expect("app").router();
    let (status, headers, _) = send(&app, rpc(Some("v1.whatever.0.not-a-real-nonce.nope"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!headers.contains_key("vgi-proxy-proof-required"));
}
