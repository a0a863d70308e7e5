"""Tests of the XMTC scorers: values, single inference, errors, pickling, search."""

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc.labels import check_label_matrix
from sklearn_xmtc.metrics import (
    XMTCMultiScorer,
    XMTCScorer,
    classification_scores,
    estimator_inv_propensity,
    get_scorer,
    get_scorer_names,
    inverse_propensity,
    make_xmtc_scorer,
    precision_at_k,
    psp_at_k,
    ranking_scores,
    recall_at_k,
    xmtc_scoring,
)


class FakeEstimator:
    """Fixed predictions; ``X`` is a sequence of row numbers. Counts its calls.

    Has the attributes the PSP scorers read: training counts, N, A and B.
    """

    propensity_a, propensity_b = 0.55, 1.5

    def __init__(self, topk, sets, classes, label_frequencies, n_samples):
        self.topk, self.sets = np.asarray(topk), sp.csr_matrix(sets)
        self.classes_ = np.asarray(classes)
        self.label_frequencies_, self.n_samples_fit_ = np.asarray(label_frequencies), n_samples
        self.n_topk = self.n_predict = 0
        self.ks = []

    def predict_topk(self, X, k=5):
        self.n_topk += 1
        self.ks.append(k)
        idx = self.topk[np.asarray(X), :k].astype(np.int64)
        return idx, np.linspace(1, 0, idx.shape[1], dtype=np.float32)[None].repeat(len(X), 0)

    def predict(self, X):
        self.n_predict += 1
        return self.sets[np.asarray(X)]


# 3 samples, labels a..e; truth {a, c}, {b}, {a, b, d}
CLASSES = ["a", "b", "c", "d", "e"]
Y = sp.csr_matrix(np.array([[1, 0, 1, 0, 0], [0, 1, 0, 0, 0], [1, 1, 0, 1, 0]]))
# best-first top-10 (padded with -1 after 5 labels)
TOPK = np.array([[2, 1, 0, 3, 4], [0, 1, 2, 3, 4], [3, 4, 0, 1, 2]])
TOPK = np.hstack([TOPK, np.full((3, 5), -1)])
SETS = np.array([[0, 0, 1, 0, 0], [1, 1, 0, 0, 0], [1, 0, 0, 1, 1]])
# training counts of a..e out of N = 10 texts: the weights W increase with the index
FREQ, N_FIT = np.array([4, 3, 2, 1, 0]), 10
_C = (math.log(10) - 1) * 2.5**0.55
W = np.array([1 + _C * (n_l + 1.5) ** -0.55 for n_l in FREQ])  # Jain et al., by hand
X = [0, 1, 2]


def make_est():
    return FakeEstimator(TOPK, SETS, CLASSES, FREQ, N_FIT)


def test_fake_estimator_weights():
    np.testing.assert_allclose(estimator_inv_propensity(make_est()), W)
    assert W[3] == pytest.approx(math.log(10))  # a label seen once: ln N
    assert np.all(np.diff(W) > 0)


def test_scorer_names():
    names = get_scorer_names()
    assert names == sorted(names)
    for m in ("precision", "recall", "ndcg", "psp", "psndcg"):
        for k in range(1, 11):
            assert f"{m}_at_{k}" in names
    for m in ("micro_f1", "micro_precision", "micro_recall", "macro_f1", "example_f1"):
        assert m in names
    assert len(names) == 55


@pytest.mark.parametrize("name", get_scorer_names())
def test_get_scorer_matches_metric_functions(name):
    est = make_est()
    value = get_scorer(name)(est, X, Y)
    if "_at_" in name:
        k = int(name.rpartition("_at_")[2])
        expected = ranking_scores(Y, TOPK, ks=(k,), inv_propensity=W)[name]
        assert est.n_topk == 1 and est.n_predict == 0 and est.ks == [k]
    else:
        expected = classification_scores(Y, SETS)[name]
        assert est.n_topk == 0 and est.n_predict == 1
    assert isinstance(value, float)
    assert value == pytest.approx(expected)


def test_scorer_hand_values():
    est = make_est()
    # P@1: rank-1 labels c (hit), a (miss), d (hit) -> 2 / 3
    assert get_scorer("precision_at_1")(est, X, Y) == pytest.approx(2 / 3)
    # micro-P: predicted {c}, {a, b}, {a, d, e}: hits c, b, a, d = 4 of 6
    assert get_scorer("micro_precision")(est, X, Y) == pytest.approx(4 / 6)
    # PSP@1: hits c, d; best: max w of {a, c} = w_c, {b} = w_b, {a, b, d} = w_d
    a, b, c, d, _ = W
    assert get_scorer("psp_at_1")(est, X, Y) == pytest.approx((c + d) / (c + b + d))


