//! Fixtures shared by the fuzz targets and the seed generator: the fixed
//! keys, clock and limits, a small test server, and the JWKS, so a seed
//! minted by `examples/seeds.rs` opens in the target that replays it.

use std::sync::{Arc, OnceLock};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};
use vgi_rpc_core::state_codec::{encode_state, exchange_decoder, producer_decoder};
use vgi_rpc_core::{
    CallContext, ExchangeState, FakeClock, InputBatch, LogLevel, MethodDef, OutputCollector, ProducerState, Protocol,
    RpcError, Server, StreamResult,
};
use vgi_rpc_token::{Identity, Key, Keyring, Sealer};
use vgi_rpc_wire::{EncodedSchema, ReadLimits};

/// The wall clock every fixture reads: tokens and proofs minted by the seed
/// generator stay valid for as long as the corpus exists.
pub const NOW_UNIX: u64 = 1_700_000_000;
/// The state-token key (fixed, protects nothing).
pub const TOKEN_KEY: [u8; 32] = [0x5a; 32];
/// The protocol the test server hosts.
pub const PROTOCOL: &str = "fuzz.Echo.v1";
/// Its declared version.
pub const VERSION: &str = "1.0.0";
/// The proxy-proof secret, key id and origin (fixed, protect nothing).
pub const PROOF_SECRET: [u8; 32] = [0x11; 32];
pub const PROOF_KID: &str = "fuzz-proxy";
pub const PROOF_ORIGIN: &str = "fuzz-origin";
/// The JWT issuer and audience the authenticator requires.
pub const JWT_ISSUER: &str = "https://issuer.example";
pub const JWT_AUDIENCE: &str = "vgi-rpc-fuzz";
/// The auth crate's throwaway test keys (PKCS#8 PEM).
pub const EC_P256_PEM: &str = include_str!("../../crates/vgi-rpc-auth/testdata/ec-p256.pem");
pub const RSA_PEM: &str = include_str!("../../crates/vgi-rpc-auth/testdata/rsa-a.pem");
/// Largest producer count the test server accepts, so no input runs long.
pub const MAX_COUNT: i64 = 4;

/// Small read limits, so declared sizes are checked against caps a fuzz
/// input can exceed.
pub fn small_limits() -> ReadLimits {
    ReadLimits::default()
        .with_max_metadata_bytes(64 * 1024)
        .with_max_body_bytes(1024 * 1024)
        .with_prealloc_bytes(16 * 1024)
}

/// The fixed clock.
pub fn clock() -> FakeClock {
    FakeClock::at_unix(NOW_UNIX)
}

/// A sealer over [`TOKEN_KEY`] on the fixed clock.
pub fn sealer() -> Sealer {
    let key = Key::from_bytes(&TOKEN_KEY).unwrap_or_else(|_| unreachable!("32 bytes is a valid key"));
    Sealer::new(Keyring::new(key), Arc::new(clock()), vgi_rpc_token::seal::DEFAULT_TTL)
}

/// The identity tokens are bound to in the targets.
pub const IDENTITY: Identity<'static> = Identity { authenticated: true, domain: "bearer", principal: "fuzzer" };

/// Output schema of the `count` producer.
pub fn counter_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, false)]))
}

/// Input and output schema of the `scale` exchange.
pub fn value_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, false)]))
}

#[derive(Serialize, Deserialize)]
struct Count {
    next: i64,
    end: i64,
}

impl ProducerState for Count {
    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.next >= self.end.min(MAX_COUNT) {
            return out.finish();
        }
        out.client_log(LogLevel::Info, format!("batch {}", self.next));
        let batch = RecordBatch::try_new(counter_schema(), vec![Arc::new(Int64Array::from(vec![self.next]))])?;
        self.next += 1;
        out.emit(batch)
    }

    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    /// One batch per HTTP response, so `/init` hands back a continuation.
    fn max_batches_per_response(&self) -> Option<usize> {
        Some(1)
    }
}

#[derive(Serialize, Deserialize)]
struct Scale {
    factor: f64,
    seen: u64,
}

impl ExchangeState for Scale {
    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        self.seen += 1;
        let col = input
            .batch
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| RpcError::type_error("expected float64 input"))?;
        let scaled: Float64Array = col.iter().map(|v| v.map(|v| v * self.factor)).collect();
        out.emit_arrays(vec![Arc::new(scaled) as ArrayRef])
    }

    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }
}

