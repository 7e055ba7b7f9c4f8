//! What an operator may set on the human pages: each page on or off, a
//! source-repository link, and branding (title, logo text, accent colour).
//! Values that end up in markup or CSS are validated here, so a page can
//! never carry a `javascript:` link or a stylesheet injection.

/// Settings of the landing, describe and browser 404 pages.
#[derive(Debug, Clone)]
pub struct PageSettings {
    /// Serve the landing page at `GET {prefix}/`.
    pub landing: bool,
    /// Serve the describe page at `GET {prefix}/describe` (only when the
    /// server hosts the reflection protocol, as `describe` would answer).
    pub describe: bool,
    /// Answer a browser (`Accept: text/html`, `GET`/`HEAD`) with an HTML
    /// 404 page; other clients always get the JSON 404.
    pub not_found: bool,
    /// Link to the service's source repository (`http(s)://` only).
    pub repo_url: Option<String>,
    /// Title, logo text and accent colour.
    pub branding: Branding,
}

impl Default for PageSettings {
    fn default() -> Self {
        Self { landing: true, describe: true, not_found: true, repo_url: None, branding: Branding::default() }
    }
}

/// How the pages present the service.
#[derive(Debug, Clone, Default)]
pub struct Branding {
    /// Page title (default: the primary protocol's name).
    pub title: Option<String>,
    /// Text of the logo mark (default: the title's initials), at most
    /// [`MAX_LOGO_CHARS`] characters.
    pub logo_text: Option<String>,
    /// Accent colour (default: a deep teal).
    pub accent: Option<Colour>,
}

/// Longest logo text accepted.
pub const MAX_LOGO_CHARS: usize = 8;

/// Why page settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PageSettingsError {
    /// The repository link is not an absolute http(s) URL, or has spaces or quotes.
    #[error("repository URL {0:?} must be an absolute http:// or https:// URL without spaces or quotes")]
    RepoUrl(String),
    /// A colour is not `#rgb` or `#rrggbb`.
    #[error("colour {0:?} must be #rgb or #rrggbb (hex digits)")]
    Colour(String),
    /// The logo text is empty or longer than 8 characters.
    #[error("logo text {0:?} must be 1 to 8 characters")]
    LogoText(String),
}

/// A CSS colour in `#rgb` or `#rrggbb` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colour(String);

impl Colour {
    /// Parse `#rgb` or `#rrggbb`.
    pub fn parse(text: &str) -> Result<Self, PageSettingsError> {
        let hex = text.strip_prefix('#').unwrap_or("");
        if matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(PageSettingsError::Colour(text.to_owned()))
        }
    }

    /// The colour as written in CSS.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Colour {
    type Err = PageSettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl PageSettings {
    /// Check the values that reach markup.
    pub fn validate(&self) -> Result<(), PageSettingsError> {
        if let Some(url) = &self.repo_url {
            let lower = url.to_ascii_lowercase();
            let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
            let host_ok = url.split_once("://").is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
            let chars_ok =
                !url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>'));
            if !(scheme_ok && host_ok && chars_ok) {
                return Err(PageSettingsError::RepoUrl(url.clone()));
            }
        }
        if let Some(text) = &self.branding.logo_text {
            let n = text.trim().chars().count();
            if n == 0 || n > MAX_LOGO_CHARS {
                return Err(PageSettingsError::LogoText(text.clone()));
            }
        }
        Ok(())
    }
}

/// The logo mark for `title`: up to two initials of its words (split on
/// spaces, dots, dashes, underscores and camel case).
pub(crate) fn initials(title: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in title.chars() {
        let starts_word = match prev {
            None => c.is_alphanumeric(),
            Some(p) => c.is_alphanumeric() && (!p.is_alphanumeric() || (c.is_uppercase() && p.is_lowercase())),
        };
        if starts_word {
            out.extend(c.to_uppercase());
            if out.chars().count() == 2 {
                break;
            }
        }
        prev = Some(c);
    }
    if out.is_empty() {
        "RPC".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_hex_only() {
        assert_eq!(Colour::parse("#0F766E").expect("hex").as_str(), "#0f766e");
        assert!(Colour::parse("#abc").is_ok());
        for bad in ["0f766e", "#12345", "red", "#abc;}body{", "#ggg", ""] {
            assert_eq!(Colour::parse(bad), Err(PageSettingsError::Colour(bad.to_owned())));
        }
    }

    #[test]
    fn repository_urls_must_be_http() {
        let with = |url: &str| PageSettings { repo_url: Some(url.to_owned()), ..PageSettings::default() }.validate();
        assert!(with("https://github.com/example/service").is_ok());
        assert!(with("http://git.local:3000/x").is_ok());
        for bad in ["javascript:alert(1)", "https://", "https:///path", "ftp://x", "https://x\" onclick=\"y", "//x"] {
            assert!(matches!(with(bad), Err(PageSettingsError::RepoUrl(_))), "{bad}");
        }
    }

    #[test]
    fn logo_text_is_short_and_initials_fill_in() {
        let logo = |t: &str| {
            PageSettings {
                branding: Branding { logo_text: Some(t.to_owned()), ..Branding::default() },
                ..PageSettings::default()
            }
            .validate()
        };
        assert!(logo("ACME").is_ok());
        assert!(logo("").is_err() && logo("   ").is_err() && logo("123456789").is_err());
        assert_eq!(initials("ConformanceService"), "CS");
        assert_eq!(initials("vgi_rpc.Reflection.v1"), "VR");
        assert_eq!(initials("billing"), "B");
        assert_eq!(initials("--"), "RPC");
    }
}