def test_scorer_with_label_lists_and_unseen_labels():
    est = make_est()
    # the same truth as label names, plus "zz" (unseen in training) in row 1
    y = [["a", "c"], ["b", "zz"], ["a", "b", "d"]]
    # R@2: row 0 top {c, b} -> 1/2; row 1 top {a, b} -> 1/2 (zz missed); row 2 {d, e} -> 1/3
    assert get_scorer("recall_at_2")(est, X, y) == pytest.approx((1 / 2 + 1 / 2 + 1 / 3) / 3)
    # micro-R: found c; b; a, d -> 4 of 7 true labels (zz counts)
    assert get_scorer("micro_recall")(est, X, y) == pytest.approx(4 / 7)
    # PSP@1: zz (column 5, unseen in training) weighs 1 + C 1.5^-0.55, a count of 0,
    # which is also e's count: numerator w_c + w_d; best w_c + w_zz + w_d
    a, b, c, d, zz = W
    psp1 = (c + d) / (c + zz + d)
    assert get_scorer("psp_at_1")(est, X, y) == pytest.approx(psp1)
    multi = xmtc_scoring(["recall_at_2", "micro_recall", "psp_at_1"])(est, X, y)
    r2 = (1 / 2 + 1 / 2 + 1 / 3) / 3
    expected = {"recall_at_2": r2, "micro_recall": 4 / 7, "psp_at_1": psp1}
    assert multi == pytest.approx(expected)


def test_xmtc_scoring_runs_inference_once():
    names = ["precision_at_1", "precision_at_5", "ndcg_at_3", "psp_at_5", "recall_at_10"]
    names += ["micro_f1", "example_f1"]
    est = make_est()
    result = xmtc_scoring(names)(est, X, Y)
    assert est.n_topk == 1 and est.ks == [10]  # one predict_topk with the largest k
    assert est.n_predict == 1
    assert list(result) == names
    for name in names:
        assert result[name] == pytest.approx(get_scorer(name)(make_est(), X, Y)), name
    est = make_est()
    xmtc_scoring(["ndcg_at_2", "psndcg_at_4"])(est, X, Y)
    assert (est.n_topk, est.n_predict, est.ks) == (1, 0, [4])  # no set metric: no predict
    est = make_est()
    xmtc_scoring("macro_f1")(est, X, Y)
    assert (est.n_topk, est.n_predict) == (0, 1)


def top1_hits(y_true, top):
    """A module-level custom metric: fraction of rows whose rank-1 label is true."""
    rows = np.arange(y_true.shape[0])
    return float(np.asarray(y_true[rows, top[:, 0]]).mean())


def count_predicted(y_true, sets, scale=1.0):
    return scale * sets.nnz


def test_make_xmtc_scorer_names_and_callables():
    est = make_est()
    assert make_xmtc_scorer("precision", k=12)(est, X, Y) == pytest.approx(
        ranking_scores(Y, TOPK, ks=(12,))["precision_at_12"]
    )
    assert make_xmtc_scorer("ndcg").k == 5
    assert make_xmtc_scorer("ndcg_at_3").name == "ndcg_at_3"
    assert make_xmtc_scorer("macro_f1").needs == "sets"
    custom = make_xmtc_scorer(top1_hits, needs="topk", k=1)
    assert custom(est, X, Y) == pytest.approx(2 / 3)
    sets = make_xmtc_scorer(count_predicted, needs="sets", scale=2.0)
    assert sets(make_est(), X, Y) == 12.0
    assert make_xmtc_scorer(recall_at_k, needs="topk", k=3)(est, X, Y) == pytest.approx(
        recall_at_k(Y, TOPK, k=3)
    )
    est = make_est()
    multi = xmtc_scoring({"p1": "precision_at_1", "top1": custom, "n": sets})(est, X, Y)
    assert multi == pytest.approx({"p1": 2 / 3, "top1": 2 / 3, "n": 12.0})
    assert (est.n_topk, est.n_predict) == (1, 1)


