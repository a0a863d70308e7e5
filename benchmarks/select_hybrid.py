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

``--phase solver`` times the registry ranker's LIBLINEAR solvers on the same cuts (the
primal default against the dual at LIBLINEAR's own tolerance, fitted twice: its spread
from fit to fit), on [word + character TF-IDF ; 0.5 x embedding] rows
(``select_hybrid_solver.jsonl`` / ``.md``).

``--phase cv --datasets hoc`` scores the ranker's candidates and the peers on the same
5 folds of a training split (mean P@1 / PSP@5; ``select_hybrid_cv.jsonl``): whether a
gap seen on one cut is there on every fold.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from sklearn_xmtc.utils._io import atomic_write_text

DATASETS = ("reuters21578", "cooking", "codiesp", "rcv1-sample", "hoc")
#: (ngram_range, embedding_weight, centre, prune_threshold, analyzer): the weights with
#: unigrams, bigrams with and without the embedding (each weight > 0 costs a LIBLINEAR fit
#: on 384 dense columns more per row), embeddings centred (the fit rows' mean subtracted)
#: before L2-normalising, the ranker's weights pruned (|w| <= 0.1 dropped after training,
#: as omikuji and PECOS do by default), and character n-grams (``LinearXMTCClassifier``'s
#: ``analyzer``) alone or beside the words
CONFIGS = ([((1, 1), w, False, 0.0, "word") for w in (0.0, 0.5, 1.0, 2.0)]
           + [((1, 2), 0.0, False, 0.0, "word"), ((1, 2), 1.0, False, 0.0, "word")]
           + [((1, 1), w, True, 0.0, "word") for w in (0.5, 1.0)]
           + [((1, 1), w, False, 0.1, "word") for w in (0.0, 0.25, 0.5, 1.0)]
           + [((1, 1), w, False, 0.0, a) for a in ("char_wb", "word+char_wb")
              for w in (0.0, 0.25, 0.5)])
#: the candidates that ``--only`` sweeps and appends to the jsonl: all were added after
#: the registry's first configuration had been chosen and its test scores read (hoc's gap),
#: so they are marked (later) in the table, apart from the first choice
ONLY = {"centred": lambda c: c[2], "pruned": lambda c: c[3] > 0,
        "char": lambda c: c[4] != "word"}
#: ``--phase grid``: whole configurations of the registry's hybrid, each run as the
#: estimator runs (``HybridXMTCClassifier``, its own inner validation split for a
#: ``param_grid``) on every 80 / 20 cut. "first": the 2026-12-02 registry configuration;
#: "grid": the embedding kept or dropped, word or word+character TF-IDF, chosen per
#: dataset on the inner split; "grid-wc": word+character TF-IDF always, the embedding
#: kept or dropped (half the ranker fits of "grid")
GRIDS = {"first": {"embedding_weight": 0.5},
         "grid": {"embedding_weight": 0.0, "param_grid": {
             "embedding_weight": [0.0, 0.5], "ranker__analyzer": ["word", "word+char_wb"]}},
         "grid-wc": {"embedding_weight": 0.0, "param_grid": {
             "embedding_weight": [0.0, 0.5], "ranker__analyzer": ["word+char_wb"]}}}


def _later(config):
    return any(rule(config) for rule in ONLY.values())
RESULTS = Path(__file__).resolve().parent / "results"


class _Cached(TransformerMixin, BaseEstimator):
    """The frozen MiniLM's cached vectors, looked up by text (an encoder used as it is:
    ``refit_encoder=False``; it learns nothing)."""

    def __init__(self, table=None):
        self.table = table

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.stack([self.table[t] for t in X])

    def __sklearn_is_fitted__(self):
        return True


def _write_jsonl(path, rows):
    """One JSON object a line, through a temporary file (never a half-written record)."""
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


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


