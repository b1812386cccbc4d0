#!/usr/bin/env bash
# Configures and builds xpool.
#   BUILD_DIR      build folder (default: build)
#   XPOOL_SANITIZE ON for an AddressSanitizer + UBSan build
#   BUILD_TYPE     CMake build type (default: RelWithDebInfo)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
mkdir -p "$build_dir"
log="$build_dir/configure.log"
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DXPOOL_WERROR=ON \
  -DXPOOL_SANITIZE="${XPOOL_SANITIZE:-OFF}" > "$log" 2>&1 ||
  { cat "$log"; exit 1; }
cmake --build "$build_dir" -j "$(nproc)"
