"""Choose the registry configuration of the hybrid on training data only.

Each dataset's *training* split is cut at random (seed 0) into 80 % fit / 20 %
validation; the test split is never read. The frozen MiniLM embeds every training
text once (cached, ``--cache``: the encoder learns nothing, so the vectors do not
depend on the fold); then, for each candidate configuration, the hybrid's
ranker is fitted on the fit rows, [TF-IDF ; weight x L2-normalised embedding],
and scored on the validation rows (LIBLINEAR on 2 threads). The configuration with the best mean of
P@1 and PSP@5 over the datasets becomes the registry's ``hybrid`` demo.

    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.select_hybrid --phase encode
    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.select_hybrid --phase sweep

writes ``benchmarks/results/select_hybrid.jsonl`` and ``select_hybrid.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATASETS = ("reuters21578", "cooking", "codiesp", "rcv1-sample", "hoc")
#: (ngram_range, embedding_weight): the weights with unigrams, and bigrams with and without
#: the embedding (each weight > 0 costs a LIBLINEAR fit on 384 dense columns more per row)
CONFIGS = [((1, 1), w) for w in (0.0, 0.5, 1.0, 2.0)] + [((1, 2), 0.0), ((1, 2), 1.0)]
RESULTS = Path(__file__).resolve().parent / "results"


def _split(n, seed=0, valid=0.2):
    perm = np.random.RandomState(seed).permutation(n)
    n_valid = int(round(valid * n))
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


def _train(name):
    from sklearn_xmtc.datasets import load_dataset

    data = load_dataset(name)
    return list(data.X_train), data.Y_train.tocsr()


def encode(cache):
    from sklearn_xmtc._registry import offline_encoder
    from sklearn_xmtc.text import FrozenTextEncoder

    cache.mkdir(parents=True, exist_ok=True)
    for name in DATASETS:
        path = cache / f"{name}.train.npy"
        if path.exists():
            continue
        texts, _ = _train(name)
        t0 = time.perf_counter()
        Z = FrozenTextEncoder(offline_encoder(), device="cpu").fit_transform(texts)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, Z)
        tmp.rename(path)
        print(f"{name}: {len(texts)} texts in {time.perf_counter() - t0:.0f} s", flush=True)


def sweep(cache):
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    from sklearn_xmtc.linear import LinearXMTCClassifier
    from sklearn_xmtc.metrics import inverse_propensity, precision_at_k, psp_at_k

    rows = []
    for name in DATASETS:
        texts, Y = _train(name)
        Z = normalize(np.load(cache / f"{name}.train.npy"))
        fit, valid = _split(len(texts))
        Y_fit, Y_valid = Y[fit], Y[valid]
        inv_p = inverse_propensity(label_frequencies=np.asarray(Y_fit.sum(0)).ravel(),
                                   n_samples=len(fit))
        for ngram, weight in CONFIGS:
            ranker = LinearXMTCClassifier(ngram_range=ngram, n_threads=2)
            vec = ranker.make_vectorizer().fit([texts[i] for i in fit])

            def features(index, vec=vec, weight=weight):
                T = vec.transform([texts[i] for i in index])
                return sp.hstack([T, sp.csr_matrix(weight * Z[index])], format="csr") \
                    if weight else T

            ranker.set_params(vectorizer=None)
            t0 = time.perf_counter()
            ranker.fit(features(fit), Y_fit)
            fit_s = time.perf_counter() - t0
            idx, _ = ranker.predict_topk(features(valid), k=5)
            row = {"dataset": name, "ngram_range": list(ngram), "embedding_weight": weight,
                   "n_fit": len(fit), "n_valid": len(valid), "fit_s": round(fit_s, 1),
                   "P@1": float(precision_at_k(Y_valid, idx, k=1)),
                   "PSP@5": float(psp_at_k(Y_valid, idx, k=5, inv_propensity=inv_p))}
            print(json.dumps(row), flush=True)
            rows.append(row)
    with open(RESULTS / "select_hybrid.jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    (RESULTS / "select_hybrid.md").write_text(table(rows))
    print(table(rows))


def table(rows):
    """Markdown: validation P@1 / PSP@5 per configuration and dataset, and the mean."""
    configs = sorted({(tuple(r["ngram_range"]), r["embedding_weight"]) for r in rows})
    by = {(r["dataset"], tuple(r["ngram_range"]), r["embedding_weight"]): r for r in rows}
    head = "| ngram_range | embedding_weight | " + " | ".join(DATASETS) + " | mean |"
    out = ["## The hybrid's registry configuration, chosen on validation folds", "",
           "Produced by `OMP_WAIT_POLICY=PASSIVE python -m benchmarks.select_hybrid --phase "
           "encode` then `--phase sweep` (2-core CPU machine, with short unit-test runs beside it: its fit times are not used; frozen "
           "MiniLM of the `pretrained` extra, LIBLINEAR on 2 threads). Validation P@1 / PSP@5: "
           "each training split cut 80 % fit / 20 % validation (seed 0); the test splits are "
           "not read.", "", head, "|" + "---|" * (len(DATASETS) + 3)]
    best, best_mean = None, -1.0
    for ngram, weight in configs:
        cells, means = [], []
        for d in DATASETS:
            r = by.get((d, ngram, weight))
            cells.append(f"{r['P@1']:.3f} / {r['PSP@5']:.3f}" if r else "-")
            if r:
                means.append((r["P@1"] + r["PSP@5"]) / 2)
        mean = float(np.mean(means)) if means else float("nan")
        if mean > best_mean:
            best, best_mean = (ngram, weight), mean
        out.append(f"| {ngram} | {weight} | " + " | ".join(cells) + f" | {mean:.4f} |")
    out += ["", f"Chosen (best mean of (P@1 + PSP@5) / 2): ngram_range={best[0]}, "
            f"embedding_weight={best[1]}.", ""]
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phase", choices=("encode", "sweep", "table"), required=True,
                   help="table: rewrite select_hybrid.md from select_hybrid.jsonl")
    p.add_argument("--cache", type=Path, default=Path("/tmp/sklearn_xmtc_select_hybrid"))
    args = p.parse_args(argv)
    if args.phase == "table":
        rows = [json.loads(line) for line in open(RESULTS / "select_hybrid.jsonl")]
        (RESULTS / "select_hybrid.md").write_text(table(rows))
    else:
        encode(args.cache) if args.phase == "encode" else sweep(args.cache)


if __name__ == "__main__":
    main()
