#!/usr/bin/env bash
# compare-gloo.sh: xccl's TCP transport against Gloo's, on this host, same
# ranks, sizes and timing. Runs, in one invocation, `xccl-perf --np N` with
# XCCL_TRANSPORT=tcp (xccl's TCP transport even between ranks of one node)
# and `xccl-gloo-peer --np N` (every Gloo algorithm; the fastest is taken
# per size). Prints per collective and size both times and busbw figures,
# then the latency ratio at small sizes (the median up to 4 KiB) and the
# busbw ratio at 64 MiB.
#
# Usage: compare-gloo.sh [--quick] [--np N] [--out DIR] [-- extra benchmark options]
#   --quick   8 B to 1 MiB, 5 iterations (a CI smoke run; no 64 MiB line)
#   --np N    ranks (default 2)
#   --out DIR keep the two tables there (default: a temporary folder, removed)
# Environment: XCCL_BENCH_BIN (folder of the programs; default build/bin);
# XPOOL_BACKENDS defaults to cpu so that xccl's buffers are host memory, as
# Gloo's are.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=compare-lib.sh
. "$here/compare-lib.sh"

parse_compare_args "$0" "$@"

compare_sizes 2
ops=allreduce,allgather,broadcast
args=(--np "$np" --op "$ops" "${sizes[@]}" "${extra[@]}")

bin=$(bench_bin_dir)
require_programs Gloo xccl-perf xccl-gloo-peer

compare_workdir

export XPOOL_BACKENDS=${XPOOL_BACKENDS:-cpu}
echo "# compare-gloo.sh: ${args[*]}; XPOOL_BACKENDS=$XPOOL_BACKENDS XCCL_TRANSPORT=tcp"
XCCL_TRANSPORT=tcp "$bin/xccl-perf" "${args[@]}" > "$work/xccl-tcp.txt"
"$bin/xccl-gloo-peer" "${args[@]}" > "$work/gloo.txt"
for table in xccl-tcp gloo; do
  printf '# %s: ' "$table"
  grep -h -E '^# (xccl-perf|xccl-gloo-peer): |^# host ' "$work/$table.txt" | sed 's/^# //' |
    paste -sd ';' -
done

{
  best_rows "$work/xccl-tcp.txt" | sed 's/^/a /'
  best_rows "$work/gloo.txt" | sed 's/^/b /'
} | join_pairs > "$work/pairs.txt"

# Times in us, busbw in GB/s; gloo/xccl is the ratio of times (> 1: xccl is
# faster), which is also xccl's busbw over Gloo's.
awk '
  {
    if ($1 != last) {
      printf "#\n# %-10s %10s %4s %10s %10s %-30s %9s %8s %8s %8s\n", "collective", "size(B)",
        "form", "xccl(us)", "gloo(us)", "gloo algorithm", "gloo/xccl", "xccl", "gloo", "memcpy"
      printf "# %-10s %10s %4s %10s %10s %-30s %9s %8s %8s %8s\n", "", "", "", "", "", "", "",
        "(GB/s)", "(GB/s)", "(GB/s)"
      last = $1
    }
    printf "  %-10s %10d %4s %10.2f %10.2f %-30s %9.2f %8.2f %8.2f %8.2f\n", $1, $2, $3, $4, $6,
      $8, $6 / $4, $5, $7, $9
  }
' "$work/pairs.txt"

# The two figures asked for. Latency: the median over the sizes up to 4 KiB
# of each side's time (one slow row, e.g. the first after connecting, does
# not decide it). Bandwidth: busbw at 64 MiB.
awk '
  function median(list, count,    i, j, v, sorted) {
    split(list, sorted, " ")
    for (i = 2; i <= count; i++) {
      v = sorted[i]
      for (j = i - 1; j >= 1 && sorted[j] + 0 > v + 0; j--) sorted[j + 1] = sorted[j]
      sorted[j + 1] = v
    }
    return count % 2 ? sorted[(count + 1) / 2] : (sorted[count / 2] + sorted[count / 2 + 1]) / 2
  }
  !($1 in n) { n[$1] = 0; order[++colls] = $1 }
  $2 <= 4096 { n[$1]++; xs[$1] = xs[$1] " " $4; gs[$1] = gs[$1] " " $6; top[$1] = $2 }
  $2 == 67108864 { big[$1] = $0 }
  END {
    print "#"
    for (i = 1; i <= colls; i++) {
      c = order[i]
      if (n[c] > 0) {
        x = median(xs[c], n[c]); g = median(gs[c], n[c])
        printf "# %-10s latency, median over %d sizes up to %d B: xccl %.2f us, gloo %.2f us: gloo/xccl %.2f\n",
          c, n[c], top[c], x, g, g / x
      }
      if (c in big) {
        split(big[c], r, " ")
        printf "# %-10s busbw at 64 MiB: xccl %.2f GB/s, gloo %.2f GB/s (%s): xccl/gloo %.2f\n",
          c, r[5], r[7], r[8], r[6] / r[4]
      } else {
        printf "# %-10s busbw at 64 MiB: not measured (sizes stop below it)\n", c
      }
    }
  }
' "$work/pairs.txt"
