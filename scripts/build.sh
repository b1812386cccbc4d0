#!/usr/bin/env bash
# Configures and builds xpool.
#   BUILD_DIR      build folder (default: build)
#   XPOOL_SANITIZE ON for an AddressSanitizer + UBSan build
#   BUILD_TYPE     CMake build type (default: RelWithDebInfo)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DXPOOL_WERROR=ON \
  -DXPOOL_SANITIZE="${XPOOL_SANITIZE:-OFF}" > "$build_dir.configure.log" 2>&1 ||
  { cat "$build_dir.configure.log"; exit 1; }
cmake --build "$build_dir" -j "$(nproc)"
