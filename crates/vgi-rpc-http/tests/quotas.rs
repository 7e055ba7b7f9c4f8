//! Per-principal quotas over HTTP, in process: a principal at its stream
//! quota gets `429` + `Retry-After` + a RESOURCE_EXHAUSTED Arrow error while
//! another principal still opens streams; finishing, cancelling or
//! abandoning a stream frees the slot; the request rate refills on the clock.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use vgi_rpc_auth::BearerTokens;
use vgi_rpc_core::quota::QUOTA_EXCEEDED_KIND;
use vgi_rpc_core::state_codec::{encode_state, producer_decoder};
use vgi_rpc_core::wire::reader::Opened;
use vgi_rpc_core::wire::{
    classify, keys, BatchClass, EncodedSchema, Metadata, ReadLimits, RemoteError, RequestHeader, StreamReader,
    StreamWriter,
};
use vgi_rpc_core::{
    CallContext, ErrorCode, FakeClock, MethodDef, OutputCollector, ProducerState, Protocol, QuotaSettings, RpcError,
    Server, StreamResult,
};
use vgi_rpc_http::{AuthSettings, HttpApp, HttpConfig};

const ARROW: &str = "application/vnd.apache.arrow.stream";
const ALICE: &str = "alice-token";
const BOB: &str = "bob-token";

/// Counts to three, one row per turn.
#[derive(Serialize, Deserialize)]
struct Count {
    next: i64,
}

impl ProducerState for Count {
    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.next >= 3 {
            return out.finish();
        }
        self.next += 1;
        out.emit(RecordBatch::try_new(out.schema().clone(), vec![Arc::new(Int64Array::from(vec![self.next]))])?)
    }
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }
}

fn app(settings: QuotaSettings, clock: &FakeClock) -> axum::Router {
    let schema = Arc::new(EncodedSchema::new(Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))));
    let count = MethodDef::builder("count")
        .state_decoder(producer_decoder::<Count>())
        .producer(move |_, _| Ok(StreamResult::producer(schema.clone(), Count { next: 0 })));
    let server = Server::builder()
        .protocol(Protocol::new("Demo").method(count))
        .clock(Arc::new(clock.clone()))
        .quotas(settings)
        .expect("valid quotas")
        .build()
        .expect("server");
    let bearer = BearerTokens::new().with_token(ALICE, "alice").with_token(BOB, "bob");
    let config = HttpConfig { auth: Some(AuthSettings::new(Arc::new(bearer))), ..HttpConfig::default() };
    HttpApp::new(Arc::new(server), config).expect("app").router()
}

fn body(batch: &RecordBatch, metadata: &Metadata) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &EncodedSchema::new(batch.schema())).expect("begin");
    w.write(&mut out, batch, metadata).expect("write");
    w.finish(&mut out).expect("finish");
    out
}

/// What one response said.
struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    rows: usize,
    cursor: Option<String>,
    call: Option<String>,
    error: Option<RemoteError>,
}

impl Answer {
    fn retry_after(&self) -> Option<&str> {
        self.headers.get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok())
    }
}

async fn post(app: &axum::Router, path: &str, token: &str, payload: Vec<u8>) -> Answer {
    let req = Request::post(path)
        .header("content-type", ARROW)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(payload))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes().to_vec();
    let mut answer =
        Answer { status: parts.status, headers: parts.headers, rows: 0, cursor: None, call: None, error: None };
    let mut cursor = bytes.as_slice();
    let Ok(Opened::Stream(mut r)) = StreamReader::open(&mut cursor, ReadLimits::default()) else {
        panic!("not an Arrow IPC body: {:?}", String::from_utf8_lossy(&bytes));
    };
    while let Some(b) = r.next(&mut cursor).expect("batch") {
        if classify(b.batch.num_rows(), &b.metadata) == BatchClass::Error {
            answer.error = Some(RemoteError::from_metadata(&b.metadata));
        }
        answer.rows += b.batch.num_rows();
        answer.cursor = b.metadata.get(keys::STREAM_STATE).map(str::to_owned).or(answer.cursor);
        answer.call = b.metadata.get(keys::CALL_STATE).map(str::to_owned).or(answer.call);
    }
    answer
}

/// An open stream's tokens.
struct Stream {
    cursor: String,
    call: String,
}

async fn init(app: &axum::Router, token: &str) -> Answer {
    let md = RequestHeader::new("Demo", "count").to_metadata(&Metadata::new());
    post(app, "/Demo/count/init", token, body(&vgi_rpc_core::client::no_params(), &md)).await
}

async fn open(app: &axum::Router, token: &str) -> Stream {
    let a = init(app, token).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.error);
    assert_eq!(a.rows, 1, "the first turn runs inside /init");
    Stream { cursor: a.cursor.expect("a cursor: the stream goes on"), call: a.call.expect("a call token") }
}

