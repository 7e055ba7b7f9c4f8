#!/usr/bin/env bash
# Short resource soak of the conformance worker for CI: mixed traffic on
# every transport (pipe, unix, tcp, http), about 20 s each, judged against
# the reference's resource-soak limits (RSS growth 32 MiB, median RSS slope
# 2 MiB/epoch, descriptors +3, threads +1, children +0).
#
#   conformance/scripts/soak.sh [vgi-rpc-soak args...]     e.g. --transport http --duration 60
#
# Builds nothing: needs target/release/vgi-rpc-soak and vgi-rpc-conformance
# (cargo build --release -p vgi-rpc-conformance --bins). SOAK_SECS (per
# transport, default 20) and SOAK_CLIENTS (default 4) size the run; later
# arguments override. The JSON summary goes to SOAK_REPORT (default
# target/soak-short.json); one line per transport goes to stderr. Exit
# status is the soak's: 0 when every limit held and every operation behaved.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
soak="target/release/vgi-rpc-soak"
worker="target/release/vgi-rpc-conformance"
for bin in "$soak" "$worker"; do
  [ -x "$bin" ] || { echo "soak: $bin is missing; build it: cargo build --release -p vgi-rpc-conformance --bins" >&2; exit 2; }
done
per="${SOAK_SECS:-20}"
report="${SOAK_REPORT:-target/soak-short.json}"
status=0
"$soak" --transport all --duration "$((per * 4))" --clients "${SOAK_CLIENTS:-4}" --worker "$worker" "$@" \
  > "$report" || status=$?
echo "soak: summary in $report (exit $status)" >&2
exit "$status"
