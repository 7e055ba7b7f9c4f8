#!/usr/bin/env bash
# Inside the reference root: start the worker for socket transports, run
# vgi-rpc-test against it, summarise, stop the worker. Called by cli-suite.sh.
set -uo pipefail
worker="$1"; transport="$2"; shift 2
out="$(mktemp /tmp/vgi-cli-suite.XXXXXX.json)"
out2=""
pid=""
storage_pid=""
log=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$storage_pid" ] && kill -TERM "$storage_pid" 2>/dev/null && wait "$storage_pid" 2>/dev/null
  rm -f "$out" ${out2:+"$out2"} ${log:+"$log"}
}
trap cleanup EXIT

start_worker() {  # start_worker PREFIX ARGS... ; sets $pid and $addr from the discovery line
  local prefix="$1"; shift
  local disc; disc="$(mktemp /tmp/vgi-disc.XXXXXX)"
  "$worker" "$@" >"$disc" &
  pid=$!
  for _ in $(seq 1 100); do
    addr="$(sed -n "s/^$prefix://p" "$disc" | head -1)"
    [ -n "$addr" ] && break
    sleep 0.05
  done
  rm -f "$disc"
  [ -n "$addr" ] || { echo "cli-suite: worker did not print $prefix: line" >&2; exit 2; }
}

start_storage() {  # the reference's fake object store; sets $storage_pid and $storage_url
  local disc; disc="$(mktemp /tmp/vgi-storage.XXXXXX)"
  python -m vgi_rpc.conformance.fake_storage --port 0 >"$disc" &
  storage_pid=$!
  local port=""
  for _ in $(seq 1 100); do
    port="$(sed -n "s/^PORT://p" "$disc" | head -1)"
    [ -n "$port" ] && break
    sleep 0.05
  done
  rm -f "$disc"
  [ -n "$port" ] || { echo "cli-suite: fake storage did not print PORT: line" >&2; exit 2; }
  storage_url="http://127.0.0.1:$port"
}

case "$transport" in
  pipe)
    # Access-log conformance as the porting guide states it: the worker's log validates.
    log="/tmp/vgi-cli-suite-$$.access.log"
    vgi-rpc-test --cmd "$worker --access-log $log" --access-log "$log" --format json --output "$out" "$@" ;;
  unix)
    start_worker UNIX --unix "/tmp/vgi-cli-suite-$$.sock" --threaded
    vgi-rpc-test --unix "$addr" --format json --output "$out" "$@" ;;
  tcp)
    start_worker TCP --tcp 0 --threaded
    vgi-rpc-test --tcp "$addr" --format json --output "$out" "$@" ;;
  http|http-debug)
    # The worker's access log is validated alongside the tests, at INFO or DEBUG.
    log="/tmp/vgi-cli-suite-$$.access.log"
    debug=(); [ "$transport" = http-debug ] && debug=(--access-log-debug)
    start_worker PORT --http 0 --access-log "$log" "${debug[@]}"
    vgi-rpc-test --url "http://127.0.0.1:$addr" --access-log "$log" --format json --output "$out" "$@" ;;
  http-strict)
    # The http_response_cap group against two strict workers (1 MiB caps, as
    # the reference's strict worker). Without storage the body cap must
    # strict-fail; with the reference's fake storage wired in, oversize
    # batches leave by pointer (so the body-cap cases skip themselves) and
    # the external cap must strict-fail instead. A test counts once: passed
    # if it passed on either worker, failed if it failed on either.
    start_worker PORT --http 0 --max-response-bytes 1048576
    vgi-rpc-test --url "http://127.0.0.1:$addr" --filter 'http_response_cap.*' --format json --output "$out" "$@"
    first=$?
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    pid=""
    out2="$(mktemp /tmp/vgi-cli-suite.XXXXXX.json)"
    start_storage
    start_worker PORT --http 0 --fake-storage "$storage_url" --max-response-bytes 1048576 \
      --max-externalized-response-bytes 1048576
    vgi-rpc-test --url "http://127.0.0.1:$addr" --filter 'http_response_cap.*' --format json --output "$out2" "$@"
    second=$?
    (exit $((first != 0 ? first : second))) ;;
  *) echo "cli-suite: unknown transport $transport" >&2; exit 2 ;;
esac
status=$?
python - "$transport" "$out" ${out2:+"$out2"} <<'PY'
import json, sys
# One verdict per test over every run: failed anywhere, else passed anywhere, else skipped.
verdict, errors = {}, {}
for path in sys.argv[2:]:
    for r in json.load(open(path))["results"]:
        state = "skipped" if r["skipped"] else ("passed" if r["passed"] else "failed")
        previous = verdict.get(r["name"])
        if previous == "failed" or (previous == "passed" and state == "skipped"):
            continue
        verdict[r["name"]] = state
        if state == "failed":
            errors[r["name"]] = (r.get("error") or "")[:400]
for name, error in errors.items():
    print(f"FAILED {name}: {error}")
counts = {s: sum(1 for v in verdict.values() if v == s) for s in ("passed", "failed", "skipped")}
print(f"vgi-rpc-test over {sys.argv[1]}:")
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
sys.exit(1 if counts["failed"] else 0)
PY
summary=$?
[ "$status" -ne 0 ] && [ "$summary" -eq 0 ] && { echo "cli-suite: vgi-rpc-test exited $status" >&2; exit "$status"; }
exit "$summary"
