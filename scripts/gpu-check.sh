#!/usr/bin/env bash
# Builds xpool on a GPU machine and checks it there: a Release build with
# warnings as errors, `xpool smi`, the ctest labels "conformance" and "cuda"
# with XPOOL_BACKENDS=cpu,opencl,cuda, then xpool-membench, then xccl with a
# cpu rank and a cuda rank in one communicator (the test matrix, and
# xccl-perf's all-reduce when it is built), then one cuda rank through NCCL;
# a summary table comes last. Meant for a copied tree on a machine without internet access
# where nothing can be installed (the NVIDIA H100 machine: Ubuntu 24.04, CUDA
# 13 at /usr/local/cuda).
#
#   scripts/gpu-check.sh [STEP...]    STEP: configure build smi test bench
#                                     xccl xccl-nccl summary, or all (the
#                                     default)
#
# Steps can run in separate invocations (each command on the GPU machine has
# a time limit): results are kept in $BUILD_DIR/gpu-check/ and every
# invocation ends with the summary of all steps run so far.
#
#   BUILD_DIR         build folder (default build-gpu)
#   JOBS              build jobs (default: nproc)
#   CTEST_JOBS        tests run in parallel (default 4)
#   CTEST_TIMEOUT     seconds per test (default 600)
#   BACKENDS          XPOOL_BACKENDS for smi, tests and benchmark
#                     (default cpu,opencl,cuda)
#   MEMBENCH_ARGS     extra xpool-membench arguments (e.g. --quick)
#   MEMBENCH_TIMEOUT  seconds for the benchmark (default 420)
#   CUDA_ROOT         CUDA toolkit (default /usr/local/cuda)
#   XCCL_GPU_BACKEND  backend of the xccl step's second rank (default cuda;
#                     opencl exercises the step on a machine without a GPU)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)

build_dir=${BUILD_DIR:-build-gpu}
jobs=${JOBS:-$(nproc)}
ctest_jobs=${CTEST_JOBS:-4}
ctest_timeout=${CTEST_TIMEOUT:-600}
backends=${BACKENDS:-cpu,opencl,cuda}
membench_timeout=${MEMBENCH_TIMEOUT:-420}
cuda_root=${CUDA_ROOT:-/usr/local/cuda}
gpu_backend=${XCCL_GPU_BACKEND:-cuda}
state="$build_dir/gpu-check"
labels=(conformance cuda)

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(all)
mkdir -p "$state"

say() { printf '\n### %s\n' "$*"; }
record() { mkdir -p "$state" && printf '%s\n' "$2" > "$state/$1"; }
recorded() { [ -f "$state/$1" ] && cat "$state/$1" || echo "not run"; }

machine_info() {
  say "machine"
  echo "host: $(hostname), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  # shellcheck disable=SC1091
  [ -r /etc/os-release ] && echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  if command -v nvidia-smi > /dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,memory.total,driver_version,pci.bus_id --format=csv,noheader 2>&1
  else
    echo "nvidia-smi: not found"
  fi
  [ -r /proc/driver/nvidia/version ] && head -1 /proc/driver/nvidia/version
  [ -x "$cuda_root/bin/nvcc" ] && "$cuda_root/bin/nvcc" --version | tail -2
  echo "cmake: $(cmake --version | head -1)"
}

# A cache written for another source folder (the tree was copied) makes
# cmake refuse the folder: start that build folder afresh.
drop_foreign_cache() {
  local cache="$build_dir/CMakeCache.txt"
  [ -f "$cache" ] || return 0
  local home
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
  if [ "$home" != "$root" ]; then
    echo "$build_dir was configured for $home; starting it afresh"
    rm -rf "$build_dir"
  fi
}

