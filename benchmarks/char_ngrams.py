"""Word against word + character TF-IDF for ``LinearXMTCClassifier``, on training data only.

For each dataset of ``--datasets``, ``LinearXMTCClassifier`` (registry ``linear``
settings except ``analyzer``) is fitted on 80 % of the *training* split (seed 0, the
cut of :mod:`benchmarks.select_hybrid`) and scored on the other 20 % (P@1, PSP@5), with
``analyzer="word"`` and ``analyzer="word+char_wb"``; the test split is never read.
Each row records the non-zeros per training row of the TF-IDF matrix, the number of
features, the vectorizer's and the whole fit's seconds: the cost of character n-grams
that the user guide ("Character n-grams" in ``docs/user_guide/hybrid.md``) states::

    SKLEARN_XMTC_DATA=../shared/data OMP_WAIT_POLICY=PASSIVE python -m benchmarks.char_ngrams \\
        --datasets reuters21578 cooking codiesp rcv1-sample hoc

appends one JSON line per (dataset, analyzer) to ``benchmarks/results/char_ngrams.jsonl``
and prints a Markdown table with the character run's ratios to the word run. Run it
alone: fit seconds are its point.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
ANALYZERS = ("word", "word+char_wb")


def measure(name, analyzer):
    """One row: fit the registry ``linear`` with ``analyzer`` on a dataset's 80 % cut."""
    from sklearn_xmtc._registry import make_estimator
    from sklearn_xmtc.datasets import load_dataset
    from sklearn_xmtc.metrics import inverse_propensity, precision_at_k, psp_at_k

    from ._machine import machine_info
    from .select_hybrid import _split

    data = load_dataset(name)
    texts, Y = list(data.X_train), data.Y_train.tocsr()
    fit, valid = _split(len(texts))
    X_fit = [texts[i] for i in fit]
    est = make_estimator("linear", {"analyzer": analyzer})
    t0 = time.perf_counter()
    F = est.make_vectorizer().fit_transform(X_fit)
    vectorize_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    est.fit(X_fit, Y[fit])
    fit_s = time.perf_counter() - t0
    idx, _ = est.predict_topk([texts[i] for i in valid], k=5)
    inv_p = inverse_propensity(label_frequencies=np.asarray(Y[fit].sum(0)).ravel(),
                               n_samples=len(fit))
    return {"dataset": name, "analyzer": analyzer, "n_fit": len(fit), "n_valid": len(valid),
            "n_labels": int(Y.shape[1]), "n_features": int(F.shape[1]),
            "nnz_per_row": round(F.nnz / F.shape[0], 1), "vectorize_s": round(vectorize_s, 2),
            "fit_s": round(fit_s, 2), "P@1": float(precision_at_k(Y[valid], idx, k=1)),
            "PSP@5": float(psp_at_k(Y[valid], idx, k=5, inv_propensity=inv_p)),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine_info()}


def table(rows):
    """Markdown: per dataset, the word row, the word + char row and the ratios."""
    by = {(r["dataset"], r["analyzer"]): r for r in rows}
    out = ["| dataset | non-zeros / row (word -> +char) | x | fit s (word -> +char) | x "
           "| valid P@1 | valid PSP@5 |", "|---|---|---:|---|---:|---|---|"]
    for name in dict.fromkeys(r["dataset"] for r in rows):
        w, c = by.get((name, "word")), by.get((name, "word+char_wb"))
        if w is None or c is None:
            continue
        out.append(f"| {name} | {w['nnz_per_row']:.0f} -> {c['nnz_per_row']:.0f} | "
                   f"{c['nnz_per_row'] / w['nnz_per_row']:.1f} | {w['fit_s']:.1f} -> "
                   f"{c['fit_s']:.1f} | {c['fit_s'] / w['fit_s']:.1f} | {w['P@1']:.3f} -> "
                   f"{c['P@1']:.3f} | {w['PSP@5']:.3f} -> {c['PSP@5']:.3f} |")
    return "\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["hoc"])
    p.add_argument("--analyzers", nargs="+", default=list(ANALYZERS), choices=ANALYZERS)
    p.add_argument("--out", type=Path, default=RESULTS / "char_ngrams.jsonl")
    args = p.parse_args(argv)
    rows = []
    for name in args.datasets:
        for analyzer in args.analyzers:
            row = measure(name, analyzer)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "machine"}), flush=True)
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
