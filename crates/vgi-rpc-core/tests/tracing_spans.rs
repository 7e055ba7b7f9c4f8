//! Every dispatched call runs inside a `vgi_rpc.call` tracing span carrying
//! protocol, method, method type, request id, status and duration.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn calls_are_traced_with_their_outcome() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let server = test_server();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Serve in-process on this thread's subscriber: write the requests first.
    let mut requests = Vec::new();
    {
        let mut writer_client = vgi_rpc_core::Client::new(std::io::empty(), &mut requests);
        writer_client.set_protocol_version(PROTO, VERSION);
        let md = vgi_rpc_core::wire::RequestHeader {
            protocol_version: Some(VERSION.into()),
            ..vgi_rpc_core::wire::RequestHeader::new(PROTO, "fail")
        }
        .to_metadata(&vgi_rpc_core::Metadata::new());
        writer_client.send_request(&one_string("message", "boom"), &md).unwrap();
    }
    let mut out = Vec::new();
    vgi_rpc_core::serve_connection(&server, &mut requests.as_slice(), &mut out, &Default::default()).unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("vgi_rpc.call"), "{text}");
    assert!(text.contains("method=\"fail\"") || text.contains("method=fail"), "{text}");
    assert!(text.contains("protocol=\"test.Echo.v1\"") || text.contains("protocol=test.Echo.v1"), "{text}");
    assert!(text.contains("status=\"error\"") || text.contains("status=error"), "{text}");
    assert!(text.contains("duration_ms="), "{text}");
}
