//! The pages through the router (no sockets): where each page is served
//! and under which prefix, the browser 404 against the JSON 404 RPC
//! clients keep, the switches, the preflight max-age and the response
//! compression level settings.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::DataType;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vgi_rpc_core::wire::{EncodedSchema, Metadata, RequestHeader, StreamWriter};
use vgi_rpc_core::{MethodDef, Protocol, Server};
use vgi_rpc_http::encoding::CompressionLevels;
use vgi_rpc_http::pages::PageSettings;
use vgi_rpc_http::{HttpApp, HttpConfig};

const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn server() -> Arc<Server> {
    let echo = MethodDef::builder("echo")
        .param("value", DataType::Int64, false)
        .returns(DataType::Int64, false)
        .doc("Echo the value.")
        .unary(|p, _| Ok(Some(Arc::new(Int64Array::from(vec![p.i64("value")?])) as _)));
    let protocol = Protocol::new("Demo").method(echo);
    Arc::new(Server::builder().protocol(protocol).reflection(true).build().expect("server"))
}

async fn send(config: HttpConfig, req: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let router = HttpApp::new(server(), config).expect("app").router();
    let resp = router.oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.expect("body").to_bytes().to_vec())
}

fn get(path: &str, accept: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path);
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    req.body(Body::empty()).expect("request")
}

fn prefixed() -> HttpConfig {
    HttpConfig { prefix: "/vgi".into(), ..HttpConfig::default() }
}

#[tokio::test]
async fn landing_and_describe_are_served_under_the_prefix_with_a_policy() {
    for path in ["/vgi/", "/vgi/describe"] {
        let (status, headers, body) = send(prefixed(), get(path, Some(HTML))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"), "{csp}");
        let html = String::from_utf8(body).expect("utf-8");
        assert!(html.contains("href=\"/vgi/describe\""), "{path}");
        assert!(html.contains("Demo"));
    }
    let (_, _, body) = send(prefixed(), get("/vgi/describe", None)).await;
    let html = String::from_utf8(body).expect("utf-8");
    assert!(html.contains("<h3 class=\"method\">echo</h3>") && html.contains("Echo the value."));
}

#[tokio::test]
async fn a_browser_gets_the_html_404_and_everyone_else_the_json_404() {
    for path in ["/nowhere", "/vgi/a/b/c/d", "/vgi/Unknown/method"] {
        let (status, headers, body) = send(prefixed(), get(path, Some(HTML))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8", "{path}");
        assert!(String::from_utf8(body).expect("utf-8").contains("Not found"));

        let (status, headers, body) = send(prefixed(), get(path, None)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(headers["content-type"], "application/json", "{path}");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["title"], "404 Not Found");
    }
    // An RPC POST to an unknown protocol keeps its Arrow 404, whatever it accepts.
    let req = Request::post("/vgi/Unknown/method")
        .header("accept", HTML)
        .header("content-type", "application/vnd.apache.arrow.stream")
        .body(Body::empty())
        .expect("request");
    let (status, headers, _) = send(prefixed(), req).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "application/vnd.apache.arrow.stream");
}

#[tokio::test]
async fn pages_that_are_off_answer_404() {
    let off = HttpConfig {
        pages: PageSettings { landing: false, describe: false, not_found: false, ..PageSettings::default() },
        ..HttpConfig::default()
    };
    for path in ["/", "/describe", "/nowhere"] {
        let (status, headers, _) = send(off.clone(), get(path, Some(HTML))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(headers["content-type"], "application/json", "{path}");
    }
    let (status, _, _) = send(off, get("/health", Some(HTML))).await;
    assert_eq!(status, StatusCode::OK, "health is not a page");
}

#[tokio::test]
async fn bad_page_settings_refuse_to_build_the_app() {
    let config = HttpConfig {
        pages: PageSettings { repo_url: Some("javascript:alert(1)".into()), ..PageSettings::default() },
        ..HttpConfig::default()
    };
    let err = HttpApp::new(server(), config).map(|_| ()).expect_err("refused");
    assert!(err.to_string().contains("repository URL"), "{err}");
    let config = HttpConfig { compression: CompressionLevels { zstd: 40, gzip: 1 }, ..HttpConfig::default() };
    assert!(HttpApp::new(server(), config).is_err());
}

fn preflight() -> Request<Body> {
    Request::options("/Demo/echo")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn the_preflight_max_age_is_a_setting() {
    let cors = HttpConfig { cors_origins: vec!["https://app.example".into()], ..HttpConfig::default() };
    let (status, headers, _) = send(cors.clone(), preflight()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers["access-control-max-age"], "7200", "the reference's default");
    let (_, headers, _) = send(HttpConfig { cors_max_age: Some(30), ..cors.clone() }, preflight()).await;
    assert_eq!(headers["access-control-max-age"], "30");
    let (_, headers, _) = send(HttpConfig { cors_max_age: None, ..cors }, preflight()).await;
    assert!(!headers.contains_key("access-control-max-age"));
}

fn echo_request(value: i64) -> Vec<u8> {
    let batch = RecordBatch::try_from_iter([("value", Arc::new(Int64Array::from(vec![value])) as _)]).expect("batch");
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &EncodedSchema::new(batch.schema())).expect("begin");
    w.write(&mut out, &batch, &RequestHeader::new("Demo", "echo").to_metadata(&Metadata::new())).expect("write");
    w.finish(&mut out).expect("finish");
    out
}

#[tokio::test]
async fn responses_are_compressed_at_the_configured_level() {
    let call = |coding: &str| {
        Request::post("/Demo/echo")
            .header("content-type", "application/vnd.apache.arrow.stream")
            .header("accept-encoding", coding)
            .body(Body::from(echo_request(7)))
            .expect("request")
    };
    let levels = |zstd, gzip| HttpConfig { compression: CompressionLevels { zstd, gzip }, ..HttpConfig::default() };
    let (_, headers, fast) = send(levels(1, 1), call("zstd")).await;
    assert_eq!(headers["content-encoding"], "zstd");
    let (_, _, slow) = send(levels(19, 1), call("zstd")).await;
    let plain = zstd::decode_all(fast.as_slice()).expect("zstd");
    assert_eq!(zstd::decode_all(slow.as_slice()).expect("zstd"), plain, "same body at either level");
    // The zstd frame header does not record the level; the gzip header's XFL byte does (2: best, 4: fastest).
    let (_, headers, best) = send(levels(1, 9), call("gzip")).await;
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(best[8], 2, "gzip level 9 marks XFL=2");
    let (_, _, fastest) = send(levels(1, 1), call("gzip")).await;
    assert_eq!(fastest[8], 4, "gzip level 1 marks XFL=4");
}
