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

# ---- envelopes: sign / verify / inspect ----
seed2=4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb
t0=1700000000000
"$cli" id --seed $seed2 >"$work/bob.did"
bob=$(cat "$work/bob.did")
printf 'translate this, please' >"$work/body"

stdin_file="$work/body" run "sign" 0 "$cli" sign --seed $seed1 --now $t0 --ttl 60000
cp "$work/out" "$work/env"
stdin_file="$work/env" run "verify" 0 "$cli" verify --now $((t0 + 1))
grep -q "^sender $did1\$" "$work/out" || { echo "FAIL verify: sender line"; fails=$((fails + 1)); }
grep -Eq '^id [0-9a-f]{64}$' "$work/out" || { echo "FAIL verify: id line"; fails=$((fails + 1)); }
stdin_file="$work/env" run "verify: expired" 1 "$cli" verify --now $((t0 + 600000))
grep -q CA_ERR_EXPIRED "$work/err" || { echo "FAIL expired status"; fails=$((fails + 1)); }
stdin_file="$work/env" run "verify: not yet valid" 1 "$cli" verify --now $((t0 - 600000))
stdin_file="$work/env" run "inspect" 0 "$cli" inspect --now $((t0 + 1))
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["body_text"]=="translate this, please" and d["valid"], d' \
    "$work/out" || { echo "FAIL inspect: JSON"; fails=$((fails + 1)); }
fi
# Same inputs, same bytes: signing is deterministic for fixed key and time.
stdin_file="$work/body" run "sign again" 0 "$cli" sign --seed $seed1 --now $t0 --ttl 60000
cmp -s "$work/out" "$work/env" || { echo "FAIL sign is not deterministic"; fails=$((fails + 1)); }

# Sealed and compressed, to bob: only bob's key opens the body.
head -c 2000 /dev/zero | tr '\0' 'a' >"$work/big"
stdin_file="$work/big" run "sign --seal --compress" 0 \
  "$cli" sign --seed $seed1 --now $t0 --to "$bob" --seal --compress --kind 65537
cp "$work/out" "$work/sealed"
stdin_file="$work/sealed" run "verify sealed" 0 "$cli" verify --now $((t0 + 1))
stdin_file="$work/sealed" run "inspect sealed (bob)" 0 "$cli" inspect --now $((t0 + 1)) --seed $seed2
grep -q '"body_bytes": 2000' "$work/out" || { echo "FAIL bob cannot open"; fails=$((fails + 1)); }
stdin_file="$work/sealed" run "inspect sealed (stranger)" 0 "$cli" inspect --now $((t0 + 1))
grep -q CA_ERR_SEALED "$work/out" || { echo "FAIL stranger body status"; fails=$((fails + 1)); }

stdin_file="$work/body" run "sign: --seal without --to" 1 "$cli" sign --seed $seed1 --seal
stdin_file="$work/body" run "sign: bad --to" 1 "$cli" sign --seed $seed1 --to did:key:zzz
stdin_file="$work/body" run "sign: bad --kind" 1 "$cli" sign --seed $seed1 --kind 0
stdin_file="$work/body" run "sign: bad --now" 1 "$cli" sign --seed $seed1 --now 12x
stdin_file="$work/body" run "sign: with key file" 0 "$cli" sign --key "$work/me.key"

# Garbage: every input must give exit 1 and one line, never a crash or hang.
garbage() { # NAME FILE
  stdin_file="$2" run "verify: $1" 1 "$cli" verify --now $((t0 + 1))
  stdin_file="$2" run "inspect: $1" 1 "$cli" inspect --now $((t0 + 1))
}
: >"$work/g"; garbage "empty input" "$work/g"
head -c 1 "$work/env" >"$work/g"; garbage "one byte" "$work/g"
for n in 1 2 3 4 5 6 7 8; do
  head -c $((n * 97)) /dev/urandom >"$work/g"; garbage "random $((n * 97)) bytes" "$work/g"
