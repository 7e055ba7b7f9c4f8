#!/usr/bin/env bash
# CI fuzz smoke: build every cargo-fuzz target, then run each for a bounded
# time over its committed corpus (fuzz/corpus/<target>). New inputs go to a
# scratch directory, never into the committed corpus. Exits non-zero when any
# target finds a crash, leak, OOM or timeout (the reproducer is left under
# fuzz/artifacts/<target>/).
#
# The targets are built as `cargo fuzz build` does by default (optimized,
# with AddressSanitizer, debug assertions and overflow checks). An
# unoptimized `--dev` build took nearly as long to compile here and ran too
# slowly to replay the committed corpus in the time given (the JWT target
# managed 7 executions in 15 s).
#
# FUZZ_SMOKE_SECONDS overrides the per-target time (default 15);
# FUZZ_SMOKE_DEV=1 builds and runs with `--dev` instead (shorter compile,
# far fewer executions).
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-fuzz needs nightly-only flags; the stable toolchain accepts them with this.
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SMOKE_SECONDS:-15}"
profile=()
if [ "${FUZZ_SMOKE_DEV:-0}" = 1 ]; then
  profile=(--dev)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

started=$SECONDS
cargo fuzz build "${profile[@]}"
echo "fuzz smoke: build took $((SECONDS - started)) s"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

status=0
failed=()
for target in $(cargo fuzz list); do
  mkdir -p "$scratch/$target"
  echo "== fuzz smoke: $target (${seconds} s)"
  if ! cargo fuzz run "${profile[@]}" "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$scratch/$target.log" 2>&1; then
    status=1
    failed+=("$target")
    tail -n 60 "$scratch/$target.log"
  else
    grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)' "$scratch/$target.log" || tail -n 3 "$scratch/$target.log"
  fi
done

echo "fuzz smoke: total $((SECONDS - started)) s"
if [ "$status" -ne 0 ]; then
  echo "fuzz smoke: findings in ${failed[*]} (reproducers under fuzz/artifacts/)"
fi
exit "$status"
