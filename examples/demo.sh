#!/usr/bin/env bash
# The README's first quick-start command: installs what is missing, builds the
# release preset, and walks through the `cyberagent` CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

cli=$PWD/build/release/examples/cli/cyberagent
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
# A demo passphrase in the environment; interactively, leave CA_PASSPHRASE
# unset and the CLI asks for it without echo.
export CA_PASSPHRASE="demo passphrase"
show() { printf '\n$ %s\n' "$*"; }

show cyberagent keygen --out alice.key
alice=$("$cli" keygen --out "$demo/alice.key")
echo "$alice"
show cyberagent id --key alice.key
"$cli" id --key "$demo/alice.key"
show cyberagent id --seed 9d61b1...7f60 "   # RFC 8032 test key"
"$cli" id --seed 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
echo
echo "demo finished: the CLI source is examples/cli/, the API docs/ARCHITECTURE.md"
