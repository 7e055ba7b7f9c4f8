//! The shell every page shares: document head (title, favicon, the inline
//! stylesheet), the branded top bar with navigation, and the footer. The
//! site facts are escaped once here; page bodies are passed in as markup.

use vgi_rpc_core::Server;

use super::escape;
use super::settings::{initials, PageSettings};
use super::style::Style;

/// What every page knows about the service, already escaped for HTML.
#[derive(Debug)]
pub(crate) struct Site {
    /// Escaped route prefix (`""` or `/vgi`).
    pub(crate) prefix: String,
    /// Escaped title.
    pub(crate) title: String,
    /// Escaped logo text.
    logo: String,
    /// Escaped repository URL.
    pub(crate) repo_url: Option<String>,
    pub(crate) landing_on: bool,
    pub(crate) describe_on: bool,
    /// Escaped primary protocol name (`""` without one).
    pub(crate) primary: String,
    /// Escaped server id and version.
    pub(crate) server_id: String,
    pub(crate) server_version: String,
    pub(crate) style: Style,
    favicon: String,
}

impl Site {
    pub(crate) fn new(server: &Server, prefix: &str, settings: &PageSettings, describe_on: bool) -> Self {
        let primary = server.primary().map(|p| p.name().to_owned()).unwrap_or_default();
        let title = settings.branding.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| {
            if primary.is_empty() {
                "vgi-rpc service".to_owned()
            } else {
                primary.clone()
            }
        });
        let logo = settings
            .branding
            .logo_text
            .as_deref()
            .map(str::trim)
            .map(str::to_owned)
            .unwrap_or_else(|| initials(&title));
        let accent = settings.branding.accent.as_ref();
        Self {
            prefix: escape(prefix),
            title: escape(&title),
            logo: escape(&logo),
            repo_url: settings.repo_url.as_deref().map(escape),
            landing_on: settings.landing,
            describe_on,
            primary: escape(&primary),
            server_id: escape(server.server_id()),
            server_version: escape(server.server_version()),
            style: Style::new(accent),
            favicon: Style::favicon(accent),
        }
    }

    /// A whole document: `heading` is the (escaped) `<title>` prefix, `body` markup.
    pub(crate) fn document(&self, heading: &str, body: &str) -> String {
        let title = if heading.is_empty() { self.title.clone() } else { format!("{heading} · {}", self.title) };
        let brand_href = if self.landing_on { format!("{}/", self.prefix) } else { String::new() };
        let brand = if brand_href.is_empty() {
            format!("<span class=\"brand\"><span class=\"logo\">{}</span><span>{}</span></span>", self.logo, self.title)
        } else {
            format!(
                "<a class=\"brand\" href=\"{brand_href}\"><span class=\"logo\">{}</span><span>{}</span></a>",
                self.logo, self.title
            )
        };
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"color-scheme\" content=\"light dark\">\
             <meta name=\"robots\" content=\"noindex\">\
             <title>{title}</title><link rel=\"icon\" href=\"{favicon}\"><style>{css}</style></head>\n\
             <body><header class=\"top\">{brand}<nav aria-label=\"Service\">{nav}</nav></header>\n\
             <main>{body}</main>\n<footer>{footer}</footer></body></html>\n",
            favicon = self.favicon,
            css = self.style.css,
            nav = self.nav(),
            footer = self.footer(),
        )
    }

    fn nav(&self) -> String {
        let mut links = Vec::new();
        if self.landing_on {
            links.push(format!("<a href=\"{}/\">Overview</a>", self.prefix));
        }
        if self.describe_on {
            links.push(format!("<a href=\"{}/describe\">API reference</a>", self.prefix));
        }
        links.push(format!("<a href=\"{}/health\">Health</a>", self.prefix));
        if let Some(url) = &self.repo_url {
            links.push(format!("<a href=\"{url}\" rel=\"noopener noreferrer\">Source</a>"));
        }
        links.concat()
    }

    fn footer(&self) -> String {
        format!(
            "Served by <code>{}</code> · server <code>{}</code> · vgi-rpc: Apache Arrow IPC over HTTP",
            self.server_version, self.server_id
        )
    }
}
