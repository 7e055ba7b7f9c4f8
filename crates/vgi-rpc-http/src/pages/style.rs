//! The pages' one stylesheet, inlined in a `<style>` element, and the
//! Content-Security-Policy that admits exactly that stylesheet (by its
//! SHA-256) and nothing else: no scripts, no external fetches, no frames.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::settings::Colour;

/// The default accent (a deep teal).
pub(crate) const DEFAULT_ACCENT: &str = "#0f766e";

const BASE: &str = r#"
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg)}
:root{--bg:#f6f7f9;--card:#fff;--fg:#1f2933;--muted:#5f6b7a;--line:#e2e6eb;--code:#eef1f4;
--unary-bg:#e6f4ea;--unary-fg:#1e6b34;--producer-bg:#e3effb;--producer-fg:#174d80;
--exchange-bg:#f3e8fb;--exchange-fg:#652b87;--header-bg:#fdf0dc;--header-fg:#7a4a0b;
--warn-bg:#fdecea;--warn-fg:#9b1c1c;--idem-bg:#eceff3;--idem-fg:#3d4852}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--card:#1a1f25;--fg:#e4e8ed;--muted:#9aa5b1;
--line:#2c333b;--code:#242b33;--unary-bg:#183524;--unary-fg:#8fd9a8;--producer-bg:#172c42;--producer-fg:#9cc8f2;
--exchange-bg:#30203d;--exchange-fg:#d6aef0;--header-bg:#3a2a12;--header-fg:#f2c47e;--warn-bg:#3d1818;
--warn-fg:#f5a3a3;--idem-bg:#262c33;--idem-fg:#c2ccd6}}
a{color:var(--accent)}
a:hover{text-decoration-thickness:2px}
a:focus-visible{outline:2px solid var(--accent);outline-offset:2px;border-radius:3px}
code{font:0.88em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
background:var(--code);padding:1px 5px;border-radius:4px;overflow-wrap:anywhere}
.top{display:flex;align-items:center;justify-content:space-between;flex-wrap:wrap;gap:8px 16px;
padding:12px 20px;background:var(--card);border-bottom:3px solid var(--accent)}
.brand{display:flex;align-items:center;gap:10px;color:var(--fg);text-decoration:none;font-weight:650}
.logo{display:inline-flex;align-items:center;justify-content:center;min-width:34px;height:34px;padding:0 7px;
border-radius:8px;background:var(--accent);color:#fff;font-weight:750;font-size:0.9em;letter-spacing:0.02em}
.top nav{display:flex;gap:14px;flex-wrap:wrap;font-size:0.95em}
main{max-width:960px;margin:0 auto;padding:28px 20px 12px}
h1{margin:0 0 6px;font-size:1.9em;line-height:1.2;overflow-wrap:anywhere}
h2{margin:36px 0 8px;font-size:1.35em;overflow-wrap:anywhere}
.lede{color:var(--muted);margin:0 0 18px}
.meta{color:var(--muted);font-size:0.92em;margin:4px 0}
.actions{display:flex;flex-wrap:wrap;gap:10px;margin:22px 0}
.button{display:inline-block;padding:9px 18px;border-radius:8px;border:1px solid var(--accent);
text-decoration:none;font-weight:600}
.button.primary{background:var(--accent);color:#fff}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin:16px 0}
.panel h2{margin-top:0;font-size:1.1em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
ul.plain{list-style:none;padding:0;margin:0}
ul.plain li{padding:6px 0;border-bottom:1px solid var(--line)}
ul.plain li:last-child{border-bottom:0}
.toc{display:flex;flex-wrap:wrap;gap:6px;margin:10px 0 4px;padding:0;list-style:none}
.toc a{display:inline-block;padding:2px 9px;border:1px solid var(--line);border-radius:999px;
background:var(--card);text-decoration:none;font-size:0.88em}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin:14px 0}
.card:target{border-color:var(--accent);box-shadow:0 0 0 2px var(--accent)}
.card-head{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin-bottom:6px}
.method{font:600 1.08em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere;margin:0}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:0.72em;font-weight:700;
text-transform:uppercase;letter-spacing:0.04em;white-space:nowrap}
.b-unary{background:var(--unary-bg);color:var(--unary-fg)}
.b-producer{background:var(--producer-bg);color:var(--producer-fg)}
.b-exchange{background:var(--exchange-bg);color:var(--exchange-fg)}
.b-header{background:var(--header-bg);color:var(--header-fg)}
.b-deprecated{background:var(--warn-bg);color:var(--warn-fg)}
.b-idem{background:var(--idem-bg);color:var(--idem-fg)}
.b-ver{background:var(--idem-bg);color:var(--idem-fg);text-transform:none}
details.index{margin:8px 0 4px}
details.index summary{cursor:pointer;color:var(--muted);font-size:0.92em}
.doc{white-space:pre-line;margin:6px 0 10px}
.notice{background:var(--warn-bg);color:var(--warn-fg);border-radius:8px;padding:8px 12px;margin:8px 0}
.route{color:var(--muted);font-size:0.88em;margin:4px 0 8px}
.label{font-size:0.74em;font-weight:700;text-transform:uppercase;letter-spacing:0.06em;color:var(--muted);
margin:14px 0 4px}
.none{color:var(--muted);font-style:italic;margin:4px 0}
.returns{margin:10px 0 2px}
.returns .label{display:inline;margin-right:8px}
.table-wrap{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-size:0.92em}
th{text-align:left;font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid var(--line);padding:6px 8px;vertical-align:top}
tr:last-child td{border-bottom:0}
.opt{color:var(--muted);font-size:0.85em}
footer{max-width:960px;margin:24px auto 0;padding:16px 20px 28px;color:var(--muted);font-size:0.86em;
border-top:1px solid var(--line)}
.big{font-size:3.2em;font-weight:800;color:var(--accent);margin:0;line-height:1}
@media (max-width:600px){main{padding:20px 14px 8px}h1{font-size:1.5em}.top{padding:10px 14px}
dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:6px}th,td{padding:5px 6px}}
"#;

/// The stylesheet with `accent` as the accent colour, and its CSP
/// `style-src` source (`'sha256-…'`).
#[derive(Debug, Clone)]
pub(crate) struct Style {
    pub(crate) css: String,
    pub(crate) csp: String,
}

impl Style {
    pub(crate) fn new(accent: Option<&Colour>) -> Self {
        let accent = accent.map_or(DEFAULT_ACCENT, Colour::as_str);
        let css = format!(":root{{--accent:{accent}}}{BASE}");
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css.as_bytes()));
        // No scripts, fetches or frames; the one inline stylesheet by hash;
        // images only as data: URLs (the favicon).
        let csp = format!(
            "default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        );
        Self { css, csp }
    }

    /// The favicon: the accent colour as a rounded square, a data: URL.
    pub(crate) fn favicon(accent: Option<&Colour>) -> String {
        let hex = accent.map_or(DEFAULT_ACCENT, Colour::as_str).trim_start_matches('#').to_owned();
        format!(
            "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect \
             width='16' height='16' rx='4' fill='%23{hex}'/%3E%3C/svg%3E"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_stylesheet_hash_and_forbids_scripts() {
        let style = Style::new(None);
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.css.as_bytes()));
        assert!(style.csp.contains(&format!("style-src 'sha256-{digest}'")), "{}", style.csp);
        assert!(style.csp.starts_with("default-src 'none'"));
        assert!(!style.csp.contains("unsafe"));
        assert!(style.css.starts_with(":root{--accent:#0f766e}"));
        let red = Colour::parse("#c00").expect("colour");
        let branded = Style::new(Some(&red));
        assert!(branded.css.starts_with(":root{--accent:#c00}"));
        assert_ne!(branded.csp, style.csp, "the hash follows the stylesheet");
        assert!(Style::favicon(Some(&red)).contains("fill='%23c00'"));
    }
}
