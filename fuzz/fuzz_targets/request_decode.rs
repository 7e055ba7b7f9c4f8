//! `request_decode`: turning request bytes into a call, as the servers do.
//!
//! The first input byte picks the path, the second a method of the fixture
//! server (`echo`, `noop`, `mixed`, `count`, `scale`); the rest is the
//! request bytes:
//!
//! * pipe transports: `vgi_rpc_core::serve_connection` over the bytes as the
//!   whole inbound side of one connection (request streams, stream input,
//!   ticks, cancels), answers written to a sink;
//! * HTTP: `vgi_rpc_core::stateless::dispatch_one` with the bytes as the body
//!   of a unary, `/init` or `/exchange` request, with the HTTP transport's
//!   sealed tokens (`SealedTokens`, fixed key and clock, no cache), so an
//!   exchange seed carrying a valid token reaches the resumed state;
//! * the wire layer alone: `StreamReader` + `Request` accessors +
//!   `RequestHeader` round trip + `classify()` on every batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgi_rpc_core::stateless::{dispatch_one, OneRequest, Route};
use vgi_rpc_core::{serve_connection, AuthContext, ConnectionInfo};
use vgi_rpc_http::tokens::SealedTokens;
use vgi_rpc_wire::reader::Opened;
use vgi_rpc_wire::{classify, Metadata, Request, RequestHeader, StreamReader};

fn tokens() -> &'static SealedTokens {
    static TOKENS: std::sync::OnceLock<SealedTokens> = std::sync::OnceLock::new();
    TOKENS.get_or_init(|| SealedTokens::new(vgi_rpc_fuzz::sealer(), 0))
}

fn wire_only(body: &[u8]) {
    let mut r = body;
    let Ok(Opened::Stream(mut s)) = StreamReader::open(&mut r, vgi_rpc_fuzz::small_limits()) else { return };
    for _ in 0..16 {
        let Ok(Some(b)) = s.next(&mut r) else { return };
        let _ = classify(b.batch.num_rows(), &b.metadata);
        let req = Request { batch: b.batch, metadata: b.metadata };
        if let (Some(protocol), Some(method)) = (req.protocol(), req.method()) {
            let header = RequestHeader {
                protocol: protocol.to_owned(),
                method: method.to_owned(),
                protocol_version: req.protocol_version().map(str::to_owned),
                request_id: req.request_id().map(str::to_owned),
            };
            let md = header.to_metadata(&Metadata::new());
            assert_eq!(md.get(vgi_rpc_wire::keys::METHOD), Some(method));
            assert_eq!(md.get(vgi_rpc_wire::keys::PROTOCOL), Some(protocol));
        }
        let _ = req.request_version();
    }
}

fuzz_target!(init: vgi_rpc_fuzz::let_arrow_panics_unwind(), |data: &[u8]| {
    let [mode, pick, body @ ..] = data else { return };
    let server = vgi_rpc_fuzz::server();
    let conn = ConnectionInfo { auth: std::sync::Arc::new(AuthContext::authenticated("bearer", "fuzzer")), ..Default::default() };
    let route = match mode % 5 {
        0 => {
            let mut r = body;
            let mut sink = Vec::new();
            let _ = serve_connection(server, &mut r, &mut sink, &conn);
            return;
        }
        1 => Route::Unary,
        2 => Route::Init,
        3 => Route::Exchange,
        _ => return wire_only(body),
    };
    let protocol = server.primary().unwrap_or_else(|| unreachable!("the fixture hosts one protocol"));
    let methods = protocol.method_defs();
    let method = &methods[*pick as usize % methods.len()];
    let one = OneRequest {
        route,
        protocol,
        method,
        body,
        conn: &conn,
        request_id: "fuzz-request",
        response_limit: (pick & 0x80 != 0).then_some(4096),
        session: None,
    };
    let answer = dispatch_one(server, tokens(), &one);
    assert!(!answer.body.is_empty(), "every answer carries a stream");
});
