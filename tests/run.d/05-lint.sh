#!/usr/bin/env bash
# Static checks, all of which must be clean:
#   clang-format  every C file under include/ lib/ tests/ examples/ (.clang-format)
#   cppcheck      warning + portability classes on the same files (errors always on)
#   clang-tidy    lib/ only (.clang-tidy, build/dev/compile_commands.json); the
#                 tests and examples are left out to keep CI on 2 cores fast;
#                 one file per process (clang-tidy 14 carries analyzer state
#                 across files given in one call and reports phantom errors)
# Needs the dev preset configured (tests/run.sh does that first).
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=$(nproc 2>/dev/null || echo 2)

mapfile -t files < <(find include lib tests examples -name '*.[ch]' -type f | sort)
mapfile -t lib_sources < <(find lib -name '*.c' -type f | sort)

echo "clang-format: ${#files[@]} files"
clang-format --dry-run -Werror "${files[@]}"

# Suppressions (keep minimal, each justified):
#   missingIncludeSystem  system/libsodium headers are not given to cppcheck on purpose
#   unmatchedSuppression  inline suppressions may be absent in a given configuration
echo "cppcheck: ${#files[@]} files"
cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 --inline-suppr \
  -j "$jobs" -I include -I lib -I tests/unit -I tests/fuzz \
  --suppress=missingIncludeSystem --suppress=unmatchedSuppression \
  "${files[@]}"

[ -f build/dev/compile_commands.json ] || cmake --preset dev >/dev/null
echo "clang-tidy: ${#lib_sources[@]} files in lib/"
printf '%s\n' "${lib_sources[@]}" |
  xargs -P "$jobs" -n 1 clang-tidy -p build/dev --quiet 2> >(grep -v ' warnings\? generated' >&2)
echo "lint clean"
