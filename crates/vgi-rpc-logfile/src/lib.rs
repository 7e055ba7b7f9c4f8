//! Access-log files for vgi-rpc servers (docs/access-log-spec.md of the
//! reference, §5c and §5d): a [`RotatingFile`] sink that rotates by
//! rename — at a size, or at time boundaries — keeping a bounded number of
//! backups and never truncating in place (log shippers follow renames);
//! `{pid}` and `{server_id}` placeholders in paths so each process writes
//! its own file; and [`AccessLogSettings`], which opens the file and makes
//! the core's [`AccessLog`](vgi_rpc_core::AccessLog) from the reference's
//! `--access-log-*` flags (feature `cli`).

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod path;
mod rotating;
mod settings;
mod when;

#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
mod cli;

pub use path::expand_placeholders;
pub use rotating::{Clock, RotatingFile, Rotation};
pub use settings::{AccessLogSettings, SettingsError, DEFAULT_BACKUP_COUNT};
pub use when::{When, WhenError};

#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub use cli::AccessLogArgs;
