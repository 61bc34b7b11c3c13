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
# Seeds go in files (mode 0600) or the environment; --seed HEX on the command
# line is kept for published test vectors and tested as such below.
seed1=9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
did1=did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw
(umask 077; echo "$seed1" >"$work/seed1")

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
grep -q -- "--seed-file FILE" "$work/out" || { echo "FAIL help: --seed-file"; fails=$((fails + 1)); }
grep -q "WARNING: the secret on the command line" "$work/out" || { echo "FAIL help: --seed warning"; fails=$((fails + 1)); }
run "unknown command" 2 "$cli" frobnicate
run "id from seed file" 0 "$cli" id --seed-file "$work/seed1"
expect_out "id from seed file" "$did1"
printf '%s' "$seed1" >"$work/seed1-bare" # no newline
run "id from seed file without newline" 0 "$cli" id --seed-file "$work/seed1-bare"
expect_out "id from seed file without newline" "$did1"
stdin_file="$work/seed1" run "id from seed on stdin" 0 "$cli" id --seed-file -
expect_out "id from seed on stdin" "$did1"
run "id from seed in the environment" 0 env CA_TEST_SEED="$seed1" "$cli" id --seed-env CA_TEST_SEED
expect_out "id from seed in the environment" "$did1"
[ -s "$work/err" ] && { echo "FAIL seed file/env: unexpected stderr"; cat "$work/err"; fails=$((fails + 1)); }
# --seed HEX still works for test vectors, with a warning on stderr.
run "id from --seed (test vector)" 0 "$cli" id --seed $seed1
expect_out "id from --seed (test vector)" "$did1"
grep -q "warning: --seed puts the secret seed on the command line" "$work/err" ||
  { echo "FAIL --seed: no warning on stderr"; fails=$((fails + 1)); }
echo 9d61 >"$work/seed-short"
run "id: short seed" 1 "$cli" id --seed-file "$work/seed-short"
printf 'zz%.0s' {1..32} >"$work/seed-nonhex"
run "id: non-hex seed" 1 "$cli" id --seed-file "$work/seed-nonhex"
{ echo "$seed1"; echo "$seed1"; } >"$work/seed-two"
run "id: two seeds in the file" 1 "$cli" id --seed-file "$work/seed-two"
head -c 100000 /dev/zero >"$work/seed-big"
run "id: huge seed file" 1 "$cli" id --seed-file "$work/seed-big"
run "id: missing seed file" 1 "$cli" id --seed-file "$work/none"
run "id: seed env unset" 1 env -u CA_TEST_SEED "$cli" id --seed-env CA_TEST_SEED
run "id: bad seed env" 1 env CA_TEST_SEED=9d61 "$cli" id --seed-env CA_TEST_SEED
run "id: both sources" 2 "$cli" id --seed-file "$work/seed1" --key x
run "id: seed file and --seed" 2 "$cli" id --seed-file "$work/seed1" --seed $seed1
run "id: no source" 2 "$cli" id
run "id: --seed-file without value" 2 "$cli" id --seed-file
# A --seed failure prints the warning, then its one error line.
timeout 60 "$cli" id --seed 9d61 </dev/null >/dev/null 2>"$work/err"
rc=$?
if [ $rc -ne 1 ] || [ "$(wc -l <"$work/err")" -ne 2 ]; then
  echo "FAIL id: short --seed: exit $rc, $(wc -l <"$work/err") lines on stderr"; fails=$((fails + 1))
fi
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
(umask 077; echo "$seed2" >"$work/seed2")
t0=1700000000000
"$cli" id --seed-file "$work/seed2" >"$work/bob.did"
bob=$(cat "$work/bob.did")
printf 'translate this, please' >"$work/body"

