"""Thresholds tuned for micro-F1 (``tune_thresholds``, ``TunedThresholdXMTCClassifier``)
and the ``min_labels`` / ``max_labels`` limits of ``predict``."""

import itertools
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc.datasets import load_dataset
from sklearn_xmtc.labels import pad_columns
from sklearn_xmtc.metrics import micro_f1
from sklearn_xmtc.model_selection import (
    TunedThresholdXMTCClassifier,
    sets_from_topk,
    tune_thresholds,
)
from sklearn_xmtc.utils import estimator_checks as ec


def _instance(seed, n=12, L=4, k=3, ties=False):
    rng = np.random.default_rng(seed)
    Y = sp.csr_matrix((rng.random((n, L)) < 0.35).astype(np.float32))
    idx = np.stack([rng.permutation(L)[:k] for _ in range(n)])
    s = rng.random((n, k)).astype(np.float32)
    if ties:
        s = np.round(s * 4) / 4
    idx[rng.random((n, k)) < 0.1] = -1
    return Y, idx, s


def _f1(Y, idx, s, t, **limits):
    return micro_f1(Y, sets_from_topk(idx, s, t, n_labels=Y.shape[1], **limits))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("limits", [{}, {"min_labels": 1}, {"max_labels": 2},
                                    {"min_labels": 1, "max_labels": 2}])
def test_global_threshold_is_the_best_of_every_cut(seed, limits):
    Y, idx, s = _instance(seed, ties=seed % 2 == 1)
    t, per_label, f1 = tune_thresholds(Y, idx, s, **limits)
    cands = np.concatenate([np.unique(s), [s.max() + 1.0]])
    best = max(_f1(Y, idx, s, float(c), **limits) for c in cands)
    assert f1 == pytest.approx(best, abs=1e-12)
    assert _f1(Y, idx, s, t, **limits) == pytest.approx(f1, abs=1e-12)  # as applied
    assert np.all(per_label == np.float32(t))


@pytest.mark.parametrize("seed", range(6))
def test_per_label_thresholds_reach_the_best_micro_f1_of_every_combination(seed):
    Y, idx, s = _instance(seed, n=8, L=3, k=2, ties=seed % 2 == 0)
    t_global, _, f_global = tune_thresholds(Y, idx, s)
    t, per_label, f1 = tune_thresholds(Y, idx, s, strategy="per_label", min_positives=0)
    options = [np.concatenate([np.unique(s[idx == lab]), [2.0]]) for lab in range(3)]
    best = max(_f1(Y, idx, s, np.array(c, np.float32)) for c in itertools.product(*options))
    assert f1 == pytest.approx(best, abs=1e-12)
    assert f1 >= f_global - 1e-12 and t == t_global
    assert _f1(Y, idx, s, per_label) == pytest.approx(f1, abs=1e-12)


def test_labels_with_few_positives_keep_the_global_threshold():
    Y, idx, s = _instance(3, n=40, L=5, k=4)
    counts = np.asarray(Y.sum(0)).ravel()
    m = int(np.median(counts)) + 1
    t, per_label, _ = tune_thresholds(Y, idx, s, strategy="per_label", min_positives=m)
    assert np.all(per_label[counts < m] == np.float32(t))


def test_truths_outside_the_candidates_count_as_missed():
    Y = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], np.float32))
    idx = np.array([[0], [2]])
    s = np.array([[0.9], [0.8]], np.float32)
    t, _, f1 = tune_thresholds(Y, idx, s)
    assert t == pytest.approx(0.8) and f1 == pytest.approx(2 * 2 / (2 + 3))


@pytest.mark.parametrize("kwargs, message", [
    ({"indices": np.zeros((2, 2), int), "scores": np.zeros((2, 3))}, "one shape"),
    ({"scores": np.full((2, 2), np.nan)}, "NaN"),
    ({"indices": np.array([[0, 5], [1, 0]])}, "beyond the 3 labels"),
    ({"strategy": "perlabel"}, "strategy"),
])
def test_tune_thresholds_rejects_bad_input(kwargs, message):
    args = {"y_true": np.eye(2, 3), "indices": np.array([[0, 1], [1, 0]]),
            "scores": np.array([[0.9, 0.1], [0.8, 0.2]]), **kwargs}
    with pytest.raises(ValueError, match=message):
        tune_thresholds(args.pop("y_true"), args.pop("indices"), args.pop("scores"), **args)


