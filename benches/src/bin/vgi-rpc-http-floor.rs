//! `vgi-rpc-http-floor`: the least an HTTP/1 server on hyper can do per
//! request, as a floor for the HTTP worker's CPU per call. It serves one
//! route with the same stack as the worker (tokio's multi-threaded runtime,
//! hyper's HTTP/1 server, `TCP_NODELAY`, keep-alive) and echoes each request
//! body. With `--zstd` it also does the codec work a zstd-speaking client
//! asks of every call: decode a `Content-Encoding: zstd` request and encode
//! the answer at level 1 with a reused context. Prints `PORT:<n>`.

use std::cell::RefCell;
use std::convert::Infallible;
use std::io::Write as _;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(name = "vgi-rpc-http-floor", about = "HTTP/1 echo server: the floor for vgi-rpc's HTTP worker CPU")]
struct Args {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Decode zstd request bodies and answer zstd (level 1).
    #[arg(long)]
    zstd: bool,
}

thread_local! {
    static CODEC: RefCell<Option<(zstd::bulk::Compressor<'static>, zstd::bulk::Decompressor<'static>)>> =
        const { RefCell::new(None) };
}

/// Decode `body` when it is zstd, and encode the echo with a reused context.
fn zstd_echo(body: &[u8], encoded: bool) -> std::io::Result<Vec<u8>> {
    CODEC.with(|slot| {
        let mut slot = slot.borrow_mut();
        let (compressor, decompressor) = match slot.as_mut() {
            Some(pair) => pair,
            None => slot.insert((zstd::bulk::Compressor::new(1)?, zstd::bulk::Decompressor::new()?)),
        };
        let plain = if encoded { decompressor.decompress(body, 1 << 20)? } else { body.to_vec() };
        compressor.compress(&plain)
    })
}

fn bad_request() -> Response<Full<Bytes>> {
    Response::builder().status(400).body(Full::new(Bytes::new())).unwrap_or_default()
}

async fn echo(req: Request<Incoming>, with_zstd: bool) -> Result<Response<Full<Bytes>>, Infallible> {
    let encoded = req.headers().get(hyper::header::CONTENT_ENCODING).is_some_and(|v| v == "zstd");
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(bad_request()),
    };
    let mut answer = Response::builder().header(hyper::header::CONTENT_TYPE, "application/vnd.apache.arrow.stream");
    let out = if with_zstd {
        match zstd_echo(&body, encoded) {
            Ok(packed) => {
                answer = answer.header(hyper::header::CONTENT_ENCODING, "zstd");
                Bytes::from(packed)
            }
            Err(_) => return Ok(bad_request()),
        }
    } else {
        body
    };
    Ok(answer.body(Full::new(out)).unwrap_or_default())
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
        let mut out = std::io::stdout();
        writeln!(out, "PORT:{}", listener.local_addr()?.port())?;
        out.flush()?;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let with_zstd = args.zstd;
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| echo(req, with_zstd));
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
