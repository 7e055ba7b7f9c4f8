//! A protocol: a named, optionally versioned set of methods.

use std::collections::HashMap;
use std::sync::Arc;

use crate::protocol_hash::{canonical_description, hash_preimage};
use crate::type_tokens::UnsupportedType;
use crate::MethodDef;

/// Why a protocol or server could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The protocol name breaks the grammar or is longer than 255 bytes.
    #[error("invalid protocol name {0:?}: must match [A-Za-z_][A-Za-z0-9_.]* and be at most 255 bytes")]
    InvalidName(String),
    /// The protocol name starts with the framework's `vgi_rpc.` prefix.
    #[error("protocol name {0:?} uses the reserved 'vgi_rpc.' prefix")]
    ReservedName(String),
    /// Two protocols on one server share a name.
    #[error("protocol {0:?} is registered twice")]
    DuplicateProtocol(String),
    /// A protocol declares the same method name twice.
    #[error("protocol {protocol:?} declares method {method:?} twice")]
    DuplicateMethod {
        /// The protocol.
        protocol: String,
        /// The repeated method name.
        method: String,
    },
    /// The declared protocol version is not canonical `MAJOR.MINOR.PATCH`.
    #[error("protocol {protocol:?} has an invalid protocol_version {version:?}: expected canonical MAJOR.MINOR.PATCH")]
    InvalidVersion {
        /// The protocol.
        protocol: String,
        /// The version as declared.
        version: String,
    },
    /// A method schema holds an Arrow type the protocol hash cannot name.
    #[error("protocol {protocol:?}: {source}")]
    UnhashableType {
        /// The protocol.
        protocol: String,
        /// The type and where it was found.
        source: UnsupportedType,
    },
}

/// Check a protocol name against the grammar (and the reserved prefix unless allowed).
pub fn validate_protocol_name(name: &str, allow_reserved: bool) -> Result<(), RegistryError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !first_ok || !rest_ok || name.len() > 255 {
        return Err(RegistryError::InvalidName(name.to_owned()));
    }
    if !allow_reserved && name.starts_with(vgi_rpc_wire::keys::RESERVED_PREFIX) {
        return Err(RegistryError::ReservedName(name.to_owned()));
    }
    Ok(())
}

/// Parse canonical semver `MAJOR.MINOR.PATCH` (no prerelease, no build, no leading zeros).
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split('.');
    let mut next = || -> Option<u64> {
        let p = parts.next()?;
        if p.is_empty() || (p.len() > 1 && p.starts_with('0')) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let out = (next()?, next()?, next()?);
    parts.next().is_none().then_some(out)
}

/// A protocol under construction or hosted by a server.
#[derive(Debug, Clone)]
pub struct Protocol {
    name: Arc<str>,
    version: Option<String>,
    methods: Vec<Arc<MethodDef>>,
    index: HashMap<String, usize>,
    deprecated: Option<String>,
    version_exempt: bool,
    reserved: bool,
    hash: String,
}

