#!/usr/bin/env bash
# Sets up the machine, builds xpool and runs the whole test suite.
#   BUILD_DIR, XPOOL_SANITIZE: as for scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
build_dir=${BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 600