@pytest.mark.parametrize(
    "args, kwargs, exc",
    [
        (("precission",), {}, ValueError),
        (("precision",), {"k": 0}, ValueError),
        (("precision",), {"k": 2.5}, TypeError),
        (("precision_at_3",), {"k": 4}, ValueError),
        (("micro_f1",), {"k": 3}, ValueError),
        (("micro_f1",), {"needs": "sets"}, TypeError),
        ((top1_hits,), {}, ValueError),  # needs missing
        ((top1_hits,), {"needs": "proba"}, ValueError),
        ((count_predicted,), {"needs": "sets", "k": 3}, ValueError),
    ],
)
def test_make_xmtc_scorer_errors(args, kwargs, exc):
    with pytest.raises(exc):
        make_xmtc_scorer(*args, **kwargs)


def test_unknown_scorer_name_lists_valid_names():
    with pytest.raises(ValueError, match="precision_at_5") as info:
        get_scorer("precision_at_11")
    assert "micro_f1" in str(info.value)
    with pytest.raises(ValueError, match="not a valid"):
        xmtc_scoring(["precision_at_1", "accuracy"])
    with pytest.raises(ValueError):
        xmtc_scoring([])
    with pytest.raises(TypeError):
        xmtc_scoring({"x": 3})
    assert get_scorer(top1_hits) is top1_hits  # callables pass through


def test_psp_scorer_needs_training_counts():
    est = make_est()
    del est.n_samples_fit_
    with pytest.raises(NotFittedError, match="n_samples_fit_"):
        get_scorer("psp_at_1")(est, X, Y)
    with pytest.raises(ValueError, match="not fitted"):
        xmtc_scoring(["psp_at_1", "micro_f1"])(est, X, Y)
    assert get_scorer("precision_at_1")(est, X, Y) == pytest.approx(2 / 3)
    est = make_est()
    est.propensity_b = None  # an invalid parameter is reported by inverse_propensity
    with pytest.raises(ValueError, match="B must be"):
        get_scorer("psp_at_1")(est, X, Y)


class NotOurs:
    """Predicts like FakeEstimator but has none of the propensity attributes."""

    classes_ = np.asarray(CLASSES)

    def predict_topk(self, X, k=5):
        return TOPK[np.asarray(X), :k].astype(np.int64)


def test_psp_scorer_on_a_foreign_estimator_is_a_type_error():
    with pytest.raises(TypeError, match="propensity_a, propensity_b"):
        get_scorer("psp_at_1")(NotOurs(), X, Y)
    assert get_scorer("precision_at_1")(NotOurs(), X, Y) == pytest.approx(2 / 3)


def test_psp_scorer_ignores_a_stale_inv_propensity_attribute():
    est = make_est()
    est.inv_propensity_ = np.full(5, 1e9)  # never read: counts, N, A and B are
    a, b, c, d, _ = W
    assert get_scorer("psp_at_1")(est, X, Y) == pytest.approx((c + d) / (c + b + d))


def _fitted_dummy():
    # N = 5 training texts: x in 4, y in 2; Dummy ranks x, then y, for every text
    texts = ["t0", "t1", "t2", "t3", "t4"]
    return DummyXMTCClassifier().fit(texts, [["x"], ["x"], ["x", "y"], ["x"], ["y"]])


def test_psp_scorer_on_a_fitted_dummy_with_a_wider_y():
    est = _fitted_dummy()
    assert est.classes_.tolist() == ["x", "y"] and est.n_samples_fit_ == 5
    C = (math.log(5) - 1) * 2.5**0.55
    wx, wy, wz = (1 + C * (n_l + 1.5) ** -0.55 for n_l in (4, 2, 0))  # z: test-only
    np.testing.assert_allclose(estimator_inv_propensity(est, n_columns=3), [wx, wy, wz])
    X_test = ["u0", "u1", "u2"]
    # truth {x}, {y, z}, {z}; top-2 of every row: x, y
    lists = [["x"], ["y", "z"], ["z"]]
    Y_wide = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]]))
    psp1 = wx / (wx + wz + wz)  # hits: x in row 0; best: wx, max(wy, wz) = wz, wz
    psp2 = (wx + wy) / (wx + (wz + wy) + wz)  # hits: x (row 0), y (row 1)
    for y in (lists, Y_wide):
        assert get_scorer("psp_at_1")(est, X_test, y) == pytest.approx(psp1)
        assert get_scorer("psp_at_2")(est, X_test, y) == pytest.approx(psp2)
        multi = xmtc_scoring(["psp_at_1", "psp_at_2", "precision_at_1"])(est, X_test, y)
        assert multi == pytest.approx({"psp_at_1": psp1, "psp_at_2": psp2,
                                       "precision_at_1": 1 / 3})
    top, _ = est.predict_topk(X_test, k=2)
    w = estimator_inv_propensity(est, n_columns=3)
    assert psp_at_k(Y_wide, top, k=2, inv_propensity=w) == pytest.approx(psp2)
    # y narrower than the training labels: its columns cannot be the estimator's
    with pytest.raises(ValueError, match="1 label columns but there are 2 classes"):
        get_scorer("psp_at_1")(est, X_test, sp.csr_matrix(np.ones((3, 1))))


