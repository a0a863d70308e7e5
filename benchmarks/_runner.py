"""The body of one benchmark run, executed in a fresh child process.

``python -m benchmarks.run --single SPEC.json --result OUT.json`` calls
:func:`run_single`: load the split, fit one system, predict the top-5 and the
thresholded sets, compute the metrics, and read the process's peak resident
memory (``ru_maxrss`` of itself and of its waited-for children, e.g. the PECOS
worker) at the end, so that runs do not pollute each other.

With ``spec["tune"]`` (``--tune-thresholds``) every system, ours and the peers
alike, also gets micro-F1 under thresholds tuned the same way
(:func:`tuned_set_scores`, the procedure of
:class:`~sklearn_xmtc.model_selection.TunedThresholdXMTCClassifier`): a second
model of the same system is fitted on 80 % of the training split, the
thresholds that maximise micro-F1 of its top-50 candidates on the other 20 %
are tuned (one global value, and one per label), and applied to the test top-50
of the model fitted on all the training texts. The test split is read only to
score.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path


def peak_rss_mb():
    """Peak resident set size (MiB) of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0  # Linux reports KiB


def current_rss_mb():
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


def load_split(spec):
    """The train/test split of ``spec["dataset"]``, cut to max_train/max_test rows."""
    from sklearn_xmtc._cli import head_of_split
    from sklearn_xmtc.datasets import load_dataset

    data = load_dataset(spec["dataset"], text_field=spec.get("text_field", "text"))
    return head_of_split(data, spec.get("max_train"), spec.get("max_test"))


def _set_threads(n):
    import torch

    torch.set_num_threads(n)


def build_estimator(name, class_path=None, seed=0):
    """A registry estimator with its demo parameters, or ``module:Class`` with defaults."""
    if not class_path:
        from sklearn_xmtc._registry import make_estimator

        return make_estimator(name, {}, seed)
    module, _, cls_name = class_path.partition(":")
    est = getattr(importlib.import_module(module), cls_name)()
    if "random_state" in est.get_params():
        est.set_params(random_state=seed)
    return est


#: candidates per text and validation share of the tuned thresholds (``spec["tune"]``)
TUNE_CANDIDATES = 50
TUNE_VALIDATION = 0.2


def configured_estimator(spec, data=None):
    """One of our estimators with the spec's parameters (unfitted); with ``data``, also its
    hierarchy for an estimator that takes one (``with_dataset_hierarchy``)."""
    est = build_estimator(spec.get("base") or spec["system"], spec.get("class_path"),
                          spec.get("seed", 0))
    if "torch" in sys.modules:  # only neural estimators pay for importing torch
        _set_threads(spec.get("threads", 1))
    own = est.get_params()
    # ``*.PARAM`` applies to every estimator that has PARAM; ``NAME.PARAM`` wins over it
    params = {k: v for k, v in spec.get("all_params", {}).items() if k in own}
    params.update({k: v for k, v in spec.get("params", {}).items() if k in own})
    unknown = set(spec.get("params", {})) - set(own)
    if unknown:
        raise ValueError(f"{spec['system']}: unknown parameter(s) {sorted(unknown)}")
    if "verbose" in own:
        params.setdefault("verbose", 0)
    est.set_params(**params)
    if data is not None:
        from sklearn_xmtc._cli import with_dataset_hierarchy

        with_dataset_hierarchy(est, data)
    return est


