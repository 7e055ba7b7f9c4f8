//! Worker flags that do not fit together stop the worker at startup with
//! exit code 2 and a message that names the flag to use instead, before
//! anything is announced.

use std::process::{Command, Stdio};

const WORKER: &str = env!("CARGO_BIN_EXE_vgi-rpc-conformance");

fn refused(args: &[&str]) -> String {
    let out = Command::new(WORKER).args(args).stdin(Stdio::null()).output().expect("run worker");
    assert_eq!(out.status.code(), Some(2), "{args:?} must be refused");
    assert!(out.stdout.is_empty(), "nothing was announced for {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn exit_when_idle_is_refused_on_http_and_names_the_connection_timeout() {
    let stderr = refused(&["--http", "0", "--idle-timeout", "5"]);
    assert!(stderr.contains("--idle-timeout") && stderr.contains("--connection-idle-timeout"), "{stderr}");
}

#[test]
fn exit_when_idle_is_refused_on_a_pipe() {
    let stderr = refused(&["--idle-timeout", "5"]);
    assert!(stderr.contains("requires --unix or --tcp"), "{stderr}");
}

#[test]
fn a_malformed_sticky_echo_is_refused_with_the_expected_form() {
    let stderr = refused(&["--http", "0", "--sticky-echo", "no-equals-sign"]);
    assert!(stderr.contains("--sticky-echo") && stderr.contains("NAME=VALUE"), "{stderr}");
    let stderr = refused(&["--http", "0", "--sticky-echo", "bad name=v"]);
    assert!(stderr.contains("not a valid header name"), "{stderr}");
}
