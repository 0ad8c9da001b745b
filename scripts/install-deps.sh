#!/usr/bin/env bash
# Installs the Debian packages tally needs to build, test, fuzz and benchmark.
# As root it runs apt-get; otherwise it prints the command to run.
# Packages already present are not reinstalled, and the package index is
# refreshed only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev git
  libuv1-dev node-llhttp libcjson-dev libsqlite3-dev libssl-dev
  libcurl4-openssl-dev libcmocka-dev
  python3 sqlite3 wrk curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "tally needs these Debian packages: ${missing[*]}" >&2
  echo "run as root:  $cmd" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
