#!/usr/bin/env bash
# Python binding tests (stdlib unittest) against the dev build of the library,
# the independent checks of the envelope vectors and of the signed A2A card
# vector (need `cryptography`),
# with the python3 on PATH and, when it is another interpreter, Debian's.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
lib="$root/build/dev/lib/libcyberagent.so.1"
if [ ! -e "$lib" ]; then
  cmake --preset dev >/dev/null
  cmake --build --preset dev -j 2 --target cyberagent
fi
export CYBERAGENT_LIBRARY="$lib"
pys=(python3)
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
  pys+=(/usr/bin/python3)
fi
cd bindings/python
for py in "${pys[@]}"; do
  echo "--- $("$py" --version 2>&1) ($py)"
  "$py" -m unittest discover -s tests
done
cd "$root"
echo "--- tests/vectors/check_envelope_vectors.py (independent of the library)"
python3 tests/vectors/check_envelope_vectors.py >/dev/null
echo "envelope vectors hold"
echo "--- tests/vectors/check_a2a_card.py (independent of the library)"
python3 tests/vectors/check_a2a_card.py >/dev/null
echo "signed A2A card vector holds"
echo "--- examples/python/hire.py"
python3 examples/python/hire.py >/dev/null
echo "hiring story ran"