stdin_file="$work/body" run "sign" 0 "$cli" sign --seed-file "$work/seed1" --now $t0 --ttl 60000
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
# Same inputs, same bytes: signing is deterministic for fixed key and time,
# whichever way the seed arrives.
stdin_file="$work/body" run "sign again" 0 env CA_TEST_SEED="$seed1" "$cli" sign --seed-env CA_TEST_SEED --now $t0 --ttl 60000
cmp -s "$work/out" "$work/env" || { echo "FAIL sign is not deterministic"; fails=$((fails + 1)); }
stdin_file="$work/body" run "sign with --seed (test vector)" 0 "$cli" sign --seed $seed1 --now $t0 --ttl 60000
cmp -s "$work/out" "$work/env" || { echo "FAIL sign --seed differs"; fails=$((fails + 1)); }
stdin_file="$work/body" run "sign: seed on stdin too" 1 "$cli" sign --seed-file - --now $t0
stdin_file="$work/body" run "sign: two identities" 2 "$cli" sign --seed-file "$work/seed1" --seed-env X
# --seed is blanked from the process's argument list once read: watch a sign
# that waits for its body (stdin still open) in /proc.
if [ -r /proc/self/cmdline ]; then
  { sleep 3; printf body; } | "$cli" sign --seed $seed1 --now $t0 >/dev/null 2>&1 &
  pid=$!
  blanked=0
  for _ in $(seq 1 50); do
    args=$(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null)
    [ -n "$args" ] || break # gone already: nothing was observed
    # Before the exec the process is still this shell; once it is the CLI
    # waiting for its body, the seed must have been blanked.
    if [[ "$args" == *" sign "* && "$args" != *"$seed1"* ]]; then blanked=1; break; fi
    sleep 0.05
  done
  wait $pid
  if [ $blanked -eq 1 ]; then echo "ok   --seed blanked from /proc/PID/cmdline"; else
    echo "FAIL --seed still in /proc/$pid/cmdline: $args"; fails=$((fails + 1))
  fi
fi

# Sealed and compressed, to bob: only bob's key opens the body.
head -c 2000 /dev/zero | tr '\0' 'a' >"$work/big"
stdin_file="$work/big" run "sign --seal --compress" 0 \
  "$cli" sign --seed-file "$work/seed1" --now $t0 --to "$bob" --seal --compress --kind 65537
cp "$work/out" "$work/sealed"
stdin_file="$work/sealed" run "verify sealed" 0 "$cli" verify --now $((t0 + 1))
stdin_file="$work/sealed" run "inspect sealed (bob)" 0 "$cli" inspect --now $((t0 + 1)) --seed-file "$work/seed2"
grep -q '"body_bytes": 2000' "$work/out" || { echo "FAIL bob cannot open"; fails=$((fails + 1)); }
stdin_file="$work/sealed" run "inspect sealed (stranger)" 0 "$cli" inspect --now $((t0 + 1))
grep -q CA_ERR_SEALED "$work/out" || { echo "FAIL stranger body status"; fails=$((fails + 1)); }

stdin_file="$work/body" run "sign: --seal without --to" 1 "$cli" sign --seed-file "$work/seed1" --seal
stdin_file="$work/body" run "sign: bad --to" 1 "$cli" sign --seed-file "$work/seed1" --to did:key:zzz
stdin_file="$work/body" run "sign: bad --kind" 1 "$cli" sign --seed-file "$work/seed1" --kind 0
stdin_file="$work/body" run "sign: bad --now" 1 "$cli" sign --seed-file "$work/seed1" --now 12x
stdin_file="$work/body" run "sign: --ttl over a day" 1 "$cli" sign --seed-file "$work/seed1" --ttl 86400001
grep -q "at most 86400000" "$work/err" || { echo "FAIL ttl cap message"; fails=$((fails + 1)); }
stdin_file="$work/body" run "sign: --ttl of a day" 0 "$cli" sign --seed-file "$work/seed1" --now $t0 --ttl 86400000
cp "$work/out" "$work/day"
stdin_file="$work/day" run "verify: a day" 0 "$cli" verify --now $((t0 + 1))
stdin_file="$work/day" run "verify: --max-lifetime below it" 1 \
  "$cli" verify --now $((t0 + 1)) --max-lifetime 86399999
grep -q CA_ERR_LIFETIME "$work/err" || { echo "FAIL lifetime status"; fails=$((fails + 1)); }
stdin_file="$work/day" run "inspect: --max-lifetime below it" 0 \
  "$cli" inspect --now $((t0 + 1)) --max-lifetime 60000