def test_estimator_inv_propensity_errors():
    with pytest.raises(NotFittedError, match="label_frequencies_, n_samples_fit_"):
        estimator_inv_propensity(DummyXMTCClassifier())
    with pytest.raises(TypeError, match="sklearn_xmtc estimator"):
        estimator_inv_propensity(object())
    est = _fitted_dummy()
    np.testing.assert_allclose(
        estimator_inv_propensity(est), estimator_inv_propensity(est, n_columns=2)
    )
    with pytest.raises(ValueError, match="n_columns=1 is smaller"):
        estimator_inv_propensity(est, n_columns=1)


def test_scorer_rejects_bad_predict_topk_and_row_mismatch():
    est = make_est()
    est.predict_topk = lambda X, k=5: np.zeros((len(X), k))  # float "indices"
    with pytest.raises(ValueError, match="integer"):
        get_scorer("precision_at_1")(est, X, Y)
    with pytest.raises(ValueError, match="samples"):
        get_scorer("precision_at_1")(make_est(), [0, 1], Y)


@pytest.mark.parametrize(
    "scorer",
    [
        get_scorer("psp_at_3"),
        get_scorer("example_f1"),
        make_xmtc_scorer(top1_hits, needs="topk", k=1),
        xmtc_scoring(["precision_at_1", "micro_f1", "psndcg_at_5"]),
    ],
)
def test_scorers_pickle_and_repr(scorer):
    clone = pickle.loads(pickle.dumps(scorer))
    assert type(clone) is type(scorer)
    assert repr(clone) == repr(scorer)
    assert clone(make_est(), X, Y) == pytest.approx(scorer(make_est(), X, Y))


def test_reprs():
    assert repr(get_scorer("psp_at_3")) == "make_xmtc_scorer('psp', k=3)"
    assert repr(get_scorer("macro_f1")) == "make_xmtc_scorer('macro_f1')"
    assert repr(make_xmtc_scorer(count_predicted, needs="sets", scale=2.0)) == (
        "make_xmtc_scorer(count_predicted, needs='sets', scale=2.0)"
    )
    multi = xmtc_scoring(["micro_f1", "ndcg_at_1"])
    assert repr(multi) == "xmtc_scoring(['micro_f1', 'ndcg_at_1'])"
    assert isinstance(get_scorer("ndcg_at_1"), XMTCScorer)
    assert isinstance(xmtc_scoring("ndcg_at_1"), XMTCMultiScorer)


# ---------------------------------------------------------------------------
# Model selection with a minimal sklearn-compatible estimator
# ---------------------------------------------------------------------------
class FrequentLabels(BaseEstimator):
    """Predicts the training labels by decreasing frequency, skipping ``shift``."""

    propensity_a, propensity_b = 0.55, 1.5

    def __init__(self, shift=0):
        self.shift = shift

    def fit(self, X, Y):
        Y, self.classes_ = check_label_matrix(Y)
        self.n_samples_fit_ = Y.shape[0]
        self.label_frequencies_ = np.bincount(Y.indices, minlength=Y.shape[1])
        self.inv_propensity_ = inverse_propensity(
            label_frequencies=self.label_frequencies_, n_samples=Y.shape[0]
        )
        self.order_ = np.argsort(-self.label_frequencies_, kind="stable")[self.shift :]
        return self

    def predict_topk(self, X, k=5):
        top = np.full(k, -1, dtype=np.int64)
        top[: min(k, self.order_.size)] = self.order_[:k]
        scores = np.linspace(1, 0, k, dtype=np.float32)
        return np.tile(top, (len(X), 1)), np.tile(scores, (len(X), 1))

    def predict(self, X):
        P = sp.lil_matrix((len(X), len(self.classes_)), dtype=np.float32)
        P[:, self.order_[0]] = 1
        return P.tocsr()


