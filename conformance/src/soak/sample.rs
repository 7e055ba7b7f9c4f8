//! One resource sample of a worker process from /proc: resident set size,
//! open descriptors, native threads and live descendant processes — the
//! four quantities of the reference's resource-soak contract.

use std::collections::HashMap;
use std::fs;

use serde::Serialize;

use super::error::SoakError;

/// What the soak watches in a worker, at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProcessSample {
    /// Resident set size (`VmRSS`), bytes.
    pub rss_bytes: u64,
    /// Entries in `/proc/PID/fd`.
    pub descriptors: u64,
    /// `Threads` from `/proc/PID/status`.
    pub threads: u64,
    /// Live descendants (children, grandchildren, ...).
    pub children: u64,
}

/// Sample process `pid` now.
pub fn sample(pid: u32) -> Result<ProcessSample, SoakError> {
    let io = |source| SoakError::Sample { pid, source };
    let status = fs::read_to_string(format!("/proc/{pid}/status")).map_err(io)?;
    let (rss_bytes, threads) = parse_status(&status).map_err(|detail| SoakError::ProcFormat { pid, detail })?;
    let descriptors = fs::read_dir(format!("/proc/{pid}/fd")).map_err(io)?.count() as u64;
    Ok(ProcessSample { rss_bytes, descriptors, threads, children: descendants(pid) })
}

/// `(VmRSS in bytes, Threads)` from the text of `/proc/PID/status`.
fn parse_status(status: &str) -> Result<(u64, u64), String> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
            .map(str::trim)
            .ok_or_else(|| format!("no {name} line"))
    };
    let rss = field("VmRSS")?;
    let kib: u64 = rss
        .strip_suffix("kB")
        .map(str::trim)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("VmRSS {rss:?} is not '<n> kB'"))?;
    let threads = field("Threads")?;
    let threads = threads.parse().map_err(|_| format!("Threads {threads:?} is not a number"))?;
    Ok((kib * 1024, threads))
}

/// The parent pid in the text of `/proc/PID/stat` (the field after the
/// state, which follows the parenthesised command name).
fn parent_of(stat: &str) -> Option<u32> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

/// How many live processes descend from `pid` (a process table snapshot;
/// processes that vanish mid-scan are skipped).
fn descendants(pid: u32) -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else { return 0 };
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in entries.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
        if let Some(parent) = parent_of(&stat) {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut count = 0;
    let mut pending = vec![pid];
    while let Some(p) = pending.pop() {
        if let Some(kids) = children.get(&p) {
            count += kids.len() as u64;
            pending.extend(kids);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_parsed() {
        let text = "Name:\tworker\nVmPeak:\t  9000 kB\nVmRSS:\t   2048 kB\nThreads:\t7\n";
        assert_eq!(parse_status(text), Ok((2048 * 1024, 7)));
        assert!(parse_status("Threads:\t7\n").is_err());
        assert!(parse_status("VmRSS:\t12 MB\nThreads:\t1\n").is_err());
    }

    #[test]
    fn parent_pid_follows_a_command_name_with_spaces_and_parens() {
        assert_eq!(parent_of("42 (a (b) c) S 17 42 42 0"), Some(17));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let s = sample(std::process::id()).expect("sample self");
        assert!(s.rss_bytes > 0 && s.descriptors > 0 && s.threads >= 1);
    }
}
