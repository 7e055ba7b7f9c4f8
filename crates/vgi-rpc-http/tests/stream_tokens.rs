//! Stateless stream turns through the real token sealer: the call/cursor
//! split survives a cold cache, tokens are bound to the identity that
//! minted them, and tampered or missing tokens are `400`s.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use vgi_rpc_core::state_codec::{encode_state, producer_decoder};
use vgi_rpc_core::stateless::{dispatch_one, resolve_route, OneRequest, Route, Status};
use vgi_rpc_core::wire::reader::Opened;
use vgi_rpc_core::wire::{keys, EncodedSchema, Metadata, ReadLimits, RequestHeader, StreamReader, StreamWriter};
use vgi_rpc_core::{
    AuthContext, CallContext, ConnectionInfo, MethodDef, OutputCollector, ProducerState, Protocol, RpcError, Server,
    StreamResult,
};
use vgi_rpc_http::tokens::SealedTokens;
use vgi_rpc_token::{Key, Keyring, Sealer};

#[derive(Serialize, Deserialize)]
struct Count {
    next: i64,
    end: i64,
}

impl ProducerState for Count {
    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.next >= self.end {
            return out.finish();
        }
        self.next += 1;
        out.emit_arrays(vec![Arc::new(Int64Array::from(vec![self.next - 1]))])
    }
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }
}

fn server() -> Server {
    let out = Arc::new(EncodedSchema::new(Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))));
    let count = MethodDef::builder("count")
        .param("end", DataType::Int64, false)
        .state_decoder(producer_decoder::<Count>())
        .producer(move |p, _| Ok(StreamResult::producer(out.clone(), Count { next: 0, end: p.i64("end")? })));
    Server::builder().protocol(Protocol::new("Demo").method(count)).build().expect("server")
}

fn tokens(cache_entries: usize) -> SealedTokens {
    let sealer = Sealer::new(
        Keyring::new(Key::from_bytes(&[9; 32]).expect("key")),
        Arc::new(vgi_rpc_core::SystemClock::default()),
        Duration::from_secs(3600),
    );
    SealedTokens::new(sealer, cache_entries)
}

fn body(batch: &RecordBatch, metadata: &Metadata) -> Vec<u8> {
    let mut out = Vec::new();
    let schema = EncodedSchema::new(batch.schema());
    let mut w = StreamWriter::begin(&mut out, &schema).expect("begin");
    w.write(&mut out, batch, metadata).expect("write");
    w.finish(&mut out).expect("finish");
    out
}

fn init_body(end: i64) -> Vec<u8> {
    let params = RecordBatch::try_from_iter([("end", Arc::new(Int64Array::from(vec![end])) as _)]).expect("params");
    body(&params, &RequestHeader::new("Demo", "count").to_metadata(&Metadata::new()))
}

fn tick_body(cursor: &str, call: Option<&str>) -> Vec<u8> {
    let mut md = Metadata::new().with(keys::STREAM_STATE, cursor);
    if let Some(call) = call {
        md.insert(keys::CALL_STATE, call);
    }
    body(&RecordBatch::new_empty(Arc::new(Schema::empty())), &md)
}

/// Data values, and the cursor / call token of the last batch, in a response body.
fn read(answer: &[u8]) -> (Vec<i64>, Option<String>, Option<String>) {
    let mut cursor = answer;
    let Ok(Opened::Stream(mut r)) = StreamReader::open(&mut cursor, ReadLimits::default()) else {
        panic!("response is not an IPC stream");
    };
    let (mut values, mut state, mut call) = (Vec::new(), None, None);
    while let Some(b) = r.next(&mut cursor).expect("batch") {
        assert!(!b.metadata.contains(keys::ERROR_KIND) && b.metadata.get(keys::LOG_LEVEL).is_none());
        if b.batch.num_rows() > 0 {
            let col = b.batch.column(0).as_any().downcast_ref::<Int64Array>().expect("int64");
            values.extend(col.values().iter().copied());
        }
        state = b.metadata.get(keys::STREAM_STATE).map(str::to_owned);
        call = b.metadata.get(keys::CALL_STATE).map(str::to_owned).or(call);
    }
    (values, state, call)
}

