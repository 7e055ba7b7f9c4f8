//! Seed corpus generator: writes real, valid inputs for every fuzz target
//! under `fuzz/corpus/<target>/seed-*`, built with the same fixtures
//! (keys, clock, server, JWKS) the targets use, so tokens, proofs and JWTs
//! in the seeds verify when replayed.
//!
//! Run from the repository root: `cargo run --manifest-path fuzz/Cargo.toml
//! --example seeds`. Output is deterministic except for sealed tokens (their
//! nonces are random), which open all the same.

use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
    StructArray,
};
use arrow_schema::{DataType, Field, Schema};
use jsonwebtoken::Algorithm;
use vgi_rpc_core::client::{no_params, StreamOptions};
use vgi_rpc_core::stateless::{dispatch_one, OneRequest, Route, Status};
use vgi_rpc_core::{serve_connection, AuthContext, Client, ConnectionInfo, LogLevel};
use vgi_rpc_http::encoding::{encode_body, Codec};
use vgi_rpc_http::tokens::SealedTokens;
use vgi_rpc_token::{codec, CallToken, CursorToken, TokenKind};
use vgi_rpc_wire::log::LogMessage;
use vgi_rpc_wire::writer::write_stream;
use vgi_rpc_wire::{keys, EncodedSchema, Metadata, RequestHeader};

type Out = Result<(), Box<dyn std::error::Error>>;

/// Fail the generator when a seed does not do what it is meant to.
fn check(ok: bool, what: String) -> Out {
    if ok {
        Ok(())
    } else {
        Err(what.into())
    }
}

struct Corpus {
    root: PathBuf,
}

impl Corpus {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) -> Out {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        Ok(())
    }
}

fn one_col(name: &str, array: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([(name, array)]).expect("one-column batch")
}

fn header(method: &str) -> Metadata {
    RequestHeader {
        protocol_version: Some(vgi_rpc_fuzz::VERSION.into()),
        ..RequestHeader::new(vgi_rpc_fuzz::PROTOCOL, method)
    }
    .to_metadata(&Metadata::new())
}

fn stream(batch: &RecordBatch, md: &Metadata) -> Vec<u8> {
    let mut out = Vec::new();
    write_stream(&mut out, &EncodedSchema::new(batch.schema()), &[(batch, md)]).expect("stream into memory");
    out
}

fn mixed_params() -> RecordBatch {
    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.values().append_value("x");
    tags.values().append_null();
    tags.append(true);
    let tags = tags.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("x", DataType::Float64, true),
        Field::new("flag", DataType::Boolean, false),
        Field::new("blob", DataType::Binary, true),
        Field::new("tags", arrow_array::Array::data_type(&tags).clone(), true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![41])),
            Arc::new(Float64Array::from(vec![None])),
            Arc::new(BooleanArray::from(vec![true])),
            Arc::new(BinaryArray::from(vec![Some(&b"\x00\xff"[..])])),
            Arc::new(tags),
        ],
    )
    .expect("mixed params")
}

/// Unary request bodies for each method, keyed by method name.
fn request_bodies() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let echo = one_col("value", Arc::new(StringArray::from(vec!["hello"])));
    let count = one_col("n", Arc::new(Int64Array::from(vec![3])));
    let scale = one_col("factor", Arc::new(Float64Array::from(vec![2.0])));
    let mut traced = header("echo");
    traced.insert(keys::TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    traced.insert(keys::REQUEST_ID, "req-1");
    let mut bad_version = header("echo");
    bad_version.insert(keys::REQUEST_VERSION, "7");
    vec![
        ("echo", "echo", stream(&echo, &header("echo"))),
        ("echo-traced", "echo", stream(&echo, &traced)),
        ("echo-bad-version", "echo", stream(&echo, &bad_version)),
        ("echo-wrong-type", "echo", stream(&count, &header("echo"))),
        ("noop", "noop", stream(&no_params(), &header("noop"))),
        ("mixed", "mixed", stream(&mixed_params(), &header("mixed"))),
        ("count", "count", stream(&count, &header("count"))),
        ("scale", "scale", stream(&scale, &header("scale"))),
        ("unknown-method", "noop", stream(&no_params(), &header("nope"))),
        ("transport-options", "noop", stream(&no_params(), &header("__transport_options__"))),
    ]
}

