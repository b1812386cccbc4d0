#!/usr/bin/env bash
# Sets up the machine, builds xpool and runs the whole test suite.
#   BUILD_DIR, XPOOL_SANITIZE: as for scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
build_dir=${BUILD_DIR:-build}
if [ "${XPOOL_SANITIZE:-OFF}" = "ON" ]; then
  # hwloc's pci component (Debian's libhwloc-plugins) leaks inside
  # hwloc_topology_load from a plugin it unloads again, which LeakSanitizer
  # cannot suppress by name: the sanitizer run reads the topology without it.
  export HWLOC_COMPONENTS=-pci
fi
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 600
