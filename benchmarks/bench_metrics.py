"""Time sklearn_xmtc.metrics at XMTC scale.

100,000 samples x 670,000 labels (an Amazon-670K-sized label space), random
CSR y_true with about 5 labels per row, random top-5 prediction indices (one
slot replaced by a true label in 60% of the rows, so that there are hits).  Times
each ranking metric called on its own, the same metrics from one
``ranking_scores`` call, and ``inverse_propensity``.  Prints a Markdown table
and one JSON line.  Goal: all metrics together under 2 s on 2 CPU cores.

Run (from the repository root):
``python -m benchmarks.bench_metrics [--samples N] [--labels L] [--repeat R]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import scipy.sparse as sp

from sklearn_xmtc.metrics import (
    inverse_propensity,
    ndcg_at_k,
    precision_at_k,
    psndcg_at_k,
    psp_at_k,
    ranking_scores,
    recall_at_k,
)


def make_data(n, L, labels_per_row, k, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(labels_per_row - 1, size=n) + 1
    rows = np.repeat(np.arange(n), counts)
    # Zipf-like label popularity, as in real XMTC data.
    cols = np.minimum(rng.zipf(1.3, size=rows.size) - 1, L - 1)
    cols = (cols * 7919 + rng.integers(0, 3, size=cols.size)) % L
    Y = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n, L))
    Y.sum_duplicates()
    Y.data[:] = 1
    idx = rng.integers(0, L, size=(n, k))
    first = Y.indices[Y.indptr[:-1]]  # a true label of each row
    hit_rows = np.flatnonzero(rng.random(n) < 0.6)  # one hit in 60% of the rows
    idx[hit_rows, rng.integers(0, k, size=hit_rows.size)] = first[hit_rows]
    return Y, idx


CPU_TIMES = {}


def best_time(fn, repeat, name):
    """Best wall time of ``repeat`` runs; the CPU time of that run goes to CPU_TIMES."""
    best = (np.inf, np.inf)
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    CPU_TIMES[name] = best[1]
    return best[0], value


def run(n, L, repeat):
    Y_train, _ = make_data(n, L, 5, 5, seed=1)
    Y, idx = make_data(n, L, 5, 5, seed=0)
    timings = {}
    timings["inverse_propensity"], w = best_time(
        lambda: inverse_propensity(Y_train), repeat, "inverse_propensity"
    )
    single = {
        **{f"precision_at_{k}": (precision_at_k, k, {}) for k in (1, 3, 5)},
        **{f"ndcg_at_{k}": (ndcg_at_k, k, {}) for k in (1, 3, 5)},
        **{f"psp_at_{k}": (psp_at_k, k, {"inv_propensity": w}) for k in (1, 3, 5)},
        "psndcg_at_5": (psndcg_at_k, 5, {"inv_propensity": w}),
        "recall_at_5": (recall_at_k, 5, {}),
    }
    values = {}
    for name, (fn, k, kw) in single.items():
        timings[name], values[name] = best_time(lambda: fn(Y, idx, k, **kw), repeat, name)
    name = "ranking_scores (all above)"
    timings[name], combined = best_time(
        lambda: ranking_scores(Y, idx, ks=(1, 3, 5), inv_propensity=w), repeat, name
    )
    for name, v in values.items():
        if not np.isclose(v, combined[name]):
            raise RuntimeError(f"{name}: {v} alone but {combined[name]} from ranking_scores")
    return timings, values


LOAD_BEFORE = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_metrics",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=670_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    timings, values = run(args.samples, args.labels, args.repeat)
    individual = sum(t for name, t in timings.items() if not name.startswith("ranking_scores"))
    combined = timings["ranking_scores (all above)"] + timings["inverse_propensity"]
    print(f"sklearn_xmtc.metrics, {args.samples:,} samples x {args.labels:,} labels, "
          f"~5 true labels/row (CSR), top-5 indices; best of {args.repeat}; "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}\n")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average before the run: {LOAD_BEFORE:.2f}; after: {load:.2f}\n")
    print("| metric | wall (ms) | CPU (ms) | value |\n|---|---:|---:|---:|")
    for name, t in timings.items():
        v = values.get(name)
        cpu = CPU_TIMES[name] * 1e3
        print(f"| {name} | {t * 1e3:.1f} | {cpu:.1f} | {'' if v is None else f'{v:.4f}'} |")
    print(f"| **total, each metric called alone (+ propensity)** | {individual * 1e3:.1f} | | |")
    print(f"| **total, ranking_scores + propensity** | {combined * 1e3:.1f} | | |")
    print(f"\ngoal (< 2 s): {'met' if individual < 2 else 'NOT met'}\n")
    print(json.dumps({
        "benchmark": "metrics", "n_samples": args.samples, "n_labels": args.labels,
        "repeat": args.repeat, "cpus": os.cpu_count(),
        "seconds": {k: round(v, 5) for k, v in timings.items()},
        "cpu_seconds": {k: round(v, 5) for k, v in CPU_TIMES.items()},
        "load_before": round(LOAD_BEFORE, 2),
        "total_individual_s": round(individual, 4), "total_combined_s": round(combined, 4),
    }))


if __name__ == "__main__":
    main()