/// Streams exercising reader features the requests do not: dictionaries,
/// structs, nulls, log and error batches, several batches, back-to-back
/// streams, and the legacy prefix without the continuation marker.
fn wire_streams() -> Vec<(&'static str, Vec<u8>)> {
    let dict: DictionaryArray<Int32Type> = vec!["a", "b", "a", "c"].into_iter().collect();
    let dict_batch = one_col("d", Arc::new(dict));
    let s = StructArray::from(vec![
        (Arc::new(Field::new("a", DataType::Int64, true)), Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef),
        (
            Arc::new(Field::new("b", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![None, Some("z")])) as ArrayRef,
        ),
    ]);
    let struct_batch = one_col("s", Arc::new(s));
    let empty = RecordBatch::new_empty(EncodedSchema::empty().schema().clone());
    let log = LogMessage::new(LogLevel::Info, "a log line").to_metadata(Some("srv"), Some("req"));
    let err = vgi_rpc_wire::ErrorPayload::new("ValueError", "bad value").to_metadata(Some("srv"), Some("req"), true);
    let mut multi = Vec::new();
    let schema = EncodedSchema::new(dict_batch.schema());
    write_stream(&mut multi, &schema, &[(&dict_batch, &Metadata::new()), (&dict_batch, &header("x"))])
        .expect("stream into memory");
    let mut logs = Vec::new();
    write_stream(&mut logs, EncodedSchema::empty(), &[(&empty, &log), (&empty, &err)]).expect("stream into memory");
    let mut two = stream(&struct_batch, &Metadata::new());
    two.extend_from_slice(&stream(&no_params(), &header("noop")));
    // Legacy framing: drop every continuation marker.
    let legacy = strip_continuations(&stream(&no_params(), &header("noop")));
    let mut schema_only = EncodedSchema::empty().ipc_bytes();
    schema_only.extend_from_slice(&vgi_rpc_wire::writer::EOS);
    vec![
        ("dictionary", multi),
        ("struct-nulls", stream(&struct_batch, &Metadata::new())),
        ("log-and-error", logs),
        ("two-streams", two),
        ("legacy-prefix", legacy),
        ("schema-only", schema_only),
    ]
}

/// Rewrite an IPC stream from `FFFFFFFF len` framing to the pre-1.0 `len`
/// framing, message by message.
fn strip_continuations(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 8 && rest[..4] == [0xFF; 4] {
        let len = i32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        out.extend_from_slice(&rest[4..8]);
        let message = &rest[8..8 + len];
        out.extend_from_slice(message);
        let body = if len == 0 {
            0
        } else {
            arrow_ipc::root_as_message(message).map(|m| m.bodyLength() as usize).unwrap_or(0)
        };
        out.extend_from_slice(&rest[8 + len..8 + len + body]);
        rest = &rest[8 + len + body..];
    }
    out
}

