"""The overhead workloads of examples/overhead.rs, on dask.delayed.

Prints CSV rows: workload,tasks,scheduler,build_ns_per_task,compute_ns_per_task
(median of several runs). Run by bench/compare.sh; not part of CI.
"""

import statistics
import sys
import time

import dask
from dask import delayed


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def wide(n):
    start = time.perf_counter()
    tasks = [delayed(inc)(i) for i in range(n)]
    built = time.perf_counter() - start
    start = time.perf_counter()
    dask.compute(*tasks)
    return built, time.perf_counter() - start


def chain(n):
    start = time.perf_counter()
    tip = delayed(inc)(0)
    for _ in range(1, n):
        tip = delayed(inc)(tip)
    built = time.perf_counter() - start
    start = time.perf_counter()
    assert tip.compute() == n
    return built, time.perf_counter() - start


def tree(leaves):
    start = time.perf_counter()
    level = [delayed(inc)(i) for i in range(leaves)]
    while len(level) > 1:
        level = [delayed(add)(*level[i:i + 2]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    built = time.perf_counter() - start
    start = time.perf_counter()
    assert level[0].compute() == leaves * (leaves + 1) // 2
    return built, time.perf_counter() - start


def median(runs, workload, n):
    results = sorted((workload(n) for _ in range(runs)), key=lambda r: r[1])
    return results[runs // 2]


def main():
    sizes = [int(s) for s in sys.argv[1:]] or [1_000, 10_000, 100_000]
    for scheduler in ["threads", "synchronous"]:
        with dask.config.set(scheduler=scheduler):
            for n in sizes:
                runs = 3 if n >= 100_000 else 5
                for name, workload in [("wide", wide), ("chain", chain), ("tree", tree)]:
                    built, computed = median(runs, workload, n)
                    print(f"{name},{n},{scheduler},{built / n * 1e9:.0f},{computed / n * 1e9:.0f}",
                          flush=True)


if __name__ == "__main__":
    sys.setrecursionlimit(1_000_000)
    main()
