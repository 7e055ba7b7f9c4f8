//! [`AccessLogSettings`]: everything the reference's `--access-log*` flags
//! say, checked together, and the one call that opens the file (placeholders
//! expanded) and makes the core's [`AccessLog`] hook from it.

use std::path::PathBuf;

use vgi_rpc_core::access_log::{AccessLogError, AccessLogOptions};
use vgi_rpc_core::AccessLog;

use crate::{expand_placeholders, RotatingFile, Rotation};

/// Rotated files kept by default, as the reference's.
pub const DEFAULT_BACKUP_COUNT: usize = 5;

/// An access log to open: where, how it rotates, and how records are shaped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccessLogSettings {
    /// The file; `{pid}` and `{server_id}` are expanded when it is opened.
    pub path: String,
    /// When the file rotates.
    pub rotation: Rotation,
    /// Rotated files kept.
    pub backup_count: usize,
    /// Record cap, sampling and the background writer.
    pub options: AccessLogOptions,
}

/// Why an access log could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The file could not be opened.
    #[error("cannot open the access log {path}: {source}")]
    Open {
        /// The expanded path.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The record options were refused.
    #[error(transparent)]
    Options(#[from] AccessLogError),
}

impl AccessLogSettings {
    /// A log at `path` that never rotates, with the default options.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            rotation: Rotation::Never,
            backup_count: DEFAULT_BACKUP_COUNT,
            options: AccessLogOptions::default(),
        }
    }

    /// The path with its placeholders filled in for `server_id`.
    pub fn expanded_path(&self, server_id: &str) -> PathBuf {
        PathBuf::from(expand_placeholders(&self.path, server_id))
    }

    /// Open the file and make the hook (`server_version` goes in every record).
    pub fn open(&self, server_id: &str, server_version: &str) -> Result<AccessLog, SettingsError> {
        let path = self.expanded_path(server_id);
        let file = RotatingFile::open(&path, self.rotation, self.backup_count)
            .map_err(|source| SettingsError::Open { path: path.clone(), source })?;
        Ok(AccessLog::with_options(Box::new(file), server_version, self.options.clone())?)
    }
}
