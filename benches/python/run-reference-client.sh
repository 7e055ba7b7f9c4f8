#!/usr/bin/env bash
# Drive vgi-rpc-bench-worker with the reference Python client (inside the
# reference root). Needs a release build of the bench worker.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
worker="$repo/target/release/vgi-rpc-bench-worker"
[ -x "$worker" ] || { echo "build it first: cargo build --release -p vgi-rpc-benches" >&2; exit 2; }
cd "$repo"
exec ../shared/reference/run python "$repo/benches/python/drive_bench_worker.py" "$worker"
