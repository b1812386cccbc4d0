# Shared by compare-mpi.sh and compare-gloo.sh (sourced, not run): finding
# the programs, picking a port, and reading the tables the benchmarks print.
# shellcheck shell=bash

# The folder holding xccl-perf and its peers: $XCCL_BENCH_BIN, else the
# build folders next to the source tree.
bench_bin_dir() {
  if [ -n "${XCCL_BENCH_BIN:-}" ]; then
    echo "$XCCL_BENCH_BIN"
    return
  fi
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  for dir in "$root/build/bin" "$root/build-bench/bin"; do
    if [ -x "$dir/xccl-perf" ]; then
      echo "$dir"
      return
    fi
  done
  echo "compare: xccl-perf not found; build it or set XCCL_BENCH_BIN" >&2
  return 1
}

# A TCP port of 127.0.0.1 that was free a moment ago.
free_port() {
  if command -v python3 > /dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
  else
    echo $((20000 + RANDOM % 20000))
  fi
}

# mpirun's arguments for $1 ranks on this host: as root it must be allowed,
# and more ranks than cores need --oversubscribe. Every rank is left
# unbound (--bind-to none) for xccl and MPI alike: xccl runs helper
# threads, which binding to one core per rank would starve.
mpirun_args() {
  local np=$1
  local args=(-np "$np" --bind-to none)
  [ "$(id -u)" = 0 ] && args+=(--allow-run-as-root)
  [ "$np" -gt "$(nproc)" ] && args+=(--oversubscribe)
  echo "${args[@]}"
}

# The rows of a benchmark's table, one line each:
#   collective variant size oop_time oop_busbw ip_time ip_busbw memcpy
# variant is "-" when the section has none (spaces become "_"); times and
# bandwidths are "N/A" where the table says so.
table_rows() {
  awk '
    /^# Collective:/ {
      coll = $3
      variant = "-"
      if (NF > 3) { variant = $4; for (i = 5; i <= NF; i++) variant = variant "_" $i }
      gsub(/[()]/, "", variant)
      next
    }
    /^#/ || NF < 14 { next }
    { print coll, variant, $1, $6, $8, $10, $12, $14 }
  ' "$1"
}

# Per collective and size, the fastest variant of each form:
#   collective size oop_time oop_busbw oop_variant ip_time ip_busbw ip_variant memcpy
best_rows() {
  table_rows "$1" | awk '
    function better(t, best) { return t != "N/A" && (best == "" || t + 0 < best + 0) }
    {
      key = $1 " " $3
      if (!(key in seen)) { seen[key] = 1; order[++n] = key; memcpy[key] = $8 }
      if (better($4, ot[key])) { ot[key] = $4; ob[key] = $5; ov[key] = $2 }
      if (better($6, it[key])) { it[key] = $6; ib[key] = $7; iv[key] = $2 }
    }
    END {
      for (i = 1; i <= n; i++) {
        k = order[i]
        printf "%s %s %s %s\n", k,
          (ot[k] == "" ? "N/A N/A -" : ot[k] " " ob[k] " " ov[k]),
          (it[k] == "" ? "N/A N/A -" : it[k] " " ib[k] " " iv[k]), memcpy[k]
      }
    }
  '
}

# "-x NAME" for every XPOOL_* and XCCL_* variable set here, so that mpirun
# hands this shell's settings to every rank.
mpirun_env_args() {
  env | awk -F= '/^(XPOOL|XCCL)_[A-Za-z0-9_]*=/ { printf "-x %s ", $1 }'
}

# Joins two best_rows outputs (tagged "a" and "b" in front) per collective
# and size, and prints one line per pair with the form both have (out of
# place when both have it, else in place):
#   collective size form a_time a_busbw b_time b_busbw b_variant memcpy
join_pairs() {
  awk '
    {
      key = $2 " " $3
      if ($1 == "a") { a[key] = $0; order[++n] = key } else { b[key] = $0 }
    }
    END {
      for (i = 1; i <= n; i++) {
        k = order[i]
        if (!(k in b)) continue
        split(a[k], x, " "); split(b[k], y, " ")
        if (x[4] != "N/A" && y[4] != "N/A") {
          print k, "oop", x[4], x[5], y[4], y[5], y[6], x[10]
        } else if (x[7] != "N/A" && y[7] != "N/A") {
          print k, "ip", x[7], x[8], y[7], y[8], y[9], x[10]
        }
      }
    }
  '
}

# The command line every compare script takes: --quick, --np N, --out DIR,
# then -- and options for the benchmark programs. Sets np (default
# $default_np, else 2), quick, out, extra.
parse_compare_args() {
  local script_path=$1 script
  script=$(basename "$1")
  shift
  np=${default_np:-2}
  quick=0
  out=""
  extra=()
  while [ $# -gt 0 ]; do
    case $1 in
      --quick) quick=1 ;;
      --np) np=$2; shift ;;
      --out) out=$2; shift ;;
      --) shift; extra=("$@"); break ;;
      -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$script_path"; exit 0 ;;
      *) echo "$script: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
  done
}

# Sets `sizes` (xccl-perf options): 8 B to 1 MiB and 5 iterations with
# --quick (a smoke run), else 8 B to $2 (default 64M) by factor $1 (default 4).
compare_sizes() {
  if [ "$quick" = 1 ]; then
    sizes=(-b 8 -e 1M -f 8 -n 5 -w 2)
  else
    sizes=(-b 8 -e "${2:-64M}" -f "${1:-4}" -n 20 -w 5)
  fi
}

# Sets `work`: the --out folder (kept), or a temporary one removed at exit.
compare_workdir() {
  if [ -n "$out" ]; then
    mkdir -p "$out"
    work=$out
  else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
  fi
}

# Exits with status 2, naming the first missing one and $1 as the likely
# cause, unless every program $2... is in the benchmark folder $bin.
require_programs() {
  local cause=$1 program
  shift
  for program in "$@"; do
    if [ ! -x "$bin/$program" ]; then
      echo "$(basename "$0"): $bin/$program not found ($cause missing at build time?)" >&2
      exit 2
    fi
  done
}

# Prints the table of two xccl-perf-format runs joined by join_pairs (file
# $1), per collective: both times, the ratio $2/$3 of times (> 1: $3 is
# faster) and both busbw figures; $2 and $3 name the two sides.
print_ratio_table() {
  awk -v a="$2" -v b="$3" '
    {
      if ($1 != last) {
        printf "#\n# %-13s %10s %4s %10s %10s %10s %8s %8s\n", "collective", "size(B)", "form",
          a "(us)", b "(us)", a "/" b, a, b
        printf "# %-13s %10s %4s %10s %10s %10s %8s %8s\n", "", "", "", "", "", "", "(GB/s)",
          "(GB/s)"
        last = $1
      }
      printf "  %-13s %10d %4s %10.2f %10.2f %10.2f %8.2f %8.2f\n", $1, $2, $3, $4, $6, $4 / $6,
        $5, $7
    }
  ' "$1"
}
