#!/usr/bin/env bash
# Run the reference CLI conformance suite (vgi-rpc-test) against our worker
# over one transport, inside the reference root.
#
#   conformance/scripts/cli-suite.sh pipe|unix|tcp|http|http-debug|http-strict [vgi-rpc-test args...]
#
# Needs ../shared/reference (setup is idempotent) and a release build of
# vgi-rpc-conformance. Prints "N passed, N failed, N skipped" and exits
# non-zero when any test fails.
set -euo pipefail
transport="${1:?usage: cli-suite.sh pipe|unix|tcp|http|http-debug|http-strict [vgi-rpc-test args...]}"
shift
repo="$(cd "$(dirname "$0")/../.." && pwd)"
worker="$repo/target/release/vgi-rpc-conformance"
[ -x "$worker" ] || { echo "cli-suite: build the worker first: cargo build --release -p vgi-rpc-conformance" >&2; exit 2; }
cd "$repo"
exec ../shared/reference/run bash "$repo/conformance/scripts/cli-suite-inner.sh" "$worker" "$transport" "$@"