/// One continuation (or, with `cancel`, a cancel) of `stream`.
async fn turn(app: &axum::Router, token: &str, stream: &Stream, cancel: bool) -> Answer {
    let mut md =
        Metadata::new().with(keys::STREAM_STATE, stream.cursor.as_str()).with(keys::CALL_STATE, stream.call.as_str());
    if cancel {
        md.insert(keys::CANCEL, "1");
    }
    post(app, "/Demo/count/exchange", token, body(&RecordBatch::new_empty(Arc::new(Schema::empty())), &md)).await
}

/// The refusal of a principal over its quota.
fn assert_refused(a: &Answer, retry_after: &str) {
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.retry_after(), Some(retry_after));
    assert_eq!(a.headers[http::header::CONTENT_TYPE], ARROW);
    let e = a.error.as_ref().expect("an Arrow error body");
    assert_eq!(e.code(), ErrorCode::ResourceExhausted);
    assert_eq!(e.error_kind, QUOTA_EXCEEDED_KIND);
    assert!(e.is_retryable(), "RESOURCE_EXHAUSTED with RetryInfo");
}

fn one_stream_each() -> QuotaSettings {
    QuotaSettings {
        max_open_streams_per_principal: Some(1),
        stream_idle_expiry: Duration::from_secs(30),
        ..Default::default()
    }
}

#[tokio::test]
async fn one_principal_at_its_stream_quota_while_another_still_opens_streams() {
    let clock = FakeClock::at_unix(1_700_000_000);
    let app = app(one_stream_each(), &clock);
    let mut held = open(&app, ALICE).await;

    clock.advance(Duration::from_millis(10_500));
    let refused = init(&app, ALICE).await;
    // The hint is when alice's idle stream would lapse: 19.5 s, rounded up.
    assert_refused(&refused, "20");
    assert_eq!(refused.error.as_ref().and_then(RemoteError::retry_delay_seconds), Some(19.5));

    // Bob keeps his service while alice is at her quota.
    let bobs = open(&app, BOB).await;
    assert_eq!(init(&app, BOB).await.status, StatusCode::TOO_MANY_REQUESTS, "bob has his own quota of one");

    // Alice's own stream goes on: a continuation is not a second stream.
    let second = turn(&app, ALICE, &held, false).await;
    assert_eq!((second.status, second.rows), (StatusCode::OK, 1));
    held.cursor = second.cursor.expect("goes on");
    let third = turn(&app, ALICE, &held, false).await;
    assert_eq!((third.status, third.rows), (StatusCode::OK, 1));
    held.cursor = third.cursor.expect("goes on");
    let last = turn(&app, ALICE, &held, false).await;
    assert_eq!((last.status, last.cursor), (StatusCode::OK, None), "the producer finished");

    // Finished: alice opens again; cancelled: and again.
    let reopened = open(&app, ALICE).await;
    assert_eq!(turn(&app, ALICE, &reopened, true).await.status, StatusCode::OK);
    let _abandoned = open(&app, ALICE).await;
    assert_refused(&init(&app, ALICE).await, "30");

    // An abandoned stream lapses after the idle expiry without a turn.
    clock.advance(Duration::from_secs(30));
    let _fresh = open(&app, ALICE).await;
    // Bob's stream lapsed too; his comeback counts again, under his limit.
    assert_eq!(turn(&app, BOB, &bobs, false).await.status, StatusCode::OK);
    assert_refused(&init(&app, BOB).await, "30");
}

#[tokio::test]
async fn request_rate_over_http_is_429_with_retry_after_and_refills() {
    let clock = FakeClock::at_unix(1_700_000_000);
    let settings =
        QuotaSettings { requests_per_second_per_principal: Some(0.5), request_burst: Some(2), ..Default::default() };
    let app = app(settings, &clock);
    let stream = open(&app, ALICE).await;
    assert_eq!(turn(&app, ALICE, &stream, false).await.status, StatusCode::OK, "a continuation is a request");
    let refused = init(&app, ALICE).await;
    assert_refused(&refused, "2");
    assert_eq!(refused.error.as_ref().and_then(RemoteError::retry_delay_seconds), Some(2.0));
    // The refused continuation can be retried with the same cursor later.
    assert_refused(&turn(&app, ALICE, &stream, false).await, "2");
    assert_eq!(init(&app, BOB).await.status, StatusCode::OK, "bob has his own bucket");

    clock.advance(Duration::from_millis(1500));
    assert_refused(&init(&app, ALICE).await, "1");
    clock.advance(Duration::from_millis(500));
    let retried = turn(&app, ALICE, &stream, false).await;
    assert_eq!((retried.status, retried.rows), (StatusCode::OK, 1), "the same turn, retried after the hint");
}
