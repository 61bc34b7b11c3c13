#!/usr/bin/env bash
# Refreshes the ABI baseline tests/abi/<SONAME>.abi from the dev preset's build.
# Run it only for an intended ABI change, and commit the new file together
# with that change (see docs/ABI.md). Usage: tests/abi/update.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/dev}
if [ "$build" = build/dev ]; then
  cmake --preset dev >/dev/null
  cmake --build --preset dev -j "$(nproc 2>/dev/null || echo 2)" --target cyberagent >/dev/null
fi
lib="$build/lib/libcyberagent.so"
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
mkdir -p tests/abi
abidw --headers-dir include --no-corpus-path --no-show-locs --out-file "tests/abi/$soname.abi" "$lib"
# Source paths of this checkout mean nothing elsewhere: keep them relative.
sed -i -e "s|path='$PWD/|path='|g" -e "s|comp-dir-path='[^']*'|comp-dir-path='.'|g" "tests/abi/$soname.abi"
echo "wrote tests/abi/$soname.abi ($(grep -c '<elf-symbol ' "tests/abi/$soname.abi") symbols)"
