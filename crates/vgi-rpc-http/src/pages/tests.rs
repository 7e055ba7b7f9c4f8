//! The pages' HTML: every method listed with its facts, everything
//! escaped, the security headers, the 404 negotiation, the switches.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use http::header::{HeaderValue, ACCEPT};
use vgi_rpc_core::stream::StreamResult;
use vgi_rpc_core::{Idempotency, MethodDef, Protocol, RpcError, Server};

use super::*;

const EVIL: &str = "<script>alert('x')</script>&\"";

fn no_stream() -> Result<StreamResult, RpcError> {
    Err(RpcError::value_error("not in this test"))
}

fn server(reflection: bool) -> Server {
    let header = Arc::new(Schema::new(vec![Field::new("total<rows>", DataType::Int64, false)]));
    let app = Protocol::new("Billing")
        .version("1.2.0")
        .method(
            MethodDef::builder("charge")
                .param("amount", DataType::Float64, false)
                .param_default("note", DataType::Utf8, true, EVIL)
                .param_doc("amount", format!("Amount {EVIL}"))
                .returns(DataType::List(Arc::new(Field::new("item", DataType::Int64, true))), false)
                .doc(format!("Charge a card.\nSecond line {EVIL}"))
                .idempotency(Idempotency::Idempotent)
                .unary(|_, _| Ok(None)),
        )
        .method(MethodDef::builder("ping").doc("Void.").unary(|_, _| Ok(None)))
        .method(
            MethodDef::builder("ticks")
                .param("count", DataType::Int32, false)
                .header(header)
                .deprecated(format!("use ticks2 {EVIL}"))
                .producer(|_, _| no_stream()),
        )
        .method(MethodDef::builder("scale").exchange(|_, _| no_stream()));
    Server::builder().protocol(app).reflection(reflection).server_id("srv<1>").build().expect("server")
}

fn pages(settings: &PageSettings) -> Pages {
    Pages::new(&server(true), "/vgi", settings).expect("pages")
}

fn body(resp: Response) -> String {
    use http_body_util::BodyExt;
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let bytes = rt.block_on(resp.into_body().collect()).expect("body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn browser() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(ACCEPT, HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"));
    h
}

/// No raw `<script`, and the evil string appears only escaped.
fn assert_escaped(html: &str) {
    assert!(!html.contains("<script"), "unescaped markup");
    assert!(!html.contains("alert('x')"), "unescaped quote");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
}

#[test]
fn describe_lists_every_method_with_its_facts() {
    let server = server(true);
    let html = body(pages(&PageSettings::default()).describe().expect("describe on"));
    for protocol in server.protocols() {
        assert!(html.contains(&format!("<code>{}</code>", escape(protocol.name()))), "{}", protocol.name());
        for method in protocol.method_defs() {
            assert!(
                html.contains(&format!("<h3 class=\"method\">{}</h3>", escape(method.name()))),
                "{}",
                method.name()
            );
        }
    }
    for badge in ["b-unary\">unary", "b-producer\">producer", "b-exchange\">exchange", "b-header\">header"] {
        assert!(html.contains(badge), "{badge}");
    }
    assert!(html.contains("b-deprecated\">deprecated") && html.contains("use ticks2 &lt;script"));
    assert!(html.contains("b-idem\">idempotent") && html.contains("b-ver\">v1.2.0"));
    assert!(html.contains("<code>float64</code>"), "parameter type");
    assert!(html.contains("<code>utf8</code> <span class=\"opt\">nullable</span>"));
    assert!(html.contains("<code>list&lt;item?:int64&gt;</code>"), "return type");
    assert!(html.contains("<code>total&lt;rows&gt;</code>"), "header field");
    assert!(html.contains("nothing (void)"), "void return");
    assert!(html.contains("POST /vgi/Billing/charge</code>") && html.contains("POST /vgi/Billing/ticks/init"));
    assert!(html.contains("Charge a card.\nSecond line"), "doc text kept, lines break by CSS");
    assert!(html.contains("<span class=\"opt\">required</span>"));
    assert!(html.contains("srv&lt;1&gt;"), "server id escaped");
    assert_escaped(&html);
}

