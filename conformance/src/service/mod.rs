//! ConformanceService 2.0.0 and conformance.Secondary.v1 (placeholder until
//! the full method set lands).

use vgi_rpc::Protocol;

/// `ConformanceService`, version 2.0.0.
pub fn conformance_protocol() -> Protocol {
    Protocol::new("ConformanceService").version("2.0.0")
}

/// `conformance.Secondary.v1` (no declared version).
pub fn secondary_protocol() -> Protocol {
    Protocol::new("conformance.Secondary.v1")
}
