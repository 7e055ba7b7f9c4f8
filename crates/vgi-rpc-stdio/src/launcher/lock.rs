//! The per-worker file lock (`<hash>.lock`) that serialises launchers.
//!
//! `flock(2)` on the lock file, the same lock the reference launcher
//! (`filelock`) takes, so Rust and Python launchers exclude each other. The
//! kernel drops it when the holder dies. A holder may delete the file (the
//! clean-up does), so after locking an acquirer checks that the file it
//! locked is still the one at the path, and starts over when it is not;
//! otherwise two launchers could each hold a lock on a different inode.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LaunchError;

/// Pause between attempts while another launcher holds the lock.
const POLL: Duration = Duration::from_millis(20);

/// A held lock; released on drop.
#[derive(Debug)]
pub(crate) struct StateLock {
    file: File,
    path: PathBuf,
}

impl StateLock {
    /// Lock `path`, waiting up to `timeout` for another holder.
    pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<Self, LaunchError> {
        let started = Instant::now();
        loop {
            if let Some(lock) = Self::try_acquire(path)? {
                return Ok(lock);
            }
            if started.elapsed() >= timeout {
                return Err(LaunchError::LockTimeout { path: path.to_path_buf(), waited: timeout });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Lock `path` if nobody holds it.
    pub(crate) fn try_acquire(path: &Path) -> Result<Option<Self>, LaunchError> {
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(LaunchError::io(format!("cannot open {}", path.display())))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => {
                    return Err(LaunchError::io(format!("cannot lock {}", path.display()))(e))
                }
            }
            let held = file.metadata().map(|m| (m.dev(), m.ino())).ok();
            let current = std::fs::metadata(path).map(|m| (m.dev(), m.ino())).ok();
            if held.is_some() && held == current {
                return Ok(Some(Self { file, path: path.to_path_buf() }));
            }
            // The previous holder removed the file after we opened it: our
            // lock guards nothing. Try again on the file now at the path.
        }
    }

    /// Delete the lock file while still holding it (clean-up of a dead worker).
    pub(crate) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_excludes_others_until_dropped_or_removed() {
        let dir = std::env::temp_dir().join(format!("vgi-lock-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.lock");
        let first = StateLock::try_acquire(&path).unwrap().expect("free lock");
        assert!(StateLock::try_acquire(&path).unwrap().is_none());
        assert!(matches!(StateLock::acquire(&path, Duration::ZERO), Err(LaunchError::LockTimeout { .. })));
        first.remove();
        assert!(!path.exists());
        let second = StateLock::try_acquire(&path).unwrap().expect("lock after removal");
        drop(second);
        assert!(StateLock::try_acquire(&path).unwrap().is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
