//! JWT keys fetched from the issuer, against a JWKS endpoint and an OIDC
//! discovery document this test serves on loopback (a small HTTP/1.1
//! server on `std::net`, counting requests per path): valid tokens,
//! rotation by refresh on an unknown `kid`, the refresh rate bound under a
//! burst, uniform refusals, and an issuer that fails, hangs or sends too
//! much while cached keys keep working.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{json, Value};
use vgi_rpc_auth::jwt::{EXPIRED_DETAIL, INVALID_DETAIL};
use vgi_rpc_auth::{AuthReason, AuthRequest, Authenticator, JwksError, JwksSettings, JwtAuthenticator, RemoteJwks};

const AUDIENCE: &str = "vgi-rpc-jwks-test";
const RSA_PEM: &str = include_str!("../../crates/vgi-rpc-auth/testdata/rsa-a.pem");

// ---------------------------------------------------------------- issuer

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    /// Every request gets `503`.
    Failing,
    /// Requests are read and never answered.
    Hanging,
    /// The JWKS response is larger than the fetcher accepts.
    Huge,
}

struct IssuerState {
    jwks: Mutex<Value>,
    cache_control: Mutex<Option<String>>,
    mode: Mutex<Mode>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
}

/// The loopback issuer: `/.well-known/openid-configuration` and `/jwks`.
struct Issuer {
    base: String,
    state: Arc<IssuerState>,
}

impl Issuer {
    fn start(jwks: Value) -> Issuer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(IssuerState {
            jwks: Mutex::new(jwks),
            cache_control: Mutex::new(None),
            mode: Mutex::new(Mode::Up),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
        });
        let (shared, issuer) = (Arc::clone(&state), base.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (state, issuer) = (Arc::clone(&shared), issuer.clone());
                std::thread::spawn(move || serve(conn, &state, &issuer));
            }
        });
        Issuer { base, state }
    }

    fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.base)
    }

    fn publish(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }
}

fn serve(mut conn: TcpStream, state: &IssuerState, issuer: &str) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let discovery = path.ends_with("/.well-known/openid-configuration");
    let path = if discovery { "/.well-known/openid-configuration".to_string() } else { path };
    match path.as_str() {
        "/jwks" => state.jwks_hits.fetch_add(1, Ordering::SeqCst),
        _ if discovery => state.discovery_hits.fetch_add(1, Ordering::SeqCst),
        _ => 0,
    };
    let mode = *state.mode.lock().unwrap();
    let (status, body, cache_control) = match (mode, path.as_str()) {
        (Mode::Hanging, _) => {
            std::thread::sleep(Duration::from_secs(20));
            return;
        }
        (Mode::Failing, _) => ("503 Service Unavailable", "{}".to_string(), None),
        (_, "/.well-known/openid-configuration") => {
            let doc = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks"), "id_token_signing_alg_values_supported": ["ES256"]});
            ("200 OK", doc.to_string(), None)
        }
        (Mode::Huge, "/jwks") => ("200 OK", format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(300 * 1024)), None),
        (_, "/jwks") => ("200 OK", state.jwks.lock().unwrap().to_string(), state.cache_control.lock().unwrap().clone()),
        _ => ("404 Not Found", "{}".to_string(), None),
    };
    let extra = cache_control.map(|c| format!("Cache-Control: {c}\r\n")).unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(response.as_bytes());
}

// ---------------------------------------------------------------- keys

enum Key {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Key {
    fn p256() -> Key {
        let (rng, alg) = (SystemRandom::new(), &signature::ECDSA_P256_SHA256_FIXED_SIGNING);
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("generate");
        Key::Ec(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("P-256"))
    }

    fn ed25519() -> Key {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("generate");
        Key::Ed(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("Ed25519"))
    }

    fn rsa() -> Key {
        let der: String = RSA_PEM.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(der).expect("PEM");
        Key::Rsa(RsaKeyPair::from_pkcs8(&der).expect("RSA"))
    }

    fn alg(&self) -> &'static str {
        match self {
            Key::Ec(_) => "ES256",
            Key::Ed(_) => "EdDSA",
            Key::Rsa(_) => "RS256",
        }
    }

