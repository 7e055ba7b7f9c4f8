#!/usr/bin/env bash
# Worker CPU per call with the reference Python client over a pipe (and the
# read-one/write-one floor), for vgi-rpc-bench-worker. Needs a release build
# of the bench worker and ../shared/reference (see its setup script).
#   benches/python/run-cpu-per-call.sh [--calls N] [--reps R] [--json]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
worker="${VGI_BENCH_WORKER:-$repo/target/release/vgi-rpc-bench-worker}"
[ -x "$worker" ] || { echo "build it first: cargo build --release -p vgi-rpc-benches" >&2; exit 2; }
cd "$repo"
exec ../shared/reference/run python "$repo/benches/python/cpu_per_call.py" "$worker" "$@"
