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

# One preprocessor configuration per file (--max-configs=1): checking every
# #ifdef combination took minutes for the larger test files, for no finding.
# Suppressions (keep minimal, each justified):
#   missingIncludeSystem  system/libsodium headers are not given to cppcheck on purpose
#   unmatchedSuppression  inline suppressions may be absent in a given configuration
#   toomanyconfigs        the notice that --max-configs=1 is in effect
echo "cppcheck: ${#files[@]} files"
cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 --inline-suppr \
  -j "$jobs" --max-configs=1 -I include -I lib -I tests/unit -I tests/fuzz \
  --suppress=missingIncludeSystem --suppress=unmatchedSuppression --suppress=toomanyconfigs \
  "${files[@]}"

[ -f build/dev/compile_commands.json ] || cmake --preset dev >/dev/null
# clang-tidy's analyzer dominates the run time, so a file that passed is not
# analyzed again until it, a header, .clang-tidy, the CMake files or the tool
# changes (cache under build/dev/, keyed by content hashes; a fresh clone
# checks everything).
cache=build/dev/clang-tidy-ok
mkdir -p "$cache"
common=$( (clang-tidy --version; cat .clang-tidy CMakeLists.txt lib/CMakeLists.txt
  find include lib -name '*.h' | sort | xargs cat) |
  sha256sum | cut -c1-64)
todo=()
for f in "${lib_sources[@]}"; do
  key=$( (echo "$common"; echo "$f"; cat "$f") | sha256sum | cut -c1-64)
  [ -e "$cache/$key" ] || todo+=("$f" "$cache/$key")
done
echo "clang-tidy: ${#lib_sources[@]} files in lib/, $((${#todo[@]} / 2)) changed since their last clean run"
if [ ${#todo[@]} -gt 0 ]; then
  printf '%s\n' "${todo[@]}" |
    xargs -P "$jobs" -n 2 sh -c 'clang-tidy -p build/dev --quiet "$1" && touch "$2"' tidy \
      2> >(grep -v ' warnings\? generated' >&2)
fi
echo "lint clean"
