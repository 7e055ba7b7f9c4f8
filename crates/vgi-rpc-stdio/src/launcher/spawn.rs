//! Starting a worker: `WORKER... --unix PATH --idle-timeout SEC`, then
//! waiting for its `UNIX:<PATH>` line on stdout.
//!
//! Lines before it are tolerated (third-party start-up noise); a `UNIX:`
//! line naming another path is refused. After the line, stdout is drained
//! for the worker's whole life (a worker that keeps writing must not block
//! on a full pipe) and the process is reaped when it exits, so an idle exit
//! leaves no zombie behind in a long-lived launcher.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::LaunchError;

/// Spawn `argv` serving on `socket`; returns its pid once it announced the socket.
pub(crate) fn spawn_worker(
    argv: &[String],
    socket: &Path,
    idle_timeout: Duration,
    stderr_log: Option<&Path>,
    startup_timeout: Duration,
) -> Result<u32, LaunchError> {
    let (program, args) = argv.split_first().ok_or(LaunchError::EmptyCommand)?;
    let stderr = match stderr_log {
        None => Stdio::null(),
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(Stdio::from)
            .map_err(LaunchError::io(format!("cannot open {}", path.display())))?,
    };
    let mut child = Command::new(program)
        .args(args)
        .arg("--unix")
        .arg(socket)
        .arg("--idle-timeout")
        .arg(idle_timeout.as_secs_f64().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(LaunchError::io(format!("cannot start {program}")))?;
    let Some(stdout) = child.stdout.take() else {
        stop(&mut child);
        return Err(LaunchError::Io { context: "worker stdout".into(), source: std::io::Error::other("not piped") });
    };
    let (lines_tx, lines) = mpsc::channel::<String>();
    // Reads every line the worker ever writes; only those up to the
    // announcement are listened to.
    let drained = std::thread::Builder::new().name("vgi-launch-stdout".into()).spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines_tx.send(line);
        }
    });
    if let Err(e) = drained {
        stop(&mut child);
        return Err(LaunchError::io("cannot start the stdout reader")(e));
    }
    let expected = format!("UNIX:{}", socket.display());
    let deadline = Instant::now() + startup_timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let line = line.trim_end_matches('\r');
                if !line.starts_with("UNIX:") {
                    continue; // start-up noise
                }
                if line != expected {
                    stop(&mut child);
                    return Err(LaunchError::WrongSocket { announced: line.to_owned(), expected });
                }
                let pid = child.id();
                reap_later(child);
                return Ok(pid);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                stop(&mut child);
                return Err(LaunchError::StartupTimeout(startup_timeout));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stdout closed: the worker is exiting (or exited).
                let status = match child.wait() {
                    Ok(status) => status.to_string(),
                    Err(e) => e.to_string(),
                };
                return Err(LaunchError::WorkerExited { status });
            }
        }
    }
}

/// Kill a worker that failed to start and collect it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Collect the worker's exit status whenever it exits.
fn reap_later(mut child: Child) {
    let spawned = std::thread::Builder::new().name("vgi-launch-reap".into()).spawn(move || {
        let _ = child.wait();
    });
    // Without a thread the worker still runs; it is only left unreaped.
    drop(spawned);
}
