//! [`RotatingFile`]: an append-only file that rotates by rename, never by
//! truncation, so log shippers (Vector, Fluent Bit) keep their place.
//!
//! * By size: before a line would take the file to the limit, `log` is
//!   renamed `log.1` (older backups shift to `log.2` …) and a new `log` is
//!   begun; backups beyond the count are removed.
//! * By time: at each interval boundary (UTC), `log` is renamed
//!   `log.<interval start>` (e.g. `log.2026-04-26_15` for hourly) and the
//!   oldest such files beyond the count are removed. A file left by an
//!   earlier process rotates at the first write after its interval ended.
//!
//! A line is never split across files: each `write` goes whole to one file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::When;

/// Where a rotating file reads the time (tests move it by hand).
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// When a file rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Never: the file only grows.
    Never,
    /// Before a write would make the file this many bytes or more.
    Size(u64),
    /// At every boundary of this interval.
    Time(When),
}

/// An access-log file that rotates (see the module docs).
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Rotation,
    backups: usize,
    clock: Clock,
    /// For time rotation: the current interval's start and its end.
    interval: Option<(u64, SystemTime)>,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

impl RotatingFile {
    /// Open `path` for append (creating it), rotating under `rotation` and
    /// keeping `backups` rotated files.
    pub fn open(path: impl Into<PathBuf>, rotation: Rotation, backups: usize) -> io::Result<Self> {
        Self::with_clock(path, rotation, backups, Arc::new(SystemTime::now))
    }

    /// As [`open`](Self::open), reading the time from `clock`.
    pub fn with_clock(path: impl Into<PathBuf>, rotation: Rotation, backups: usize, clock: Clock) -> io::Result<Self> {
        let path = path.into();
        let file = open_append(&path)?;
        let meta = file.metadata()?;
        let interval = match rotation {
            Rotation::Time(when) => {
                // A file already there belongs to the interval it was last written in.
                let since = if meta.len() > 0 { meta.modified().unwrap_or_else(|_| clock()) } else { clock() };
                Some((when.interval_start(since), when.next_boundary(since)))
            }
            _ => None,
        };
        Ok(Self { path, file, size: meta.len(), rotation, backups, clock, interval })
    }

    /// The path being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn rotate_by_size(&mut self) -> io::Result<()> {
        if self.backups == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            for i in (1..self.backups).rev() {
                let from = with_suffix(&self.path, &i.to_string());
                if from.exists() {
                    std::fs::rename(&from, with_suffix(&self.path, &(i + 1).to_string()))?;
                }
            }
            std::fs::rename(&self.path, with_suffix(&self.path, "1"))?;
        }
        self.reopen()
    }

    fn rotate_by_time(&mut self, when: When, start: u64, now: SystemTime) -> io::Result<()> {
        let target = with_suffix(&self.path, &when.suffix(start));
        if target.exists() {
            std::fs::remove_file(&target)?;
        }
        std::fs::rename(&self.path, &target)?;
        self.remove_old_timed_backups()?;
        self.interval = Some((when.interval_start(now), when.next_boundary(now)));
        self.reopen()
    }

    /// Remove the oldest `log.<date…>` files beyond the backup count.
    fn remove_old_timed_backups(&self) -> io::Result<()> {
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name().and_then(|n| n.to_str())) else {
            return Ok(());
        };
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let prefix = format!("{name}.");
        let mut rotated: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name().to_str().and_then(|n| n.strip_prefix(&prefix)).is_some_and(|suffix| {
                    suffix.len() >= 10
                        && suffix.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'_')
                        && suffix.as_bytes()[4] == b'-'
                })
            })
            .map(|e| e.path())
            .collect();
        // The suffixes are zero-padded dates: names sort oldest first.
        rotated.sort();
        let excess = rotated.len().saturating_sub(self.backups);
        for old in &rotated[..excess] {
            std::fs::remove_file(old)?;
        }
        Ok(())
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }

    fn before_write(&mut self, len: usize) -> io::Result<()> {
        match self.rotation {
            Rotation::Never => Ok(()),
            Rotation::Size(limit) => {
                if limit > 0 && self.size > 0 && self.size + len as u64 >= limit {
                    self.rotate_by_size()?;
                }
                Ok(())
            }
            Rotation::Time(when) => {
                let now = (self.clock)();
                match self.interval {
                    Some((start, end)) if now >= end => {
                        if self.size > 0 {
                            self.rotate_by_time(when, start, now)
                        } else {
                            self.interval = Some((when.interval_start(now), when.next_boundary(now)));
                            Ok(())
                        }
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.before_write(buf.len())?;
        self.file.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, UNIX_EPOCH};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vgi-logfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn size_rotation_shifts_backups_keeps_the_count_and_never_splits_a_line() {
        let dir = scratch("size");
        let log = dir.join("access.jsonl");
        let mut f = RotatingFile::open(&log, Rotation::Size(100), 2).expect("open");
        for i in 0..20 {
            f.write_all(format!("{{\"line\":{i:03},\"pad\":\"xxxxxxxxxxxxxxxxxxxx\"}}\n").as_bytes()).expect("write");
        }
        let names: Vec<String> = {
            let mut v: Vec<String> = std::fs::read_dir(&dir)
                .expect("dir")
                .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
                .collect();
            v.sort();
            v
        };
        assert_eq!(names, ["access.jsonl", "access.jsonl.1", "access.jsonl.2"]);
        for name in &names {
            let text = read(&dir.join(name));
            assert!(text.len() < 100, "{name} holds {} bytes", text.len());
            assert!(text.lines().all(|l| l.starts_with('{') && l.ends_with('}')), "whole lines only in {name}");
        }
        // Newest lines are in the live file, the one before in .1.
        assert!(read(&log).contains("\"line\":019"));
        assert!(read(&dir.join("access.jsonl.2")).len() < read(&dir.join("access.jsonl.1")).len() + 100);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn time_rotation_renames_at_each_boundary_and_removes_the_oldest() {
        let dir = scratch("time");
        let log = dir.join("a.log");
        let now = Arc::new(AtomicU64::new(1_777_217_445)); // 2026-04-26T15:30:45Z
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || UNIX_EPOCH + Duration::from_secs(now.load(Ordering::SeqCst)))
        };
        let mut f = RotatingFile::with_clock(&log, Rotation::Time(When::Hour), 2, clock).expect("open");
        for hour in 0..4 {
            f.write_all(format!("hour {hour}\n").as_bytes()).expect("write");
            f.write_all(format!("hour {hour} again\n").as_bytes()).expect("write");
            now.fetch_add(3600, Ordering::SeqCst);
        }
        f.write_all(b"hour 4\n").expect("write");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        names.sort();
        assert_eq!(names, ["a.log", "a.log.2026-04-26_17", "a.log.2026-04-26_18"]);
        assert_eq!(read(&dir.join("a.log.2026-04-26_18")), "hour 3\nhour 3 again\n");
        assert_eq!(read(&log), "hour 4\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_empty_file_is_not_rotated_and_never_rotation_only_grows() {
        let dir = scratch("never");
        let log = dir.join("n.log");
        let mut f = RotatingFile::open(&log, Rotation::Never, 1).expect("open");
        for _ in 0..100 {
            f.write_all(b"0123456789\n").expect("write");
        }
        assert_eq!(read(&log).len(), 1100);
        let big = dir.join("big.log");
        let mut g = RotatingFile::open(&big, Rotation::Size(10), 1).expect("open");
        g.write_all(&[b'x'; 50]).expect("a line over the limit still goes to an empty file");
        assert_eq!(read(&big).len(), 50);
        assert!(!dir.join("big.log.1").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
