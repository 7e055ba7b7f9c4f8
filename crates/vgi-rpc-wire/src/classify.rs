//! Batch classification (WIRE_PROTOCOL.md §7).

use crate::{keys, Metadata};

/// What a batch read from a response stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchClass {
    /// Data (including void results and zero-row batches without control keys).
    Data,
    /// A client-directed log message.
    Log,
    /// An EXCEPTION-level error batch.
    Error,
    /// A pointer to an externally stored batch.
    ExternalPointer,
    /// A pointer into a shared-memory segment.
    ShmPointer,
    /// An HTTP stream-state token carrier.
    StateToken,
}

/// Classify a batch from its row count and custom metadata.
pub fn classify(num_rows: usize, metadata: &Metadata) -> BatchClass {
    if metadata.is_empty() || num_rows > 0 {
        return BatchClass::Data;
    }
    if let (Some(level), true) = (metadata.get(keys::LOG_LEVEL), metadata.contains(keys::LOG_MESSAGE)) {
        return if level == "EXCEPTION" { BatchClass::Error } else { BatchClass::Log };
    }
    if metadata.contains(keys::LOCATION) {
        return BatchClass::ExternalPointer;
    }
    if metadata.contains(keys::SHM_OFFSET) {
        return BatchClass::ShmPointer;
    }
    if metadata.contains(keys::STREAM_STATE) {
        return BatchClass::StateToken;
    }
    BatchClass::Data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_decision_tree() {
        let none = Metadata::new();
        assert_eq!(classify(0, &none), BatchClass::Data);
        let log = Metadata::new().with(keys::LOG_LEVEL, "INFO").with(keys::LOG_MESSAGE, "m");
        assert_eq!(classify(0, &log), BatchClass::Log);
        assert_eq!(classify(1, &log), BatchClass::Data, "rows make it data");
        let err = Metadata::new().with(keys::LOG_LEVEL, "EXCEPTION").with(keys::LOG_MESSAGE, "m");
        assert_eq!(classify(0, &err), BatchClass::Error);
        let level_only = Metadata::new().with(keys::LOG_LEVEL, "INFO");
        assert_eq!(classify(0, &level_only), BatchClass::Data, "a level without a message is not a log");
        let both = log.clone().with(keys::LOCATION, "https://x");
        assert_eq!(classify(0, &both), BatchClass::Log, "log keys take priority over pointers");
        assert_eq!(classify(0, &Metadata::new().with(keys::LOCATION, "u")), BatchClass::ExternalPointer);
        assert_eq!(classify(0, &Metadata::new().with(keys::SHM_OFFSET, "0")), BatchClass::ShmPointer);
        assert_eq!(classify(0, &Metadata::new().with(keys::STREAM_STATE, "t")), BatchClass::StateToken);
        assert_eq!(classify(0, &Metadata::new().with("app.key", "v")), BatchClass::Data);
    }
}