    fn jwk(&self, kid: &str) -> Value {
        match self {
            Key::Ec(k) => {
                let p = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "x": b64(&p[1..33]), "y": b64(&p[33..])})
            }
            Key::Ed(k) => json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(k.public_key())}),
            Key::Rsa(k) => {
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(k.public());
                json!({"kty": "RSA", "kid": kid, "alg": "RS256", "n": b64(&c.n), "e": b64(&c.e)})
            }
        }
    }

    /// A compact JWS with header `{"alg": <ours>, "kid": kid}`.
    fn sign(&self, kid: &str, claims: &Value) -> String {
        self.sign_as(json!({"alg": self.alg(), "kid": kid, "typ": "JWT"}), claims)
    }

    fn sign_as(&self, header: Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let rng = SystemRandom::new();
        let sig = match self {
            Key::Ec(k) => k.sign(&rng, input.as_bytes()).expect("sign").as_ref().to_vec(),
            Key::Ed(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig).expect("sign");
                sig
            }
        };
        format!("{input}.{}", b64(sig))
    }
}

fn hs256(secret: &[u8], kid: &str, claims: &Value) -> String {
    let input = format!("{}.{}", b64(json!({"alg": "HS256", "kid": kid}).to_string()), b64(claims.to_string()));
    let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", b64(tag))
}

// ---------------------------------------------------------------- helpers

fn claims(issuer: &str, exp_offset: i64) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64;
    json!({"sub": "alice", "iss": issuer, "aud": AUDIENCE, "iat": now, "exp": now + exp_offset})
}

fn check(auth: &JwtAuthenticator, token: &str) -> Result<String, (AuthReason, String)> {
    let mut headers = http::HeaderMap::new();
    let value = http::HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    headers.insert(http::header::AUTHORIZATION, value);
    auth.authenticate(&AuthRequest::new(&headers)).map(|ctx| ctx.principal).map_err(|f| (f.reason, f.detail))
}

fn assert_invalid(auth: &JwtAuthenticator, token: &str, what: &str) {
    assert_eq!(
        check(auth, token),
        Err((AuthReason::InvalidCredential, INVALID_DETAIL.to_string())),
        "{what} must be refused like any invalid token"
    );
}

/// Test-speed settings: refresh at most every `interval`.
fn settings(interval: Duration) -> JwksSettings {
    JwksSettings::default()
        .with_min_refresh_interval(interval)
        .with_fetch_timeout(Duration::from_secs(1))
        .with_refresh_wait(Duration::from_secs(3))
}

fn authenticator(remote: RemoteJwks, issuer: &Issuer) -> JwtAuthenticator {
    JwtAuthenticator::from_remote(remote).with_issuers([issuer.base.as_str()]).with_audiences([AUDIENCE])
}

// ---------------------------------------------------------------- tests

#[test]
fn discovery_then_rotation_on_unknown_kid() {
    let (old, new) = (Key::p256(), Key::ed25519());
    let issuer = Issuer::start(json!({"keys": [old.jwk("2026-old")]}));
    let remote = RemoteJwks::from_issuer(&issuer.base, settings(Duration::from_millis(300))).expect("source");
    let auth = authenticator(remote.clone(), &issuer);
    assert_eq!(auth.key_count(), 0, "nothing is fetched before the first token");
    assert_eq!(issuer.jwks_hits(), 0);

    assert_eq!(check(&auth, &old.sign("2026-old", &claims(&issuer.base, 300))).as_deref(), Ok("alice"));
    assert_eq!((issuer.discovery_hits(), issuer.jwks_hits()), (1, 1));
    assert_eq!(check(&auth, &old.sign("2026-old", &claims(&issuer.base, 300))).as_deref(), Ok("alice"));
    assert_eq!(issuer.jwks_hits(), 1, "served from the cache");

    // The issuer rotates: a token under the new kid triggers one refresh.
    issuer.publish(json!({"keys": [old.jwk("2026-old"), new.jwk("2026-new")]}));
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(check(&auth, &new.sign("2026-new", &claims(&issuer.base, 300))).as_deref(), Ok("alice"));
    assert_eq!((issuer.discovery_hits(), issuer.jwks_hits()), (1, 2), "one JWKS refresh, discovery kept");
    assert_eq!(check(&auth, &old.sign("2026-old", &claims(&issuer.base, 300))).as_deref(), Ok("alice"));
    assert_eq!(remote.key_count(), 2);
    assert_eq!(issuer.jwks_hits(), 2);
}

