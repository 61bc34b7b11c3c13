#!/usr/bin/env bash
# Fuzz smoke run: builds the `fuzz` preset (clang, libFuzzer, ASan+UBSan) and
# runs every fuzz_<name> binary briefly, starting from its seed corpus
# tests/fuzz/corpus/<name>/. New inputs go to a scratch directory, never into
# the repository; crash artifacts go to build/fuzz/artifacts/.
#
# Time: CA_FUZZ_TOTAL_SECONDS (default 40) is shared between the targets,
# with at least CA_FUZZ_MIN_SECONDS (default 5) each.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

if ! command -v clang >/dev/null 2>&1; then
  echo "clang not found: fuzz smoke run skipped (the corpora still replay as ctests)" >&2
  exit 0
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

mapfile -t targets < <(find build/fuzz/tests/fuzz -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets were built" >&2
  exit 1
fi
total=${CA_FUZZ_TOTAL_SECONDS:-40}
min=${CA_FUZZ_MIN_SECONDS:-5}
per=$((total / ${#targets[@]}))
[ "$per" -ge "$min" ] || per=$min

artifacts="$root/build/fuzz/artifacts"
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  corpus="tests/fuzz/corpus/${name#fuzz_}"
  mkdir -p "$scratch/$name"
  log="$scratch/$name.log"
  printf '%-24s %3ss ... ' "$name" "$per"
  if "$bin" "$scratch/$name" "$corpus" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -artifact_prefix="$artifacts/$name-" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "ok (${runs:-?} runs)"
  else
    echo "FAILED"
    tail -n 60 "$log" >&2
    echo "reproduce: $bin $artifacts/$name-*" >&2
    exit 1
  fi
done
