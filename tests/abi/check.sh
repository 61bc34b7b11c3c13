#!/usr/bin/env bash
# ABI check: compares a built libcyberagent.so against the baseline stored in
# tests/abi/<SONAME>.abi (see docs/ABI.md).
#   Passes when the ABI is unchanged or only grew (added functions/variables,
#   or changes libabigail classes as harmless, e.g. enumerators or struct
#   members appended at the end).
#   Fails on any removed or changed function or variable.
# Usage: check.sh LIBRARY [INCLUDE_DIR [ABI_DIR]]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib=${1:?usage: check.sh LIBRARY [INCLUDE_DIR [ABI_DIR]]}
inc=${2:-$here/../../include}
abidir=${3:-$here}

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
baseline="$abidir/$soname.abi"
if [ ! -f "$baseline" ]; then
  echo "no ABI baseline $baseline for SONAME '$soname'; create it with tests/abi/update.sh" >&2
  exit 1
fi

report=$(abidiff --hd2 "$inc" "$baseline" "$lib" 2>&1)
rc=$?
# abidiff exit status bits: 1 error, 2 usage error, 4 ABI change, 8 incompatible change.
if (( rc & 3 )); then
  echo "abidiff failed (exit $rc):" >&2
  echo "$report" >&2
  exit 1
fi
if (( rc & 8 )); then
  echo "INCOMPATIBLE ABI change against $baseline:" >&2
  echo "$report" >&2
  exit 1
fi
if (( rc & 4 )); then
  # Only additions are allowed: every "N Removed" and "N Changed" count must be 0.
  if echo "$report" | grep -Eq '(^|[^0-9])[1-9][0-9]* (Removed|Changed)'; then
    echo "ABI change against $baseline (removed or changed interfaces):" >&2
    echo "$report" >&2
    echo "If the change is intended: docs/ABI.md says when the SONAME must move; then run" >&2
    echo "tests/abi/update.sh and commit tests/abi/ together with the change." >&2
    exit 1
  fi
  echo "ABI grew compatibly since the baseline:"
  echo "$report" | grep -E 'summary|\[A\]'
  exit 0
fi
echo "ABI identical to $baseline"
