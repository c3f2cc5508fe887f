#!/usr/bin/env bash
# Install the apt packages the wsdx build needs, only when they are missing.
# Idempotent and quiet when everything is present; `apt-get update` runs at most once.
# Called by the root pom (validate phase, skip with -Dwsdx.skipDeps=true) and usable by hand.
#
# To add a tool: add one "command package" pair to NEEDED below, e.g.
#   "x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64"
#   "wine wine"
#   "clang clang"
set -euo pipefail

NEEDED=(
  "gcc gcc"
  "make make"
  "ar binutils"
  "timeout coreutils"
)

missing=()
for pair in "${NEEDED[@]}"; do
  cmd="${pair%% *}"
  pkg="${pair#* }"
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "deps.sh: installing missing packages: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "deps.sh: not root and no sudo; please install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
