#!/usr/bin/env bash
# Source checks run by `make test`:
#   banned  — no unbounded or thread-unsafe C library calls in src/
#   format  — src/ and tests/ C files are formatted as .clang-format says
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
banned)
  # sprintf/vsprintf (unbounded), strcpy/strcat (unbounded), strtok (state),
  # gets, atoi/atol (no error reporting), gmtime/localtime (static buffer).
  pattern='\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atol|gmtime|localtime)[[:space:]]*\('
  if hits=$(git ls-files 'src/*.c' 'src/*.h' | xargs grep -nE "$pattern" | grep -vE '\b(snprintf|vsnprintf)\b' ); then
    echo "banned functions in src/ (use the bounded or reentrant form):"
    echo "$hits"
    exit 1
  fi
  echo "banned: ok"
  ;;
format)
  if ! command -v clang-format >/dev/null; then
    echo "clang-format not installed" >&2
    exit 1
  fi
  files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')
  # shellcheck disable=SC2086
  clang-format --dry-run --Werror $files
  echo "format: ok ($(echo "$files" | wc -w) files)"
  ;;
*)
  echo "usage: scripts/lint.sh banned|format" >&2
  exit 2
  ;;
esac