def sweep(cache, configs=None, append=False):
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    from sklearn_xmtc.linear import LinearXMTCClassifier
    from sklearn_xmtc.metrics import inverse_propensity, ndcg_at_k, precision_at_k, psp_at_k

    rows = []
    for name in DATASETS:
        texts, Y = _train(name)
        Z_raw = np.load(cache / f"{name}.train.npy").astype(np.float64)
        fit, valid = _split(len(texts))
        Y_fit, Y_valid = Y[fit], Y[valid]
        inv_p = inverse_propensity(label_frequencies=np.asarray(Y_fit.sum(0)).ravel(),
                                   n_samples=len(fit))
        only = configs or CONFIGS
        for ngram, weight, centre, prune, analyzer in only:
            Z = normalize(Z_raw - Z_raw[fit].mean(0) if centre else Z_raw)
            ranker = LinearXMTCClassifier(ngram_range=ngram, prune_threshold=prune,
                                          analyzer=analyzer, n_jobs=2)
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
                   "centre": centre, "prune_threshold": prune, "analyzer": analyzer,
                   "n_fit": len(fit), "n_valid": len(valid), "fit_s": round(fit_s, 1),
                   "P@1": float(precision_at_k(Y_valid, idx, k=1)),
                   "PSP@5": float(psp_at_k(Y_valid, idx, k=5, inv_propensity=inv_p)),
                   "nDCG@5": float(ndcg_at_k(Y_valid, idx, k=5))}
            print(json.dumps(row), flush=True)
            rows.append(row)
    if append:
        rows = [json.loads(line) for line in open(RESULTS / "select_hybrid.jsonl")] + rows
    _write_jsonl(RESULTS / "select_hybrid.jsonl", rows)
    _write_table()


#: ``--phase solver``: (solver, tol, repeat); the dual twice, as it does not repeat itself
SOLVERS = (("l2svm", 1e-4, 0), ("l2svm_dual", 0.1, 0), ("l2svm_dual", 0.1, 1))