fn dispatch(
    server: &Server,
    tokens: &SealedTokens,
    route: Route,
    body: &[u8],
    auth: AuthContext,
) -> vgi_rpc_core::stateless::Answer {
    let (protocol, method) = resolve_route(server, "Demo", "count").expect("route");
    let conn = ConnectionInfo { auth: Arc::new(auth), remote_addr: None, kind: None, trace: None };
    let req =
        OneRequest { route, protocol, method, body, conn: &conn, request_id: "r", response_limit: None, session: None };
    dispatch_one(server, tokens, &req)
}

#[test]
fn a_cold_cache_resumes_from_the_echoed_call_token_and_rejects_its_absence() {
    let (server, tokens) = (server(), tokens(0));
    let alice = || AuthContext::authenticated("bearer", "alice");
    let init = dispatch(&server, &tokens, Route::Init, &init_body(3), alice());
    assert_eq!(init.status, Status::Ok);
    let (values, cursor, call) = read(&init.body);
    assert_eq!(values, vec![0], "the first producer turn runs inside /init");
    let (mut cursor, call) = (cursor.expect("cursor"), call.expect("call token on the init sentinel"));
    let mut all = values;
    loop {
        let turn = dispatch(&server, &tokens, Route::Exchange, &tick_body(&cursor, Some(&call)), alice());
        assert_eq!(turn.status, Status::Ok);
        let (values, next, reissued) = read(&turn.body);
        assert!(reissued.is_none(), "the call token is never re-issued");
        all.extend(values);
        match next {
            Some(c) => cursor = c,
            None => break,
        }
    }
    assert_eq!(all, vec![0, 1, 2]);
    let missing = dispatch(&server, &tokens, Route::Exchange, &tick_body(&cursor, None), alice());
    assert_eq!(missing.status, Status::BadRequest, "a cold cache cannot guess the call");
}

#[test]
fn tokens_are_bound_to_the_identity_that_minted_them() {
    let (server, tokens) = (server(), tokens(64));
    let alice = AuthContext::authenticated("bearer", "alice");
    let init = dispatch(&server, &tokens, Route::Init, &init_body(5), alice.clone());
    let (_, cursor, call) = read(&init.body);
    let tick = tick_body(&cursor.expect("cursor"), call.as_deref());
    for other in [AuthContext::authenticated("bearer", "bob"), AuthContext::anonymous()] {
        let stolen = dispatch(&server, &tokens, Route::Exchange, &tick, other);
        assert_eq!(stolen.status, Status::BadRequest, "another caller cannot continue alice's stream");
    }
    let own = dispatch(&server, &tokens, Route::Exchange, &tick, alice);
    assert_eq!(own.status, Status::Ok);
    assert_eq!(read(&own.body).0, vec![1]);
}

#[test]
fn tampered_and_missing_cursors_are_bad_requests() {
    let (server, tokens) = (server(), tokens(64));
    let init = dispatch(&server, &tokens, Route::Init, &init_body(5), AuthContext::anonymous());
    let (_, cursor, call) = read(&init.body);
    let mut cursor = cursor.expect("cursor").into_bytes();
    let last = cursor.len() - 3;
    cursor[last] = if cursor[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(cursor).expect("ascii");
    let answer =
        dispatch(&server, &tokens, Route::Exchange, &tick_body(&tampered, call.as_deref()), AuthContext::anonymous());
    assert_eq!(answer.status, Status::BadRequest);
    let bare = body(&RecordBatch::new_empty(Arc::new(Schema::empty())), &Metadata::new());
    let answer = dispatch(&server, &tokens, Route::Exchange, &bare, AuthContext::anonymous());
    assert_eq!(answer.status, Status::BadRequest);
}
