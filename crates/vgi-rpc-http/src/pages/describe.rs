//! The API reference (`GET {prefix}/describe`): every hosted protocol with
//! its version, hash and deprecation, and every method as a card: kind,
//! header, idempotency and deprecation badges, its documentation, its
//! routes, parameters (type, nullability, default, documentation), and its
//! return type, stream header schema or output note. The facts are the
//! method definitions the reflection protocol's `describe` encodes.

use std::fmt::Write;

use arrow_schema::{DataType, Field};
use vgi_rpc_core::type_tokens::type_token;
use vgi_rpc_core::{Idempotency, MethodDef, MethodKind, Protocol, Server};

use super::escape;
use super::layout::Site;

/// Protocols with at most this many methods show their index unfolded.
const TOC_OPEN_UP_TO: usize = 12;

/// The page's HTML.
pub(crate) fn render(site: &Site, server: &Server) -> String {
    let protocols = server.protocols();
    let methods: usize = protocols.iter().map(|p| p.method_defs().len()).sum();
    let mut body = String::new();
    let _ = write!(body, "<h1>{}</h1><p class=\"lede\">API reference", site.title);
    let _ = write!(
        body,
        " · {} protocol{} · {methods} method{}</p>",
        protocols.len(),
        plural(protocols.len()),
        plural(methods)
    );
    if let Some(url) = &site.repo_url {
        let _ =
            write!(body, "<p class=\"meta\"><a href=\"{url}\" rel=\"noopener noreferrer\">Source repository</a></p>");
    }
    for (pi, protocol) in protocols.iter().enumerate() {
        body.push_str(&protocol_section(site, pi, protocol));
    }
    site.document("API reference", &body)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn protocol_section(site: &Site, pi: usize, protocol: &Protocol) -> String {
    let mut out =
        format!("<section aria-labelledby=\"p{pi}\"><h2 id=\"p{pi}\"><code>{}</code>", escape(protocol.name()));
    if let Some(version) = protocol.declared_version() {
        let _ = write!(out, " <span class=\"badge b-ver\">v{}</span>", escape(version));
    }
    if protocol.deprecation().is_some() {
        out.push_str(" <span class=\"badge b-deprecated\">deprecated</span>");
    }
    out.push_str("</h2>");
    if let Some(message) = protocol.deprecation().filter(|m| !m.is_empty()) {
        let _ = write!(out, "<div class=\"notice\">{}</div>", escape(message));
    }
    if !protocol.hash().is_empty() {
        let _ = write!(out, "<p class=\"meta\">protocol hash <code>{}</code></p>", escape(protocol.hash()));
    }
    let methods = protocol.method_defs();
    if methods.is_empty() {
        out.push_str("<p class=\"none\">No methods.</p></section>");
        return out;
    }
    // A long index starts folded so the first cards are in view.
    let open = if methods.len() <= TOC_OPEN_UP_TO { " open" } else { "" };
    let _ = write!(
        out,
        "<details class=\"index\"{open}><summary>Index of {} method{}</summary><ul class=\"toc\">",
        methods.len(),
        plural(methods.len())
    );
    for (mi, method) in methods.iter().enumerate() {
        let _ = write!(out, "<li><a href=\"#m{pi}-{mi}\">{}</a></li>", escape(method.name()));
    }
    out.push_str("</ul></details>");
    for (mi, method) in methods.iter().enumerate() {
        out.push_str(&method_card(site, protocol, method, &format!("m{pi}-{mi}")));
    }
    out.push_str("</section>");
    out
}

fn kind_badge(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Unary => "<span class=\"badge b-unary\">unary</span>",
        MethodKind::Producer => "<span class=\"badge b-producer\">producer</span>",
        MethodKind::Exchange => "<span class=\"badge b-exchange\">exchange</span>",
    }
}

