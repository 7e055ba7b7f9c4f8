//! The router in process (no sockets): status mapping, capability and
//! correlation headers, content-type and coding checks, request caps.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::DataType;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vgi_rpc_core::wire::{EncodedSchema, Metadata, RequestHeader, StreamWriter};
use vgi_rpc_core::{MethodDef, Protocol, RpcError, Server};
use vgi_rpc_http::{HttpApp, HttpConfig};

const ARROW: &str = "application/vnd.apache.arrow.stream";

fn server() -> Arc<Server> {
    let echo = MethodDef::builder("echo")
        .param("value", DataType::Int64, false)
        .returns(DataType::Int64, false)
        .unary(|p, _| Ok(Some(Arc::new(Int64Array::from(vec![p.i64("value")?])) as _)));
    let fail = MethodDef::builder("fail").unary(|_, _| Err(RpcError::value_error("nope")));
    Arc::new(Server::builder().protocol(Protocol::new("Demo").method(echo).method(fail)).build().expect("server"))
}

fn request_body(method: &str, value: Option<i64>) -> Vec<u8> {
    let batch = match value {
        Some(v) => RecordBatch::try_from_iter([("value", Arc::new(Int64Array::from(vec![v])) as _)]).expect("batch"),
        None => vgi_rpc_core::client::no_params(),
    };
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &EncodedSchema::new(batch.schema())).expect("begin");
    w.write(&mut out, &batch, &RequestHeader::new("Demo", method).to_metadata(&Metadata::new())).expect("write");
    w.finish(&mut out).expect("finish");
    out
}

async fn send(config: HttpConfig, req: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let router = HttpApp::new(server(), config).expect("app").router();
    let resp = router.oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.expect("body").to_bytes().to_vec())
}

fn post(path: &str) -> http::request::Builder {
    Request::post(path).header("content-type", ARROW)
}

