#!/usr/bin/env bash
# The formatting check (CONTRIBUTING.md): every tracked C file must be as clang-format
# (.clang-format) writes it. Exit 0 clean, 1 with each offending file named, 77 (skip)
# without clang-format.
set -uo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null; then
  echo "SKIP: $cf not installed (apt-get install clang-format)"
  exit 77
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "SKIP: not a git checkout: the tracked files are unknown"
  exit 77
fi
bad=0 checked=0
while IFS= read -r f; do
  checked=$((checked + 1))
  if ! out=$("$cf" --dry-run --Werror "$f" 2>&1); then
    echo "FAIL: $f is not clang-formatted (run: $cf -i $f):"
    printf '%s\n' "$out" | head -12
    bad=1
  fi
done < <(git ls-files '*.c' '*.h' | grep -v '^proto/')
if [ "$checked" -lt 50 ]; then
  echo "FAIL: only $checked files checked: the file list is wrong"
  bad=1
fi
echo "check_format: $checked files checked"
exit $bad