# -- the meta-estimator ---------------------------------------------------------------
@pytest.fixture(scope="module")
def codiesp(shared_data):
    pytest.importorskip("liblinear", reason="needs the `linear` extra")
    d = load_dataset(str(shared_data / "codiesp"))
    Y = d.Y_train[:400]
    # the 648 codes with two or more positives in the slice: half the one-vs-rest fits
    keep = np.flatnonzero(Y.getnnz(axis=0) >= 2)
    return list(d.X_train[:400]), Y[:, keep], list(d.X_test[:200]), d.Y_test[:200][:, keep]


def _test_f1(est, Xt, Yt):
    return micro_f1(Yt, pad_columns(est.predict(Xt), Yt.shape[1]))


@pytest.fixture(scope="module")
def fitted(codiesp):
    from sklearn_xmtc.linear import LinearXMTCClassifier

    X, Y, _, _ = codiesp
    return (LinearXMTCClassifier().fit(X, Y),
            TunedThresholdXMTCClassifier(LinearXMTCClassifier()).fit(X, Y))


def test_tuned_thresholds_raise_micro_f1_on_a_codiesp_slice(codiesp, fitted):
    X, Y, Xt, Yt = codiesp
    fixed, tuned = fitted
    f_fixed, f_tuned = _test_f1(fixed, Xt, Yt), _test_f1(tuned, Xt, Yt)
    assert f_tuned > f_fixed + 0.15, (f_fixed, f_tuned)  # measured 0.04 -> 0.36
    assert 0 < tuned.threshold_ < fixed.threshold
    assert tuned.thresholds_.shape == (Y.shape[1],) and 0 < tuned.best_score_ < 1
    assert tuned.estimator_.n_samples_fit_ == len(X)  # refitted on every text
    # the rankings are the wrapped estimator's; predict is its top candidates thresholded
    idx, scores = tuned.predict_topk(Xt, k=50)
    np.testing.assert_array_equal(idx, fixed.predict_topk(Xt, k=50)[0])
    expected = sets_from_topk(idx, scores, tuned.thresholds_, n_labels=Y.shape[1])
    assert (tuned.predict(Xt) != expected).nnz == 0


def test_min_labels_1_never_returns_an_empty_set_on_a_codiesp_slice(codiesp, fitted):
    _, _, Xt, _ = codiesp
    fixed, tuned = fitted
    assert (np.diff(fixed.predict(Xt).indptr) == 0).any()  # without it, empty sets
    for est, inner in ((fixed, fixed), (tuned, tuned.estimator_)):
        inner.set_params(min_labels=1)
        try:
            P = est.predict(Xt)
        finally:
            inner.set_params(min_labels=0)
        assert np.diff(P.indptr).min() >= 1
        top1 = est.predict_topk(Xt, k=1)[0][:, 0]
        assert P[np.arange(len(Xt)), top1].all()  # the best label is always among them


def test_per_label_thresholds_tuned_on_a_prefit_model(codiesp):
    from sklearn_xmtc.linear import LinearXMTCClassifier

    X, Y, Xt, Yt = codiesp
    model = LinearXMTCClassifier().fit(X[:300], Y[:300])
    pre = TunedThresholdXMTCClassifier(model, cv="prefit", strategy="per_label",
                                       min_positives=3).fit(X[300:], Y[300:])
    assert pre.estimator_ is model and pre.n_labels_ == model.n_labels_  # not refitted
    assert (pre.thresholds_ != np.float32(pre.threshold_)).any()
    glob = TunedThresholdXMTCClassifier(model, cv="prefit").fit(X[300:], Y[300:])
    assert pre.best_score_ >= glob.best_score_  # on the data it was tuned on
    assert _test_f1(pre, Xt, Yt) > _test_f1(model, Xt, Yt) + 0.1


