//! RFC 9728 OAuth 2.0 Protected Resource Metadata: the JSON document served
//! at [`WELL_KNOWN_PATH`] and the `WWW-Authenticate: Bearer
//! resource_metadata="…"` challenge that points clients at it.

use serde_json::{Map, Value};

/// Where the metadata document is served (RFC 9728 §3).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The metadata a protected resource publishes (RFC 9728 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier: an absolute `https` URL (REQUIRED).
    pub resource: String,
    /// Issuer identifiers of the authorization servers that can issue tokens for it.
    pub authorization_servers: Vec<String>,
    /// Scope values understood by the resource.
    pub scopes_supported: Vec<String>,
    /// How a bearer token may be presented (`"header"`, `"body"`, `"query"`).
    pub bearer_methods_supported: Vec<String>,
    /// Human-readable name of the resource.
    pub resource_name: Option<String>,
}

impl ProtectedResourceMetadata {
    /// Metadata for `resource`, issued by `authorization_servers`; bearer
    /// tokens are accepted in the `Authorization` header only.
    pub fn new<I, S>(resource: impl Into<String>, authorization_servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            resource: resource.into(),
            authorization_servers: authorization_servers.into_iter().map(Into::into).collect(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_string()],
            resource_name: None,
        }
    }

    /// Set the supported scopes.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Set the human-readable resource name.
    pub fn with_resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The JSON document, with RFC 9728 member names. `resource` is always
    /// present; empty lists and an unset name are omitted.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("resource".into(), Value::from(self.resource.as_str()));
        let lists = [
            ("authorization_servers", &self.authorization_servers),
            ("scopes_supported", &self.scopes_supported),
            ("bearer_methods_supported", &self.bearer_methods_supported),
        ];
        for (name, list) in lists {
            if !list.is_empty() {
                doc.insert(name.into(), Value::from(list.clone()));
            }
        }
        if let Some(name) = &self.resource_name {
            doc.insert("resource_name".into(), Value::from(name.as_str()));
        }
        Value::Object(doc)
    }

    /// The metadata URL RFC 9728 §3.1 derives from `resource`: the well-known
    /// path inserted between the authority and the resource's path
    /// (`https://h/api` → `https://h/.well-known/oauth-protected-resource/api`).
    /// `None` when `resource` is not an absolute URL.
    pub fn metadata_url(&self) -> Option<String> {
        let (scheme, rest) = self.resource.split_once("://")?;
        if scheme.is_empty() || rest.is_empty() {
            return None;
        }
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return None;
        }
        let path = path.trim_end_matches('/');
        Some(format!("{scheme}://{authority}{WELL_KNOWN_PATH}{path}"))
    }

    /// The challenge pointing at [`Self::metadata_url`], when derivable.
    pub fn www_authenticate(&self) -> Option<String> {
        self.metadata_url().map(|url| www_authenticate(&url))
    }
}

/// `Bearer resource_metadata="<url>"` (RFC 9728 §5.1), with the URL written
/// as an RFC 7230 quoted-string.
pub fn www_authenticate(metadata_url: &str) -> String {
    let mut out = String::with_capacity(metadata_url.len() + 28);
    out.push_str("Bearer resource_metadata=\"");
    for c in metadata_url.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_rfc9728_names() {
        let meta = ProtectedResourceMetadata::new("https://api.example/vgi", ["https://issuer.example"])
            .with_scopes(["rpc.read", "rpc.write"])
            .with_resource_name("Example RPC");
        let doc = meta.to_json();
        assert_eq!(doc["resource"], "https://api.example/vgi");
        assert_eq!(doc["authorization_servers"], serde_json::json!(["https://issuer.example"]));
        assert_eq!(doc["scopes_supported"], serde_json::json!(["rpc.read", "rpc.write"]));
        assert_eq!(doc["bearer_methods_supported"], serde_json::json!(["header"]));
        assert_eq!(doc["resource_name"], "Example RPC");
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["resource", "authorization_servers", "scopes_supported", "bearer_methods_supported", "resource_name"]
        );
    }

    #[test]
    fn json_omits_empty_members() {
        let mut meta = ProtectedResourceMetadata::new("https://api.example", Vec::<String>::new());
        meta.bearer_methods_supported.clear();
        assert_eq!(meta.to_json(), serde_json::json!({"resource": "https://api.example"}));
    }

    #[test]
    fn metadata_url_inserts_well_known() {
        let url = |r: &str| ProtectedResourceMetadata::new(r, ["https://i"]).metadata_url();
        assert_eq!(
            url("https://api.example").as_deref(),
            Some("https://api.example/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            url("https://api.example/").as_deref(),
            Some("https://api.example/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            url("https://api.example:8443/vgi/v1?x=1").as_deref(),
            Some("https://api.example:8443/.well-known/oauth-protected-resource/vgi/v1")
        );
        assert_eq!(url("not a url"), None);
        assert_eq!(url("https://"), None);
    }

    #[test]
    fn challenge_format() {
        assert_eq!(WELL_KNOWN_PATH, "/.well-known/oauth-protected-resource");
        assert_eq!(
            www_authenticate("https://h/.well-known/oauth-protected-resource"),
            r#"Bearer resource_metadata="https://h/.well-known/oauth-protected-resource""#
        );
        assert_eq!(www_authenticate(r#"https://h/a"b\c"#), r#"Bearer resource_metadata="https://h/a\"b\\c""#);
        let meta = ProtectedResourceMetadata::new("https://h/api", ["https://i"]);
        assert_eq!(
            meta.www_authenticate().as_deref(),
            Some(r#"Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/api""#)
        );
    }
}
