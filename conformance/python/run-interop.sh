#!/usr/bin/env bash
# Run the reference pytest suite (vgi_rpc.conformance._pytest_suite, from the
# vgi-rpc package installed in the reference root) against the Rust worker
# target/release/vgi-rpc-conformance, through the port harness in this
# directory. Builds nothing: build the worker first
# (cargo build --release -p vgi-rpc-conformance, or `just worker`).
#
#   conformance/python/run-interop.sh [pytest args...]      e.g. -k Secondary, -x
#
# Exit status: 0 only when pytest ran tests and none failed or errored.
# pytest's 5 ("no tests collected") and every other non-zero code fail.
# INTEROP_JOBS=N spreads the tests over N pytest-xdist workers (--dist loadscope,
# so a class keeps its order on one worker). Default: one process, which keeps
# the reference's in-module order and is the fastest today (about 8 s serial
# against 9-10 s with -n 2 on two cores: the suite is short and xdist's start-up
# and per-worker server farm cost more than they save).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
worker="target/release/vgi-rpc-conformance"
[ -x "$worker" ] || {
  echo "run-interop: $worker is missing; build it first: cargo build --release -p vgi-rpc-conformance" >&2
  exit 2
}
[ -x ../shared/reference/run ] || { echo "run-interop: ../shared/reference/run not found" >&2; exit 2; }

jobs=()
[ -n "${INTEROP_JOBS:-}" ] && [ "$INTEROP_JOBS" != 0 ] && jobs=(-n "$INTEROP_JOBS" --dist loadscope)

status=0
../shared/reference/run python -m pytest -c conformance/python/pytest.ini --rootdir conformance/python \
  --durations=10 "${jobs[@]}" conformance/python/test_upstream_suite.py "$@" || status=$?

case "$status" in
  0) ;;
  5) echo "run-interop: pytest collected no tests; that is a failure" >&2 ;;
  *) echo "run-interop: reference pytest suite failed (pytest exit $status)" >&2 ;;
esac
exit "$status"
