#!/usr/bin/env bash
# compare-mpi.sh: xccl against Open MPI on this host, same ranks, sizes and
# timing. Runs, in one invocation, `mpirun xccl-perf` and `mpirun
# xccl-mpi-peer` twice: as is, and with MALLOC_MMAP_MAX_=0, which stops
# glibc from returning Open MPI's large temporaries to the kernel, so that
# MPI does not pay fresh-page faults on every large reduction. Prints per
# collective and size both busbw figures, their ratio and the memcpy
# ceiling; the three full tables are kept with --out.
#
# Usage: compare-mpi.sh [--quick] [--np N] [--out DIR] [-- extra benchmark options]
#   --quick   8 B to 1 MiB, 5 iterations (a CI smoke run)
#   --np N    ranks (default 2)
#   --out DIR keep the three tables there (default: a temporary folder, removed)
# Environment: XCCL_BENCH_BIN (folder of the programs; default build/bin);
# XPOOL_BACKENDS defaults to cpu so that xccl's buffers are host memory, as
# MPI's are; every XPOOL_* and XCCL_* variable is passed to the ranks.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=compare-lib.sh
. "$here/compare-lib.sh"

parse_compare_args "$0" "$@"

compare_sizes 2 256M
ops=allreduce,allgather,reducescatter,broadcast,reduce,alltoall
args=(--op "$ops" "${sizes[@]}" "${extra[@]}")

bin=$(bench_bin_dir)
require_programs MPI xccl-perf xccl-mpi-peer
command -v mpirun > /dev/null || { echo "compare-mpi.sh: mpirun not found" >&2; exit 2; }

compare_workdir

export XPOOL_BACKENDS=${XPOOL_BACKENDS:-cpu}
read -r -a launch <<< "$(mpirun_args "$np")"
read -r -a pass_env <<< "$(mpirun_env_args)"

echo "# compare-mpi.sh: $np ranks, ${args[*]}"
echo "# mpirun ${launch[*]}; XPOOL_BACKENDS=$XPOOL_BACKENDS"
mpirun "${launch[@]}" "${pass_env[@]}" -x XPOOL_MASTER_ADDR=127.0.0.1 \
  -x XPOOL_MASTER_PORT="$(free_port)" "$bin/xccl-perf" "${args[@]}" > "$work/xccl.txt"
mpirun "${launch[@]}" "$bin/xccl-mpi-peer" "${args[@]}" > "$work/mpi.txt"
mpirun "${launch[@]}" -x MALLOC_MMAP_MAX_=0 "$bin/xccl-mpi-peer" "${args[@]}" \
  > "$work/mpi-mmap0.txt"
for table in xccl mpi mpi-mmap0; do
  printf '# %s: ' "$table"
  grep -h -E '^# (xccl-perf|xccl-mpi-peer): |^# host ' "$work/$table.txt" | sed 's/^# //' |
    paste -sd ';' -
done

{
  best_rows "$work/xccl.txt" | sed 's/^/a /'
  best_rows "$work/mpi.txt" | sed 's/^/b /'
} | join_pairs > "$work/pairs.txt"
{
  best_rows "$work/xccl.txt" | sed 's/^/a /'
  best_rows "$work/mpi-mmap0.txt" | sed 's/^/b /'
} | join_pairs > "$work/pairs-mmap0.txt"

# One line per collective and size, times in us, busbw in GB/s. xccl/MPI
# compares with the faster of the two MPI runs (> 1: xccl is faster). Form
# "ip": a collective with only an in-place form on one side (MPI_Bcast) is
# compared in place; otherwise out of place.
awk '
  FNR == NR { mmap0[$1 " " $2] = $6 " " $7; next }
  {
    key = $1 " " $2
    if (!(key in mmap0)) next
    split(mmap0[key], z, " ")
    best = (z[1] + 0 < $6 + 0) ? z[1] : $6
    if ($1 != last) {
      printf "#\n# %-13s %10s %4s %9s %9s %9s %8s %8s %8s %8s %8s\n", "collective", "size(B)",
        "form", "xccl(us)", "MPI(us)", "mmap0(us)", "xccl", "MPI", "mmap0", "xccl/MPI", "memcpy"
      printf "# %-13s %10s %4s %9s %9s %9s %8s %8s %8s %8s %8s\n", "", "", "", "", "", "",
        "(GB/s)", "(GB/s)", "(GB/s)", "(best)", "(GB/s)"
      last = $1
    }
    printf "  %-13s %10d %4s %9.2f %9.2f %9.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", $1, $2, $3,
      $4, $6, z[1], $5, $7, z[2], best / $4, $9
  }
' "$work/pairs-mmap0.txt" "$work/pairs.txt"
