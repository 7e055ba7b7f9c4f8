//! Where a worker lives: the per-user state directory and the stable
//! identity of a worker command.
//!
//! The identity is the first 16 hex digits of the SHA-256 of a canonical
//! JSON object `{"cmd":[argv...],"cwd":"...","env":{VGI_RPC_* vars}}` with
//! sorted keys, no spaces and non-ASCII escaped as `\uXXXX`: the same bytes
//! the reference launcher (`vgi_rpc.launcher.compute_hash`) hashes, so a
//! Rust and a Python launcher sharing a state directory share workers. A
//! different working directory or `VGI_RPC_*` setting is a different worker.

use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::LaunchError;

/// Hex digits kept from the digest (64 bits).
const HASH_HEX_LEN: usize = 16;

/// The per-user directory for locks, sockets and metadata:
/// `$XDG_RUNTIME_DIR/vgi-rpc` when set, else `$TMPDIR/vgi-rpc-<uid>`.
/// Created mode 0700; refused when another user owns it.
pub fn default_state_dir() -> Result<PathBuf, LaunchError> {
    let base = match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(xdg) => PathBuf::from(xdg).join("vgi-rpc"),
        // SAFETY: geteuid has no preconditions and cannot fail.
        None => std::env::temp_dir().join(format!("vgi-rpc-{}", unsafe { libc::geteuid() })),
    };
    prepare_state_dir(&base)?;
    Ok(base)
}

/// Create `dir` (mode 0700) if missing and check that this user owns it.
pub(crate) fn prepare_state_dir(dir: &Path) -> Result<(), LaunchError> {
    std::fs::create_dir_all(dir).map_err(LaunchError::io(format!("cannot create {}", dir.display())))?;
    let meta = std::fs::metadata(dir).map_err(LaunchError::io(format!("cannot stat {}", dir.display())))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    if meta.uid() != unsafe { libc::geteuid() } {
        return Err(LaunchError::ForeignStateDir(dir.to_path_buf()));
    }
    if meta.permissions().mode() & 0o777 != 0o700 {
        // Best effort, as the reference: a directory we own is tightened.
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// The identity of `argv` run from `cwd` with `env` (the `VGI_RPC_*`
/// variables, any order): 16 lowercase hex digits.
pub fn worker_hash(argv: &[String], cwd: &str, env: &[(String, String)]) -> String {
    let mut env: Vec<&(String, String)> = env.iter().filter(|(k, _)| k.starts_with("VGI_RPC_")).collect();
    env.sort();
    let mut json = String::from("{\"cmd\":[");
    for (i, word) in argv.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        push_json_string(&mut json, word);
    }
    json.push_str("],\"cwd\":");
    push_json_string(&mut json, cwd);
    json.push_str(",\"env\":{");
    for (i, (k, v)) in env.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        push_json_string(&mut json, k);
        json.push(':');
        push_json_string(&mut json, v);
    }
    json.push_str("}}");
    let digest = Sha256::digest(json.as_bytes());
    let mut hex = hex::encode(digest);
    hex.truncate(HASH_HEX_LEN);
    hex
}

/// The identity of `argv` run from this process's working directory with
/// its `VGI_RPC_*` environment.
pub fn current_worker_hash(argv: &[String]) -> Result<String, LaunchError> {
    let cwd = std::env::current_dir().map_err(LaunchError::io("cannot read the working directory"))?;
    let cwd = cwd.to_str().ok_or(LaunchError::NotUtf8("the working directory"))?;
    let mut env = Vec::new();
    for (k, v) in std::env::vars_os() {
        let Some(k) = k.to_str().filter(|k| k.starts_with("VGI_RPC_")) else { continue };
        let v = v.into_string().map_err(|_| LaunchError::NotUtf8("a VGI_RPC_* variable"))?;
        env.push((k.to_owned(), v));
    }
    Ok(worker_hash(argv, cwd, &env))
}

/// Append `s` as a JSON string the way Python's `json.dumps` writes it
/// with its default `ensure_ascii=True`.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            // Everything outside printable ASCII (space to '~'), DEL included.
            c if !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn json_escapes_like_python_ensure_ascii() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n\u{1}\u{7f}é😀");
        assert_eq!(out, r#""a\"b\\c\n\u0001\u007f\u00e9\ud83d\ude00""#);
    }

    #[test]
    fn hash_matches_the_reference_launcher() {
        // Values printed by the reference's compute_hash(argv, cwd="/srv/w")
        // with only VGI_RPC_MODE=fast and HOME=/root in its environment.
        let env = vec![("VGI_RPC_MODE".to_owned(), "fast".to_owned()), ("HOME".to_owned(), "/root".to_owned())];
        assert_eq!(worker_hash(&strings(&["worker", "--describe"]), "/srv/w", &env), "7112d3337a47ce7a");
        let odd = strings(&["w\u{e9}rker", "a\"b\\c\n\u{1}\u{7f}\u{1f600}"]);
        assert_eq!(worker_hash(&odd, "/srv/w", &env), "96359bdfa850b4bd");
    }

    #[test]
    fn cwd_and_vgi_rpc_env_are_part_of_the_identity() {
        let argv = strings(&["worker"]);
        let base = worker_hash(&argv, "/a", &[]);
        assert_ne!(base, worker_hash(&argv, "/b", &[]));
        assert_ne!(base, worker_hash(&argv, "/a", &[("VGI_RPC_X".into(), "1".into())]));
        assert_eq!(base, worker_hash(&argv, "/a", &[("OTHER".into(), "1".into())]));
    }
}
