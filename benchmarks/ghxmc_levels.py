"""G-HXMC's soft constraint: micro-F1 / P / R over all labels and per level, one fit each.

For each dataset (default: the hierarchical rcv1-sample, hoc and codiesp), in one
process on the same split:

- ``ghxmc`` (registry demo parameters, the dataset's hierarchy) is fitted ONCE and
  its generated sets are scored with ``constraint_penalty`` 0, 2 and inf
  (``set_params`` then predict: no refit);
- beside it, the generated sets of ``otseq2set`` (registry demo); the ranking
  methods ``linear`` and ``xmlcnn`` (registry demos) and the peers napkinXC,
  omikuji (Parabel, Bonsai) and LibMultiLabel one-vs-rest (shared TF-IDF) with
  the global threshold tuned for micro-F1 on a 20 % cut of the training split
  (``benchmarks._runner.tuned_sets``, the procedure of
  ``TunedThresholdXMTCClassifier`` and of ``benchmarks.run --tune-thresholds``);
  and the frequency baseline ``dummy``;
- with ``--no-expand-too``, a second G-HXMC fit with ``expand_ancestors=False``;
- with ``--bpe-too``, a G-HXMC fit with ``label_tokenization="bpe"`` (labels
  spelled in subwords of the dataset's label texts, or of their names), same
  penalties, and the mean count of generated strings that are no label.

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


#: ranking systems (ours from the registry, then peers on the shared TF-IDF) whose sets
#: come from thresholds tuned for micro-F1 on a 20 % cut of the training split
RANKING_OURS = ("linear", "xmlcnn")
RANKING_PEERS = ("napkinxc-plt", "omikuji-parabel", "omikuji-bonsai", "lml-1vsrest")


def _generated(name, make, data, variants):
    """A generative system: fit once, then ``{variant: sets}`` over ``set_params`` variants."""
    from sklearn_xmtc._cli import with_dataset_hierarchy

    est = make()
    with_dataset_hierarchy(est, data)
    t0 = time.perf_counter()
    est.fit(data.X_train, data.Y_train)
    fit_s = time.perf_counter() - t0
    for variant, params in variants.items():
        est.set_params(**params)
        yield name + (f" {variant}" if variant else ""), fit_s, lambda: est.predict(data.X_test)
        if getattr(est, "label_tokenization", "label") == "bpe":
            invalid = est.count_invalid_labels(data.X_test)
            print(json.dumps({"system": name, "variant": variant,
                              "invalid_strings_per_text": float(invalid.mean())}), flush=True)


def _tuned(name, fit_topk, data, seed):
    """A ranking system: fitted on all the training texts (timed), sets from the global
    threshold tuned on the held-out cut (``benchmarks._runner.tuned_sets``)."""
    from ._runner import TUNE_CANDIDATES, tuned_sets

    t0 = time.perf_counter()
    test_topk = fit_topk(data.X_train, data.Y_train, data.X_test, TUNE_CANDIDATES)
    fit_s = time.perf_counter() - t0  # fit + top-50 of the test texts
    _, tuned = tuned_sets(data, fit_topk, test_topk, seed, strategies=("global",))
    yield f"{name} (tuned)", fit_s, lambda: tuned["global"][3]


def _systems(data, seed=0, ghxmc_variants=(), only=None):
    """(system name, fit seconds, callable -> CSR test sets) per system and variant;
    ``only``: the base names to run (all when None)."""
    from sklearn_xmtc._registry import make_estimator

    from ._peers import PEERS, make_vectorizer

    def wanted(name):
        return only is None or name in only

    ghxmc = {f"penalty={p:g}": {"constraint_penalty": p} for p in PENALTIES}
    if wanted("ghxmc"):
        yield from _generated("ghxmc", lambda: make_estimator("ghxmc", {}, seed), data, ghxmc)
        for tag, params in ghxmc_variants:
            yield from _generated(f"ghxmc {tag}",
                                  lambda: make_estimator("ghxmc", params, seed), data, ghxmc)
    if wanted("otseq2set"):
        yield from _generated("otseq2set", lambda: make_estimator("otseq2set", {}, seed),
                              data, {"": {}})
    for name in filter(wanted, RANKING_OURS):
        def ours(X, Y, X_eval, k, name=name):
            est = make_estimator(name, {"verbose": 0} if name != "linear" else {}, seed)
            return est.fit(X, Y).predict_topk(X_eval, k=k)
        yield from _tuned(name, ours, data, seed)
    for name in filter(wanted, RANKING_PEERS):
        if PEERS[name].unavailable():
            print(f"skipping {name}: {PEERS[name].unavailable()}", flush=True)
            continue

        def peer(X, Y, X_eval, k, name=name):
            vec = make_vectorizer()
            model = PEERS[name](n_threads=1, seed=seed).fit(vec.fit_transform(X), Y)
            return model.predict_topk(vec.transform(X_eval), k=k)
        yield from _tuned(name, peer, data, seed)
    if wanted("dummy"):
        yield from _generated("dummy", lambda: make_estimator("dummy", {}, seed), data,
                              {"": {}})


def run_dataset(name, root, out, ghxmc_variants=(), only=None):
    from sklearn_xmtc.datasets import load_jsonl_dataset

    data = load_jsonl_dataset(Path(root) / name)
    L = len(data.classes)
    view = data.hierarchy.index_view(data.classes)
    level = view.level[:L]
    rows = []
    for system, fit_s, predict in _systems(data, ghxmc_variants=ghxmc_variants, only=only):
        t0 = time.perf_counter()
        P = predict()
        pred_s = time.perf_counter() - t0
        scores = level_scores(data.Y_test, sp.csr_matrix(P), level)
        row = {"dataset": name, "system": system,
               "fit_s": round(fit_s, 1), "predict_s": round(pred_s, 1),
               "labels_per_text": float(P.sum() / max(P.shape[0], 1)),
               "loadavg": [round(v, 2) for v in os.getloadavg()],
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
    ap.add_argument("--no-expand-too", action="store_true",
                    help="also fit G-HXMC with expand_ancestors=False (targets = the "
                         "text's own labels, still ordered by level and frequency)")
    ap.add_argument("--bpe-too", action="store_true",
                    help='also fit G-HXMC with label_tokenization="bpe"')
    ap.add_argument("--only", nargs="+", default=None,
                    help="run only these systems (ghxmc, otseq2set, linear, xmlcnn, a peer "
                         "name, dummy)")
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(json.dumps({"commit": commit, "machine": platform.processor() or platform.machine(),
                      "cpus": os.cpu_count()}))
    rows = []
    for name in args.datasets:
        variants = [("expand_ancestors=False", {"expand_ancestors": False})] \
            if args.no_expand_too else []
        if args.bpe_too:
            variants.append(("bpe", {"label_tokenization": "bpe"}))
        got, per_level = run_dataset(name, args.data, args.out, variants, args.only)
        rows.extend(got)
        print(f"{name}: columns per level {per_level.tolist()}")
    print(table(rows))


if __name__ == "__main__":
    main()