#[tokio::test]
async fn a_unary_call_answers_with_capabilities_and_request_id() {
    let req = post("/Demo/echo").header("x-request-id", "abc123").body(Body::from(request_body("echo", Some(7))));
    let (status, headers, body) = send(HttpConfig::default(), req.expect("request")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-request-id"], "abc123", "a caller's id is echoed");
    assert_eq!(headers["vgi-supported-encodings"], "zstd, gzip");
    assert_eq!(headers["vgi-accept-max-response-bytes-support"], "true");
    assert!(!headers.contains_key("x-vgi-rpc-error"), "success carries no error flag");
    assert!(!headers.contains_key("access-control-allow-origin"), "no CORS unless configured");
    let mut cursor = body.as_slice();
    let client_answer = vgi_rpc_core::Client::new(&mut cursor, std::io::sink()).read_unary_response().expect("answer");
    let value = client_answer.value().expect("result").as_any().downcast_ref::<Int64Array>().expect("int64").value(0);
    assert_eq!(value, 7);
}

#[tokio::test]
async fn method_errors_are_200_with_the_error_flag() {
    let req = post("/Demo/fail").body(Body::from(request_body("fail", None))).expect("request");
    let (status, headers, _) = send(HttpConfig::default(), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-vgi-rpc-error"], "true");
}

#[tokio::test]
async fn routing_content_type_and_coding_failures_map_to_4xx() {
    let cases: Vec<(Request<Body>, StatusCode)> = vec![
        (post("/Demo/missing").body(Body::from(request_body("missing", None))).expect("r"), StatusCode::NOT_FOUND),
        (post("/Other.v1/echo").body(Body::from(request_body("echo", Some(1)))).expect("r"), StatusCode::NOT_FOUND),
        (post("/De%6Do/echo").body(Body::from(request_body("echo", Some(1)))).expect("r"), StatusCode::NOT_FOUND),
        (
            Request::post("/Demo/echo").header("content-type", "text/plain").body(Body::from("x")).expect("r"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            post("/Demo/echo")
                .header("content-encoding", "br")
                .body(Body::from(request_body("echo", Some(1))))
                .expect("r"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            post("/Demo/echo").header("content-encoding", "zstd").body(Body::from("not zstd")).expect("r"),
            StatusCode::BAD_REQUEST,
        ),
        (post("/Demo/echo").body(Body::from("garbage")).expect("r"), StatusCode::BAD_REQUEST),
        (post("/Demo/echo").body(Body::from(request_body("fail", None))).expect("r"), StatusCode::BAD_REQUEST),
        (
            post("/Demo/echo")
                .header("vgi-accept-max-response-bytes", "0100")
                .body(Body::from(request_body("echo", Some(1))))
                .expect("r"),
            StatusCode::BAD_REQUEST,
        ),
        (Request::get("/Demo/echo").body(Body::empty()).expect("r"), StatusCode::METHOD_NOT_ALLOWED),
        (Request::get("/.well-known/thing").body(Body::empty()).expect("r"), StatusCode::NOT_FOUND),
        (post("/__transport_options__").body(Body::empty()).expect("r"), StatusCode::NOT_FOUND),
    ];
    for (req, want) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let (status, headers, _) = send(HttpConfig::default(), req).await;
        assert_eq!(status, want, "{what}");
        assert!(headers.contains_key("x-request-id"), "{what}: every response is correlated");
    }
}

#[tokio::test]
async fn oversize_requests_are_413_before_and_after_decoding() {
    let config = HttpConfig { max_request_bytes: Some(512), ..HttpConfig::default() };
    let big = request_body("echo", Some(1)).into_iter().chain(std::iter::repeat_n(0u8, 1024)).collect::<Vec<u8>>();
    let req = post("/Demo/echo").body(Body::from(big)).expect("request");
    assert_eq!(send(config.clone(), req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let bomb = zstd::bulk::compress(&vec![0u8; 64 * 1024], 3).expect("compress");
    assert!(bomb.len() < 512);
    let req = post("/Demo/echo").header("content-encoding", "zstd").body(Body::from(bomb)).expect("request");
    assert_eq!(send(config, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn health_is_json_on_get_and_bodiless_on_head() {
    let (status, headers, body) =
        send(HttpConfig::default(), Request::get("/health").body(Body::empty()).expect("r")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["status"], "ok");
    assert_eq!(json["protocol"], "Demo");
    let (status, headers, body) =
        send(HttpConfig::default(), Request::head("/health").body(Body::empty()).expect("r")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert!(headers.contains_key("vgi-supported-encodings"), "HEAD is the capability probe");
}

#[tokio::test]
async fn cors_headers_only_for_configured_origins() {
    let config = HttpConfig { cors_origins: vec!["https://app.example".into()], ..HttpConfig::default() };
    let req =
        post("/Demo/echo").header("origin", "https://app.example").body(Body::from(request_body("echo", Some(2))));
    let (_, headers, _) = send(config.clone(), req.expect("r")).await;
    assert_eq!(headers["access-control-allow-origin"], "https://app.example");
    let exposed = headers["access-control-expose-headers"].to_str().expect("ascii").to_ascii_lowercase();
    for name in ["x-vgi-rpc-error", "x-request-id", "vgi-supported-encodings", "vgi-auth-reason"] {
        assert!(exposed.contains(name), "{name} is exposed");
    }
    let req =
        post("/Demo/echo").header("origin", "https://evil.example").body(Body::from(request_body("echo", Some(2))));
    let (_, headers, _) = send(config.clone(), req.expect("r")).await;
    assert!(!headers.contains_key("access-control-allow-origin"));
    let preflight = Request::options("/Demo/echo")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, vgi-session")
        .body(Body::empty())
        .expect("r");
    let (status, headers, _) = send(config, preflight).await;
    assert!(status.is_success());
    assert!(headers["access-control-allow-methods"].to_str().expect("ascii").contains("POST"));
    assert_eq!(headers["access-control-allow-headers"], "content-type, vgi-session");
}