run_configure() {
  say "configure ($build_dir, Release, warnings as errors)"
  drop_foreign_cache
  mkdir -p "$state"
  local generator=()
  command -v ninja > /dev/null 2>&1 && generator=(-G Ninja)
  local args=(-S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DXPOOL_WERROR=ON
              "-DCUDAToolkit_ROOT=$cuda_root")
  if cmake "${args[@]}" > "$state/configure.log" 2>&1; then
    record configure.result "ok"
  elif grep -q "GTest" "$state/configure.log" && [ -d /usr/src/googletest ]; then
    # Only GoogleTest's sources are installed: build it for this check.
    echo "GoogleTest not found as a package; building it from /usr/src/googletest"
    local prefix="$root/$build_dir/_googletest"
    if cmake -S /usr/src/googletest -B "$build_dir/_googletest-build" "${generator[@]}" \
         -DCMAKE_BUILD_TYPE=Release "-DCMAKE_INSTALL_PREFIX=$prefix" > "$state/gtest.log" 2>&1 &&
       cmake --build "$build_dir/_googletest-build" -j "$jobs" >> "$state/gtest.log" 2>&1 &&
       cmake --install "$build_dir/_googletest-build" >> "$state/gtest.log" 2>&1 &&
       cmake "${args[@]}" "-DCMAKE_PREFIX_PATH=$prefix" > "$state/configure.log" 2>&1; then
      record configure.result "ok (GoogleTest built from /usr/src/googletest)"
    else
      record configure.result "FAILED (see $state/configure.log)"
    fi
  else
    record configure.result "FAILED (see $state/configure.log)"
  fi
  grep -E "^-- xpool" "$state/configure.log"
  if [[ $(recorded configure.result) == FAILED* ]]; then
    tail -30 "$state/configure.log"
    return 1
  fi
}

