#!/usr/bin/env bash
# Per-task overhead of delayed against dask.delayed on the same machine, in
# one table: the ratio is Dask's cost per task over ours (build + compute).
#
#   bench/compare.sh [SIZES…]     (default: 1000 10000 100000)
#
# Installs dask from PyPI into bench/.venv on first use. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000 10000 100000}")
read -r -a sizes <<< "${sizes[*]}"

venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet dask
fi
dask_version=$("$venv/bin/python" -c 'import dask; print(dask.__version__)')

ours=$(mktemp) dask=$(mktemp)
trap 'rm -f "$ours" "$dask"' EXIT
cargo run --quiet --release -p delayed-bench --example overhead -- --csv "${sizes[@]}" > "$ours"
"$venv/bin/python" bench/dask/workloads.py "${sizes[@]}" > "$dask"

echo "delayed vs dask $dask_version (ns per task, build + compute; median of runs)"
printf '%-7s %9s %12s %14s %14s %12s %12s\n' \
  workload tasks delayed dask-threads dask-sync 'threads/us' 'sync/us'
while IFS=, read -r workload n build compute; do
  ours_total=$((build + compute))
  threads=$(awk -F, -v w="$workload" -v n="$n" '$1==w && $2==n && $3=="threads" {print $4+$5}' "$dask")
  sync=$(awk -F, -v w="$workload" -v n="$n" '$1==w && $2==n && $3=="synchronous" {print $4+$5}' "$dask")
  printf '%-7s %9s %12s %14s %14s %11.0fx %11.0fx\n' "$workload" "$n" "$ours_total" \
    "${threads:-?}" "${sync:-?}" "$(echo "${threads:-0} / $ours_total" | bc -l)" \
    "$(echo "${sync:-0} / $ours_total" | bc -l)"
done < "$ours"
