//! The HTTP app is a tower `Service`: a user's own layers (an auth gate, a
//! response header, a concurrency limit) wrap it and the framework's own
//! answers (capability headers, request ids, Arrow bodies) pass through.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::DataType;
use axum::body::Body;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use tower::limit::ConcurrencyLimitLayer;
use tower::util::MapResponseLayer;
use tower::ServiceExt;
use vgi_rpc_core::wire::{EncodedSchema, Metadata, RequestHeader, StreamWriter};
use vgi_rpc_core::{MethodDef, Protocol, Server};
use vgi_rpc_http::{HttpApp, HttpConfig};

fn app() -> HttpApp {
    let double = MethodDef::builder("double")
        .param("value", DataType::Int64, false)
        .returns(DataType::Int64, false)
        .unary(|p, _| Ok(Some(Arc::new(Int64Array::from(vec![p.i64("value")? * 2])) as _)));
    let server = Server::builder().protocol(Protocol::new("Demo").method(double)).build().expect("server");
    HttpApp::new(Arc::new(server), HttpConfig::default()).expect("app")
}

fn call() -> http::request::Builder {
    Request::post("/Demo/double").header("content-type", "application/vnd.apache.arrow.stream")
}

fn body(value: i64) -> Body {
    let batch = RecordBatch::try_from_iter([("value", Arc::new(Int64Array::from(vec![value])) as _)]).expect("batch");
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &EncodedSchema::new(batch.schema())).expect("begin");
    w.write(&mut out, &batch, &RequestHeader::new("Demo", "double").to_metadata(&Metadata::new())).expect("write");
    w.finish(&mut out).expect("finish");
    Body::from(out)
}

async fn answer(resp: Response) -> i64 {
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let mut cursor = bytes.as_ref();
    let result = vgi_rpc_core::Client::new(&mut cursor, std::io::sink()).read_unary_response().expect("answer");
    result.value().expect("value").as_any().downcast_ref::<Int64Array>().expect("int64").value(0)
}

/// A user's auth gate: no `authorization` header, no call.
async fn require_token(req: Request<Body>, next: Next) -> Response {
    if req.headers().contains_key(http::header::AUTHORIZATION) {
        next.run(req).await
    } else {
        (StatusCode::UNAUTHORIZED, "token required").into_response()
    }
}

#[tokio::test]
async fn a_user_middleware_gates_calls_and_passes_the_rest_through() {
    let router = app().router().layer(middleware::from_fn(require_token));

    let refused = router.clone().oneshot(call().body(body(1)).expect("request")).await.expect("infallible");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "the user's layer answers first");
    assert!(!refused.headers().contains_key("x-request-id"), "the app never saw the refused request");

    let req = call().header("authorization", "Bearer t").header("x-request-id", "r-1").body(body(21));
    let served = router.oneshot(req.expect("request")).await.expect("infallible");
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["x-request-id"], "r-1", "the app's own headers survive the layer");
    assert_eq!(served.headers()["vgi-supported-encodings"], "zstd, gzip");
    assert_eq!(answer(served).await, 42);
}

#[tokio::test]
async fn tower_layers_stack_on_the_app() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let router = app()
        .router()
        .layer(MapResponseLayer::new(move |mut resp: Response| {
            counter.fetch_add(1, Ordering::Relaxed);
            resp.headers_mut().insert("x-served-by", HeaderValue::from_static("user-layer"));
            resp
        }))
        .layer(ConcurrencyLimitLayer::new(2));

    for value in [1, 2, 3] {
        let resp = router.clone().oneshot(call().body(body(value)).expect("request")).await.expect("infallible");
        assert_eq!(resp.headers()["x-served-by"], "user-layer");
        assert!(resp.headers().contains_key("x-request-id"), "the app still assigns a request id");
        assert_eq!(answer(resp).await, value * 2);
    }
    assert_eq!(seen.load(Ordering::Relaxed), 3, "the layer wrapped every call");
}