run_build() {
  say "build (-j $jobs)"
  [ -f "$build_dir/CMakeCache.txt" ] || run_configure || return 1
  # Keep going past a failing target, so that the rest can still be tested.
  local keep_going=(-- -k 0)
  grep -q "CMAKE_GENERATOR:INTERNAL=Ninja" "$build_dir/CMakeCache.txt" || keep_going=(-- -k)
  if cmake --build "$build_dir" -j "$jobs" "${keep_going[@]}" > "$state/build.log" 2>&1; then
    record build.result "ok"
  else
    record build.result "FAILED (see $state/build.log)"
    grep -E "error|FAILED" "$state/build.log" | head -40
  fi
  local plugins="$build_dir/lib/xpool/backends"
  [ -d "$plugins" ] || plugins=$(dirname "$(find "$build_dir" -name 'libxpool_backend_cpu.so' -print -quit 2>/dev/null)")
  local built="" plugin
  for plugin in "$plugins"/libxpool_backend_*.so; do
    [ -e "$plugin" ] || continue
    plugin=${plugin##*/libxpool_backend_}
    built+="${plugin%.so} "
  done
  built=${built% }
  record plugins "${built:-none}"
  echo "plugins built: ${built:-none}"
  [[ " $built " == *" cuda "* ]] ||
    echo "note: the cuda plugin was not built (is backends/cuda wired into backends/CMakeLists.txt?)"
  [[ $(recorded build.result) == ok ]]
}

run_smi() {
  say "xpool smi (XPOOL_BACKENDS=$backends)"
  local smi="$build_dir/bin/xpool"
  if [ ! -x "$smi" ]; then
    record smi.result "not built"
    echo "$smi not built"
    return 0
  fi
  if XPOOL_BACKENDS=$backends timeout 120 "$smi" smi 2>&1 | tee "$state/smi.log"; then
    record smi.result "ok"
  else
    record smi.result "FAILED (exit ${PIPESTATUS[0]})"
  fi
}

run_tests() {
  local label
  for label in "${labels[@]}"; do
    say "ctest -L $label (XPOOL_BACKENDS=$backends, -j $ctest_jobs)"
    XPOOL_BACKENDS=$backends ctest --test-dir "$build_dir" -L "^${label}\$" --output-on-failure \
      -j "$ctest_jobs" --timeout "$ctest_timeout" > "$state/ctest-$label.log" 2>&1
    local rc=$?
    local total failed skipped
    total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$state/ctest-$label.log" | tail -1)
    failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$state/ctest-$label.log" | tail -1)
    skipped=$(grep -cE "^[[:space:]]*[0-9]+ - .*\(Skipped\)" "$state/ctest-$label.log")
    if [ -z "$total" ]; then
      record "ctest-$label" "0 0 0 0 no-tests(rc=$rc)"
      echo "no tests with label $label (rc $rc)"
      continue
    fi
    record "ctest-$label" "$total $((total - failed - skipped)) $failed $skipped rc=$rc"
    grep -E "\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception|Not Run" "$state/ctest-$label.log" | head -40
    grep -E "tests passed|Total Test time" "$state/ctest-$label.log"
  done
}

# Two processes, rank 0 on a cpu device and rank 1 on the first cuda device,
# started by hand so each gets its own XPOOL_DEVICE.
run_two_ranks() {
  local log=$1
  shift
  local port=$((20000 + RANDOM % 20000)) pids=() rank rc=0
  for rank in 0 1; do
    local device=cpu
    [ "$rank" -eq 1 ] && device=$gpu_backend
    XPOOL_BACKENDS=$backends XPOOL_RANK=$rank XPOOL_WORLD_SIZE=2 XPOOL_MASTER_ADDR=127.0.0.1 \
      XPOOL_MASTER_PORT=$port XPOOL_DEVICE=$device XCCL_TIMEOUT_MS=60000 \
      timeout 400 "$@" > "$log.rank$rank" 2>&1 &
    pids+=($!)
  done
  for rank in 0 1; do wait "${pids[$rank]}" || rc=$?; done
  cat "$log.rank0" "$log.rank1" > "$log"
  return $rc
}

run_xccl() {
  say "xccl: a cpu rank and a $gpu_backend rank in one communicator"
  local rank_program="$build_dir/bin/xccl_rank"
  [ -x "$rank_program" ] || rank_program=$(find "$build_dir" -name xccl_rank -type f -perm -u+x -print -quit)
  if [ -z "$rank_program" ]; then
    record xccl.result "not built"
    return 0
  fi
  if run_two_ranks "$state/xccl-matrix.log" "$rank_program" matrix --max-bytes 64M; then
    record xccl.result "ok: every collective, type and op, cpu rank + $gpu_backend rank, up to 64 MiB"
  else
    record xccl.result "FAILED (see $state/xccl-matrix.log)"
    tail -20 "$state/xccl-matrix.log"
  fi
  local perf="$build_dir/bin/xccl-perf"
  if [ -x "$perf" ]; then
    run_two_ranks "$state/xccl-perf.log" "$perf" --op allreduce -b 8 -e 256M -f 4 -n 10 -w 3
    cat "$state/xccl-perf.log.rank0"
  fi
}

# One cuda rank through the real NCCL: xccl-perf with XCCL_NCCL=1 (creation
# fails if NCCL cannot serve it; results checked) against xccl-nccl-peer,
# NCCL called directly (benchmarks/xccl/compare-nccl.sh). One GPU hosts one
# NCCL rank, so this is all the machine can show of the NCCL path.
run_xccl_nccl() {
  say "xccl through NCCL against NCCL directly, one cuda rank (compare-nccl.sh)"
  if [ ! -x "$build_dir/bin/xccl-nccl-peer" ]; then
    record xccl-nccl.result "not built (no nccl.h)"
    return 0
  fi
  if XPOOL_BACKENDS=$backends XCCL_BENCH_BIN="$build_dir/bin" XCCL_TIMEOUT_MS=60000 timeout 400 \
       benchmarks/xccl/compare-nccl.sh --out "$state/nccl" > "$state/xccl-nccl.log" 2>&1; then
    record xccl-nccl.result "ok: one cuda rank through NCCL, results checked (xccl-nccl.log)"
  else
    record xccl-nccl.result "FAILED (see $state/xccl-nccl.log and $state/nccl/)"
  fi
  cat "$state/xccl-nccl.log"
}

run_bench() {
  say "xpool-membench ${MEMBENCH_ARGS:-} (XPOOL_BACKENDS=$backends, at most ${membench_timeout} s)"
  local bench="$build_dir/bin/xpool-membench"
  if [ ! -x "$bench" ]; then
    record bench.result "not built"
    echo "$bench not built"
    return 0
  fi
  # shellcheck disable=SC2086
  XPOOL_BACKENDS=$backends timeout "$membench_timeout" "$bench" ${MEMBENCH_ARGS:-} \
    --json "$state/membench.json" 2>&1 | tee "$state/membench.log"
  local rc=${PIPESTATUS[0]}
  case $rc in
    0) record bench.result "ok" ;;
    124) record bench.result "TIMED OUT after ${membench_timeout} s (partial results below)" ;;
    1) record bench.result "FAILED: a copy delivered wrong data (exit 1)" ;;
    *) record bench.result "FAILED (exit $rc)" ;;
  esac
}