fn build_server() -> Server {
    let header_schema = Arc::new(Schema::new(vec![Field::new("total", DataType::Int64, false)]));
    let counter = Arc::new(EncodedSchema::new(counter_schema()));
    let values = Arc::new(EncodedSchema::new(value_schema()));
    let hs = header_schema.clone();
    let protocol = Protocol::new(PROTOCOL)
        .version(VERSION)
        .method(MethodDef::builder("echo").param("value", DataType::Utf8, false).returns(DataType::Utf8, false).unary(
            |p, ctx| {
                ctx.client_log(LogLevel::Debug, "echoing");
                Ok(Some(p.value("value")?))
            },
        ))
        .method(MethodDef::builder("noop").unary(|_, _| Ok(None)))
        .method(
            MethodDef::builder("mixed")
                .param("n", DataType::Int64, false)
                .param("x", DataType::Float64, true)
                .param("flag", DataType::Boolean, false)
                .param("blob", DataType::Binary, true)
                .param("tags", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true)
                .returns(DataType::Int64, false)
                .unary(|p, _| {
                    let n = p.i64("n")?;
                    let extra = p.opt_bytes("blob")?.map_or(0, |b| b.len() as i64);
                    let _ = (p.bool("flag")?, p.is_null("x")?);
                    Ok(Some(Arc::new(Int64Array::from(vec![n.wrapping_add(extra)])) as ArrayRef))
                }),
        )
        .method(
            MethodDef::builder("count")
                .param("n", DataType::Int64, false)
                .header(header_schema)
                .state_decoder(producer_decoder::<Count>())
                .producer(move |p, _| {
                    let n = p.i64("n")?;
                    if !(0..=MAX_COUNT).contains(&n) {
                        return Err(RpcError::value_error("n must be in 0..=4"));
                    }
                    let header =
                        RecordBatch::try_new(hs.clone(), vec![Arc::new(Int64Array::from(vec![n])) as ArrayRef])?;
                    Ok(StreamResult::producer(counter.clone(), Count { next: 0, end: n }).with_header(header))
                }),
        )
        .method(
            MethodDef::builder("scale")
                .param("factor", DataType::Float64, false)
                .state_decoder(exchange_decoder::<Scale>())
                .exchange(move |p, _| {
                    Ok(StreamResult::exchange(
                        values.clone(),
                        value_schema(),
                        Scale { factor: p.f64("factor")?, seen: 0 },
                    ))
                }),
        );
    Server::builder()
        .protocol(protocol)
        .clock(Arc::new(clock()))
        .read_limits(small_limits())
        .request_id_seed(7)
        .build()
        .unwrap_or_else(|e| unreachable!("the fuzz protocol is valid: {e}"))
}

/// The test server (built once per process).
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(build_server)
}

/// A JWKS with the public halves of [`EC_P256_PEM`] (kid `ec-1`, ES256) and
/// [`RSA_PEM`] (kid `rsa-a`, RS256), plus an `oct` key that must be ignored.
pub fn jwks_json() -> String {
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey};
    let public = |key: EncodingKey, alg: Algorithm, kid: &str| {
        let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap_or_else(|e| unreachable!("test key: {e}"));
        jwk.common.key_id = Some(kid.to_string());
        serde_json::to_value(jwk).unwrap_or_else(|e| unreachable!("a JWK serializes: {e}"))
    };
    let ec = EncodingKey::from_ec_pem(EC_P256_PEM.as_bytes()).unwrap_or_else(|e| unreachable!("test key: {e}"));
    let rsa = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap_or_else(|e| unreachable!("test key: {e}"));
    serde_json::json!({"keys": [
        public(ec, Algorithm::ES256, "ec-1"),
        public(rsa, Algorithm::RS256, "rsa-a"),
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
    ]})
    .to_string()
}

/// Let panics raised inside the Arrow crates unwind to the wire reader's
/// `catch_unwind` guard (which turns them into `WireError::Decode`, by
/// design), and keep libFuzzer's abort-on-panic for every other panic.
///
/// libfuzzer-sys installs a hook that aborts on any panic, which would
/// report panics the reader already handles; the location check keeps the
/// hook's behaviour for panics in this project's own code. A panic from the
/// Arrow crates that escapes the guard still aborts: the libfuzzer-sys entry
/// point aborts on any unwind that reaches it (set
/// `VGI_FUZZ_SHOW_ARROW_PANICS=1` to print such panics' messages).
pub fn let_arrow_panics_unwind() {
    let fuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_arrow = info.location().is_some_and(|l| {
            let file = l.file();
            file.contains("/arrow-") && !file.contains("/vgi-rpc")
        });
        if !in_arrow {
            fuzzer_hook(info);
        } else if std::env::var_os("VGI_FUZZ_SHOW_ARROW_PANICS").is_some() {
            eprintln!("arrow panic (caught by the reader's guard): {info}");
        }
    }));
}

/// A JWT over `claims` signed with the fixture key for `alg` (ES256 with
/// [`EC_P256_PEM`], kid `ec-1`; anything else RS256 with [`RSA_PEM`], kid
/// `rsa-a`). Both signature schemes are deterministic, so seeds are too.
pub fn sign_jwt(alg: jsonwebtoken::Algorithm, claims: &serde_json::Value) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let (key, kid) = match alg {
        Algorithm::ES256 => (EncodingKey::from_ec_pem(EC_P256_PEM.as_bytes()), "ec-1"),
        _ => (EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()), "rsa-a"),
    };
    let key = key.unwrap_or_else(|e| unreachable!("test key: {e}"));
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).unwrap_or_else(|e| unreachable!("signing: {e}"))
}

/// Claims the fixture authenticator accepts (expiry in 2096).
pub fn good_claims() -> serde_json::Value {
    serde_json::json!({
        "sub": "alice", "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "exp": 4_000_000_000u64, "iat": NOW_UNIX,
        "scope": "rpc.read rpc.write", "admin": false, "groups": ["a", "b"],
    })
}

/// The JWT authenticator over [`jwks_json`], requiring [`JWT_ISSUER`] and
/// [`JWT_AUDIENCE`].
pub fn jwt_authenticator() -> vgi_rpc_auth::JwtAuthenticator {
    vgi_rpc_auth::JwtAuthenticator::from_jwks_str(&jwks_json())
        .unwrap_or_else(|e| unreachable!("fixture JWKS: {e}"))
        .with_issuers([JWT_ISSUER])
        .with_audiences([JWT_AUDIENCE])
}