#[test]
fn landing_links_describe_health_and_repository_with_branding() {
    let mut settings = PageSettings { repo_url: Some("https://example.com/r?a=1&b=2".into()), ..Default::default() };
    settings.branding = Branding {
        title: Some(format!("Pay {EVIL}")),
        logo_text: Some("P&Q".into()),
        accent: Some(Colour::parse("#aa3300").expect("colour")),
    };
    let html = body(pages(&settings).landing().expect("landing on"));
    assert!(html.contains("href=\"/vgi/describe\"") && html.contains("href=\"/vgi/health\""));
    assert!(html.contains("href=\"https://example.com/r?a=1&amp;b=2\""));
    assert!(html.contains("<span class=\"logo\">P&amp;Q</span>"));
    assert!(html.contains(":root{--accent:#aa3300}"));
    assert!(html.contains("<a href=\"/vgi/describe#p0\"><code>Billing</code></a>"));
    assert!(html.contains("<a href=\"/vgi/describe#p1\"><code>vgi_rpc.Reflection.v1</code></a>"));
    assert!(html.contains("4 methods (2 unary, 1 producer, 1 exchange)"));
    assert_escaped(&html);
    assert!(!html.contains("http://") || html.contains("http://www.w3.org/2000/svg"), "no external assets");
}

#[test]
fn pages_carry_a_strict_policy_matching_their_stylesheet() {
    let pages = pages(&PageSettings::default());
    for resp in [pages.landing(), pages.describe(), pages.not_found(&Method::GET, &browser(), "/x")] {
        let resp = resp.expect("page");
        let csp = resp.headers()[CONTENT_SECURITY_POLICY].to_str().expect("ascii").to_owned();
        assert_eq!(resp.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let html = body(resp);
        let css = html.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).expect("one stylesheet");
        use base64::Engine;
        use sha2::Digest;
        let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(css.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{digest}'")), "{csp}");
        assert!(!html.contains("style=\""), "inline style attributes would break the policy");
        assert!(!html.contains("<script"), "no scripts");
    }
}

#[test]
fn not_found_is_html_only_for_browsers() {
    let pages = pages(&PageSettings::default());
    let resp = pages.not_found(&Method::GET, &browser(), "/vgi/<img src=x>").expect("browser 404");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let html = body(resp);
    assert!(html.contains("<code>/vgi/&lt;img src=x&gt;</code>") && !html.contains("<img"));
    assert!(html.contains("href=\"/vgi/\"") && html.contains("href=\"/vgi/describe\""));
    let long = format!("/{}", "a".repeat(1000));
    assert!(
        body(pages.not_found(&Method::GET, &browser(), &long).expect("404")).contains(&format!("{}…", "a".repeat(199)))
    );

    assert!(pages.not_found(&Method::POST, &browser(), "/x").is_none(), "RPC verbs keep the JSON 404");
    assert!(pages.not_found(&Method::GET, &HeaderMap::new(), "/x").is_none(), "no Accept: JSON");
    let mut json = HeaderMap::new();
    json.insert(ACCEPT, HeaderValue::from_static("application/json, text/htmlx"));
    assert!(pages.not_found(&Method::GET, &json, "/x").is_none());
    json.insert(ACCEPT, HeaderValue::from_static("application/json;q=1, TEXT/HTML;q=0.5"));
    assert!(pages.not_found(&Method::HEAD, &json, "/x").is_some());
}

#[test]
fn each_page_can_be_turned_off() {
    let off = PageSettings { landing: false, describe: false, not_found: false, ..Default::default() };
    let pages = pages(&off);
    assert!(pages.landing().is_none() && pages.describe().is_none());
    assert!(pages.not_found(&Method::GET, &browser(), "/x").is_none());

    let only_404 = PageSettings { landing: false, describe: false, ..Default::default() };
    let html = body(
        Pages::new(&server(true), "", &only_404).expect("pages").not_found(&Method::GET, &browser(), "/").expect("404"),
    );
    assert!(!html.contains("href=\"/\"") && !html.contains("/describe\""), "no links to pages that are off");

    // Without reflection there is nothing `describe` would answer: no page.
    let hidden = Pages::new(&server(false), "", &PageSettings::default()).expect("pages");
    assert!(hidden.describe().is_none());
    assert!(!body(hidden.landing().expect("landing")).contains("/describe"));
}

#[test]
fn bad_settings_are_refused() {
    let bad = PageSettings { repo_url: Some("javascript:alert(1)".into()), ..Default::default() };
    assert!(matches!(Pages::new(&server(true), "", &bad), Err(PageSettingsError::RepoUrl(_))));
}

#[test]
fn escape_covers_the_five_characters() {
    assert_eq!(
        escape("<a href=\"x\" title='y'>&</a>"),
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
    );
    assert_eq!(escape("plain ünïcode"), "plain ünïcode");
}
