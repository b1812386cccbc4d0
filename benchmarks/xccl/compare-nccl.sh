#!/usr/bin/env bash
# compare-nccl.sh: xccl's NCCL fast path against NCCL called directly, on
# one CUDA rank (the project's GPU machines have one GPU; NCCL takes one rank
# per GPU). Runs, in one invocation, `xccl-perf --np 1` with XCCL_NCCL=1 (it
# fails if NCCL cannot serve the communicator) and `xccl-nccl-peer` (the
# same calls straight to NCCL on the same kind of buffers and stream), and
# prints per collective and size both times and the ratio xccl/NCCL (> 1:
# what xccl's dispatch adds). Needs a CUDA device (XPOOL_BACKENDS=cuda).
#
# Usage: compare-nccl.sh [--quick] [--out DIR] [-- extra benchmark options]
#   --quick   8 B to 1 MiB, 5 iterations (a smoke run)
#   --out DIR keep the two tables there (default: a temporary folder, removed)
# Environment: XCCL_BENCH_BIN (folder of the programs; default build/bin);
# XPOOL_BACKENDS defaults to cuda; XCCL_NCCL_LIBRARY is used by both sides.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=compare-lib.sh
. "$here/compare-lib.sh"

default_np=1
parse_compare_args "$0" "$@"
if [ "$np" -ne 1 ]; then
  echo "compare-nccl.sh: --np $np: this comparison runs one rank (one GPU per NCCL rank)" >&2
  exit 2
fi

compare_sizes 4 256M
ops=allreduce,allgather,reducescatter,broadcast,reduce
args=(--op "$ops" "${sizes[@]}" "${extra[@]}")

bin=$(bench_bin_dir)
require_programs "nccl.h" xccl-perf xccl-nccl-peer
compare_workdir

export XPOOL_BACKENDS=${XPOOL_BACKENDS:-cuda}
echo "# compare-nccl.sh: one cuda rank, ${args[*]}; XPOOL_BACKENDS=$XPOOL_BACKENDS"
XPOOL_DEVICE=cuda XCCL_NCCL=1 "$bin/xccl-perf" --np 1 "${args[@]}" > "$work/xccl.txt"
"$bin/xccl-nccl-peer" "${args[@]}" > "$work/nccl.txt"
grep -h -E '^# host ' "$work/xccl.txt" | head -1 || true

{
  best_rows "$work/xccl.txt" | sed 's/^/a /'
  best_rows "$work/nccl.txt" | sed 's/^/b /'
} | join_pairs > "$work/pairs.txt"

print_ratio_table "$work/pairs.txt" xccl nccl
