#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then builds a consumer
# against it twice (CMake package, pkg-config) and runs both.
set -euo pipefail
build_dir=$1
source_dir=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cmake --install "$build_dir" --prefix "$scratch/prefix" > "$scratch/install.log"
test -f "$scratch/prefix/include/xpool/runtime.h"
test -f "$scratch/prefix/include/xpool/xccl.h"
test -n "$(find "$scratch/prefix" -name 'libxpool_backend_cpu.so' -path '*xpool/backends*')"

cflags=${XPOOL_CONSUMER_CFLAGS:-}
cmake -S "$source_dir" -B "$scratch/cmake-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_C_FLAGS="$cflags" > "$scratch/configure.log"
cmake --build "$scratch/cmake-build" > "$scratch/build.log"
libdir=$(dirname "$(find "$scratch/prefix" -name 'libxpool_runtime.so' | head -n 1)")
XPOOL_BACKENDS=cpu LD_LIBRARY_PATH="$libdir" "$scratch/cmake-build/consumer"
XPOOL_BACKENDS=cpu LD_LIBRARY_PATH="$libdir" "$scratch/cmake-build/xccl_consumer"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc $cflags "$source_dir/consumer.c" $(pkg-config --cflags --libs xpool) -o "$scratch/consumer-pc"
XPOOL_BACKENDS=cpu LD_LIBRARY_PATH="$libdir" "$scratch/consumer-pc"
cc $cflags "$source_dir/xccl_consumer.c" $(pkg-config --cflags --libs xccl) -o "$scratch/xccl-pc"
XPOOL_BACKENDS=cpu LD_LIBRARY_PATH="$libdir" "$scratch/xccl-pc"
