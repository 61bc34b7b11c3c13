#!/usr/bin/env bash
# The library as the release preset compiles it (-O3, -Werror): the README's
# first command builds that preset, and gcc's optimizer warns about things the
# debug and sanitizer builds never see (a maybe-uninitialized in the ledger's
# delegation check once broke it). Only the library, in a directory of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/release-lib -DCMAKE_BUILD_TYPE=Release -DCA_WERROR=ON -DCA_BUILD_TESTS=OFF \
    -DCA_BUILD_EXAMPLES=OFF -DCA_BUILD_BENCH=OFF >/dev/null
cmake --build build/release-lib -j "$(nproc 2>/dev/null || echo 2)" --target cyberagent cyberagent_static
echo "release library: built with -Werror"