#[test]
fn a_burst_of_unknown_kids_costs_one_fetch_per_interval() {
    let key = Key::p256();
    let issuer = Issuer::start(json!({"keys": [key.jwk("k1")]}));
    let interval = Duration::from_millis(500);
    let remote = RemoteJwks::from_jwks_uri(&issuer.jwks_uri(), settings(interval)).expect("source");
    let auth = Arc::new(authenticator(remote, &issuer));
    assert!(check(&auth, &key.sign("k1", &claims(&issuer.base, 300))).is_ok());
    assert_eq!(issuer.jwks_hits(), 1);
    std::thread::sleep(interval + Duration::from_millis(50));

    // 8 threads × 40 tokens, each naming a kid the issuer never published.
    let started = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (auth, base) = (Arc::clone(&auth), issuer.base.clone());
            let key = Key::p256();
            std::thread::spawn(move || {
                (0..40).all(|i| {
                    check(&auth, &key.sign(&format!("made-up-{t}-{i}"), &claims(&base, 300)))
                        == Err((AuthReason::InvalidCredential, INVALID_DETAIL.to_string()))
                })
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().expect("thread"), "every made-up kid is refused uniformly");
    }
    let burst = started.elapsed();
    // The burst fits in one interval: one coalesced fetch. If the box is
    // slow, at most one more per elapsed interval.
    let allowed = 1 + (burst.as_millis() / interval.as_millis()) as usize;
    let fetched = issuer.jwks_hits() - 1;
    eprintln!("burst: 320 unknown kids, {fetched} JWKS fetch(es) in {burst:?}");
    assert!((1..=allowed).contains(&fetched), "burst of 320 unknown kids made {fetched} fetches in {burst:?}");
    assert!(check(&auth, &key.sign("k1", &claims(&issuer.base, 300))).is_ok());
}

