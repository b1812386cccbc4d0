#!/usr/bin/env bash
# Installs every build and test dependency of xpool from Debian packages.
# Idempotent: packages already present are skipped, so re-running is cheap.
set -euo pipefail

packages=(
  # toolchain
  cmake ninja-build g++ clang-format pkg-config
  # libraries the runtime links
  libspdlog-dev libfmt-dev libhwloc-dev hwloc nlohmann-json3-dev libcli11-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # OpenCL: ICD loader, headers and PoCL's CPU device (a second backend on every machine)
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  # headers (and loaders) of the other vendor APIs: their plugins build and
  # report "no device" cleanly on machines without that hardware
  libze-dev libamdhip64-dev
  # xccl: mpirun launch and the MPI bootstrap, UCX transport, and the Open MPI
  # and Gloo peers its benchmarks measure against
  libopenmpi-dev openmpi-bin libucx-dev ucx-utils libgloo-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
