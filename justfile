# Convenience recipes; each is the same command README and .ci/run use.

# Run the Rust tests (the README test command).
test:
    cargo test --workspace

# Lints as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings

# Build the release conformance worker.
worker:
    cargo build --release -p vgi-rpc-conformance

# Reference CLI suite over one transport (pipe, unix, tcp, http, http-debug, http-strict).
conformance transport="pipe": worker
    ../shared/reference/setup
    conformance/scripts/cli-suite.sh {{transport}}

# The reference pytest suite through the port harness.
interop: worker
    ../shared/reference/setup
    conformance/python/run-interop.sh

# Criterion benches.
bench:
    cargo bench -p vgi-rpc-benches --benches

# Serve the conformance worker over HTTP (landing page at http://127.0.0.1:8080/).
serve-http port="8080":
    cargo run --release -p vgi-rpc-conformance -- --http {{port}} --describe

# Serve the hello example on stdin/stdout.
hello:
    cargo run -q -p vgi-rpc --example hello

# Everything CI runs.
ci:
    bash .ci/run
