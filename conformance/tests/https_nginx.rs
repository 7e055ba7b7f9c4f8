//! The project's HTTP client over `https://`: Debian's nginx terminates TLS
//! on loopback (certificates from a throwaway CA) and proxies to our HTTP
//! worker. Unary, producer and exchange calls and a large request body go
//! through; an untrusted server and a refused client certificate reach the
//! caller as clear errors; with the client certificate, mutual TLS works.

mod support;

use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray};
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::rpc::{CallError, StreamOptions};

use support::nginx::{free_port, nginx_binary, scratch_dir, Certs, Nginx};
use support::{Worker, PRIMARY};

/// Our HTTP worker behind nginx: `tls_port` terminates TLS, `mtls_port`
/// also requires a client certificate from the test CA.
struct Setup {
    _worker: Worker,
    _nginx: Nginx,
    certs: Certs,
    tls_port: u16,
    mtls_port: u16,
}

fn setup(name: &str) -> Option<Setup> {
    let binary = nginx_binary()?;
    let dir = scratch_dir(name);
    let certs = Certs::make(&dir);
    let worker = Worker::start(&["--http"], "PORT:", None);
    let upstream = format!("127.0.0.1:{}", worker.address);
    let (tls_port, mtls_port) = (free_port(), free_port());
    let location = format!(
        "location / {{ proxy_pass http://{upstream}; proxy_http_version 1.1; proxy_set_header Connection \"\"; \
         proxy_request_buffering off; proxy_buffering off; }}"
    );
    let tls = |port: u16, extra: &str| {
        format!(
            "server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {}; ssl_certificate_key {}; {extra} {location} }}\n",
            certs.server_cert.display(),
            certs.server_key.display()
        )
    };
    let servers = tls(tls_port, "")
        + &tls(mtls_port, &format!("ssl_verify_client on; ssl_client_certificate {};", certs.ca.display()));
    let nginx = Nginx::start(&binary, &dir, &servers, &[tls_port, mtls_port]);
    Some(Setup { _worker: worker, _nginx: nginx, certs, tls_port, mtls_port })
}

fn client(url: &str, trust: Option<&Certs>) -> HttpClient {
    let mut client = HttpClient::new(url).expect("https client");
    client.set_timeout(Some(Duration::from_secs(60)));
    client.set_protocol_version(PRIMARY, "2.0.0");
    if let Some(certs) = trust {
        let pem = std::fs::read(&certs.ca).expect("CA PEM");
        assert_eq!(client.add_root_certificates_pem(&pem).expect("CA is a certificate"), 1);
    }
    client
}

fn one(name: &str, array: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([(name, array)]).expect("batch")
}

#[test]
fn unary_producer_exchange_and_a_large_body_over_https() {
    let Some(s) = setup("calls") else { return };
    // Both the IP literal and the DNS name the certificate names.
    for host in ["127.0.0.1", "localhost"] {
        let mut client = client(&format!("https://{host}:{}", s.tls_port), Some(&s.certs));

        let echoed = client
            .call(PRIMARY, "echo_string", &one("value", Arc::new(StringArray::from(vec!["über TLS"]))))
            .expect("unary over https");
        assert_eq!(echoed.value().expect("a value").as_string::<i32>().value(0), "über TLS");

        let mut producer = client
            .producer(
                PRIMARY,
                "produce_n",
                &one("count", Arc::new(Int64Array::from(vec![5]))),
                &StreamOptions::default(),
            )
            .expect("producer over https");
        let mut rows = 0;
        while let Some((batch, _)) = producer.next_batch().expect("producer batch") {
            rows += batch.num_rows();
        }
        assert_eq!(rows, 5, "produce_n(5) over https");

        let mut exchange = client
            .exchange(
                PRIMARY,
                "exchange_scale",
                &one("factor", Arc::new(Float64Array::from(vec![3.0]))),
                &StreamOptions::default(),
            )
            .expect("exchange over https");
        for round in 1..=3 {
            let input = one("value", Arc::new(Float64Array::from(vec![round as f64, 10.0])));
            let (out, _) = exchange.exchange(&input).expect("exchange round");
            let scaled: Vec<f64> = out.column(0).as_primitive::<Float64Type>().values().to_vec();
            assert_eq!(scaled, vec![3.0 * round as f64, 30.0]);
        }
        exchange.close().expect("close exchange");

        // 8 MiB each way: many TLS records, the spinning socket under them.
        let data: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let response = client
            .call(PRIMARY, "echo_bytes", &one("data", Arc::new(BinaryArray::from(vec![data.as_slice()]))))
            .expect("8 MiB over https");
        assert_eq!(response.value().expect("a value").as_binary::<i32>().value(0), data.as_slice());
        // The calls above shared one kept-alive TLS connection or reconnected; either way each was answered.
        assert!(client.requests_sent() >= 9, "requests sent: {}", client.requests_sent());
    }
}

#[test]
fn an_untrusted_server_certificate_is_a_clear_error() {
    let Some(s) = setup("untrusted") else { return };
    let mut client = client(&format!("https://127.0.0.1:{}", s.tls_port), None);
    client.use_system_root_certificates(true);
    let err = client
        .call(PRIMARY, "echo_string", &one("value", Arc::new(StringArray::from(vec!["x"]))))
        .expect_err("the test CA is not trusted");
    let text = err.to_string();
    assert!(text.contains("TLS handshake") && text.contains("certificate"), "{text}");
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let Some(s) = setup("mtls") else { return };
    let url = format!("https://127.0.0.1:{}", s.mtls_port);
    let params = one("value", Arc::new(StringArray::from(vec!["mtls"])));

    let mut anonymous = client(&url, Some(&s.certs));
    match anonymous.call(PRIMARY, "echo_string", &params) {
        Ok(_) => panic!("nginx requires a client certificate, yet the call succeeded"),
        // nginx answers 400 "No required SSL certificate was sent": an HTTP error naming it, not a hang.
        Err(CallError::Protocol(text)) => {
            assert!(text.starts_with("HTTP 400") && text.contains("SSL certificate"), "{text}")
        }
        Err(other) => panic!("expected the proxy's 400, got {other}"),
    }

    let mut identified = client(&url, Some(&s.certs));
    let chain = std::fs::read(&s.certs.client_cert).expect("client cert");
    let key = std::fs::read(&s.certs.client_key).expect("client key");
    identified.set_client_certificate_pem(&chain, &key).expect("client identity");
    let echoed = identified.call(PRIMARY, "echo_string", &params).expect("call with a client certificate");
    assert_eq!(echoed.value().expect("a value").as_string::<i32>().value(0), "mtls");
}

#[test]
fn bad_pem_input_is_refused_when_configured() {
    let mut client = HttpClient::new("https://127.0.0.1:1").expect("client");
    assert!(client.add_root_certificates_pem(b"not a certificate").is_err());
    assert!(client.set_client_certificate_pem(b"", b"").is_err());
}