def test_folds_and_refit():
    X = [f"w{i % 5}" for i in range(30)]
    y = [[f"l{i % 5}"] + (["l9"] if i % 3 else []) for i in range(30)]
    folds = TunedThresholdXMTCClassifier(DummyXMTCClassifier(strategy="prior"), cv=3)
    folds.fit(X, y)
    assert folds.estimator_.n_samples_fit_ == 30
    # l9 (prior 2/3) is worth predicting for every text, the others (1/5) are not
    assert folds.predict_labels(["x"]) == [["l9"]]
    kept = TunedThresholdXMTCClassifier(DummyXMTCClassifier(strategy="prior"),
                                        refit=False, validation_fraction=0.2).fit(X, y)
    assert kept.estimator_.n_samples_fit_ == 24  # the 80 % it was tuned behind


def test_meta_estimator_contract():
    X = [f"w{i % 5} w{i % 3}" for i in range(40)]
    y = [[f"l{i % 5}"] + ([f"l{i % 3}"] if i % 2 else []) for i in range(40)]
    est = TunedThresholdXMTCClassifier(DummyXMTCClassifier(strategy="prior"), cv=4)
    for name, check in ec.yield_xmtc_checks(est):
        if name != "check_fit_predict_shapes":  # its limit checks set min_labels on est
            check()
    fitted = clone(est).fit(X, y)
    assert fitted.classes_.tolist() == sorted({lab for row in y for lab in row})
    again = pickle.loads(pickle.dumps(fitted))
    assert again.predict_labels(X[:5]) == fitted.predict_labels(X[:5])
    np.testing.assert_allclose(fitted.predict_proba(X[:3]),
                               fitted.estimator_.predict_proba(X[:3]))


@pytest.mark.parametrize("make, error, message", [
    (lambda: TunedThresholdXMTCClassifier(DummyXMTCClassifier(), cv=3, refit=False),
     ValueError, "refit=False"),
    (lambda: TunedThresholdXMTCClassifier(DummyXMTCClassifier(min_labels=3, max_labels=1)),
     ValueError, "min_labels=3 is above max_labels=1"),
    (lambda: TunedThresholdXMTCClassifier(DummyXMTCClassifier(), cv="prefit"),
     Exception, "not fitted"),
])
def test_meta_estimator_rejects_bad_settings(make, error, message):
    with pytest.raises(error, match=message):
        make().fit(["a", "b", "c", "d"], [["x"], ["y"], ["x"], ["y"]])


def test_a_non_library_estimator_is_a_type_error():
    from sklearn.linear_model import LogisticRegression

    class Ranker(LogisticRegression):
        def predict_topk(self, X, k=5):  # pragma: no cover - never reached
            raise AssertionError

    with pytest.raises(TypeError, match="sklearn_xmtc estimator"):
        TunedThresholdXMTCClassifier(Ranker()).fit(["a", "b"], [["x"], ["y"]])


def test_predict_limits_on_the_dummy_by_hand():
    X = ["a", "b", "c", "d"]
    y = [["x"], ["x", "y"], ["x"], ["z"]]  # priors x .75, y .25, z .25
    est = DummyXMTCClassifier(strategy="prior", threshold=0.9).fit(X, y)
    assert est.predict(X).nnz == 0
    assert est.set_params(min_labels=2).predict_labels(["e"]) == [["x", "y"]]  # tie: lower
    assert est.set_params(min_labels=0, threshold=0.0, max_labels=2).predict_labels(["e"]) \
        == [["x", "y"]]
    with pytest.raises(ValueError, match="min_labels=3 is above max_labels=2"):
        est.set_params(min_labels=3).predict(X)
    for bad in ({"min_labels": -1}, {"max_labels": 0}, {"min_labels": 1.5}):
        with pytest.raises(ValueError, match="min_labels|max_labels"):
            DummyXMTCClassifier(**bad).fit(X, y)