def solvers(cache, datasets):
    """Ranker fit seconds and validation scores of ``SOLVERS`` on each 80 / 20 cut, the
    TF-IDF block (word + character n-grams, fitted on the fit rows) and the embedding block
    (weight 0.5) built once per dataset, outside the timing."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    from sklearn_xmtc.linear import LinearXMTCClassifier
    from sklearn_xmtc.metrics import inverse_propensity, ndcg_at_k, precision_at_k, psp_at_k

    from ._machine import machine_info

    rows, machine = [], machine_info()
    for name in datasets:
        texts, Y = _train(name)
        Z = normalize(np.load(cache / f"{name}.train.npy").astype(np.float64))
        fit, valid = _split(len(texts))
        inv_p = inverse_propensity(label_frequencies=np.asarray(Y[fit].sum(0)).ravel(),
                                   n_samples=len(fit))
        vec = LinearXMTCClassifier(analyzer="word+char_wb").make_vectorizer() \
            .fit([texts[i] for i in fit])
        F = sp.hstack([vec.transform(texts), sp.csr_matrix(0.5 * Z)], format="csr")
        for solver, tol, repeat in SOLVERS:
            ranker = LinearXMTCClassifier(vectorizer=None, solver=solver, tol=tol, n_jobs=2)
            t0 = time.perf_counter()
            ranker.fit(F[fit], Y[fit])
            fit_s = time.perf_counter() - t0
            idx, _ = ranker.predict_topk(F[valid], k=5)
            row = {"dataset": name, "solver": solver, "tol": tol, "repeat": repeat,
                   "n_fit": len(fit), "nnz_per_row": round(F[fit].nnz / len(fit), 1),
                   "fit_s": round(fit_s, 1),
                   "P@1": float(precision_at_k(Y[valid], idx, k=1)),
                   "PSP@5": float(psp_at_k(Y[valid], idx, k=5, inv_propensity=inv_p)),
                   "nDCG@5": float(ndcg_at_k(Y[valid], idx, k=5)), "machine": machine}
            print(json.dumps(row), flush=True)
            rows.append(row)
    _write_jsonl(RESULTS / "select_hybrid_solver.jsonl", rows)
    atomic_write_text(RESULTS / "select_hybrid_solver.md", solver_table(rows))


def _cpu(rows):
    m = rows[0].get("machine") if rows else None
    return f"{m['cpu_model']}, {m['usable_cpus']} cores" if m else "not recorded"


def solver_table(rows):
    out = ["### The ranker's solver (`--phase solver`)", "",
           "Registry ranker (word + character TF-IDF, embedding weight 0.5) on each 80 / 20 "
           "cut of the training split, LIBLINEAR on 2 threads (`n_jobs=2`); fit seconds of "
           "the ranker alone (the rows built beforehand). The dual is fitted twice: it does "
           "not repeat itself. Produced by `OMP_WAIT_POLICY=PASSIVE python -m "
           "benchmarks.select_hybrid --phase encode` then `--phase solver` (machine: "
           f"{_cpu(rows)}, nothing else running).", "",
           "| dataset | solver | tol | fit | non-zeros / row | fit s | P@1 | PSP@5 | nDCG@5 |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['dataset']} | {r['solver']} | {r['tol']:g} | {r['repeat'] + 1} | "
                   f"{r['nnz_per_row']:.0f} | {r['fit_s']:.1f} | {r['P@1']:.4f} | "
                   f"{r['PSP@5']:.4f} | {r['nDCG@5']:.4f} |")
    return "\n".join(out) + "\n"


def cross_validate(cache, datasets, n_folds=5):
    """Mean P@1 / PSP@5 over ``n_folds`` folds of each training split: the hybrid's
    ranker at embedding weights 0 / 0.25 / 0.5 / 1 (centred or not; pruned at 0.1 or
    not; character n-grams), the whole configurations of ``GRIDS`` and the peers."""
    import scipy.sparse as sp
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import normalize

    from sklearn_xmtc.hybrid import HybridXMTCClassifier
    from sklearn_xmtc.linear import LinearXMTCClassifier
    from sklearn_xmtc.metrics import inverse_propensity, precision_at_k, psp_at_k

    from ._peers import PEERS, make_vectorizer

    systems = [("ranker", 0.0, False, p, "word") for p in (0.0, 0.1)]
    systems += [("ranker", w, c, 0.0, "word") for w in (0.25, 0.5, 1.0) for c in (False, True)]
    systems += [("ranker", w, False, 0.1, "word") for w in (0.25, 0.5, 1.0)]
    systems += [("ranker", w, False, 0.0, a) for a in ("char_wb", "word+char_wb")
                for w in (0.0, 0.5)]
    systems += [(f"config:{g}", None, None, None, None) for g in GRIDS]
    systems += [(name, None, None, None, None) for name in sorted(PEERS)
                if not PEERS[name].unavailable()]
    rows = []
    for name in datasets:
        texts, Y = _train(name)
        Z_raw = np.load(cache / f"{name}.train.npy").astype(np.float64)
        encoder = _Cached(dict(zip(texts, Z_raw)))
        scores = {s: [] for s in systems}
        for fit, valid in KFold(n_folds, shuffle=True, random_state=0).split(texts):
            inv_p = inverse_propensity(label_frequencies=np.asarray(Y[fit].sum(0)).ravel(),
                                       n_samples=len(fit))
            X_fit, X_valid = [texts[i] for i in fit], [texts[i] for i in valid]
            tfidf = {}
            for system in systems:
                kind, weight, centre, prune, analyzer = system
                if kind == "ranker":
                    if analyzer not in tfidf:
                        tfidf[analyzer] = LinearXMTCClassifier(analyzer=analyzer) \
                            .make_vectorizer().fit(X_fit).transform(texts)
                    T = tfidf[analyzer]
                    Z = normalize(Z_raw - Z_raw[fit].mean(0) if centre else Z_raw)
                    F = sp.hstack([T, sp.csr_matrix(weight * Z)], format="csr") if weight else T
                    ranker = LinearXMTCClassifier(vectorizer=None, prune_threshold=prune,
                                                  n_threads=2)
                    idx, _ = ranker.fit(F[fit], Y[fit]).predict_topk(F[valid], k=5)
                elif kind.startswith("config:"):
                    est = HybridXMTCClassifier(encoder, refit_encoder=False, n_jobs=2,
                                               **GRIDS[kind[len("config:"):]])
                    idx, _ = est.fit(X_fit, Y[fit]).predict_topk(X_valid, k=5)
                else:
                    vec = make_vectorizer()
                    peer = PEERS[kind](n_threads=2).fit(vec.fit_transform(X_fit), Y[fit])
                    idx, _ = peer.predict_topk(vec.transform(X_valid), k=5)
                scores[system].append((precision_at_k(Y[valid], idx, k=1),
                                       psp_at_k(Y[valid], idx, k=5, inv_propensity=inv_p)))
        for (kind, weight, centre, prune, analyzer), v in scores.items():
            v = np.asarray(v)
            row = {"dataset": name, "system": kind, "embedding_weight": weight, "centre": centre,
                   "prune_threshold": prune, "analyzer": analyzer, "n_folds": n_folds, "P@1": float(v[:, 0].mean()), "P@1_sd": float(v[:, 0].std()),
                   "PSP@5": float(v[:, 1].mean()), "PSP@5_sd": float(v[:, 1].std())}
            print(json.dumps(row), flush=True)
            rows.append(row)
    _write_jsonl(RESULTS / "select_hybrid_cv.jsonl", rows)


def table(rows, grid_rows=()):
    """Markdown: validation P@1 / PSP@5 per configuration and dataset, and the mean."""
    def key(r):
        return (tuple(r["ngram_range"]), r["embedding_weight"], r.get("centre", False),
                r.get("prune_threshold", 0.0), r.get("analyzer", "word"))

    configs = sorted({key(r) for r in rows}, key=lambda c: (c[4] != "word", c))
    by = {(r["dataset"],) + key(r): r for r in rows}
    head = ("| analyzer | ngram_range | embedding_weight | centred | prune_threshold | "
            + " | ".join(DATASETS) + " | mean |")
    out = ["## The hybrid's registry configuration, chosen on validation folds", "",
           "Produced by `OMP_WAIT_POLICY=PASSIVE python -m benchmarks.select_hybrid --phase "
           "encode` then `--phase sweep` (2-core CPU machine, with short unit-test runs beside it: its fit times are not used; frozen "
           "MiniLM of the `pretrained` extra, LIBLINEAR on 2 threads). Validation P@1 / PSP@5: "
           "each training split cut 80 % fit / 20 % validation (seed 0); the test splits are "
           "not read.", "", head, "|" + "---|" * (len(DATASETS) + 6)]
    best, best_mean, later, later_mean = None, -1.0, None, -1.0
    for config in configs:
        ngram, weight, centre, prune, analyzer = config
        cells, means = [], []
        for d in DATASETS:
            r = by.get((d,) + config)
            cells.append(f"{r['P@1']:.3f} / {r['PSP@5']:.3f}" if r else "-")
            if r:
                means.append((r["P@1"] + r["PSP@5"]) / 2)
        mean = float(np.mean(means)) if means else float("nan")
        if _later(config):
            if mean > later_mean:
                later, later_mean = config, mean
        elif mean > best_mean:
            best, best_mean = config, mean
        out.append(f"| {analyzer} | {ngram} | {weight} | {'yes' if centre else 'no'} | {prune} | "
                   + " | ".join(cells) + f" | {mean:.4f}{' (later)' if _later(config) else ''} |")
    out += ["", f"Chosen (best mean of (P@1 + PSP@5) / 2 among the first candidates): "
            f"ngram_range={best[0]}, embedding_weight={best[1]}, centred={best[2]}, "
            f"prune_threshold={best[3]} (mean {best_mean:.4f}).", ""]
    if later is not None:
        out += [f"The candidates marked (later) were added after that choice and after the "
                f"test scores had been read; they are a study, not eligible for the first "
                f"choice. Best of them: analyzer={later[4]}, embedding_weight={later[1]}, "
                f"centred={later[2]}, prune_threshold={later[3]} (mean {later_mean:.4f}).", ""]
    if grid_rows:
        out += [grid_table(grid_rows)]
    return "\n".join(out)


def grid_table(rows):
    """Markdown: the whole configurations of ``GRIDS`` on the cuts, and what each chose."""
    by = {(r["dataset"], r["config"]): r for r in rows}
    names = [g for g in GRIDS if any(r["config"] == g for r in rows)]
    out = ["### Whole configurations on the same cuts (`--phase grid`)", "",
           "Each configuration of `GRIDS` run as `HybridXMTCClassifier` runs it on the 80 % "
           "fit rows (a `param_grid` choosing on its own inner 80 / 20 split of them, by "
           "nDCG@5), scored on the 20 % validation rows. Cells: P@1 / PSP@5 (what the grid "
           "chose).", "",
           "| configuration | " + " | ".join(DATASETS) + " | mean |",
           "|" + "---|" * (len(DATASETS) + 2)]
    means = {}
    for g in names:
        cells, m = [], []
        for d in DATASETS:
            r = by.get((d, g))
            if r is None:
                cells.append("-")
                continue
            chose = ", ".join(f"{k.replace('ranker__', '')}={v}"
                              for k, v in sorted(r.get("best_params", {}).items()))
            cells.append(f"{r['P@1']:.3f} / {r['PSP@5']:.3f}" + (f" ({chose})" if chose else ""))
            m.append((r["P@1"] + r["PSP@5"]) / 2)
        if len(m) == len(DATASETS):
            means[g] = float(np.mean(m))
        mean = f"{means[g]:.4f}" if g in means else f"({len(m)} of {len(DATASETS)} datasets)"
        out.append(f"| {g}: `{GRIDS[g]}` | " + " | ".join(cells) + f" | {mean} |")
    if means:
        best = max(means, key=means.get)
        out += ["", f"Best mean of (P@1 + PSP@5) / 2 over the configurations run on every "
                f"dataset: {best} ({means[best]:.4f}).", ""]
    return "\n".join(out)


def grid(cache, datasets, only=None):
    """``GRIDS`` (or those named in ``only``) run as the estimator runs them, on each
    dataset's 80 / 20 cut."""
    from sklearn_xmtc.hybrid import HybridXMTCClassifier
    from sklearn_xmtc.metrics import inverse_propensity, precision_at_k, psp_at_k

    rows = []
    for name in datasets:
        texts, Y = _train(name)
        Z = np.load(cache / f"{name}.train.npy")
        encoder = _Cached(dict(zip(texts, Z)))
        fit, valid = _split(len(texts))
        inv_p = inverse_propensity(label_frequencies=np.asarray(Y[fit].sum(0)).ravel(),
                                   n_samples=len(fit))
        for g, params in GRIDS.items():
            if only and g not in only:
                continue
            est = HybridXMTCClassifier(encoder, refit_encoder=False, n_jobs=2, **params)
            t0 = time.perf_counter()
            est.fit([texts[i] for i in fit], Y[fit])
            fit_s = time.perf_counter() - t0
            idx, _ = est.predict_topk([texts[i] for i in valid], k=5)
            row = {"dataset": name, "config": g, "params": params,
                   "best_params": est.best_params_, "fit_s": round(fit_s, 1),
                   "validation_results": est.validation_results_,
                   "P@1": float(precision_at_k(Y[valid], idx, k=1)),
                   "PSP@5": float(psp_at_k(Y[valid], idx, k=5, inv_propensity=inv_p))}
            print(json.dumps(row), flush=True)
            rows.append(row)
    path = RESULTS / "select_hybrid_grid.jsonl"
    old = [json.loads(line) for line in open(path)] if path.exists() else []
    keep = {(r["dataset"], r["config"]) for r in rows}
    _write_jsonl(path, [r for r in old if (r["dataset"], r["config"]) not in keep] + rows)
    _write_table()


