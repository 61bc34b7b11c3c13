#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the demo need,
# skipping those already present. Uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsodium-dev libmsgpack-dev libzstd-dev libcmocka-dev
  clang libclang-rt-14-dev          # libFuzzer and sanitizer runtimes
  clang-format clang-tidy cppcheck   # static checks (tests/run.d/05-lint.sh)
  abigail-tools                      # ABI baseline check (abidw, abidiff)
  g++                                # public headers must compile as C++
  python3                            # Python binding and its tests
  python3-cryptography               # independent check of the envelope vectors
  cargo rustc                        # Rust binding and its tests
  nats-server libnats-dev            # cross-process examples
  libsqlite3-dev                     # ledger benchmark baseline
)
if [ "${CA_DEPS_EXTRA:-}" != "" ]; then
  read -r -a extra <<<"$CA_DEPS_EXTRA"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  # cargo and rustc may come from rustup instead of Debian; accept either.
  case "$p" in
    cargo|rustc) command -v "$p" >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