done
size=$(wc -c <"$work/env")
for ((n = 2; n < size; n += 9)); do
  head -c $n "$work/env" >"$work/g"; garbage "truncated to $n" "$work/g"
done
cat "$work/env" "$work/body" >"$work/g"; garbage "trailing bytes" "$work/g"
for ((i = 0; i < size; i += 7)); do
  python3 - "$work/env" "$work/g" $i <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); i = int(sys.argv[3]); b[i] ^= 0x01
open(sys.argv[2], "wb").write(b)
PY
  stdin_file="$work/g" run "verify: bit flipped at $i" 1 "$cli" verify --now $((t0 + 1))
done
head -c $((2 * 1024 * 1024)) /dev/zero >"$work/g"; garbage "2 MiB of zeros" "$work/g"
# An endless stream is cut at the size limit, not read forever.
timeout 60 bash -c "yes | '$cli' verify --now $t0" >/dev/null 2>"$work/err"
rc=$?
if [ $rc -ne 1 ]; then echo "FAIL endless stdin: exit $rc"; fails=$((fails + 1)); else echo "ok   endless stdin"; fi

# ---- task messages, equivocation evidence, task threads ----
corpus=$(cd "$(dirname "$0")/../../tests/fuzz/corpus" && pwd)
tail -c +2 "$corpus/task_body/bid" >"$work/bid.body" # first byte: kind selector of the fuzz target
task_hex=$(od -An -tx1 -v -j4 -N32 "$work/bid.body" | tr -d ' \n')
stdin_file="$work/bid.body" run "sign a bid" 0 "$cli" sign --seed $seed1 --kind 17 --parent "$task_hex" --now $t0
cp "$work/out" "$work/bid.env"
stdin_file="$work/bid.env" run "inspect a bid" 0 "$cli" inspect --now $((t0 + 1))
grep -q '"task_body": {"task": "'"$task_hex"'", "price": 80,' "$work/out" || { echo "FAIL inspect: typed bid"; fails=$((fails + 1)); }
stdin_file="$work/bid.body" run "sign a bid without parent" 0 "$cli" sign --seed $seed1 --kind 17 --now $t0
cp "$work/out" "$work/bid2.env"
stdin_file="$work/bid2.env" run "inspect a bid without parent" 0 "$cli" inspect --now $((t0 + 1))
grep -q '"task_body_status": "CA_ERR_MALFORMED"' "$work/out" || { echo "FAIL inspect: bad bid status"; fails=$((fails + 1)); }
run "evidence" 0 "$cli" evidence "$corpus/evidence/bids"
grep -q '"kind_name": "task.bid"' "$work/out" || { echo "FAIL evidence: kind"; fails=$((fails + 1)); }
stdin_file="$corpus/evidence/results" run "evidence from stdin" 0 "$cli" evidence
run "evidence: forged" 1 "$cli" evidence "$corpus/evidence/bids_forged"
grep -q CA_ERR_BAD_EVIDENCE "$work/err" || { echo "FAIL forged evidence status"; fails=$((fails + 1)); }
run "evidence: a refused bid and its correction" 1 "$cli" evidence "$corpus/evidence/bids_refused"
grep -q CA_ERR_TASK_TERMS "$work/err" || { echo "FAIL refused-bid evidence: the refusal is not named"; fails=$((fails + 1)); }
run "evidence: not evidence" 1 "$cli" evidence "$corpus/task_thread/hire"
run "evidence: missing file" 1 "$cli" evidence "$work/none"
run "evidence: usage" 2 "$cli" evidence a b
run "thread" 0 "$cli" thread "$corpus/task_thread/hire"
grep -q '"state": "completed"' "$work/out" || { echo "FAIL thread: state"; fails=$((fails + 1)); }
run "thread: truncated" 1 "$cli" thread "$corpus/task_thread/truncated"
run "thread: garbage" 1 "$cli" thread "$corpus/evidence/bids"

if [ "$fails" -ne 0 ]; then
  echo "$fails CLI checks failed"
  exit 1
fi
echo "all CLI checks passed"
