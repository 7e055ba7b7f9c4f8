//! `vgi-rpc launcher status|clean`: the warm Unix-socket workers the
//! launcher (`vgi_rpc_stdio::launcher`) recorded in its state directory.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;
use vgi_rpc_stdio::launcher::{default_state_dir, gc, status};

use crate::args::{LauncherAction, LauncherArgs};
use crate::error::CliError;
use crate::output::Shape;

/// Run a launcher action.
pub fn run(args: &LauncherArgs, shape: Shape, out: &mut dyn Write) -> Result<(), CliError> {
    let dir: PathBuf = match &args.state_dir {
        Some(d) => d.clone(),
        None => default_state_dir().map_err(|e| CliError::Unexpected(format!("no launcher state directory: {e}")))?,
    };
    if !dir.is_dir() {
        return Err(CliError::usage_hint(
            format!("{} is not a directory", dir.display()),
            "pass the launcher's --state-dir, or launch a worker first",
        ));
    }
    let io = CliError::io("writing the output");
    match args.action {
        LauncherAction::Status => {
            let workers =
                status(&dir).map_err(|e| CliError::Unexpected(format!("cannot read {}: {e}", dir.display())))?;
            match shape {
                Shape::Json => {
                    for w in &workers {
                        let line = json!({
                            "hash": w.hash, "alive": w.alive, "socket": w.socket, "cmd": w.cmd,
                            "cwd": w.cwd, "started_at": w.started_at,
                        });
                        writeln!(out, "{line}").map_err(CliError::io("writing the output"))?;
                    }
                    Ok(())
                }
                _ => {
                    let mut text = format!("state directory {}: {} worker(s)\n", dir.display(), workers.len());
                    for w in &workers {
                        let state = if w.alive { "alive" } else { "gone " };
                        text.push_str(&format!("{}  {state}  {}  {}\n", w.hash, w.socket.display(), w.cmd.join(" ")));
                    }
                    out.write_all(text.as_bytes()).map_err(io)
                }
            }
        }
        LauncherAction::Clean => {
            let report = gc(&dir, None, None)
                .map_err(|e| CliError::Unexpected(format!("cannot clean {}: {e}", dir.display())))?;
            let text = match shape {
                Shape::Json => json!({"cleaned": report.cleaned, "in_use": report.in_use}).to_string(),
                _ => format!(
                    "removed {} dead worker(s){}; {} in use",
                    report.cleaned.len(),
                    if report.cleaned.is_empty() { String::new() } else { format!(" ({})", report.cleaned.join(", ")) },
                    report.in_use.len()
                ),
            };
            writeln!(out, "{text}").map_err(io)
        }
    }
}
