"""Dask distributed on the graphs of bench/examples/distributed.rs.

A LocalCluster of N single-threaded worker processes for each N given;
prints `workload,tasks,workers,seconds` lines (median of 3 runs), as the
Rust side does. Run by bench/distributed.sh.
"""

import os
import statistics
import sys
import time

import dask
from dask.distributed import Client, LocalCluster


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def spin(ms, seed):
    end = time.process_time() + ms / 1000
    x = seed
    while time.process_time() < end:
        for _ in range(1000):
            x = (x * 6364136223846793005 + 1) & 0xFFFFFFFFFFFFFFFF
    return x


def make(nbytes, seed):
    return bytes([seed]) * nbytes


def size(v):
    return len(v)


d_inc, d_add, d_spin, d_make, d_size = (
    dask.delayed(f, pure=False) for f in (inc, add, spin, make, size)
)


def chain(n):
    tip = d_inc(0)
    for _ in range(1, n):
        tip = d_inc(tip)
    return [tip]


def wide(n):
    return [d_inc(i) for i in range(n)]


def tree(leaves):
    level = [d_inc(i) for i in range(leaves)]
    while len(level) > 1:
        level = [
            d_add(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level


def cpu(n):
    return [d_spin(10, i) for i in range(n)]


def megabytes(n):
    return [d_size(d_make(1 << 20, i % 256)) for i in range(n)]


def timed(client, build):
    runs = []
    for _ in range(3):
        graph = build()
        start = time.perf_counter()
        client.compute(graph, sync=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


WORKLOADS = [
    ("chain", 2000, lambda: chain(2000)),
    ("independent", 20000, lambda: wide(20000)),
    ("tree", (1 << 15) - 1, lambda: tree(1 << 14)),
    ("cpu-10ms", 200, lambda: cpu(200)),
    ("1mb-values", 1000, lambda: megabytes(1000)),
]


def main():
    workers = [int(a) for a in sys.argv[1:]] or [1, 2, 4]
    # DASK_WORKLOADS=chain,cpu-10ms runs only those: the independent tasks
    # and the tree take Dask's scheduler minutes per run.
    only = [w for w in os.environ.get("DASK_WORKLOADS", "").split(",") if w]
    for w in workers:
        with LocalCluster(
            n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster, Client(cluster) as client:
            client.compute(wide(100), sync=True)
            for name, tasks, build in WORKLOADS:
                if not only or name in only:
                    print(f"{name},{tasks},{w},{timed(client, build):.4f}", flush=True)


if __name__ == "__main__":
    main()
