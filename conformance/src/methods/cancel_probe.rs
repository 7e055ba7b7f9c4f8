//! Process-wide counters the cancel tests read back over the wire:
//! produce calls, exchange calls and `on_cancel` calls. When
//! `VGI_RPC_CONFORMANCE_PROBE_FILE` is set, the counters live in that JSON
//! file under an exclusive lock so several worker processes share them.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::{json, Value};
use vgi_rpc::RpcError;

const ENV: &str = "VGI_RPC_CONFORMANCE_PROBE_FILE";
const KEYS: [&str; 3] = ["produce_calls", "exchange_calls", "on_cancel_calls"];
static COUNTERS: [AtomicI64; 3] = [AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)];

/// Which counter.
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    Produce = 0,
    Exchange = 1,
    OnCancel = 2,
}

fn shared_path() -> Option<String> {
    std::env::var(ENV).ok().filter(|p| !p.is_empty())
}

fn io_err(e: std::io::Error) -> RpcError {
    RpcError::runtime_error(format!("cancel probe file: {e}"))
}

/// Update the shared file under an exclusive lock.
fn with_file(path: &str, update: impl FnOnce(&mut [i64; 3])) -> Result<[i64; 3], RpcError> {
    let mut f = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io_err)?;
    f.lock().map_err(io_err)?;
    let mut raw = String::new();
    f.read_to_string(&mut raw).map_err(io_err)?;
    let parsed: Value = if raw.trim().is_empty() { json!({}) } else { serde_json::from_str(&raw).unwrap_or(json!({})) };
    let mut counts = [0i64; 3];
    for (i, k) in KEYS.iter().enumerate() {
        counts[i] = parsed.get(*k).and_then(Value::as_i64).unwrap_or(0);
    }
    let before = counts;
    update(&mut counts);
    if counts != before || raw.trim().is_empty() {
        let text = json!({KEYS[0]: counts[0], KEYS[1]: counts[1], KEYS[2]: counts[2]}).to_string();
        f.seek(SeekFrom::Start(0)).map_err(io_err)?;
        f.set_len(0).map_err(io_err)?;
        f.write_all(text.as_bytes()).map_err(io_err)?;
        f.flush().map_err(io_err)?;
    }
    f.unlock().map_err(io_err)?;
    Ok(counts)
}

/// Count one event.
pub fn bump(counter: Counter) {
    match shared_path() {
        // A probe that cannot be recorded must not fail the stream it observes.
        Some(path) => {
            let _ = with_file(&path, |c| c[counter as usize] += 1);
        }
        None => {
            COUNTERS[counter as usize].fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// `(produce, exchange, on_cancel)`.
pub fn snapshot() -> Result<(i64, i64, i64), RpcError> {
    let c = match shared_path() {
        Some(path) => with_file(&path, |_| {})?,
        None => [0, 1, 2].map(|i| COUNTERS[i].load(Ordering::SeqCst)),
    };
    Ok((c[0], c[1], c[2]))
}

/// Zero every counter.
pub fn reset() -> Result<(), RpcError> {
    for c in &COUNTERS {
        c.store(0, Ordering::SeqCst);
    }
    if let Some(path) = shared_path() {
        with_file(&path, |c| *c = [0; 3])?;
    }
    Ok(())
}
