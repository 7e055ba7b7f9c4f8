#!/usr/bin/env bash
# Run the reference pytest suite against the Rust conformance worker, inside
# the reference root. Exits non-zero on any failure, error, or when nothing
# was collected. Extra arguments go to pytest (e.g. -k, -x).
#
#   conformance/python/run-interop.sh [pytest args...]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
[ -x "$repo/target/release/vgi-rpc-conformance" ] || {
  echo "run-interop: build the worker first: cargo build --release -p vgi-rpc-conformance" >&2; exit 2; }
cd "$repo"
set +e
../shared/reference/run python -m pytest -c conformance/python/pytest.ini --rootdir conformance/python \
  -n 2 conformance/python/test_upstream_suite.py "$@"
status=$?
set -e
# pytest: 0 all passed, 1 failures, 5 nothing collected (also a failure here).
exit "$status"
