#!/usr/bin/env bash
# Fuzzing campaign (not part of the default suite): runs every libFuzzer
# target of the `fuzz` preset (clang, ASan + UBSan) until it has executed
# CA_FUZZ_RUNS inputs (default 10,000,000), CA_FUZZ_JOBS targets at a time
# (default: the number of cores). Each target starts from its seed corpus
# tests/fuzz/corpus/<name>/ and grows a working corpus under
# build/fuzz/campaign/corpus/<name>/ (kept between campaigns, never written
# into the repository). Crash, leak and timeout inputs go to
# build/fuzz/campaign/artifacts/.
#
# Usage: tests/fuzz/campaign.sh [TARGET...]     (default: every fuzz_* target)
# Output: one line per target, and build/fuzz/campaign/summary.md, the table
# docs/SECURITY.md records: target, executions, exec/s, corpus size, result.
# Exit status: 0 when every target reached its run count with no finding.
#
# An input that crashes a target becomes a regression test by copying it into
# tests/fuzz/corpus/<name>/ once it is fixed (the corpora replay as ctests).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

runs=${CA_FUZZ_RUNS:-10000000}
jobs=${CA_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
out="$root/build/fuzz/campaign"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs" >/dev/null

if [ $# -gt 0 ]; then
  targets=()
  for t in "$@"; do targets+=("build/fuzz/tests/fuzz/fuzz_${t#fuzz_}"); done
else
  mapfile -t targets < <(find build/fuzz/tests/fuzz -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets were built" >&2; exit 1; }
mkdir -p "$out/artifacts" "$out/logs" "$out/corpus"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# One target: fuzz until `runs` executions, then print its summary row.
run_target() {
  local bin=$1 runs=$2 out=$3
  local name
  name=$(basename "$bin")
  local short=${name#fuzz_}
  local log="$out/logs/$name.log"
  mkdir -p "$out/corpus/$short"
  local start=$SECONDS result=ok
  # -max_len bounds one input; the targets bound their own work per input.
  if ! "$bin" "$out/corpus/$short" "tests/fuzz/corpus/$short" -runs="$runs" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$out/artifacts/$name-" \
      -print_final_stats=1 >"$log" 2>&1; then
    result="FINDING (see $log)"
  fi
  local secs=$((SECONDS - start))
  local execs rate files
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  files=$(find "$out/corpus/$short" -type f | wc -l)
  printf '| %s | %s | %s | %s | %ss | %s |\n' "$name" "${execs:-?}" "${rate:-?}" "$files" \
    "$secs" "$result"
}
export -f run_target

echo "fuzz campaign: ${#targets[@]} targets, $runs executions each, $jobs at a time" >&2
rows=$(printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_target "$@"' _ {} "$runs" "$out")
{
  echo "| target | executions | exec/s | corpus files | time | result |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "$rows" | sort
} | tee "$out/summary.md"

# Every target must have reached the run count without a finding.
fail=0
while IFS='|' read -r _ name execs _ _ _ result _; do
  name=$(echo "$name" | xargs)
  execs=$(echo "$execs" | xargs)
  result=$(echo "$result" | xargs)
  if [ "$result" != ok ] || ! [[ "$execs" =~ ^[0-9]+$ ]] || [ "$execs" -lt "$runs" ]; then
    echo "campaign: $name did not reach $runs clean executions ($execs, $result)" >&2
    fail=1
  fi
done <<<"$rows"
exit $fail
