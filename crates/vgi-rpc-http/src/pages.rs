//! The human-facing pages: a landing page at `{prefix}/` and an HTML
//! method listing at `{prefix}/describe`. Neither carries a wire contract.

use axum::response::Response;
use http::StatusCode;

use crate::app::{response, HttpApp};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    response(StatusCode::OK, "text/html; charset=utf-8", html)
}

/// `GET {prefix}/`.
pub(crate) fn landing(app: &HttpApp) -> Response {
    let mut body = String::from("<p>A vgi-rpc service (Apache Arrow IPC over HTTP).</p><ul>");
    for protocol in app.server.protocols() {
        body.push_str(&format!("<li><code>{}</code></li>", escape(protocol.name())));
    }
    body.push_str(&format!(
        "</ul><p><a href=\"{p}/describe\">Methods</a> · <a href=\"{p}/health\">Health</a></p>",
        p = escape(&app.prefix)
    ));
    page("vgi-rpc", &body)
}

/// `GET {prefix}/describe`.
pub(crate) fn describe(app: &HttpApp) -> Response {
    let mut body = String::new();
    for protocol in app.server.protocols() {
        body.push_str(&format!("<h2><code>{}</code></h2><table>", escape(protocol.name())));
        body.push_str("<tr><th>method</th><th>kind</th><th>parameters</th><th>doc</th></tr>");
        for method in protocol.method_defs() {
            let params: Vec<String> = method
                .params_schema()
                .schema()
                .fields()
                .iter()
                .map(|f| format!("{}: {}", f.name(), f.data_type()))
                .collect();
            let kind = match method.kind().stream_kind() {
                "" => "unary",
                k => k,
            };
            body.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(method.name()),
                kind,
                escape(&params.join(", ")),
                escape(method.doc())
            ));
        }
        body.push_str("</table>");
    }
    page("vgi-rpc methods", &body)
}
