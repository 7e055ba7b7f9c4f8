//! ConformanceService 2.0.0 and `conformance.Secondary.v1` in Rust: the
//! reference's method names, parameter names, Arrow schemas and stream
//! semantics.

mod cancel_probe;
mod dataclass;
mod exchanges;
mod producers;
mod published;
pub mod pyfmt;
mod rich_header;
pub mod rows;
mod secondary;
mod sticky;
pub mod types;
mod unary;

use vgi_rpc::Protocol;

pub use secondary::{secondary_protocol, SECONDARY_PROTOCOL};

/// Wire name of the primary conformance protocol.
pub const CONFORMANCE_PROTOCOL: &str = "ConformanceService";
/// Its declared surface version.
pub const CONFORMANCE_VERSION: &str = "2.0.0";

/// `ConformanceService`, version 2.0.0.
pub fn conformance_protocol() -> Protocol {
    Protocol::new(CONFORMANCE_PROTOCOL)
        .version(CONFORMANCE_VERSION)
        .methods(unary::methods())
        .methods(producers::methods())
        .methods(exchanges::methods())
}

#[cfg(test)]
mod tests {
    use crate::{build_server, ConformanceOptions};

    /// The digests every port must produce for these protocols (WIRE_PROTOCOL.md §14).
    const CONFORMANCE_HASH: &str = "05479410c96f34410a2b10a4f6a49d59dcfd9d6d1d45ce9a9807d060a3bd6014";
    const SECONDARY_HASH: &str = "58557cf1611546ad22d1c379bc3ce1b04166082f78375e9fc959f0086347eab6";

    #[test]
    fn protocol_hashes_match_the_cross_port_values() {
        let server = build_server(&ConformanceOptions::default()).unwrap();
        let primary = server.protocol("ConformanceService").unwrap();
        assert_eq!(primary.method_defs().len(), 90);
        assert_eq!(primary.hash(), CONFORMANCE_HASH, "preimage:\n{}", primary.canonical_description());
        assert_eq!(server.protocol("conformance.Secondary.v1").unwrap().hash(), SECONDARY_HASH);
    }
}