#[test]
fn refusals_are_uniform_and_do_not_fetch() {
    let (ec, rsa) = (Key::p256(), Key::rsa());
    let issuer = Issuer::start(json!({"keys": [ec.jwk("ec"), rsa.jwk("rsa")]}));
    let remote = RemoteJwks::from_jwks_uri(&issuer.jwks_uri(), settings(Duration::from_secs(30))).expect("source");
    let auth = authenticator(remote, &issuer);
    assert!(check(&auth, &ec.sign("ec", &claims(&issuer.base, 300))).is_ok());
    assert!(check(&auth, &rsa.sign("rsa", &claims(&issuer.base, 300))).is_ok());

    // Expired: only a verified token is told apart, as expired_credential.
    let expired = ec.sign("ec", &claims(&issuer.base, -3600));
    assert_eq!(check(&auth, &expired), Err((AuthReason::ExpiredCredential, EXPIRED_DETAIL.to_string())));
    let mut wrong_aud = claims(&issuer.base, 300);
    wrong_aud["aud"] = json!("another-service");
    assert_invalid(&auth, &ec.sign("ec", &wrong_aud), "wrong audience");
    assert_invalid(&auth, &ec.sign("ec", &claims("https://evil.example", 300)), "wrong issuer");
    let forged_expired = Key::p256().sign("ec", &claims(&issuer.base, -3600));
    assert_invalid(&auth, &forged_expired, "an expired token under a foreign key");
    // Algorithm confusion: HMAC keyed with the public key, RSA header on the EC key, none.
    let published = issuer.state.jwks.lock().unwrap().clone();
    let n = published["keys"][1]["n"].as_str().expect("n").to_string();
    assert_invalid(&auth, &hs256(n.as_bytes(), "rsa", &claims(&issuer.base, 300)), "HS256 keyed with RSA n");
    let x = published["keys"][0]["x"].as_str().expect("x").to_string();
    assert_invalid(&auth, &hs256(x.as_bytes(), "ec", &claims(&issuer.base, 300)), "HS256 keyed with EC x");
    let rs_on_ec = rsa.sign_as(json!({"alg": "RS256", "kid": "ec"}), &claims(&issuer.base, 300));
    assert_invalid(&auth, &rs_on_ec, "RS256 under the EC kid");
    let es_on_rsa = ec.sign_as(json!({"alg": "ES256", "kid": "rsa"}), &claims(&issuer.base, 300));
    assert_invalid(&auth, &es_on_rsa, "ES256 under the RSA kid");
    let none = format!("{}.{}.", b64(r#"{"alg":"none","kid":"ec"}"#), b64(claims(&issuer.base, 300).to_string()));
    assert_invalid(&auth, &none, "alg none");
    assert_invalid(&auth, "not.a.jwt", "junk");
    assert_eq!(issuer.jwks_hits(), 1, "none of these needed the issuer");
}

#[test]
fn an_issuer_that_fails_or_hangs_leaves_cached_keys_working() {
    let (key, rotated) = (Key::p256(), Key::p256());
    let issuer = Issuer::start(json!({"keys": [key.jwk("k1")]}));
    let interval = Duration::from_millis(300);
    let ttl = Duration::from_millis(400);
    let remote =
        RemoteJwks::from_jwks_uri(&issuer.jwks_uri(), settings(interval).with_ttl_bounds(ttl, ttl)).expect("source");
    assert_eq!(remote.refresh_now(), Ok(1), "start-up fetch");
    let auth = authenticator(remote.clone(), &issuer);
    let good = key.sign("k1", &claims(&issuer.base, 300));
    issuer.publish(json!({"keys": [key.jwk("k1"), rotated.jwk("k2")]}));

    // Failing (503): the known kid still verifies; the unknown one is refused.
    issuer.set_mode(Mode::Failing);
    std::thread::sleep(ttl + Duration::from_millis(50));
    assert!(check(&auth, &good).is_ok(), "stale keys serve while the refresh fails");
    std::thread::sleep(interval + Duration::from_millis(50));
    assert_invalid(&auth, &rotated.sign("k2", &claims(&issuer.base, 300)), "unknown kid, issuer failing");
    assert!(matches!(remote.last_error(), Some(JwksError::Fetch(e)) if e.contains("503")), "{:?}", remote.last_error());
    assert!(check(&auth, &good).is_ok());

    // Hanging: a request under an unknown kid waits at most the fetch timeout.
    issuer.set_mode(Mode::Hanging);
    std::thread::sleep(interval + Duration::from_millis(50));
    let started = Instant::now();
    assert_invalid(&auth, &rotated.sign("k2", &claims(&issuer.base, 300)), "unknown kid, issuer hanging");
    let waited = started.elapsed();
    eprintln!("hanging issuer: refused after {waited:?}");
    assert!(waited < Duration::from_millis(2500), "waited {waited:?} for a hanging issuer");
    let started = Instant::now();
    assert!(check(&auth, &good).is_ok());
    assert!(started.elapsed() < Duration::from_millis(200), "a known kid never waits");

    // Back up: the rotated key is picked up by the next refresh.
    issuer.set_mode(Mode::Up);
    std::thread::sleep(interval + Duration::from_millis(50));
    assert_eq!(check(&auth, &rotated.sign("k2", &claims(&issuer.base, 300))).as_deref(), Ok("alice"));
}

#[test]
fn oversized_documents_and_cache_control() {
    let key = Key::p256();
    let issuer = Issuer::start(json!({"keys": [key.jwk("k1")]}));
    issuer.set_mode(Mode::Huge);
    let remote = RemoteJwks::from_jwks_uri(&issuer.jwks_uri(), settings(Duration::from_millis(100))).expect("source");
    assert!(matches!(remote.refresh_now(), Err(JwksError::Fetch(e)) if e.contains("larger")));
    let auth = authenticator(remote.clone(), &issuer);
    assert_invalid(&auth, &key.sign("k1", &claims(&issuer.base, 300)), "no keys yet");

    // max-age is honoured within the bounds: 1 s here, so the set is
    // refreshed (in the background) once it has lapsed, not before.
    issuer.set_mode(Mode::Up);
    *issuer.state.cache_control.lock().unwrap() = Some("public, max-age=1".to_string());
    let settings =
        settings(Duration::from_millis(100)).with_ttl_bounds(Duration::from_millis(100), Duration::from_secs(60));
    let remote = RemoteJwks::from_jwks_uri(&issuer.jwks_uri(), settings).expect("source");
    let auth = authenticator(remote, &issuer);
    let hits = issuer.jwks_hits();
    let good = key.sign("k1", &claims(&issuer.base, 300));
    assert!(check(&auth, &good).is_ok());
    std::thread::sleep(Duration::from_millis(500));
    assert!(check(&auth, &good).is_ok());
    assert_eq!(issuer.jwks_hits(), hits + 1, "still fresh at 0.5 s");
    std::thread::sleep(Duration::from_millis(700));
    assert!(check(&auth, &good).is_ok());
    // The refresh runs in the background: give it up to 3 s to land.
    let deadline = Instant::now() + Duration::from_secs(3);
    while issuer.jwks_hits() < hits + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(issuer.jwks_hits(), hits + 2, "refreshed once after max-age");
}

#[test]
fn urls_must_be_https_or_loopback() {
    assert!(matches!(
        RemoteJwks::from_jwks_uri("http://issuer.example/jwks", JwksSettings::default()),
        Err(JwksError::Config(_))
    ));
    assert!(
        RemoteJwks::from_jwks_uri("http://issuer.example/jwks", JwksSettings::default().with_allow_http(true)).is_ok()
    );
    assert!(RemoteJwks::from_issuer("https://issuer.example", JwksSettings::default()).is_ok());
    // A discovery document naming another issuer is refused.
    let issuer = Issuer::start(json!({"keys": []}));
    let wrong = format!("{}/tenant", issuer.base);
    let remote = RemoteJwks::from_issuer(&wrong, JwksSettings::default()).expect("source");
    assert!(matches!(remote.refresh_now(), Err(JwksError::Fetch(e)) if e.contains("different issuer")));
    assert_eq!((issuer.discovery_hits(), issuer.jwks_hits()), (1, 0));
}
