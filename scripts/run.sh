#!/usr/bin/env bash
# Sets up the machine, builds xpool, then shows every device on this machine
# (`xpool smi`) and measures memory and launch speed against the raw APIs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
build_dir=${BUILD_DIR:-build}
"$build_dir/bin/xpool" smi
echo
"$build_dir/bin/xpool" smi topo
echo
"$build_dir/bin/xpool-membench" "$@"