grep -q '"status": "CA_ERR_LIFETIME"' "$work/out" || { echo "FAIL inspect lifetime"; fails=$((fails + 1)); }
stdin_file="$work/day" run "verify: bad --max-lifetime" 1 "$cli" verify --max-lifetime 0
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
stdin_file="$work/bid.body" run "sign a bid" 0 "$cli" sign --seed-file "$work/seed1" --kind 17 --parent "$task_hex" --now $t0
cp "$work/out" "$work/bid.env"
stdin_file="$work/bid.env" run "inspect a bid" 0 "$cli" inspect --now $((t0 + 1))
grep -q '"task_body": {"task": "'"$task_hex"'", "price": 80,' "$work/out" || { echo "FAIL inspect: typed bid"; fails=$((fails + 1)); }
stdin_file="$work/bid.body" run "sign a bid without parent" 0 "$cli" sign --seed-file "$work/seed1" --kind 17 --now $t0
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

# Delegation: seed1 delegates to seed2, who re-delegates a narrower part to seed3.
for n in 2 3; do (umask 077; printf '%064x\n' $n >"$work/seed$n"); done
run "id 2" 0 "$cli" id --seed-file "$work/seed2"
did2=$(cat "$work/out")
run "id 3" 0 "$cli" id --seed-file "$work/seed3"
did3=$(cat "$work/out")
run "delegate" 0 "$cli" delegate --seed-file "$work/seed1" --to "$did2" --cap 'llm.*' --cap img.resize \
  --total 1000 --per-task 100 --now $t0 --ttl 604800000 --nonce 7
cp "$work/out" "$work/root.dlg"
stdin_file="$work/root.dlg" run "inspect a delegation" 0 "$cli" inspect --now $t0
grep -q '"kind_name": "delegation"' "$work/out" || { echo "FAIL inspect: delegation kind"; fails=$((fails + 1)); }
grep -q '"delegation": {"capabilities": \["img.resize", "llm.\*"\], "total_cap": 1000, "task_cap": 100, "not_before": '$t0', "expires_at": '$((t0 + 604800000))', "nonce": 7}' "$work/out" ||
  { echo "FAIL inspect: delegation fields"; fails=$((fails + 1)); }
# A week-long delegation is beyond the envelope lifetime rule, but its own signature holds.
grep -q '"status": "CA_ERR_LIFETIME"' "$work/out" && grep -q '"delegation_signature": "CA_OK"' "$work/out" ||
  { echo "FAIL inspect: delegation signature"; fails=$((fails + 1)); }
root_id=$(sed -n 's/^  "id": "\([0-9a-f]*\)",$/\1/p' "$work/out")
run "re-delegate" 0 "$cli" delegate --seed-file "$work/seed2" --to "$did3" --cap llm.translate.en-fr \
  --total 500 --per-task 50 --now $t0 --ttl 3600000 --parent "$root_id"
cp "$work/out" "$work/leaf.dlg"
run "chain" 0 "$cli" chain --now $((t0 + 1)) "$work/root.dlg" "$work/leaf.dlg"
expect_out "chain" "delegator $did1
delegate $did3
depth 2
total_cap 500
task_cap 50
not_before $t0
expires_at $((t0 + 3600000))
capability llm.translate.en-fr"
run "chain: leaf expired" 1 "$cli" chain --now $((t0 + 3600001)) "$work/root.dlg" "$work/leaf.dlg"
grep -q CA_ERR_EXPIRED "$work/err" || { echo "FAIL chain: expired status"; fails=$((fails + 1)); }
run "chain: links reversed" 1 "$cli" chain --now $((t0 + 1)) "$work/leaf.dlg" "$work/root.dlg"
grep -q CA_ERR_DELEGATION_PARENT "$work/err" || { echo "FAIL chain: reversed status"; fails=$((fails + 1)); }
run "delegate: widening" 0 "$cli" delegate --seed-file "$work/seed2" --to "$did3" --cap 'img.*' \
  --total 500 --now $t0 --parent "$root_id"
cp "$work/out" "$work/wide.dlg"
run "chain: widening refused" 1 "$cli" chain --now $((t0 + 1)) "$work/root.dlg" "$work/wide.dlg"
grep -q CA_ERR_DELEGATION_CAPABILITY "$work/err" || { echo "FAIL chain: widening status"; fails=$((fails + 1)); }
run "delegate: over the parent's total" 0 "$cli" delegate --seed-file "$work/seed2" --to "$did3" \
  --cap llm.x --total 1001 --per-task 1 --now $t0 --parent "$root_id"
