#!/usr/bin/env bash
# External storage across implementations, with the reference's fake storage
# (python -m vgi_rpc.conformance.fake_storage) inside the reference root:
#
#  (a) our HTTP and pipe clients (conformance/examples/external_interop.rs)
#      against the REFERENCE worker wired to the fake storage: results,
#      stream batches and exchange outputs arrive as pointers our clients
#      fetch, verify and decode; large inputs leave by pointer (HTTP: the
#      worker's upload URLs; pipe: our own upload to the fake storage);
#  (b) the REFERENCE Python client (conformance/python/external_interop.py)
#      against OUR worker (--fake-storage URL --externalize-threshold N),
#      over HTTP and over a pipe.
#
#   conformance/scripts/external-interop.sh
#
# Needs ../shared/reference (setup is idempotent) and a release build of
# vgi-rpc-conformance; builds the example client when it is missing or stale.
# Exits non-zero on any mismatch.
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
  repo="$(cd "$(dirname "$0")/../.." && pwd)"
  worker="$repo/target/release/vgi-rpc-conformance"
  client="$repo/target/release/examples/external_interop"
  [ -x "$worker" ] || { echo "external-interop: build the worker first: cargo build --release -p vgi-rpc-conformance" >&2; exit 2; }
  (cd "$repo" && cargo build --release --quiet -p vgi-rpc-conformance --example external_interop)
  cd "$repo"
  exec ../shared/reference/run bash "$repo/conformance/scripts/external-interop.sh" --inside "$repo" "$worker" "$client"
fi

# Inside the reference root from here on.
repo="$2"; worker="$3"; client="$4"
threshold=65536
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  return 0
}
trap cleanup EXIT

start() {  # start PREFIX CMD... ; sets $found from the PREFIX:value discovery line
  local prefix="$1"; shift
  local disc; disc="$(mktemp /tmp/vgi-ext-interop.XXXXXX)"
  "$@" >"$disc" &
  pids+=($!)
  found=""
  for _ in $(seq 1 200); do
    found="$(sed -n "s/^$prefix://p" "$disc" | head -1)"
    [ -n "$found" ] && break
    sleep 0.05
  done
  rm -f "$disc"
  [ -n "$found" ] || { echo "external-interop: $1 did not print a $prefix: line" >&2; exit 2; }
}

stop_last() {
  local p="${pids[-1]}"
  kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  unset 'pids[-1]'
  return 0
}

failed=0
run() {  # run LABEL CMD...
  local label="$1"; shift
  echo "-- $label"
  if ! "$@"; then
    echo "external-interop: FAILED: $label" >&2
    failed=$((failed + 1))
  fi
}

start PORT python -m vgi_rpc.conformance.fake_storage --port 0
storage="http://127.0.0.1:$found"

# (a) our clients, the reference worker.
start PORT python /opt/vgi-rpc-src/tests/serve_conformance_http.py --port 0 \
  --fake-storage "$storage" --externalize-threshold "$threshold"
run "our HTTP client, reference HTTP worker" "$client" --url "http://127.0.0.1:$found" --storage "$storage"
stop_last
run "our pipe client, reference pipe worker" "$client" --storage "$storage" \
  --cmd "vgi-rpc-conformance --pipe --fake-storage $storage --externalize-threshold $threshold"

# (b) the reference client, our worker.
start PORT "$worker" --http 0 --fake-storage "$storage" --externalize-threshold "$threshold"
run "reference HTTP client, our HTTP worker" \
  python "$repo/conformance/python/external_interop.py" --url "http://127.0.0.1:$found" --storage "$storage"
stop_last
run "reference pipe client, our pipe worker" \
  python "$repo/conformance/python/external_interop.py" --storage "$storage" \
  --cmd "$worker --fake-storage $storage --externalize-threshold $threshold"

if [ "$failed" -ne 0 ]; then
  echo "external-interop: $failed run(s) failed"
  exit 1
fi
echo "external-interop: all runs passed"
