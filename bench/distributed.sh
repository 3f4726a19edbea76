#!/usr/bin/env bash
# delayed on a LocalCluster of 1, 2 and 4 workers against Dask distributed's
# LocalCluster of as many single-threaded worker processes, on the same
# graphs (a chain of 2,000; 20,000 independent trivial tasks; a tree of
# 2^14 leaves; 200 tasks of 10 ms CPU; 1,000 values of 1 MB), in one
# table: wall time (median of 3), overhead per task, speed-up over one
# worker, and Dask's time over ours.
#
#   bench/distributed.sh [WORKERS…]     (default: 1 2 4)
#
# Needs redis-server on the PATH; installs dask and distributed from PyPI
# into bench/.venv on first use. Not part of CI: Dask alone takes minutes.
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
printf '%-12s %7s %8s %10s %12s %9s %10s %12s %9s\n' \
  workload tasks workers 'delayed s' 'us per task' speed-up 'dask s' 'us per task' 'dask/us'
while IFS=, read -r workload n w seconds; do
  theirs=$(awk -F, -v l="$workload" -v w="$w" '$1==l && $3==w {print $4}' "$dask")
  one=$(awk -F, -v l="$workload" '$1==l && $3==1 {print $4}' "$ours")
  printf '%-12s %7s %8s %10.3f %12.0f %8.2fx %10s %12s %8.1fx\n' "$workload" "$n" "$w" "$seconds" \
    "$(echo "$seconds * 1000000 * $w / $n" | bc -l)" "$(echo "${one:-$seconds} / $seconds" | bc -l)" \
    "${theirs:-?}" "$(echo "${theirs:-0} * 1000000 * $w / $n" | bc -l | xargs printf '%.0f')" \
    "$(echo "${theirs:-0} / $seconds" | bc -l)"
done < "$ours"
