"""G-HXMC's soft constraint: micro-F1 / P / R over all labels and per level, one fit each.

For each dataset (default: the hierarchical rcv1-sample, hoc and codiesp), in one
process on the same split:

- ``ghxmc`` (registry demo parameters, the dataset's hierarchy) is fitted ONCE and
  its generated sets are scored with ``constraint_penalty`` 0, 2 and inf
  (``set_params`` then predict: no refit);
- beside it, the generated sets of ``otseq2set`` (registry demo), the linear
  estimator with tuned thresholds (``TunedThresholdXMTCClassifier``, global, a 20 %
  hold-out of the training split), and the frequency baseline ``dummy``.

Levels are those of the ``classes_`` columns in the dataset's hierarchy (0 at the
top; ">=2" pools the deeper ones); "all" also counts the test-only labels as
misses. Usage::

    OMP_WAIT_POLICY=PASSIVE SKLEARN_XMTC_DATA=../shared/data \\
        python -m benchmarks.ghxmc_levels --datasets rcv1-sample hoc

appends one JSON line per (dataset, system) to
``benchmarks/results/ghxmc_levels.jsonl`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

RESULTS = Path(__file__).resolve().parent / "results"
PENALTIES = (0.0, 2.0, math.inf)


def micro_prf(Y, P):
    """Micro precision, recall and F1 of 0/1 CSR matrices of one shape."""
    tp = float(Y.multiply(P).sum())
    n_pred, n_true = float(P.sum()), float(Y.sum())
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def level_scores(Y_test, P, level):
    """{"all" | "0" | "1" | ">=2": (P, R, F1)}; ``P`` (n, L) over the columns, ``Y_test``
    (n, L + test-only labels)."""
    L = P.shape[1]
    P_all = sp.hstack([P, sp.csr_matrix((P.shape[0], Y_test.shape[1] - L))]).tocsr()
    out = {"all": micro_prf(Y_test, P_all)}
    Yc = Y_test[:, :L]
    for name, cols in (("0", level == 0), ("1", level == 1), (">=2", level >= 2)):
        if cols.any():
            out[name] = micro_prf(Yc[:, cols], P[:, cols])
    return out


def _systems(data, seed=0):
    """(name, fitted estimator, fit seconds, {variant: params for set_params}) per system."""
    from sklearn_xmtc._registry import make_estimator
    from sklearn_xmtc._cli import with_dataset_hierarchy
    from sklearn_xmtc.model_selection import TunedThresholdXMTCClassifier

    specs = [("ghxmc", lambda: make_estimator("ghxmc", {}, seed),
              {f"penalty={p:g}": {"constraint_penalty": p} for p in PENALTIES}),
             ("otseq2set", lambda: make_estimator("otseq2set", {}, seed), {"": {}}),
             ("linear (tuned)", lambda: TunedThresholdXMTCClassifier(
                 make_estimator("linear", {}, seed)), {"": {}}),
             ("dummy", lambda: make_estimator("dummy", {}, seed), {"": {}})]
    for name, make, variants in specs:
        est = make()
        with_dataset_hierarchy(est, data)
        t0 = time.perf_counter()
        est.fit(data.X_train, data.Y_train)
        yield name, est, time.perf_counter() - t0, variants


def run_dataset(name, root, out):
    from sklearn_xmtc.datasets import load_jsonl_dataset

    data = load_jsonl_dataset(Path(root) / name)
    L = len(data.classes)
    view = data.hierarchy.index_view(data.classes)
    level = view.level[:L]
    rows = []
    for system, est, fit_s, variants in _systems(data):
        for variant, params in variants.items():
            est.set_params(**params)
            t0 = time.perf_counter()
            P = est.predict(data.X_test)
            pred_s = time.perf_counter() - t0
            scores = level_scores(data.Y_test, sp.csr_matrix(P), level)
            row = {"dataset": name, "system": system + (f" {variant}" if variant else ""),
                   "fit_s": round(fit_s, 1), "predict_s": round(pred_s, 1),
                   "labels_per_text": float(P.sum() / max(P.shape[0], 1)),
                   **{f"{k}_{m}": v for k, (p, r, f) in scores.items()
                      for m, v in (("p", p), ("r", r), ("f1", f))}}
            rows.append(row)
            with open(out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    return rows, np.bincount(level)


def table(rows):
    """Markdown: micro-F1 (P / R) over all labels and per level."""
    keys = ["all", "0", "1", ">=2"]
    head = "| dataset | system | " + " | ".join(f"{k} F1 (P / R)" for k in keys) + \
        " | labels/text | fit s | predict s |"
    lines = [head, "|" + "---|" * (len(keys) + 5)]
    for r in rows:
        cells = [(f"{r[k + '_f1']:.3f} ({r[k + '_p']:.3f} / {r[k + '_r']:.3f})"
                  if k + "_f1" in r else "-") for k in keys]
        lines.append(f"| {r['dataset']} | {r['system']} | " + " | ".join(cells)
                     + f" | {r['labels_per_text']:.2f} | {r['fit_s']} | {r['predict_s']} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["rcv1-sample", "hoc", "codiesp"])
    ap.add_argument("--data", default=os.environ.get("SKLEARN_XMTC_DATA", "../shared/data"))
    ap.add_argument("--out", default=str(RESULTS / "ghxmc_levels.jsonl"))
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(json.dumps({"commit": commit, "machine": platform.processor() or platform.machine(),
                      "cpus": os.cpu_count()}))
    rows = []
    for name in args.datasets:
        got, per_level = run_dataset(name, args.data, args.out)
        rows.extend(got)
        print(f"{name}: columns per level {per_level.tolist()}")
    print(table(rows))


if __name__ == "__main__":
    main()
