//! Authentication at the HTTP edge, in process: reason codes for missing,
//! wrong and malformed credentials, refusal before the body is read, and
//! stream tokens bound to the principal that opened the stream.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use vgi_rpc_auth::{BearerTokens, Chain, XfccAuthenticator};
use vgi_rpc_core::state_codec::{encode_state, producer_decoder};
use vgi_rpc_core::wire::reader::Opened;
use vgi_rpc_core::wire::{keys, EncodedSchema, Metadata, ReadLimits, RequestHeader, StreamReader, StreamWriter};
use vgi_rpc_core::{CallContext, MethodDef, OutputCollector, ProducerState, Protocol, RpcError, Server, StreamResult};
use vgi_rpc_http::{AuthSettings, HttpApp, HttpConfig};

const ARROW: &str = "application/vnd.apache.arrow.stream";

#[derive(Serialize, Deserialize)]
struct Count {
    next: i64,
}

impl ProducerState for Count {
    fn produce(&mut self, out: &mut OutputCollector, ctx: &CallContext) -> Result<(), RpcError> {
        if self.next >= 3 {
            return out.finish();
        }
        self.next += 1;
        // Which principal is served rides along, so the test sees who ran each turn.
        let who = ctx.auth().principal.clone();
        out.emit_with_metadata(
            RecordBatch::try_new(out.schema().clone(), vec![Arc::new(Int64Array::from(vec![self.next]))])?,
            Metadata::new().with("who", who),
        )
    }
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }
}

fn app() -> axum::Router {
    let bearer = BearerTokens::new().with_token("alice-token", "alice").with_token("bob-token", "bob");
    app_with(AuthSettings::new(Arc::new(bearer)))
}

/// Bearer tokens, or an mTLS identity forwarded by a proxy in 10.0.0.0/8.
fn mtls_app() -> axum::Router {
    let bearer = BearerTokens::new().with_token("alice-token", "alice");
    let xfcc = XfccAuthenticator::new(["10.0.0.0/8"]).expect("cidr");
    app_with(AuthSettings::new(Arc::new(Chain::new().or(bearer).or(xfcc))))
}

fn app_with(auth: AuthSettings) -> axum::Router {
    let schema = Arc::new(EncodedSchema::new(Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))));
    let count = MethodDef::builder("count")
        .state_decoder(producer_decoder::<Count>())
        .producer(move |_, _| Ok(StreamResult::producer(schema.clone(), Count { next: 0 })));
    let server = Arc::new(Server::builder().protocol(Protocol::new("Demo").method(count)).build().expect("server"));
    let config = HttpConfig { auth: Some(auth), ..HttpConfig::default() };
    HttpApp::new(server, config).expect("app").router()
}

fn body(batch: &RecordBatch, metadata: &Metadata) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &EncodedSchema::new(batch.schema())).expect("begin");
    w.write(&mut out, batch, metadata).expect("write");
    w.finish(&mut out).expect("finish");
    out
}

fn init_body() -> Vec<u8> {
    body(&vgi_rpc_core::client::no_params(), &RequestHeader::new("Demo", "count").to_metadata(&Metadata::new()))
}

fn tick_body(cursor: &str, call: &str) -> Vec<u8> {
    let md = Metadata::new().with(keys::STREAM_STATE, cursor).with(keys::CALL_STATE, call);
    body(&RecordBatch::new_empty(Arc::new(Schema::empty())), &md)
}

async fn post(path: &str, token: Option<&str>, payload: Vec<u8>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    post_to(&app(), path, token, payload).await
}

/// POST to one app (its token key is per app).
async fn post_to(
    app: &axum::Router,
    path: &str,
    token: Option<&str>,
    payload: Vec<u8>,
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut req = Request::post(path).header("content-type", ARROW);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = app.clone().oneshot(req.body(Body::from(payload)).expect("request")).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.expect("body").to_bytes().to_vec())
}

/// (principals that ran turns, cursor, call token) of a stream response.
fn read(answer: &[u8]) -> (Vec<String>, Option<String>, Option<String>) {
    let mut cursor = answer;
    let Ok(Opened::Stream(mut r)) = StreamReader::open(&mut cursor, ReadLimits::default()) else {
        panic!("not an IPC stream");
    };
    let (mut who, mut state, mut call) = (Vec::new(), None, None);
    while let Some(b) = r.next(&mut cursor).expect("batch") {
        if let Some(w) = b.metadata.get("who") {
            who.push(w.to_owned());
        }
        state = b.metadata.get(keys::STREAM_STATE).map(str::to_owned).or(state);
        call = b.metadata.get(keys::CALL_STATE).map(str::to_owned).or(call);
    }
    (who, state, call)
}

