#!/usr/bin/env bash
# delayed on a LocalCluster of 1, 2 and 4 workers against Dask distributed's
# LocalCluster of as many single-threaded worker processes, on the same
# graphs (a chain of 2,000; 20,000 independent trivial tasks; a tree of
# 2^14 leaves; 200 tasks of 10 ms CPU; 1,000 values of 1 MB), in one
# table: wall time (median of 3), overhead per task, speed-up over one
# worker, and Dask's time over ours. Two rows Dask's table does not have:
# `1mb-shared`, each 1 MB value read by two tasks, so that it is written
# to the broker (a value read by one task passes to it in memory on the
# worker that made it); and last the 10 ms tasks on one worker of two
# threads (`1x2`).
#
#   bench/distributed.sh [WORKERS…]     (default: 1 2 4)
#
# Needs redis-server on the PATH; installs dask and distributed from PyPI
# into bench/.venv on first use. Not part of CI: Dask alone takes about 45
# minutes on a 2-core machine (DASK_WORKLOADS=chain,cpu-10ms,1mb-values
# leaves out its two slowest graphs, which take it minutes per run).
set -euo pipefail
cd "$(dirname "$0")/.."
workers=("${@:-1 2 4}")
read -r -a workers <<< "${workers[*]}"

venv=bench/.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import distributed' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet dask distributed
fi
dask_version=$("$venv/bin/python" -c 'import distributed; print(distributed.__version__)')

ours=$(mktemp) dask=$(mktemp)
trap 'rm -f "$ours" "$dask"' EXIT
cargo run --quiet --release -p delayed-bench --features distributed --example distributed -- "${workers[@]}" > "$ours"
"$venv/bin/python" bench/dask/distributed_workloads.py "${workers[@]}" > "$dask"

echo "delayed on Redis Streams vs Dask distributed $dask_version (median of 3 runs)"
awk -F, '$1=="floor" {printf "floor of a chain link here: %.0f us (a message through Redis and back between two blocking readers)\n", $4*1e6}' "$ours"
printf '%-12s %7s %8s %10s %12s %9s %10s %12s %9s\n' \
  workload tasks workers 'delayed s' 'us per task' speed-up 'dask s' 'us per task' 'dask/us'
# us per task: wall time x workers / tasks, the cost of one task to one
# worker (10,000 of it is the work itself on the 10 ms tasks).
awk -F, -v dask="$dask" '
  BEGIN { while ((getline line < dask) > 0) { split(line, f, ","); theirs[f[1] "," f[3]] = f[4] } }
  $1 == "floor" { next }
  { ours[$1 "," $3] = $4; rows[++n] = $0 }
  END {
    for (i = 1; i <= n; i++) {
      split(rows[i], f, ",")
      one = ours[f[1] ",1"]; t = theirs[f[1] "," f[3]]
      # "1x2": one worker of two threads, two places to run a task.
      places = f[3]; if (split(f[3], p, "x") == 2) places = p[1] * p[2]
      printf "%-12s %7s %8s %10.3f %12.0f %8.2fx %10s %12s %8s\n", f[1], f[2], f[3], f[4],
        f[4] * 1e6 * places / f[2], (one ? one / f[4] : 1),
        (t ? sprintf("%.3f", t) : "?"), (t ? sprintf("%.0f", t * 1e6 * f[3] / f[2]) : "?"),
        (t ? sprintf("%.1fx", t / f[4]) : "?")
    }
  }' "$ours"
awk -F, '$1=="1mb-values" {printf "1 MB values on %s worker(s): %.0f MB/s\n", $3, $2 / $4}' "$ours"
awk -F, '$1=="1mb-shared" {printf "1 MB values through the broker on %s worker(s): %.0f MB/s\n", $3, $2 / $4}' "$ours"
