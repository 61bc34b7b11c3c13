#!/usr/bin/env bash
# CLI test (ctest "cli"): runs the cyberagent binary on good and garbage
# inputs. Failures must exit 1 with exactly one line on stderr; no input may
# crash it (a signal exit is > 128) or hang it (each run has a time limit).
# Usage: test_cli.sh PATH_TO_CYBERAGENT
set -uo pipefail
cli=${1:?usage: test_cli.sh CYBERAGENT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
# RFC 8032 test 1 secret key and the did:key of its public key d75a98...511a.
seed1=9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
did1=did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw

# run NAME EXPECTED_EXIT CMD... ; stdin from $stdin_file (default /dev/null)
run() {
  local name=$1 want=$2
  shift 2
  timeout 60 "$@" <"${stdin_file:-/dev/null}" >"$work/out" 2>"$work/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$work/err")
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; sed 's/^/  stderr: /' "$work/err"; fails=$((fails + 1))
  elif [ "$want" -eq 1 ] && [ "$lines" -ne 1 ]; then
    echo "FAIL $name: $lines lines on stderr, expected one"; cat "$work/err"; fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
expect_out() { # NAME EXPECTED_STDOUT
  if [ "$(cat "$work/out")" != "$2" ]; then
    echo "FAIL $1: stdout '$(cat "$work/out")', expected '$2'"; fails=$((fails + 1))
  fi
}

run "no arguments" 2 "$cli"
run "help" 0 "$cli" help
run "unknown command" 2 "$cli" frobnicate
run "id from seed" 0 "$cli" id --seed $seed1
expect_out "id from seed" "$did1"
run "id: short seed" 1 "$cli" id --seed 9d61
run "id: non-hex seed" 1 "$cli" id --seed "$(printf 'zz%.0s' {1..32})"
run "id: both sources" 2 "$cli" id --seed $seed1 --key x
run "id: missing key file" 1 env CA_PASSPHRASE=x "$cli" id --key "$work/none"

export CA_PASSPHRASE="correct horse"
run "keygen" 0 "$cli" keygen --fast-kdf --out "$work/me.key"
did_me=$(cat "$work/out")
run "keygen refuses to overwrite" 1 "$cli" keygen --fast-kdf --out "$work/me.key"
run "id from key file" 0 "$cli" id --key "$work/me.key"
expect_out "id from key file" "$did_me"
run "id: wrong passphrase" 1 env CA_PASSPHRASE=wrong "$cli" id --key "$work/me.key"
grep -q CA_ERR_WRONG_PASSPHRASE "$work/err" || { echo "FAIL wrong passphrase status"; fails=$((fails + 1)); }
head -c 100 /dev/urandom >"$work/garbage.key"
run "id: garbage key file" 1 "$cli" id --key "$work/garbage.key"
grep -q CA_ERR_KEYFILE_CORRUPT "$work/err" || { echo "FAIL corrupt key status"; fails=$((fails + 1)); }
if command -v setsid >/dev/null 2>&1; then
  run "no passphrase, no terminal" 1 env -u CA_PASSPHRASE setsid -w "$cli" id --key "$work/me.key"
fi

if [ "$fails" -ne 0 ]; then
  echo "$fails CLI checks failed"
  exit 1
fi
echo "all CLI checks passed"
