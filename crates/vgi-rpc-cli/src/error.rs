//! The command line's one error type: what went wrong, and (where there is
//! one) what to try next. `main` prints both and exits non-zero.

use vgi_rpc_core::CallError;

/// A failure the user sees, with an optional hint.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line itself is wrong (no transport, bad `k=v`, ...).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to try instead.
        hint: Option<String>,
    },
    /// Connecting to the worker failed (spawn, socket, URL).
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// The worker as the user named it.
        target: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The call failed: a remote error, a broken stream, a protocol violation.
    #[error("{context}: {}", call_message(source))]
    Call {
        /// What was being done (e.g. `calling add_floats`).
        context: String,
        /// The client's error.
        source: CallError,
    },
    /// Reading input or writing output failed.
    #[error("{context}: {source}")]
    Io {
        /// Which file or stream.
        context: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server answered, but not as the command line expected.
    #[error("{0}")]
    Unexpected(String),
}

impl CliError {
    /// A usage error with a hint.
    pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        CliError::Usage { message: message.into(), hint: Some(hint.into()) }
    }

    /// Wrap a client error with what was being done.
    pub fn call(context: impl Into<String>, source: CallError) -> Self {
        CliError::Call { context: context.into(), source }
    }

    /// Wrap an I/O error with the file or stream it concerns.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }

    /// What to try next, if there is anything to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Usage { hint, .. } => hint.clone(),
            CliError::Connect { .. } => {
                Some("check the worker command, socket path or URL; run the worker by hand to see its own error".into())
            }
            CliError::Call { source: CallError::Remote(e), .. } if e.error_kind == "protocol_version_mismatch" => {
                Some("pass --protocol-version to send the version this worker expects".into())
            }
            CliError::Call { source: CallError::Remote(e), .. } if e.error_type == "TypeError" => {
                Some("run `vgi-rpc describe` to see the method's parameters and their types".into())
            }
            CliError::Call { source: CallError::Wire(_), .. } => Some(
                "the worker closed the connection or wrote something that is not Arrow IPC; check its stderr".into(),
            ),
            _ => None,
        }
    }
}

/// A client error as one line: a remote error's message once (servers
/// often repeat the type inside it), with its code when there is one.
fn call_message(e: &CallError) -> String {
    match e {
        CallError::Remote(r) => {
            let text = if r.message.starts_with(&r.error_type) {
                r.message.clone()
            } else {
                format!("{}: {}", r.error_type, r.message)
            };
            if r.error_code.is_empty() {
                text
            } else {
                format!("{text} [{}]", r.error_code)
            }
        }
        other => other.to_string(),
    }
}
