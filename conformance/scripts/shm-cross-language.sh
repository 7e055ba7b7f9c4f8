#!/usr/bin/env bash
# Shared memory across implementations, inside the reference root:
#
#  (a) the reference's own cross-language test
#      (tests/test_shm_cross_language.py): Python creates segments and our
#      `shm_dump` example attaches and reports the header it sees; all three
#      cases must pass (a skip is a failure here);
#  (b) the reference Python client with a segment (WorkerPool(shm_size=...)
#      and a raw pointer request) against OUR conformance worker
#      (conformance/python/shm_interop.py).
#
#   conformance/scripts/shm-cross-language.sh [WORKER]
#
# WORKER defaults to target/release/vgi-rpc-conformance. Builds shm_dump
# (release) when missing or stale. Exits non-zero on any failure.
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
  repo="$(cd "$(dirname "$0")/../.." && pwd)"
  worker="${1:-$repo/target/release/vgi-rpc-conformance}"
  [ -x "$worker" ] || { echo "shm-cross-language: build the worker first: cargo build --release -p vgi-rpc-conformance" >&2; exit 2; }
  (cd "$repo" && cargo build --release --quiet -p vgi-rpc-shm --example shm_dump)
  dump="$repo/target/release/examples/shm_dump"
  cd "$repo"
  exec ../shared/reference/run bash "$repo/conformance/scripts/shm-cross-language.sh" --inside "$repo" "$worker" "$dump"
fi

# Inside the reference root from here on (the work tree is read-only).
repo="$2"; worker="$3"; dump="$4"
src=/opt/vgi-rpc-src
cd /tmp
out="$(VGI_RPC_RUST_SHM_DUMP="$dump" python -m pytest "$src/tests/test_shm_cross_language.py" -q -p no:cacheprovider -o addopts= -rs 2>&1)" || {
  echo "$out"; echo "shm-cross-language: the reference's cross-language test failed" >&2; exit 1; }
echo "$out" | tail -n 3
echo "$out" | grep -q "3 passed" || { echo "shm-cross-language: expected 3 passed (none skipped)" >&2; exit 1; }
python "$repo/conformance/python/shm_interop.py" "$worker"
echo "shm-cross-language: ok"
