#!/usr/bin/env bash
# Fails, listing the files, when a tracked C/C++ source is not clang-formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(git ls-files '*.c' '*.cc' '*.cpp' '*.h' '*.hpp' '*.cu' |
  while read -r f; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -n "$bad" ]; then
  printf 'not clang-formatted (run clang-format -i on them):\n%s\n' "$bad"
  exit 1
fi
echo "format: all sources clang-formatted"