# The largest size of every copy section and every launch row, per device.
bench_headlines() {
  [ -f "$state/membench.log" ] || return 0
  grep -E "^  (cuda|opencl|cpu): " "$state/membench.log" | sed 's/^ */  backend /' | head -6
  awk '
    /^== device / { device = substr($0, 4); next }
    /^== summary/ { device = ""; summary = 1; next }
    summary && /measurement/ { notes[m++] = "  membench summary:" $0; next }
    /^  -- empty kernel launch/ { section = "launch"; next }
    /^  -- / { section = substr($0, 6); next }
    device != "" && section == "launch" && /^  [^ ].* [0-9]+\.[0-9]+ / {
      line = $0; marker = (line ~ /<</) ? " <<" : ""; sub(/ *<< *$/, "", line); sub(/ +$/, "", line)
      k = split(line, f, " +")
      title = line; sub(/ +[^ ]+ +[^ ]+ +[^ ]+$/, "", title); sub(/^ +/, "", title)
      launches[l++] = sprintf("  %s | launch | %s: xpool %s us, raw %s, ratio %s%s", device, title, f[k-2], f[k-1], f[k], marker)
      next
    }
    device != "" && section != "" && /^ +[0-9]+ [KMGT]?i?B +[0-9]/ {
      key = device " | " section
      last[key] = $0
      if (!(key in seen)) { seen[key] = 1; order[n++] = key }
    }
    END {
      for (i = 0; i < n; ++i) {
        split(last[order[i]], f, " +")
        printf "  %s | %s %s: xpool %s GB/s, raw %s, ratio %s%s\n", order[i], f[2], f[3], f[4], f[5], f[6], (last[order[i]] ~ /<</) ? " <<" : ""
      }
      for (i = 0; i < l; ++i) print launches[i]
      for (i = 0; i < m; ++i) print notes[i]
    }
  ' "$state/membench.log" | head -60
}

summary() {
  say "gpu-check summary ($build_dir, $(date -u +%Y-%m-%dT%H:%MZ))"
  printf '  %-12s %s\n' configure "$(recorded configure.result)"
  printf '  %-12s %s\n' build "$(recorded build.result)"
  printf '  %-12s %s\n' plugins "$(recorded plugins)"
  printf '  %-12s %s\n' smi "$(recorded smi.result)"
  printf '  %-12s %s\n' membench "$(recorded bench.result)"
  printf '  %-12s %s\n' xccl "$(recorded xccl.result)"
  printf '  %-12s %s\n' xccl-nccl "$(recorded xccl-nccl.result)"
  echo
  printf '  %-12s %7s %7s %7s %7s\n' label total passed failed skipped
  local label
  for label in "${labels[@]}"; do
    local line
    line=$(recorded "ctest-$label")
    if [ "$line" = "not run" ]; then
      printf '  %-12s %s\n' "$label" "not run"
    else
      read -r total passed failed skipped note <<< "$line"
      printf '  %-12s %7s %7s %7s %7s   %s\n' "$label" "$total" "$passed" "$failed" "$skipped" "$note"
    fi
  done
  if [ -f "$state/membench.log" ]; then
    echo
    bench_headlines
  fi
}

status=0
for step in "${steps[@]}"; do
  case $step in
    all)
      machine_info
      run_configure || status=1
      if [ $status -eq 0 ]; then
        run_build || status=1
        run_smi
        run_tests
        run_bench
        run_xccl
        run_xccl_nccl
      fi
      ;;
    configure) machine_info; run_configure || status=1 ;;
    build) run_build || status=1 ;;
    smi) run_smi ;;
    test) run_tests ;;
    bench) run_bench ;;
    xccl) run_xccl ;;
    xccl-nccl) run_xccl_nccl ;;
    summary) ;;
    *) echo "unknown step '$step' (configure build smi test bench xccl xccl-nccl summary all)"; exit 2 ;;
  esac
done
summary
[[ $(recorded xccl.result) == FAILED* ]] && status=1
[[ $(recorded xccl-nccl.result) == FAILED* ]] && status=1
# Failing tests fail the check; benchmark targets are reported, not failed.
for label in "${labels[@]}"; do
  read -r _ _ failed _ _ <<< "$(recorded "ctest-$label")"
  [[ "$failed" =~ ^[0-9]+$ ]] && [ "$failed" -gt 0 ] && status=1
done
exit $status