fn method_card(site: &Site, protocol: &Protocol, method: &MethodDef, id: &str) -> String {
    let name = escape(method.name());
    let mut out =
        format!("<article class=\"card\" id=\"{id}\"><div class=\"card-head\"><h3 class=\"method\">{name}</h3>");
    out.push_str(kind_badge(method.kind()));
    if method.header_schema().is_some() {
        out.push_str("<span class=\"badge b-header\">header</span>");
    }
    match method.idempotency() {
        Idempotency::Unknown => {}
        Idempotency::NoSideEffects => out.push_str("<span class=\"badge b-idem\">no side effects</span>"),
        Idempotency::Idempotent => out.push_str("<span class=\"badge b-idem\">idempotent</span>"),
    }
    if method.deprecated().is_some() {
        out.push_str("<span class=\"badge b-deprecated\">deprecated</span>");
    }
    out.push_str("</div>");
    if let Some(message) = method.deprecated() {
        let text = if message.is_empty() { "Deprecated." } else { message };
        let _ = write!(out, "<div class=\"notice\">{}</div>", escape(text));
    }
    let doc = method.doc().trim();
    if !doc.is_empty() {
        let _ = write!(out, "<p class=\"doc\">{}</p>", escape(doc));
    }
    let route = format!("{}/{}/{name}", site.prefix, escape(protocol.name()));
    match method.kind() {
        MethodKind::Unary => {
            let _ = write!(out, "<p class=\"route\"><code>POST {route}</code></p>");
        }
        _ => {
            let _ = write!(
                out,
                "<p class=\"route\"><code>POST {route}/init</code> then <code>POST {route}/exchange</code></p>"
            );
        }
    }
    out.push_str(&params_table(method));
    match method.kind() {
        MethodKind::Unary => {
            let result = method.result_schema().schema();
            // A unary result is one column (`result`): its type, inline.
            let returns = match result.fields().first() {
                Some(field) if method.has_return() => type_cell(field),
                _ => "<span class=\"none\">nothing (void)</span>".to_owned(),
            };
            let _ = write!(out, "<p class=\"returns\"><span class=\"label\">Returns</span> {returns}</p>");
        }
        MethodKind::Producer | MethodKind::Exchange => {
            if let Some(header) = method.header_schema() {
                out.push_str("<div class=\"label\">Stream header</div>");
                out.push_str(&fields_table(header.schema().fields().iter().map(|f| f.as_ref())));
            }

            let note = if method.kind() == MethodKind::Producer {
                "A stream of record batches; the method declares their schema when the stream opens."
            } else {
                "One output batch per input batch; the method declares both schemas when the stream opens."
            };
            let _ = write!(
                out,
                "<p class=\"returns\"><span class=\"label\">Output</span> <span class=\"none\">{note}</span></p>"
            );
        }
    }
    out.push_str("</article>");
    out
}

/// A type as a short token (`int64`, `list<item?:utf8>`), else Arrow's display.
fn type_name(data_type: &DataType) -> String {
    type_token(data_type).unwrap_or_else(|_| data_type.to_string())
}

fn type_cell(field: &Field) -> String {
    let optional = if field.is_nullable() { " <span class=\"opt\">nullable</span>" } else { "" };
    format!("<code>{}</code>{optional}", escape(&type_name(field.data_type())))
}

fn params_table(method: &MethodDef) -> String {
    let schema = method.params_schema().schema();
    if schema.fields().is_empty() {
        return "<p class=\"returns\"><span class=\"label\">Parameters</span> <span class=\"none\">none</span></p>"
            .to_owned();
    }
    let mut out = String::from(
        "<div class=\"label\">Parameters</div><div class=\"table-wrap\"><table><thead><tr><th>Name</th><th>Type</th>\
         <th>Default</th><th>Description</th></tr></thead><tbody>",
    );
    for field in schema.fields() {
        let default = method
            .defaults()
            .iter()
            .find(|(n, _)| n == field.name())
            .map(|(_, v)| format!("<code>{}</code>", escape(&v.to_string())))
            .unwrap_or_else(|| "<span class=\"opt\">required</span>".to_owned());
        let doc =
            method.param_docs().iter().find(|(n, _)| n == field.name()).map(|(_, d)| escape(d)).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{default}</td><td>{doc}</td></tr>",
            escape(field.name()),
            type_cell(field)
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn fields_table<'a>(fields: impl Iterator<Item = &'a Field>) -> String {
    let mut out =
        String::from("<div class=\"table-wrap\"><table><thead><tr><th>Name</th><th>Type</th></tr></thead><tbody>");
    for field in fields {
        let _ = write!(out, "<tr><td><code>{}</code></td><td>{}</td></tr>", escape(field.name()), type_cell(field));
    }
    out.push_str("</tbody></table></div>");
    out
}
