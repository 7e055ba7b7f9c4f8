//! The browser 404 page: the path that was not found (escaped), what this
//! service is, where its RPC routes live, and links back.

use std::fmt::Write;

use super::escape;
use super::layout::Site;

/// Longest requested path echoed back; longer ones are cut with `…`.
const MAX_ECHOED_PATH: usize = 200;

/// The page's HTML for a request to `path`.
pub(crate) fn render(site: &Site, path: &str) -> String {
    let shown: String = if path.chars().count() > MAX_ECHOED_PATH {
        path.chars().take(MAX_ECHOED_PATH).chain(std::iter::once('…')).collect()
    } else {
        path.to_owned()
    };
    let mut body = String::from("<p class=\"big\">404</p><h1>Not found</h1>");
    let _ = write!(body, "<p class=\"lede\">Nothing is served at <code>{}</code>.</p>", escape(&shown));
    let serving =
        if site.primary.is_empty() { String::new() } else { format!(" serving <code>{}</code>", site.primary) };
    let _ = write!(
        body,
        "<p>This is a vgi-rpc service{serving}. Its RPC methods are called with \
         <code>POST {p}/&lt;protocol&gt;/&lt;method&gt;</code> and an Arrow IPC body.</p>",
        p = site.prefix
    );
    body.push_str("<div class=\"actions\">");
    if site.landing_on {
        let _ = write!(body, "<a class=\"button primary\" href=\"{}/\">Go to the overview</a>", site.prefix);
    }
    if site.describe_on {
        let _ = write!(body, "<a class=\"button\" href=\"{}/describe\">API reference</a>", site.prefix);
    }
    body.push_str("</div>");
    site.document("Not found", &body)
}
