//! Shared proptest strategies for the token property tests: run config,
//! text, payloads (random and compressible) and identities.

#![allow(dead_code)] // Each test binary uses a different subset.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vgi_rpc_token::Identity;

/// `cases` cases per property, with failures saved to `regressions`
/// (relative to the crate directory, e.g. `proptest-regressions/x.txt`):
/// proptest's default location needs a `lib.rs` beside the test file.
/// `PROPTEST_CASES` in the environment overrides `cases` for deeper runs.
pub fn config(cases: u32, regressions: &'static str) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..ProptestConfig::default()
    }
}

/// Any text of up to `max` chars (NUL and astral characters included).
pub fn text(max: usize) -> BoxedStrategy<String> {
    prop_oneof![
        2 => proptest::string::string_regex(&format!("[a-zA-Z0-9._:/@ -]{{0,{max}}}")).expect("valid regex"),
        1 => vec(any::<char>(), 0..=max).prop_map(String::from_iter),
    ]
    .boxed()
}

/// Text without NUL: the separator of the AAD fields that precede the
/// principal (protocol names and auth domains, which servers choose).
pub fn name(max: usize) -> BoxedStrategy<String> {
    text(max).prop_map(|s| s.replace('\0', "")).boxed()
}

/// Bytes: random, or a short pattern repeated into a large compressible run.
pub fn payload(max_random: usize, max_repeats: usize) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..=max_random),
        1 => (vec(any::<u8>(), 1..16), 0..=max_repeats).prop_map(|(pattern, n)| pattern.repeat(n)),
    ]
    .boxed()
}

/// An identity with owned strings; [`Who::identity`] borrows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub authenticated: bool,
    pub domain: String,
    pub principal: String,
}

impl Who {
    pub fn identity(&self) -> Identity<'_> {
        Identity { authenticated: self.authenticated, domain: &self.domain, principal: &self.principal }
    }

    /// What the token binds: nothing but "anonymous" for unauthenticated callers.
    pub fn bound(&self) -> Option<(&str, &str)> {
        self.authenticated.then_some((self.domain.as_str(), self.principal.as_str()))
    }
}

/// Identities: anonymous, or a NUL-free domain with any principal.
pub fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        1 => Just(Who { authenticated: false, domain: String::new(), principal: String::new() }),
        1 => (name(8), text(8)).prop_map(|(domain, principal)| Who { authenticated: false, domain, principal }),
        4 => (name(12), text(24)).prop_map(|(domain, principal)| Who { authenticated: true, domain, principal }),
    ]
}
