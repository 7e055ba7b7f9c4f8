//! The landing page (`GET {prefix}/`): what the service is, the protocols
//! it hosts with their method counts, how to call it, and links to the API
//! reference, the health probe and the source repository.

use std::fmt::Write;

use vgi_rpc_core::{MethodKind, Protocol, Server};

use super::escape;
use super::layout::Site;

/// The page's HTML.
pub(crate) fn render(site: &Site, server: &Server) -> String {
    let mut body = String::new();
    let _ = write!(body, "<h1>{}</h1>", site.title);
    let serving = if site.primary.is_empty() || site.primary == site.title {
        String::new()
    } else {
        format!(", serving <code>{}</code>", site.primary)
    };
    let _ = write!(body, "<p class=\"lede\">A vgi-rpc service{serving}: Apache Arrow IPC over HTTP.</p>");
    body.push_str("<div class=\"actions\">");
    if site.describe_on {
        let _ =
            write!(body, "<a class=\"button primary\" href=\"{}/describe\">View the API reference</a>", site.prefix);
    }
    let _ = write!(body, "<a class=\"button\" href=\"{}/health\">Health</a>", site.prefix);
    if let Some(url) = &site.repo_url {
        let _ = write!(body, "<a class=\"button\" href=\"{url}\" rel=\"noopener noreferrer\">Source repository</a>");
    }
    body.push_str("</div>");

    body.push_str("<section class=\"panel\"><h2>Protocols</h2><ul class=\"plain\">");
    for (pi, protocol) in server.protocols().iter().enumerate() {
        body.push_str(&protocol_item(site, pi, protocol));
    }
    body.push_str("</ul></section>");

    let p = &site.prefix;
    let _ = write!(
        body,
        "<section class=\"panel\"><h2>Calling this service</h2><dl class=\"facts\">\
         <dt>Unary call</dt><dd><code>POST {p}/&lt;protocol&gt;/&lt;method&gt;</code></dd>\
         <dt>Stream</dt><dd><code>POST {p}/&lt;protocol&gt;/&lt;method&gt;/init</code>, then \
         <code>…/exchange</code></dd>\
         <dt>Bodies</dt><dd><code>application/vnd.apache.arrow.stream</code></dd>\
         <dt>Health</dt><dd><code>GET {p}/health</code></dd>\
         <dt>Server id</dt><dd><code>{id}</code></dd>\
         </dl></section>",
        id = site.server_id
    );
    site.document("", &body)
}

/// One protocol, linked to its section of the API reference when that is on.
fn protocol_item(site: &Site, pi: usize, protocol: &Protocol) -> String {
    let methods = protocol.method_defs();
    let count = |kind: MethodKind| methods.iter().filter(|m| m.kind() == kind).count();
    let mut kinds = Vec::new();
    for (kind, label) in
        [(MethodKind::Unary, "unary"), (MethodKind::Producer, "producer"), (MethodKind::Exchange, "exchange")]
    {
        let n = count(kind);
        if n > 0 {
            kinds.push(format!("{n} {label}"));
        }
    }
    let name = format!("<code>{}</code>", escape(protocol.name()));
    let mut item = if site.describe_on {
        format!("<li><a href=\"{}/describe#p{pi}\">{name}</a>", site.prefix)
    } else {
        format!("<li>{name}")
    };
    if let Some(version) = protocol.declared_version() {
        let _ = write!(item, " <span class=\"badge b-ver\">v{}</span>", escape(version));
    }
    if protocol.deprecation().is_some() {
        item.push_str(" <span class=\"badge b-deprecated\">deprecated</span>");
    }
    let noun = if methods.len() == 1 { "method" } else { "methods" };
    let _ = write!(item, "<div class=\"meta\">{} {noun}", methods.len());
    if !kinds.is_empty() {
        let _ = write!(item, " ({})", kinds.join(", "));
    }
    item.push_str("</div>");
    if let Some(message) = protocol.deprecation().filter(|m| !m.is_empty()) {
        let _ = write!(item, "<div class=\"notice\">{}</div>", escape(message));
    }
    item.push_str("</li>");
    item
}
