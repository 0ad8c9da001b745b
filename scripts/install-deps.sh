#!/usr/bin/env bash
# Installs the Debian packages tally needs to build, test, fuzz and benchmark.
# As root it runs apt-get; otherwise it prints the command to run.
# Packages already present are not reinstalled, and the package index is
# refreshed only when something is missing.
#
# With --test (make test), the npm packages of tests/js (Segment's Node
# client, for the client integration test) are installed too, with `npm ci`
# from its lock file, when node_modules is missing or older than the lock
# file.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
with_test_js=0
[ "${1:-}" = "--test" ] && with_test_js=1

packages=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev git
  libuv1-dev node-llhttp libcjson-dev libsqlite3-dev libssl-dev
  libcurl4-openssl-dev libcmocka-dev
  python3 sqlite3 wrk curl
  tzdata # /usr/share/zoneinfo: campaign time zones (absent from minimal images)
)
if [ "$with_test_js" -eq 1 ]; then
  packages+=(nodejs)
  # npm comes with nodejs in some distributions of it (NodeSource); Debian
  # packages it separately.
  if ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

npm_install() {
  [ "$with_test_js" -eq 1 ] || return 0
  local js="$here/tests/js"
  if [ ! -d "$js/node_modules" ] || [ "$js/package-lock.json" -nt "$js/node_modules" ]; then
    echo "installing npm packages of tests/js (npm ci)"
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$js/node_modules"
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  npm_install
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
npm_install
