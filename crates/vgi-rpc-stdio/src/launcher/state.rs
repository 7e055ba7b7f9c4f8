//! The state directory's per-worker files: `<hash>.meta` (what was
//! launched, for status listings), `<hash>.sock` and `<hash>.lock`; the
//! status listing and the clean-up of entries whose worker is gone.
//!
//! The metadata has the reference launcher's fields (`cmd`, `cwd`,
//! `socket`, `started_at`, `launcher_pid`), so either launcher lists the
//! other's workers.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::lock::StateLock;
use super::probe::is_listening;
use super::LaunchError;

/// The lock, socket and metadata paths of worker `hash`.
pub(crate) fn entry_paths(state_dir: &Path, hash: &str) -> (PathBuf, PathBuf, PathBuf) {
    (
        state_dir.join(format!("{hash}.lock")),
        state_dir.join(format!("{hash}.sock")),
        state_dir.join(format!("{hash}.meta")),
    )
}

/// Record what is being launched (best effort: only listings read it).
pub(crate) fn write_meta(meta: &Path, argv: &[String], socket: &Path) {
    let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
    let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let doc = json!({
        "cmd": argv,
        "cwd": cwd,
        "socket": socket.display().to_string(),
        "started_at": started_at,
        "launcher_pid": std::process::id(),
    });
    if let Ok(text) = serde_json::to_string_pretty(&doc) {
        let _ = std::fs::write(meta, text);
    }
}

/// Whether `path` is free for a worker's socket: absent, or a socket.
/// Anything else (a regular file, a symlink) is somebody's data.
pub(crate) fn require_socket_or_absent(path: &Path) -> Result<(), LaunchError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => Ok(()),
        Ok(_) => Err(LaunchError::NotASocket(path.to_path_buf())),
        Err(_) => Ok(()),
    }
}

/// Remove a socket file nothing listens on (never anything but a socket).
pub(crate) fn remove_stale_socket(path: &Path) -> Result<(), LaunchError> {
    require_socket_or_absent(path)?;
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LaunchError::io(format!("cannot remove {}", path.display()))(e)),
    }
}

/// One launched worker as a status listing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerStatus {
    /// The worker's identity (its files' stem).
    pub hash: String,
    /// The command it was launched with (without `--unix` / `--idle-timeout`).
    pub cmd: Vec<String>,
    /// The launcher's working directory.
    pub cwd: String,
    /// Its socket.
    pub socket: PathBuf,
    /// When it was launched (seconds since the epoch), if recorded.
    pub started_at: Option<f64>,
    /// Whether something listens on its socket now.
    pub alive: bool,
}

/// Hashes of the entries in `state_dir`, from their `.meta` files, sorted.
fn entry_hashes(state_dir: &Path) -> Result<Vec<String>, LaunchError> {
    let entries =
        std::fs::read_dir(state_dir).map_err(LaunchError::io(format!("cannot list {}", state_dir.display())))?;
    let mut hashes: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".meta")).map(str::to_owned))
        .collect();
    hashes.sort();
    Ok(hashes)
}

/// Every worker recorded in `state_dir`, probed for liveness. Takes no lock;
/// unreadable metadata leaves its fields empty.
pub fn status(state_dir: &Path) -> Result<Vec<WorkerStatus>, LaunchError> {
    let mut rows = Vec::new();
    for hash in entry_hashes(state_dir)? {
        let (_, socket, meta) = entry_paths(state_dir, &hash);
        let doc: Value =
            std::fs::read_to_string(&meta).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
        let cmd = doc["cmd"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let alive = is_listening(&socket);
        rows.push(WorkerStatus {
            cmd,
            cwd: doc["cwd"].as_str().unwrap_or_default().to_owned(),
            started_at: doc["started_at"].as_f64(),
            socket,
            alive,
            hash,
        });
    }
    Ok(rows)
}

/// What a clean-up pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Entries whose worker was gone; their files were removed.
    pub cleaned: Vec<String>,
    /// Entries left alone because a launcher held their lock.
    pub in_use: Vec<String>,
}

/// Remove the files of every entry in `state_dir` whose worker is gone,
/// looking at most at `limit` entries and skipping `exclude`. An entry
/// whose lock is held (a launch in flight) is left alone, and so is one
/// whose socket answers.
pub fn gc(state_dir: &Path, limit: Option<usize>, exclude: Option<&str>) -> Result<GcReport, LaunchError> {
    let mut report = GcReport::default();
    for hash in entry_hashes(state_dir)?.into_iter().take(limit.unwrap_or(usize::MAX)) {
        if exclude == Some(hash.as_str()) {
            continue;
        }
        let (lock_path, socket, meta) = entry_paths(state_dir, &hash);
        let Some(lock) = StateLock::try_acquire(&lock_path)? else {
            report.in_use.push(hash);
            continue;
        };
        if is_listening(&socket) {
            continue;
        }
        if remove_stale_socket(&socket).is_err() {
            // Not a socket: somebody's file, not ours to delete.
            continue;
        }
        let _ = std::fs::remove_file(&meta);
        lock.remove();
        report.cleaned.push(hash);
    }
    Ok(report)
}
