#!/usr/bin/env bash
# Inside the reference root: start the worker for socket transports, run
# vgi-rpc-test against it, summarise, stop the worker. Called by cli-suite.sh.
set -uo pipefail
worker="$1"; transport="$2"; shift 2
out="$(mktemp /tmp/vgi-cli-suite.XXXXXX.json)"
pid=""
log=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -f "$out" ${log:+"$log"}
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
    # Tight response cap: the http_response_cap group must strict-fail.
    start_worker PORT --http 0 --max-response-bytes 1048576
    vgi-rpc-test --url "http://127.0.0.1:$addr" --filter 'http_response_cap.*' --format json --output "$out" "$@" ;;
  *) echo "cli-suite: unknown transport $transport" >&2; exit 2 ;;
esac
status=$?
python - "$out" "$transport" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    if not r["passed"] and not r["skipped"]:
        print(f"FAILED {r['name']}: {(r.get('error') or '')[:400]}")
print(f"vgi-rpc-test over {sys.argv[2]}:")
print(f"{d['passed']} passed, {d['failed']} failed, {d['skipped']} skipped")
sys.exit(1 if d["failed"] else 0)
PY
summary=$?
[ "$status" -ne 0 ] && [ "$summary" -eq 0 ] && { echo "cli-suite: vgi-rpc-test exited $status" >&2; exit "$status"; }
exit "$summary"
