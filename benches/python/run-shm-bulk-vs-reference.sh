#!/usr/bin/env bash
# Shared-memory bulk output with the reference Python client: our bench
# worker against the reference's own worker, alternately. Needs a release
# build of the bench worker and ../shared/reference (see its setup script).
#   benches/python/run-shm-bulk-vs-reference.sh [--rounds N] [--reps R]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
worker="${VGI_BENCH_WORKER:-$repo/target/release/vgi-rpc-bench-worker}"
[ -x "$worker" ] || { echo "build it first: cargo build --release -p vgi-rpc-benches" >&2; exit 2; }
cd "$repo"
exec ../shared/reference/run python "$repo/benches/python/shm_bulk_vs_reference.py" "$worker" "$@"