def fit_predict_estimator(spec, data):
    """Fit one of our estimators; (top-5 idx, sets, timings, extra record fields)."""
    est = configured_estimator(spec, data)
    t0 = time.perf_counter()
    est.fit(data.X_train, data.Y_train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx, scores = est.predict_topk(data.X_test, k=5)
    predict_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sets = est.predict(data.X_test)
    sets_s = time.perf_counter() - t0
    shown = {k: v for k, v in est.get_params().items() if _jsonable(v)}
    threshold = shown.get("threshold", "generated set")
    extra = {"params": shown, "threshold": threshold,
             "device": str(getattr(est, "device_", shown.get("device", "cpu"))),
             "predictions_sha256": predictions_digest(idx, scores, sets)}
    if getattr(est, "best_params_", None):  # what a param_grid chose on its validation split
        extra["best_params"] = est.best_params_
    if spec.get("tune"):
        def fit_topk(X, Y, X_eval, k):
            return configured_estimator(spec, data).fit(X, Y).predict_topk(X_eval, k=k)

        extra["_tune"] = (fit_topk, est.predict_topk(data.X_test, k=TUNE_CANDIDATES))
    return idx, sets, {"fit_s": fit_s, "predict_s": predict_s, "sets_s": sets_s}, extra


def predictions_digest(idx, scores, sets):
    """SHA-256 of the top-5 indices and scores and of the predicted sets' CSR structure:
    equal digests mean bit-identical predictions (the fitted-model-unchanged check)."""
    import hashlib

    import numpy as np
    import scipy.sparse as sp

    sets = sp.csr_matrix(sets)
    sets.sort_indices()
    out = {}
    for name, parts in (("topk_indices", [idx]), ("topk_scores", [scores]),
                        ("sets", [sets.indptr, sets.indices])):
        h = hashlib.sha256()
        for a in parts:
            h.update(np.ascontiguousarray(a).tobytes())
        out[name] = h.hexdigest()[:16]
    return out


def fit_predict_peer(spec, data):
    """Fit a peer on the shared TF-IDF features (vectorizer time included)."""
    from ._peers import PEERS, SET_CANDIDATES, TFIDF_PARAMS, make_vectorizer

    def make_peer():
        return PEERS[spec["system"]](n_threads=spec.get("threads", 1), seed=spec.get("seed", 0),
                                     params=spec.get("params", {}))

    peer = make_peer()
    t0 = time.perf_counter()
    vec = make_vectorizer()
    X_train = vec.fit_transform(data.X_train)
    tfidf_s = time.perf_counter() - t0
    peer.fit(X_train, data.Y_train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    X_test = vec.transform(data.X_test)
    idx, scores = peer.predict_topk(X_test, k=max(5, SET_CANDIDATES))
    predict_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sets = peer.sets_from_topk(idx, scores)
    sets_s = time.perf_counter() - t0
    tfidf = {k: (list(v) if isinstance(v, tuple) else str(v) if k == "dtype" else v)
             for k, v in TFIDF_PARAMS.items()}
    extra = {**peer.describe(), "tfidf": tfidf, "n_features": int(X_train.shape[1]),
             "tfidf_fit_s": tfidf_s, "device": "cpu",
             "threshold": f"{peer.threshold} on {peer.score_kind}, top-{SET_CANDIDATES}"}
    if spec.get("tune"):
        def fit_topk(X, Y, X_eval, k):
            v = make_vectorizer()
            return make_peer().fit(v.fit_transform(X), Y).predict_topk(v.transform(X_eval), k=k)

        extra["_tune"] = (fit_topk, peer.predict_topk(X_test, k=TUNE_CANDIDATES))
    return idx[:, :5], sets, {"fit_s": fit_s, "predict_s": predict_s, "sets_s": sets_s}, extra


def tuned_sets(data, fit_topk, test_topk, seed=0, strategies=("global", "per_label")):
    """The test label sets under thresholds tuned on a validation cut of the training
    split (module docstring): ``(info, {strategy: (threshold, per-label thresholds,
    validation micro-F1, CSR sets (n_test, L))})``.

    ``fit_topk(X, Y, X_eval, k)`` fits a fresh model of the system and returns its top-k
    of ``X_eval``; ``test_topk`` is the (idx, scores) top-k of the model fitted on all the
    training texts.
    """
    from sklearn_xmtc._thresholds import holdout_split
    from sklearn_xmtc.model_selection import sets_from_topk, tune_thresholds

    X, Y = data.X_train, data.Y_train.tocsr()
    n, L = Y.shape
    fit, valid = holdout_split(n, TUNE_VALIDATION, seed)  # TunedThresholdXMTCClassifier's

    def rows(index):
        return X[index] if hasattr(X, "shape") else [X[i] for i in index]

    t0 = time.perf_counter()
    idx_v, scores_v = fit_topk(rows(fit), Y[fit], rows(valid), TUNE_CANDIDATES)
    info = {"tune_fit_s": time.perf_counter() - t0, "tune_candidates": TUNE_CANDIDATES,
            "tune_validation_fraction": TUNE_VALIDATION, "tune_n_valid": int(len(valid))}
    out = {}
    for strategy in strategies:
        t, per_label, f_valid = tune_thresholds(Y[valid], idx_v, scores_v, strategy=strategy,
                                                n_labels=L)
        out[strategy] = (t, per_label, f_valid, sets_from_topk(*test_topk, per_label,
                                                              n_labels=L))
    return info, out


def tuned_set_scores(data, fit_topk, test_topk, seed=0):
    """micro-F1 (and the other set metrics) of the test top-``TUNE_CANDIDATES`` under
    thresholds tuned on a validation cut of the training split (:func:`tuned_sets`).
    Returns ``{"tune_fit_s": ..., "global": {...}, "per_label": {...}}``.
    """
    import numpy as np

    from sklearn_xmtc.labels import pad_columns
    from sklearn_xmtc.metrics import classification_scores

    out, tuned = tuned_sets(data, fit_topk, test_topk, seed)
    n_cols = data.Y_test.shape[1]
    for strategy, (t, per_label, f_valid, sets) in tuned.items():
        c = classification_scores(data.Y_test, pad_columns(sets, n_cols))
        out[strategy] = {"threshold": t, "validation_micro_f1": f_valid,
                         "n_own_thresholds": int((per_label != np.float32(t)).sum()),
                         "micro-P": c["micro_precision"], "micro-R": c["micro_recall"],
                         "micro-F1": c["micro_f1"], "macro-F1": c["macro_f1"],
                         "example-F1": c["example_f1"],
                         "avg_predicted_set_size": float(sets.nnz / max(sets.shape[0], 1))}
    return out


def _jsonable(v):
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


def run_single(spec):
    """One (dataset, system) run -> result dict (without machine/version fields)."""
    from ._evaluation import evaluate_predictions

    rec = {"loadavg_start": list(os.getloadavg())}
    data = load_split(spec)
    rec.update(n_train=len(data.X_train), n_test=len(data.X_test),
               n_labels=int(data.Y_train.shape[1]),
               n_test_only_labels=int(data.Y_test.shape[1] - data.Y_train.shape[1]),
               rss_after_load_mb=current_rss_mb())
    runner = fit_predict_peer if spec["kind"] == "peer" else fit_predict_estimator
    idx, sets, times, extra = runner(spec, data)
    rec.update(times)
    rec["predict_texts_per_s"] = len(data.X_test) / max(times["predict_s"], 1e-9)
    tune = extra.pop("_tune", None)
    rec.update(extra)
    rec.update(evaluate_predictions(data.Y_train, data.Y_test, idx, sets))
    if tune is not None:
        rec["tuned"] = tuned_set_scores(data, *tune, seed=spec.get("seed", 0))
        rec["micro-F1 tuned"] = rec["tuned"]["global"]["micro-F1"]
        rec["micro-F1 tuned per-label"] = rec["tuned"]["per_label"]["micro-F1"]
    rec["loadavg_end"] = list(os.getloadavg())
    rec["peak_rss_mb"] = peak_rss_mb()
    rec["python"] = platform.python_version()
    return rec


def main_single(spec_path, result_path):
    """Entry point of the child: read the spec, run, write the result JSON."""
    spec = json.loads(Path(spec_path).read_text())
    rec = run_single(spec)
    Path(result_path).write_text(json.dumps(rec))
    return 0