def _corpus(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = [f"text {i}" for i in range(n)]
    p = np.array([0.9, 0.5, 0.3, 0.2, 0.1, 0.1, 0.05, 0.05])  # label 0 most frequent
    Y = (rng.random((n, 8)) < p).astype(np.float32)
    Y[np.arange(n), rng.integers(0, 8, n)] = 1
    return X, Y


def test_grid_search_multimetric_refit_sparse_y():
    X, Y = _corpus()
    names = ["precision_at_1", "precision_at_5", "ndcg_at_3", "psp_at_3", "micro_f1", "example_f1"]
    search = GridSearchCV(
        FrequentLabels(),
        {"shift": [2, 0, 1]},
        scoring=xmtc_scoring(names),
        refit="precision_at_1",
        cv=KFold(3),
        error_score="raise",
    )
    search.fit(X, sp.csr_matrix(Y))
    assert search.best_params_ == {"shift": 0}  # the most frequent labels win P@1
    for name in names:
        assert f"mean_test_{name}" in search.cv_results_
    # the refit model's P@1 equals the metric function on its predictions
    top, _ = search.best_estimator_.predict_topk(X, k=1)
    assert search.best_estimator_.classes_.tolist() == list(range(8))
    p1 = ranking_scores(sp.csr_matrix(Y), top, ks=(1,), metrics=("precision",))["precision_at_1"]
    assert p1 == pytest.approx(Y[:, 0].mean())


def test_grid_search_single_scorer_and_label_lists():
    X, Y = _corpus(seed=1)
    lists = [[f"L{j}" for j in np.flatnonzero(row)] for row in Y]
    lists[-1].append("only_in_the_last_fold")  # unseen by the models of two folds
    search = GridSearchCV(
        FrequentLabels(),
        {"shift": [1, 0]},
        scoring=get_scorer("ndcg_at_3"),
        cv=KFold(3),
        error_score="raise",
    )
    search.fit(X, lists)
    assert search.best_params_ == {"shift": 0}
    res = cross_validate(
        FrequentLabels(),
        X,
        lists,
        scoring=xmtc_scoring(["precision_at_3", "macro_f1"]),
        cv=KFold(3),
        error_score="raise",
    )
    assert set(res) >= {"test_precision_at_3", "test_macro_f1"}
    by_hand = []  # each fold: the fold's frequency ranking against its test rows
    for train, test in KFold(3).split(X):
        fold = FrequentLabels().fit([X[i] for i in train], [lists[i] for i in train])
        idx = fold.predict_topk([X[i] for i in test], k=3)[0]
        by_hand.append(precision_at_k([lists[i] for i in test], idx, k=3,
                                      classes=fold.classes_))
    assert np.allclose(res["test_precision_at_3"], by_hand)
    assert not any(math.isnan(v) for v in res["test_macro_f1"])


class CountingLower(TransformerMixin, BaseEstimator):
    """A stateless transformer that counts its calls (a Pipeline's first step)."""

    calls = 0

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        self.calls += 1
        return [s.lower() for s in X]


def test_scorers_work_on_a_pipeline():
    from sklearn.pipeline import Pipeline

    X, Y = _corpus(seed=2)
    Y = sp.csr_matrix(Y)
    pipe = Pipeline([("lower", CountingLower()), ("model", FrequentLabels())]).fit(X, Y)
    model = pipe[-1]
    top, _ = model.predict_topk(X, k=5)
    expected = ranking_scores(Y, top, ks=(1, 5), inv_propensity=model.inv_propensity_)
    assert get_scorer("psp_at_5")(pipe, X, Y) == pytest.approx(expected["psp_at_5"])
    before = pipe[0].calls
    got = xmtc_scoring(["precision_at_1", "micro_f1"])(pipe, X, Y)
    assert pipe[0].calls == before + 1  # X transformed once for both predictions
    assert got["precision_at_1"] == pytest.approx(expected["precision_at_1"])
    assert got["micro_f1"] == pytest.approx(classification_scores(Y, model.predict(X))["micro_f1"])
    with pytest.raises(AttributeError, match="predict_topk"):
        get_scorer("precision_at_1")(object(), X, Y)