impl Protocol {
    /// A protocol called `name` with no methods yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Arc::from(name.into()),
            version: None,
            methods: Vec::new(),
            index: HashMap::new(),
            deprecated: None,
            version_exempt: false,
            reserved: false,
            hash: String::new(),
        }
    }

    /// Declare the protocol's semver surface version (turns the version gate on).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Add a method.
    pub fn method(mut self, method: MethodDef) -> Self {
        self.methods.push(Arc::new(method));
        self
    }

    /// Add several methods.
    pub fn methods(mut self, methods: impl IntoIterator<Item = MethodDef>) -> Self {
        self.methods.extend(methods.into_iter().map(Arc::new));
        self
    }

    /// Mark the protocol deprecated.
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecated = Some(message.into());
        self
    }

    /// Allow the reserved `vgi_rpc.` prefix: only for framework protocols
    /// defined outside this crate (`vgi_rpc.Identity.v2`), never for an
    /// application's own.
    pub fn framework_reserved(mut self) -> Self {
        self.reserved = true;
        self
    }

    /// Exempt from the version gate (reflection only).
    pub(crate) fn version_exempt(mut self) -> Self {
        self.version_exempt = true;
        self
    }

    /// Validate, index and hash. `framework` allows the reserved prefix.
    pub(crate) fn seal(mut self, framework: bool) -> Result<Self, RegistryError> {
        validate_protocol_name(&self.name, framework || self.reserved)?;
        if let Some(v) = &self.version {
            if parse_version(v).is_none() {
                return Err(RegistryError::InvalidVersion { protocol: self.name.to_string(), version: v.clone() });
            }
        }
        self.methods.sort_by(|a, b| a.name().cmp(b.name()));
        self.index.clear();
        for (i, m) in self.methods.iter().enumerate() {
            if self.index.insert(m.name().to_owned(), i).is_some() {
                return Err(RegistryError::DuplicateMethod {
                    protocol: self.name.to_string(),
                    method: m.name().to_owned(),
                });
            }
        }
        let preimage = canonical_description(&self.name, self.methods.iter().map(|m| m.as_ref()))
            .map_err(|source| RegistryError::UnhashableType { protocol: self.name.to_string(), source })?;
        self.hash = hash_preimage(&preimage);
        Ok(self)
    }

    /// Wire name (the routing key).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Wire name, shared (a call context holds it without a copy).
    pub fn shared_name(&self) -> &Arc<str> {
        &self.name
    }
    /// Declared version, if any.
    pub fn declared_version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// Methods sorted by name.
    pub fn method_defs(&self) -> &[Arc<MethodDef>] {
        &self.methods
    }
    /// Look up a method by name.
    pub fn get(&self, method: &str) -> Option<&Arc<MethodDef>> {
        self.index.get(method).map(|&i| &self.methods[i])
    }
    /// Deprecation message, when deprecated.
    pub fn deprecation(&self) -> Option<&str> {
        self.deprecated.as_deref()
    }
    /// Whether the version gate skips this protocol.
    pub fn is_version_exempt(&self) -> bool {
        self.version_exempt
    }
    /// The protocol hash (after sealing).
    pub fn hash(&self) -> &str {
        &self.hash
    }
    /// The canonical preimage the hash is taken over.
    pub fn canonical_description(&self) -> String {
        canonical_description(&self.name, self.methods.iter().map(|m| m.as_ref())).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_grammar() {
        assert!(validate_protocol_name("conformance.Secondary.v1", false).is_ok());
        assert!(validate_protocol_name("_x9", false).is_ok());
        assert!(validate_protocol_name("9x", false).is_err());
        assert!(validate_protocol_name("a-b", false).is_err());
        assert!(validate_protocol_name("", false).is_err());
        assert!(validate_protocol_name(&"a".repeat(256), false).is_err());
        assert_eq!(
            validate_protocol_name("vgi_rpc.Reflection.v1", false),
            Err(RegistryError::ReservedName("vgi_rpc.Reflection.v1".into()))
        );
        assert!(validate_protocol_name("vgi_rpc.Reflection.v1", true).is_ok());
    }

    #[test]
    fn versions_are_canonical_semver() {
        assert_eq!(parse_version("2.0.0"), Some((2, 0, 0)));
        assert_eq!(parse_version("1.4.9"), Some((1, 4, 9)));
        for bad in ["1.0", "1.0.0-rc1", "1.0.0+b", "01.0.0", "1..0", "a.b.c", "1.0.0.0"] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn duplicate_methods_are_refused() {
        let m = || crate::MethodDef::builder("m").unary(|_, _| Ok(None));
        let err = Protocol::new("p").method(m()).method(m()).seal(false).unwrap_err();
        assert!(matches!(err, RegistryError::DuplicateMethod { .. }));
    }
}
