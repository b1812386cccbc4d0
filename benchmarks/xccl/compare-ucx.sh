#!/usr/bin/env bash
# compare-ucx.sh: xccl's UCX transport against its TCP transport, same ranks,
# sizes and timing, in one invocation: `xccl-perf --np N` with
# XCCL_TRANSPORT=tcp, then with XCCL_TRANSPORT=ucx (UCX picks its own
# transports underneath; set UCX_TLS to choose, e.g. UCX_TLS=tcp for UCX's
# TCP against xccl's). Prints per collective and size both times, both
# busbw figures and the ratio tcp/ucx of times (> 1: UCX is faster).
#
# Usage: compare-ucx.sh [--quick] [--np N] [--out DIR] [-- extra benchmark options]
#   --quick   8 B to 1 MiB, 5 iterations (a smoke run)
#   --np N    ranks (default 2)
#   --out DIR keep the two tables there (default: a temporary folder, removed)
# Environment: XCCL_BENCH_BIN (folder of xccl-perf; default build/bin);
# XPOOL_BACKENDS defaults to cpu.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=compare-lib.sh
. "$here/compare-lib.sh"

parse_compare_args "$0" "$@"

compare_sizes 4
args=(--np "$np" --op allreduce,allgather,broadcast,sendrecv "${sizes[@]}" "${extra[@]}")

bin=$(bench_bin_dir)
compare_workdir

export XPOOL_BACKENDS=${XPOOL_BACKENDS:-cpu}
echo "# compare-ucx.sh: ${args[*]}; XPOOL_BACKENDS=$XPOOL_BACKENDS UCX_TLS=${UCX_TLS:-(UCX default)}"
XCCL_TRANSPORT=tcp "$bin/xccl-perf" "${args[@]}" > "$work/xccl-tcp.txt"
XCCL_TRANSPORT=ucx "$bin/xccl-perf" "${args[@]}" > "$work/xccl-ucx.txt"
grep -h -E '^# host ' "$work/xccl-tcp.txt" | head -1 || true

{
  best_rows "$work/xccl-tcp.txt" | sed 's/^/a /'
  best_rows "$work/xccl-ucx.txt" | sed 's/^/b /'
} | join_pairs > "$work/pairs.txt"

print_ratio_table "$work/pairs.txt" tcp ucx