cp "$work/out" "$work/rich.dlg"
run "chain: total cap refused" 1 "$cli" chain --now $((t0 + 1)) "$work/root.dlg" "$work/rich.dlg"
grep -q CA_ERR_DELEGATION_TOTAL_CAP "$work/err" || { echo "FAIL chain: total cap status"; fails=$((fails + 1)); }
run "revoke" 0 "$cli" revoke --seed-file "$work/seed1" --now $t0 "$work/leaf.dlg"
cp "$work/out" "$work/leaf.rev"
stdin_file="$work/leaf.rev" run "inspect a revocation" 0 "$cli" inspect --now $t0
grep -q '"kind_name": "revocation"' "$work/out" && grep -q '"revocation_signature": "CA_OK"' "$work/out" ||
  { echo "FAIL inspect: revocation"; fails=$((fails + 1)); }
run "chain: revoked by the delegator" 1 "$cli" chain --now $((t0 + 1)) --revoked "$work/leaf.rev" \
  "$work/root.dlg" "$work/leaf.dlg"
grep -q CA_ERR_DELEGATION_REVOKED "$work/err" || { echo "FAIL chain: revoked status"; fails=$((fails + 1)); }
run "chain: revocation of another branch" 0 "$cli" chain --now $((t0 + 1)) --revoked "$work/leaf.rev" \
  "$work/root.dlg"
run "revoke: by a stranger" 0 "$cli" revoke --seed-file "$work/seed3" --now $t0 "$work/root.dlg"
cp "$work/out" "$work/stranger.rev"
run "chain: a stranger's revocation has no force" 0 "$cli" chain --now $((t0 + 1)) \
  --revoked "$work/stranger.rev" "$work/root.dlg" "$work/leaf.dlg"
run "chain: a revocation file that is not one" 1 "$cli" chain --revoked "$work/root.dlg" "$work/root.dlg"
run "chain: garbage" 1 "$cli" chain "$corpus/evidence/bids"
run "chain: missing file" 1 "$cli" chain "$work/none"
run "chain: no files" 2 "$cli" chain --now 1
run "delegate: no caps" 2 "$cli" delegate --seed-file "$work/seed1" --to "$did2" --total 1
run "delegate: bad pattern" 1 "$cli" delegate --seed-file "$work/seed1" --to "$did2" --cap 'LLM' --total 1
run "delegate: to itself" 1 "$cli" delegate --seed-file "$work/seed1" --to "$did1" --cap a --total 1
run "delegate: per-task above total" 1 "$cli" delegate --seed-file "$work/seed1" --to "$did2" --cap a \
  --total 1 --per-task 2
run "delegate: bad did" 1 "$cli" delegate --seed-file "$work/seed1" --to did:key:nope --cap a --total 1
run "delegate: bad parent" 1 "$cli" delegate --seed-file "$work/seed1" --to "$did2" --cap a --total 1 --parent 12
run "delegate: both --ttl and --expires" 2 "$cli" delegate --seed-file "$work/seed1" --to "$did2" --cap a \
  --total 1 --ttl 1 --expires 5
run "revoke: not a delegation" 1 "$cli" revoke --seed-file "$work/seed1" "$work/leaf.rev"
run "revoke: no file" 2 "$cli" revoke --seed-file "$work/seed1"

# card: the signed A2A v1.0 card of tests/vectors/a2a_card.json, byte for byte
vector="$(dirname "$0")/../../tests/vectors/a2a_card.json"
card_args=(--name "Translator € 😀" --description $'EN\xe2\x86\x92FR\n"quoted"' --endpoint https://agent.example.com/cyberagent
  --stake 5000000 --sequence 3 --now 1700000000000 --ttl 31536000000 --cap llm.translate.en-fr:120:500 --cap img.resize:7)
run "card" 0 "$cli" card --seed-file "$work/seed1" "${card_args[@]}"
cmp -s "$work/out" "$vector" || { echo "FAIL card: not the committed vector"; diff "$work/out" "$vector" | head -5; fails=$((fails + 1)); }
cp "$work/out" "$work/card.json"
run "card from the environment" 0 env CA_TEST_SEED="$seed1" "$cli" card --seed-env CA_TEST_SEED "${card_args[@]}"
cmp -s "$work/out" "$vector" || { echo "FAIL card --seed-env: not the committed vector"; fails=$((fails + 1)); }
run "card --verify" 0 "$cli" card --verify "$work/card.json"
grep -qx "signer $did1" "$work/out" && grep -qx "kid $did1#${did1#did:key:}" "$work/out" &&
  grep -qx "interface https://agent.example.com/cyberagent CYBERAGENT/1 1.0" "$work/out" &&
  grep -qx "native yes" "$work/out" || { echo "FAIL card --verify: output"; cat "$work/out"; fails=$((fails + 1)); }