fn reason(headers: &http::HeaderMap) -> &str {
    headers.get("vgi-auth-reason").and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn missing_wrong_and_malformed_credentials_get_their_reason_codes() {
    let (status, headers, body) = post("/Demo/count/init", None, init_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&headers), "missing_credential");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON envelope, not Arrow");
    assert_eq!(json["reason"], "missing_credential");
    assert_eq!(headers["cache-control"], "no-store");

    let (status, headers, _) = post("/Demo/count/init", Some("mallory-token"), init_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&headers), "invalid_credential");
}

async fn via_proxy(peer: &str, xfcc: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut req = Request::post("/Demo/count/init")
        .header("content-type", ARROW)
        .header("x-forwarded-client-cert", xfcc)
        .body(Body::from(init_body()))
        .expect("request");
    let addr: std::net::SocketAddr = peer.parse().expect("addr");
    req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    let resp = mtls_app().oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.expect("body").to_bytes().to_vec())
}

#[tokio::test]
async fn forwarded_client_certificates_are_trusted_only_from_the_proxy() {
    let good = "By=spiffe://svc;Hash=abc;Subject=\"CN=carol,O=Example, Inc.\";URI=spiffe://example/carol";
    let (status, _, answer) = via_proxy("10.1.2.3:5000", good).await;
    assert_eq!(status, StatusCode::OK, "a well-formed XFCC from the trusted proxy is an identity");
    assert_eq!(read(&answer).0, vec!["spiffe://example/carol"]);

    let (status, headers, body) = via_proxy("10.1.2.3:5000", "By=\"unterminated").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&headers), "invalid_credential", "a malformed XFCC is a bad credential");
    assert_eq!(headers["vgi-auth-proxy-required"], "true", "XFCC makes the service proxy-dependent");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(json["proxy_hint"].as_str().is_some_and(|h| h.contains("x-forwarded-client-cert")));

    let (status, headers, _) = via_proxy("192.0.2.7:5000", good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the same header straight from a client is refused");
    assert_eq!(reason(&headers), "proxy_required");
}

#[tokio::test]
async fn the_health_probe_needs_no_credential() {
    let resp = app().oneshot(Request::get("/health").body(Body::empty()).expect("r")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
}

/// A 64 MiB body (1 MiB frames) that records whether anyone read it.
struct Tripwire {
    polled: Arc<AtomicBool>,
    left: usize,
}

impl hyper::body::Body for Tripwire {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        self.polled.store(true, Ordering::SeqCst);
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes::Bytes::from(vec![0u8; 1 << 20])))))
    }
}

#[tokio::test]
async fn an_unauthenticated_request_is_refused_without_reading_its_body() {
    let polled = Arc::new(AtomicBool::new(false));
    let req = Request::post("/Demo/count/init")
        .header("content-type", ARROW)
        .header("content-length", (64u64 << 20).to_string())
        .body(Body::new(Tripwire { polled: polled.clone(), left: 64 }))
        .expect("request");
    let resp = app().oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(!polled.load(Ordering::SeqCst), "the 64 MiB body was never read");
}

#[tokio::test]
async fn a_stream_continues_only_for_the_principal_that_opened_it() {
    let app = app();
    let (status, _, answer) = post_to(&app, "/Demo/count/init", Some("alice-token"), init_body()).await;
    assert_eq!(status, StatusCode::OK);
    let (who, cursor, call) = read(&answer);
    assert_eq!(who, vec!["alice"]);
    let tick = tick_body(&cursor.expect("cursor"), &call.expect("call token"));

    let (status, _, answer) = post_to(&app, "/Demo/count/exchange", Some("bob-token"), tick.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "bob cannot continue alice's stream");
    assert!(read(&answer).0.is_empty());
    let (status, headers, _) = post_to(&app, "/Demo/count/exchange", None, tick.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "nor can an anonymous caller");
    assert_eq!(reason(&headers), "missing_credential");

    let (status, _, answer) = post_to(&app, "/Demo/count/exchange", Some("alice-token"), tick).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read(&answer).0, vec!["alice"]);
}

#[tokio::test]
async fn protected_resource_metadata_is_served_and_named_on_every_401() {
    let metadata = vgi_rpc_auth::ProtectedResourceMetadata::new("https://rpc.example", ["https://idp.example"]);
    let url = "https://rpc.example/.well-known/oauth-protected-resource";
    let bearer = BearerTokens::new().with_token("alice-token", "alice").with_resource_metadata(url);
    let mut settings = AuthSettings::new(Arc::new(bearer));
    settings.resource_metadata = Some(metadata);
    let app = app_with(settings);

    let get = Request::get(vgi_rpc_auth::WELL_KNOWN_PATH).body(Body::empty()).expect("request");
    let resp = app.clone().oneshot(get).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK, "the metadata needs no credential");
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["resource"], "https://rpc.example");
    assert_eq!(json["authorization_servers"][0], "https://idp.example");

    let (status, headers, _) = post_to(&app, "/Demo/count/init", None, init_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers["www-authenticate"].to_str().expect("ascii");
    assert_eq!(challenge, format!("Bearer resource_metadata=\"{url}\""));
}