/// A writer that forwards to `inner` and keeps a copy of every byte.
struct Tee<W> {
    inner: W,
    copy: Arc<Mutex<Vec<u8>>>,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.copy.lock().expect("tee lock").extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type PipeClient = Client<BufReader<UnixStream>, Tee<BufWriter<UnixStream>>>;

/// Run `session` as a client against the fixture server over a socket pair
/// and return every byte the client sent: the server's whole inbound side.
fn record_pipe(session: impl FnOnce(&mut PipeClient)) -> Vec<u8> {
    let (a, b) = UnixStream::pair().expect("socket pair");
    let server = std::thread::spawn(move || {
        let mut r = BufReader::new(b.try_clone().expect("clone"));
        let mut w = BufWriter::new(b);
        let _ = serve_connection(vgi_rpc_fuzz::server(), &mut r, &mut w, &conn());
    });
    let copy = Arc::new(Mutex::new(Vec::new()));
    let tee = Tee { inner: BufWriter::new(a.try_clone().expect("clone")), copy: copy.clone() };
    let mut client = Client::new(BufReader::new(a), tee);
    client.set_protocol_version(vgi_rpc_fuzz::PROTOCOL, vgi_rpc_fuzz::VERSION);
    session(&mut client);
    drop(client);
    let _ = server.join();
    let bytes = copy.lock().expect("tee lock").clone();
    bytes
}

fn conn() -> ConnectionInfo {
    ConnectionInfo { auth: Arc::new(AuthContext::authenticated("bearer", "fuzzer")), ..Default::default() }
}

fn pipe_sessions() -> Vec<(&'static str, Vec<u8>)> {
    let p = vgi_rpc_fuzz::PROTOCOL;
    let echo = one_col("value", Arc::new(StringArray::from(vec!["hello"])));
    let n = one_col("n", Arc::new(Int64Array::from(vec![2])));
    let factor = one_col("factor", Arc::new(Float64Array::from(vec![3.0])));
    let values = one_col("value", Arc::new(Float64Array::from(vec![1.0, 2.5])));
    let with_header = StreamOptions { has_header: true, ..Default::default() };
    vec![
        (
            "unary",
            record_pipe(|c| {
                let _ = c.transport_options();
                let _ = c.call(p, "echo", &echo);
                let _ = c.call(p, "noop", &no_params());
                let _ = c.call(p, "mixed", &mixed_params());
                let _ = c.call(p, "echo", &n);
            }),
        ),
        (
            "producer",
            record_pipe(|c| {
                if let Ok(mut s) = c.producer(p, "count", &n, &with_header) {
                    let _ = s.collect_all();
                }
            }),
        ),
        (
            "producer-cancel",
            record_pipe(|c| {
                if let Ok(mut s) = c.producer(p, "count", &n, &with_header) {
                    let _ = s.next_batch();
                    let _ = s.cancel();
                }
            }),
        ),
        (
            "exchange",
            record_pipe(|c| {
                if let Ok(mut s) = c.exchange(p, "scale", &factor, &StreamOptions::default()) {
                    let _ = s.exchange(&values);
                    let _ = s.exchange(&values);
                    let _ = s.close(&vgi_rpc_fuzz::value_schema());
                }
                let _ = c.call(p, "echo", &echo);
            }),
        ),
    ]
}

fn method_index(name: &str) -> u8 {
    let protocol = vgi_rpc_fuzz::server().primary().expect("one protocol");
    protocol.method_defs().iter().position(|m| m.name() == name).expect("a fixture method") as u8
}

fn dispatch(tokens: &SealedTokens, route: Route, method: &str, body: &[u8]) -> (Status, Vec<u8>) {
    let server = vgi_rpc_fuzz::server();
    let protocol = server.primary().expect("one protocol");
    let method = protocol.get(method).expect("a fixture method");
    let conn = conn();
    let one =
        OneRequest { route, protocol, method, body, conn: &conn, request_id: "seed", response_limit: None, session: None };
    let answer = dispatch_one(server, tokens, &one);
    (answer.status, answer.body)
}

/// Every batch of every stream in `bytes` (a header stream may precede the output stream).
fn all_batches(bytes: &[u8]) -> Vec<vgi_rpc_wire::ReadBatch> {
    let mut out = Vec::new();
    let mut r = bytes;
    while let Ok(vgi_rpc_wire::reader::Opened::Stream(mut s)) =
        vgi_rpc_wire::StreamReader::open(&mut r, vgi_rpc_wire::ReadLimits::default())
    {
        while let Ok(Some(b)) = s.next(&mut r) {
            out.push(b);
        }
    }
    out
}

/// The cursor and call tokens an `/init` answer hands back.
fn tokens_of(answer: &[u8]) -> Option<(String, String)> {
    all_batches(answer).iter().find_map(|b| {
        Some((b.metadata.get(keys::STREAM_STATE)?.to_owned(), b.metadata.get(keys::CALL_STATE)?.to_owned()))
    })
}

fn http_seeds(c: &Corpus) -> Out {
    let tokens = SealedTokens::new(vgi_rpc_fuzz::sealer(), 0);
    for (name, method, body) in request_bodies() {
        let idx = method_index(method);
        c.put("request_decode", &format!("unary-{name}"), &[[1, idx].as_slice(), &body].concat())?;
        c.put("request_decode", &format!("wire-{name}"), &[[4, idx].as_slice(), &body].concat())?;
        c.put("ipc_reader", &format!("request-{name}"), &body)?;
        if method == "count" || method == "scale" {
            c.put("request_decode", &format!("init-{name}"), &[[2, idx].as_slice(), &body].concat())?;
        }
    }
    let n = one_col("n", Arc::new(Int64Array::from(vec![3])));
    let factor = one_col("factor", Arc::new(Float64Array::from(vec![2.0])));
    let values = one_col("value", Arc::new(Float64Array::from(vec![1.0, -4.0])));
    let tick = no_params();
    for (method, params, input) in [("count", &n, &tick), ("scale", &factor, &values)] {
        let (status, init) = dispatch(&tokens, Route::Init, method, &stream(params, &header(method)));
        check(status == Status::Ok, format!("{method} /init answered {status:?}"))?;
        c.put("ipc_reader", &format!("init-answer-{method}"), &init)?;
        let Some((cursor, call)) = tokens_of(&init) else {
            let seen: Vec<_> = all_batches(&init).iter().map(|b| format!("{:?}", b.metadata)).collect();
            return Err(format!("{method}: no tokens in the /init answer: {seen:?}").into());
        };
        let idx = method_index(method);
        let mut md = Metadata::new().with(keys::STREAM_STATE, cursor.as_str()).with(keys::CALL_STATE, call.as_str());
        let turn = stream(input, &md);
        c.put("request_decode", &format!("exchange-{method}"), &[[3, idx].as_slice(), &turn].concat())?;
        let (status, answer) = dispatch(&tokens, Route::Exchange, method, &turn);
        check(status == Status::Ok, format!("{method} /exchange answered {status:?}"))?;
        c.put("ipc_reader", &format!("exchange-answer-{method}"), &answer)?;
        md.insert(keys::CANCEL, "true");
        let cancel = stream(input, &md);
        c.put("request_decode", &format!("cancel-{method}"), &[[3, idx].as_slice(), &cancel].concat())?;
        c.put("token_open", &format!("open-cursor-{method}"), &[[0u8].as_slice(), cursor.as_bytes()].concat())?;
        c.put("token_open", &format!("open-call-{method}"), &[[0u8].as_slice(), call.as_bytes()].concat())?;
        c.put("token_open", &format!("sealed-cursor-{method}"), &[[3u8].as_slice(), cursor.as_bytes()].concat())?;
    }
    Ok(())
}

fn wire_seeds(c: &Corpus) -> Out {
    for (name, bytes) in pipe_sessions() {
        c.put("request_decode", &format!("pipe-{name}"), &[[0u8, 0].as_slice(), &bytes].concat())?;
        c.put("ipc_reader", &format!("pipe-{name}"), &bytes)?;
    }
    for (name, bytes) in wire_streams() {
        c.put("ipc_reader", name, &bytes)?;
        c.put("request_decode", &format!("wire-{name}"), &[[4u8, 0].as_slice(), &bytes].concat())?;
    }
    Ok(())
}

/// The record-batch message of a one-batch stream: `(flatbuffer, body)`.
fn batch_message(stream: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let schema_len = i32::from_le_bytes([stream[4], stream[5], stream[6], stream[7]]) as usize;
    let rest = &stream[8 + schema_len..];
    let len = i32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
    let fb = rest[8..8 + len].to_vec();
    let body_len = arrow_ipc::root_as_message(&fb).expect("a batch message").bodyLength() as usize;
    (fb, rest[8 + len..8 + len + body_len].to_vec())
}

fn metadata_repair_seeds(c: &Corpus) -> Out {
    let values = one_col("value", Arc::new(Float64Array::from(vec![1.0, 2.0])));
    let cases = [
        ("clean", Metadata::new().with("k", "plain value")),
        ("bad-value", Metadata::new().with("k", "AB@@@@CD").with("other", "@@@@")),
        ("bad-key", Metadata::new().with("@@@@", "v")),
        ("many", (0..8).fold(Metadata::new(), |m, i| m.with(format!("key{i}@@@@"), "x@@@@y"))),
        ("request", header("echo").with("blob", "@@@@@@@@")),
    ];
    for (name, md) in cases {
        let (mut fb, body) = batch_message(&stream(&values, &md));
        // Turn every `@@@@` placeholder into invalid UTF-8 of several shapes.
        let patterns: [&[u8]; 4] = [b"\xff\xfe\xfd\xfc", b"\xc3\x28\xa0\xa1", b"\xe2\x82\x41\x42", b"\xf0\x9f\x98"];
        let mut i = 0;
        let mut k = 0;
        while i + 4 <= fb.len() {
            if &fb[i..i + 4] == b"@@@@" {
                let p = patterns[k % patterns.len()];
                fb[i..i + p.len()].copy_from_slice(p);
                k += 1;
                i += 4;
            } else {
                i += 1;
            }
        }
        let mut input = (fb.len() as u32).to_le_bytes().to_vec();
        input.extend_from_slice(&fb);
        input.extend_from_slice(&body);
        c.put("metadata_repair", name, &input)?;
    }
    Ok(())
}

fn token_seeds(c: &Corpus) -> Out {
    let sealer = vgi_rpc_fuzz::sealer();
    let id = vgi_rpc_fuzz::IDENTITY;
    let p = vgi_rpc_fuzz::PROTOCOL;
    let cursor = CursorToken { call_id: [7; 16], state: b"state bytes".to_vec() }.encode();
    let call = CallToken {
        call_id: [7; 16],
        method: "scale".into(),
        call_state: 4096u64.to_le_bytes().to_vec(),
        output_schema: EncodedSchema::new(vgi_rpc_fuzz::value_schema()).ipc_bytes(),
        input_schema: EncodedSchema::new(vgi_rpc_fuzz::value_schema()).ipc_bytes(),
        stream_id: "stream-1".into(),
    }
    .encode();
    let big_state = CursorToken { call_id: [1; 16], state: b"the same row again; ".repeat(50) }.encode();
    c.put(
        "token_open",
        "sealed-cursor",
        &[[0u8].as_slice(), sealer.seal(TokenKind::Cursor, p, id, &cursor)?.as_bytes()].concat(),
    )?;
    c.put(
        "token_open",
        "sealed-call",
        &[[0u8].as_slice(), sealer.seal(TokenKind::Call, p, id, &call)?.as_bytes()].concat(),
    )?;
    c.put(
        "token_open",
        "sealed-big",
        &[[0u8].as_slice(), sealer.seal(TokenKind::Cursor, p, id, &big_state)?.as_bytes()].concat(),
    )?;
    c.put("token_open", "unpack-raw", &[[1u8].as_slice(), &codec::pack(b"tiny")].concat())?;
    c.put("token_open", "unpack-zstd", &[[1u8].as_slice(), &codec::pack(&big_state)].concat())?;
    c.put("token_open", "decode-cursor", &[[2u8].as_slice(), &cursor].concat())?;
    c.put("token_open", "decode-call", &[[2u8].as_slice(), &call].concat())?;
    c.put("token_open", "garbage-call", &[[4u8].as_slice(), &call].concat())?;
    c.put("token_open", "garbage-cursor", &[[4u8].as_slice(), &cursor].concat())?;
    c.put("token_open", "roundtrip", &[[5u8].as_slice(), &big_state].concat())?;
    Ok(())
}

fn http_body_seeds(c: &Corpus) -> Out {
    let payload = stream(&one_col("value", Arc::new(StringArray::from(vec!["hello"; 20]))), &header("echo"));
    let zstd = encode_body(Codec::Zstd, &payload)?;
    let gzip = encode_body(Codec::Gzip, &payload)?;
    let mut streamed = Vec::new();
    {
        // A zstd frame without a declared content size (the streaming path).
        let mut enc = zstd::stream::write::Encoder::new(&mut streamed, 1)?;
        enc.write_all(&payload)?;
        enc.finish()?;
    }
    let mut two_frames = zstd.clone();
    two_frames.extend_from_slice(&zstd);
    c.put("http_body", "zstd", &[[0u8].as_slice(), &zstd].concat())?;
    c.put("http_body", "zstd-streamed", &[[0u8].as_slice(), &streamed].concat())?;
    c.put("http_body", "zstd-two-frames", &[[0u8].as_slice(), &two_frames].concat())?;
    c.put("http_body", "gzip", &[[1u8].as_slice(), &gzip].concat())?;
    c.put("http_body", "roundtrip", &[[2u8].as_slice(), &payload].concat())?;
    c.put("http_body", "accept", &[[4u8].as_slice(), b"zstd;q=1.0, gzip, identity"].concat())?;
    Ok(())
}

fn auth_seeds(c: &Corpus) -> Out {
    let xfcc = [
        (
            "by-hash-subject",
            r#"By=spiffe://cluster.local/ns/default/sa/proxy;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="CN=alice,OU=eng,O=Example";URI=spiffe://cluster.local/ns/default/sa/alice;DNS=alice.example"#,
        ),
        (
            "two-elements",
            r#"By=spiffe://a;Subject="/C=US/O=Example/CN=bob",By=spiffe://b;Subject="CN=carol\, the second,O=x""#,
        ),
        (
            "cert",
            "Hash=abc;Cert=\"-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A\";Chain=\"a%2Cb\"",
        ),
        ("escapes", r#"Subject="CN=\"quoted\"\\, escaped\2C hex";URI="spiffe://x\;y""#),
        ("lines", "Subject=\"CN=first\"\nSubject=\"CN=second\""),
    ];
    for (name, value) in xfcc {
        c.put("xfcc", name, value.as_bytes())?;
    }
    let es = vgi_rpc_fuzz::sign_jwt(Algorithm::ES256, &vgi_rpc_fuzz::good_claims());
    let rs = vgi_rpc_fuzz::sign_jwt(Algorithm::RS256, &vgi_rpc_fuzz::good_claims());
    let expired = vgi_rpc_fuzz::sign_jwt(
        Algorithm::ES256,
        &serde_json::json!({"sub": "bob", "iss": vgi_rpc_fuzz::JWT_ISSUER, "aud": vgi_rpc_fuzz::JWT_AUDIENCE, "exp": 1}),
    );
    let auth = vgi_rpc_fuzz::jwt_authenticator();
    for token in [&es, &rs] {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, http::HeaderValue::from_str(&format!("Bearer {token}"))?);
        let verdict = vgi_rpc_auth::Authenticator::authenticate(&auth, &vgi_rpc_auth::AuthRequest::new(&headers));
        check(verdict.is_ok(), format!("the fixture JWT is refused: {verdict:?}"))?;
    }
    c.put("jwt", "es256", &[[0u8].as_slice(), es.as_bytes()].concat())?;
    c.put("jwt", "rs256", &[[0u8].as_slice(), rs.as_bytes()].concat())?;
    c.put("jwt", "expired", &[[0u8].as_slice(), expired.as_bytes()].concat())?;
    c.put("jwt", "authorization", format!("\x01Bearer {es}").as_bytes())?;
    c.put("jwt", "jwks", &[[2u8].as_slice(), vgi_rpc_fuzz::jwks_json().as_bytes()].concat())?;

    let proof = vgi_rpc_auth::mint_proof(
        &vgi_rpc_fuzz::PROOF_SECRET,
        vgi_rpc_fuzz::PROOF_KID,
        vgi_rpc_fuzz::PROOF_ORIGIN,
        vgi_rpc_fuzz::NOW_UNIX,
        Some("AAAAAAAAAAAAAAAAAAAAAA"),
    )?;
    let stale = vgi_rpc_auth::mint_proof(
        &vgi_rpc_fuzz::PROOF_SECRET,
        vgi_rpc_fuzz::PROOF_KID,
        vgi_rpc_fuzz::PROOF_ORIGIN,
        vgi_rpc_fuzz::NOW_UNIX - 120,
        Some("BBBBBBBBBBBBBBBBBBBBBB"),
    )?;
    let parsed = vgi_rpc_auth::proof::parse_proof(&proof).map_err(|e| format!("fixture proof: {e:?}"))?;
    let verdict = vgi_rpc_auth::proof::check_proof(
        &parsed,
        &vgi_rpc_fuzz::PROOF_SECRET,
        vgi_rpc_fuzz::PROOF_ORIGIN,
        vgi_rpc_fuzz::NOW_UNIX,
        30,
    );
    check(verdict.is_ok(), format!("the fixture proof is refused: {verdict:?}"))?;
    c.put("proxy_proof", "check", &[[0u8].as_slice(), proof.as_bytes()].concat())?;
    c.put("proxy_proof", "gate", &[[1u8].as_slice(), proof.as_bytes()].concat())?;
    c.put("proxy_proof", "gate-stale", &[[1u8].as_slice(), stale.as_bytes()].concat())?;
    c.put("proxy_proof", "gate-two", format!("\x02{proof}\n{stale}").as_bytes())?;
    let secrets = format!("{}:{},other:{}", vgi_rpc_fuzz::PROOF_KID, "11".repeat(32), "ab".repeat(32));
    c.put("proxy_proof", "secrets", &[[3u8].as_slice(), secrets.as_bytes()].concat())?;
    c.put("proxy_proof", "nonces", &[4u8, 1, 1, 2, 1, 1, 0, 3, 2, 4, 7, 1, 0, 5, 3, 1, 7][..])?;
    Ok(())
}

fn main() -> Out {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let c = Corpus { root };
    wire_seeds(&c)?;
    http_seeds(&c)?;
    metadata_repair_seeds(&c)?;
    token_seeds(&c)?;
    http_body_seeds(&c)?;
    auth_seeds(&c)?;
    println!("seeds written under {}", c.root.display());
    Ok(())
}
