#!/usr/bin/env bash
# The README's first quick-start command: installs what is missing, builds the
# release preset, walks through the `cyberagent` CLI, shows a hire through a
# delegate (examples/hire_delegated), and ends with the hiring demo
# (examples/hire): a dozen agents hiring each other in one process.
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
# A raw seed never goes on the command line (ps shows it to every user): it
# comes from a file (mode 0600), stdin or an environment variable.
(umask 077; echo 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60 >"$demo/test1.seed")
show "cyberagent id --seed-file test1.seed    # RFC 8032 test key, 64 hex digits"
"$cli" id --seed-file "$demo/test1.seed"

bob=$("$cli" keygen --out "$demo/bob.key")
now=$(($(date +%s) * 1000))
show cyberagent keygen --out bob.key
echo "$bob"
show "echo 'Translate 200 words to French, pay 5' | cyberagent sign --key alice.key --to \$bob --ttl 600000 > task.env"
echo 'Translate 200 words to French, pay 5' |
  "$cli" sign --key "$demo/alice.key" --to "$bob" --now "$now" --ttl 600000 >"$demo/task.env"
echo "($(wc -c <"$demo/task.env") bytes of canonical MessagePack, signed by alice)"
show "cyberagent verify < task.env"
"$cli" verify --now "$now" <"$demo/task.env"
show "cyberagent inspect < task.env"
"$cli" inspect --now "$now" <"$demo/task.env"
show "echo 'the French text' | cyberagent sign --key bob.key --to \$alice --seal --compress > result.env"
echo 'the French text' |
  "$cli" sign --key "$demo/bob.key" --to "$alice" --seal --compress --now "$now" >"$demo/result.env"
show "cyberagent inspect --key alice.key < result.env    # sealed: only alice reads the body"
"$cli" inspect --now "$now" --key "$demo/alice.key" <"$demo/result.env"
show "flip one byte of task.env, then: cyberagent verify"
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; sys.stdout.buffer.write(b)' \
  "$demo/task.env" >"$demo/tampered.env"
"$cli" verify --now "$now" <"$demo/tampered.env" 2>&1 || echo "(exit status $?: rejected)"

echo
echo "=== hiring through a delegate: alice signs her sub-agent scout a capped budget,"
echo "    scout hires bob for her; the cap, then alice's revocation, stop scout"
echo "    (source: examples/hire_delegated/hire_delegated.c) ==="
echo
"$PWD/build/release/examples/hire_delegated/hire_delegated"

echo
echo "=== the hiring demo: agents hire agents (source: examples/hire/, data flow:"
echo "    docs/ARCHITECTURE.md; try --agents 200 --tasks 2000 --seed 7, or --json) ==="
echo
rm -rf "$demo"
trap - EXIT
exec "$PWD/build/release/examples/hire/cyberagent-hire" "$@"
