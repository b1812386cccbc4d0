#!/usr/bin/env bash
# compare-hier.sh: xccl's hierarchical algorithms against the flat ones on
# "nodes" simulated on this host. Runs, in one invocation, `xccl-perf --np N
# --nodes K` (each rank gets XCCL_HOSTNAME <host>-node<k>, consecutive ranks
# together: shared memory inside a node, the inter-node transport between
# nodes) twice: with XCCL_ALGO=ring (or --flat ALGO) and with XCCL_ALGO=hier.
# Prints per collective and size both times and flat/hier, the ratio of
# times (> 1: hierarchical is faster).
#
# Usage: compare-hier.sh [--quick] [--np N] [--nodes K] [--flat ALGO] [--ops LIST]
#                        [--out DIR] [-- extra xccl-perf options]
#   --quick    8 B to 1 MiB, 5 iterations (a smoke run)
#   --np N     ranks (default 4); --nodes K: nodes (default 2)
#   --flat A   the flat XCCL_ALGO to compare against (default ring; auto too)
#   --ops L    collectives (default allreduce,broadcast,reduce,allgather)
#   --out DIR  keep the two tables there (default: a temporary folder, removed)
# Environment: XCCL_BENCH_BIN (folder of xccl-perf; default build/bin);
# XPOOL_BACKENDS defaults to cpu.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=compare-lib.sh
. "$here/compare-lib.sh"

# Options of this script; the rest go to parse_compare_args.
nodes=2
flat=ring
ops=allreduce,broadcast,reduce,allgather
common=()
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --flat) flat=$2; shift 2 ;;
    --ops) ops=$2; shift 2 ;;
    --) common+=("$@"); break ;;
    *) common+=("$1"); shift ;;
  esac
done
default_np=4 parse_compare_args "$0" "${common[@]}"

compare_sizes 4
# Later options win: extra -b/-e/-n replace the defaults.
args=(--np "$np" --nodes "$nodes" --op "$ops" "${sizes[@]}" "${extra[@]}")

bin=$(bench_bin_dir)
compare_workdir

export XPOOL_BACKENDS=${XPOOL_BACKENDS:-cpu}
echo "# compare-hier.sh: xccl-perf ${args[*]}; XCCL_ALGO=$flat against XCCL_ALGO=hier"
XCCL_ALGO=$flat "$bin/xccl-perf" "${args[@]}" > "$work/flat.txt"
XCCL_ALGO=hier "$bin/xccl-perf" "${args[@]}" > "$work/hier.txt"
grep -h -E '^# host ' "$work/flat.txt" | head -1 || true

{
  best_rows "$work/flat.txt" | sed 's/^/a /'
  best_rows "$work/hier.txt" | sed 's/^/b /'
} | join_pairs > "$work/pairs.txt"

print_ratio_table "$work/pairs.txt" "$flat" hier