def _write_table():
    rows = [json.loads(line) for line in open(RESULTS / "select_hybrid.jsonl")]
    path = RESULTS / "select_hybrid_grid.jsonl"
    grid_rows = [json.loads(line) for line in open(path)] if path.exists() else []
    atomic_write_text(RESULTS / "select_hybrid.md", table(rows, grid_rows))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phase", choices=("encode", "sweep", "table", "cv", "grid", "solver"),
                   required=True, help="table: rewrite select_hybrid.md from select_hybrid.jsonl")
    p.add_argument("--cache", type=Path, default=Path("/tmp/sklearn_xmtc_select_hybrid"))
    p.add_argument("--datasets", nargs="+", default=list(DATASETS),
                   help="for --phase cv, grid and solver")
    p.add_argument("--configs", nargs="+", choices=sorted(GRIDS),
                   help="for --phase grid: these configurations only (default: all)")
    p.add_argument("--only", choices=sorted(ONLY),
                   help="sweep only these candidates and append them to the jsonl")
    args = p.parse_args(argv)
    if args.phase == "table":
        _write_table()
    elif args.phase == "grid":
        grid(args.cache, args.datasets, args.configs)
    elif args.phase == "solver":
        solvers(args.cache, args.datasets)
    else:
        if args.phase == "encode":
            encode(args.cache)
        elif args.phase == "cv":
            cross_validate(args.cache, args.datasets)
        elif args.only:
            sweep(args.cache, [c for c in CONFIGS if ONLY[args.only](c)], append=True)
        else:
            sweep(args.cache)


if __name__ == "__main__":
    main()
