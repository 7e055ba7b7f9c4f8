//! The `vgi-rpc` binary against the Python reference worker
//! (`vgi-rpc-conformance` inside the reference root) over a pipe and over
//! HTTP. Skipped with a message when the reference root is not set up,
//! unless `VGI_REQUIRE_REFERENCE=1`, which makes that a failure.

mod support;

use support::scenario::check_worker;
use support::{reference_run, HttpWorker};

#[test]
fn reference_pipe_worker() {
    let Some(run) = reference_run() else { return };
    let cmd = format!("{} vgi-rpc-conformance --describe", run.display());
    check_worker(&["--cmd", &cmd]);
}

#[test]
fn reference_http_worker() {
    let Some(run) = reference_run() else { return };
    let worker = HttpWorker::start(&run, &["vgi-rpc-conformance", "--http", "0", "--describe"]);
    check_worker(&["--url", &worker.url]);
}