run "card --verify with the key" 0 "$cli" card --verify "$work/card.json" --key-did "$did1"
run "card --verify with another key" 1 "$cli" card --verify "$work/card.json" \
  --key-did did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp
grep -q CA_ERR_KEY_MISMATCH "$work/err" || { echo "FAIL card --verify: key mismatch status"; fails=$((fails + 1)); }
stdin_file="$work/card.json" run "card --verify --native" 0 "$cli" card --verify --native
cp "$work/out" "$work/card.env"
stdin_file="$work/card.env" run "inspect the native card" 0 "$cli" inspect --now 1700000000001 --max-lifetime 31536000000
grep -q '"card": {"name": "Translator' "$work/out" || { echo "FAIL card --native: not a card"; fails=$((fails + 1)); }
sed 's/"version":"3"/"version":"4"/' "$work/card.json" >"$work/card-tampered.json"
run "card --verify: tampered" 1 "$cli" card --verify "$work/card-tampered.json"
grep -q CA_ERR_BAD_SIGNATURE "$work/err" || { echo "FAIL card tampered: status"; fails=$((fails + 1)); }
printf '{"name":1' >"$work/card-bad.json"
run "card --verify: not JSON" 1 "$cli" card --verify "$work/card-bad.json"
grep -q CA_ERR_JSON "$work/err" || { echo "FAIL card bad JSON: status"; fails=$((fails + 1)); }
run "card --verify: missing file" 1 "$cli" card --verify "$work/none"
run "card: no identity" 2 "$cli" card "${card_args[@]}"
run "card: no capability" 2 "$cli" card --seed-file "$work/seed1" --name a --endpoint e
run "card: bad capability spec" 2 "$cli" card --seed-file "$work/seed1" --name a --endpoint e --cap x
run "card: bad capability name" 1 "$cli" card --seed-file "$work/seed1" --name a --endpoint e --cap A.b:1
grep -q CA_ERR_BAD_CAPABILITY "$work/err" || { echo "FAIL card bad capability: status"; fails=$((fails + 1)); }
# Key rotation: incept with key A committing to B; the thief holding A cannot rotate; B rotates.
seedA=1111111111111111111111111111111111111111111111111111111111111111
seedB=2222222222222222222222222222222222222222222222222222222222222222
seedC=3333333333333333333333333333333333333333333333333333333333333333
didB=$(env S="$seedB" "$cli" id --seed-env S)
didC=$(env S="$seedC" "$cli" id --seed-env S)
hist="$work/history.txt"
run "incept" 0 env S="$seedA" "$cli" incept --seed-env S --next "$didB" --history "$hist" --now 1000
ident=$(sed -n 's/.*"identifier": "\([0-9a-f]*\)".*/\1/p' "$work/out")
run "incept: once" 1 env S="$seedA" "$cli" incept --seed-env S --next "$didB" --history "$hist"
run "rotate: current key refused" 1 env S="$seedA" "$cli" rotate --seed-env S --next "$didC" --history "$hist" --now 2000
grep -q CA_ERR_KEY_NOT_COMMITTED "$work/err" || { echo "FAIL rotate: refusal not named"; fails=$((fails + 1)); }
run "rotate: committed key" 0 env S="$seedB" "$cli" rotate --seed-env S --next "$didC" --history "$hist" --now 2000
expect_out "rotate: id kept" "{\"identifier\": \"$ident\", \"sequence\": 1}"
run "rotate: usage" 2 "$cli" rotate --history "$hist"
run "inspect --events" 0 "$cli" inspect --events "$hist"
grep -q '"type": "rotation", "sequence": 1' "$work/out" || { echo "FAIL inspect --events: rotation"; fails=$((fails + 1)); }
grep -q "\"key\": \"$didB\"" "$work/out" || { echo "FAIL inspect --events: revealed key"; fails=$((fails + 1)); }
sed -n 2p "$hist" >"$work/rot-only"
run "inspect --events: no inception" 1 "$cli" inspect --events "$work/rot-only"

if [ "$fails" -ne 0 ]; then
  echo "$fails CLI checks failed"
  exit 1
fi
echo "all CLI checks passed"
