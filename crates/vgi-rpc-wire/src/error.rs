//! Errors raised while reading or writing the wire format.

use thiserror::Error;

/// Everything that can go wrong between bytes and batches.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WireError {
    /// The underlying reader or writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The byte stream ended in the middle of a message.
    #[error("unexpected end of IPC stream: {0}")]
    Truncated(String),
    /// The bytes are not a valid Arrow IPC stream.
    #[error("malformed IPC stream: {0}")]
    Malformed(String),
    /// A length prefix exceeded a configured [`crate::ReadLimits`] cap.
    #[error("IPC message {what} of {size} bytes exceeds the limit of {limit} bytes")]
    LimitExceeded {
        /// Which length was too large ("metadata", "body", ...).
        what: &'static str,
        /// The declared size, in bytes.
        size: u64,
        /// The configured cap, in bytes.
        limit: u64,
    },
    /// Arrow rejected the data (decode or encode).
    #[error("Arrow error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A message was framed correctly but its contents did not decode; the
    /// stream is still positioned at the next message.
    #[error("invalid IPC message: {0}")]
    Decode(String),
    /// A request or response batch broke a vgi-rpc framing rule.
    #[error("{0}")]
    Protocol(String),
}

impl WireError {
    /// Whether the byte stream is still positioned at a message boundary, so
    /// the connection can go on after answering this error.
    pub fn framing_intact(&self) -> bool {
        matches!(self, WireError::Decode(_) | WireError::Protocol(_))
    }

    /// Whether a read timed out (a socket's idle timeout fired): the
    /// connection is over, and the peer is owed no answer.
    pub fn is_timeout(&self) -> bool {
        matches!(self, WireError::Io(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
    }

    /// Whether the underlying byte stream closed cleanly or broke, so that
    /// no further message can be read from it.
    pub fn is_disconnect(&self) -> bool {
        match self {
            WireError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
            ),
            WireError::Truncated(_) => true,
            _ => false,
        }
    }
}
