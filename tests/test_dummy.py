"""DummyXMTCClassifier: values, scorers, GridSearchCV on real data, persistence."""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc.datasets import load_jsonl_dataset
from sklearn_xmtc.metrics import get_scorer, precision_at_k, xmtc_scoring

X = ["a", "b", "c", "d"]
Y = [["x", "y"], ["x"], ["x", "z"], ["y"]]  # frequencies x 3, y 2, z 1


def test_ranks_by_training_frequency():
    est = DummyXMTCClassifier().fit(X, Y)
    assert est.classes_.tolist() == ["x", "y", "z"]
    idx, scores = est.predict_topk(["anything", "else"], k=3)
    assert idx.tolist() == [[0, 1, 2]] * 2
    assert np.allclose(scores, [[0.75, 0.5, 0.25]] * 2)
    assert est.label_frequencies_.tolist() == [3, 2, 1]
    proba = est.predict_proba(["q"])
    assert proba.dtype == np.float32 and np.allclose(proba, [[0.75, 0.5, 0.25]])


def test_strategies_predict_sets():
    # 6 labels over 4 samples -> mean 1.5 -> round -> 2 labels per predicted set
    most = DummyXMTCClassifier().fit(X, Y)
    assert most.predict_labels(["q"]) == [["x", "y"]]
    prior = DummyXMTCClassifier(strategy="prior", threshold=0.5).fit(X, Y)
    assert prior.predict_labels(["q", "r"]) == [["x", "y"], ["x", "y"]]
    prior.set_params(threshold=0.6)
    assert prior.predict_labels(["q"]) == [["x"]]


def test_k_beyond_label_count_and_score():
    est = DummyXMTCClassifier().fit(X, Y)
    idx, scores = est.predict_topk(["q"], k=5)  # cut to the 3 labels
    assert idx.tolist() == [[0, 1, 2]] and scores.shape == (1, 3)
    # P@1 = the share of samples whose labels contain "x": 3 / 4
    assert est.score(X, Y) == pytest.approx(0.75)


def test_invalid_parameters_and_input():
    with pytest.raises(ValueError, match="strategy"):
        DummyXMTCClassifier(strategy="uniform").fit(X, Y)
    with pytest.raises(TypeError, match="single str"):
        DummyXMTCClassifier().fit("abc", Y)
    with pytest.raises(ValueError, match=r"X\[1\] is a missing value"):
        DummyXMTCClassifier().fit(["a", None, "c", "d"], Y)
    with pytest.raises(ValueError, match="same length"):
        DummyXMTCClassifier().fit(X, Y[:3])
    with pytest.raises(TypeError, match=r"y\[0\] is a str"):
        DummyXMTCClassifier().fit(X, ["x", "y", "x", "y"])
    est = DummyXMTCClassifier().fit(X, Y)
    with pytest.raises(ValueError, match="k must be"):
        est.predict_topk(X, k=0)


@pytest.fixture(scope="module")
def reuters(shared_data):
    return load_jsonl_dataset(shared_data / "reuters21578", max_samples=3000)


def test_gridsearch_with_xmtc_scoring_on_real_data(reuters):
    scoring = xmtc_scoring(["precision_at_1", "precision_at_5", "ndcg_at_3", "psp_at_5",
                            "micro_f1"])
    search = GridSearchCV(DummyXMTCClassifier(strategy="prior"),
                          {"threshold": [0.05, 0.2, 0.5]}, cv=KFold(3),
                          scoring=scoring, refit="micro_f1")
    search.fit(reuters.X_train, reuters.Y_train)
    res = search.cv_results_
    # ranking metrics do not depend on the threshold, the set metric does
    assert np.ptp(res["mean_test_precision_at_1"]) == 0
    assert np.ptp(res["mean_test_micro_f1"]) > 0
    # 'earn' is the most frequent Reuters topic: P@1 of the prior is its share
    assert 0.3 < res["mean_test_precision_at_1"][0] < 0.6
    assert search.best_params_ == {"threshold": 0.2}


def test_gridsearch_with_label_lists_and_pipeline(reuters):
    lists = [reuters.classes[row.indices].tolist() for row in reuters.Y_train[:600]]
    pipe = make_pipeline(FunctionTransformer(lambda t: [s.lower() for s in t]),
                         DummyXMTCClassifier())
    out = cross_validate(pipe, reuters.X_train[:600], lists, cv=3,
                         scoring={"p1": get_scorer("precision_at_1")})
    assert out["test_p1"].shape == (3,) and (out["test_p1"] > 0.2).all()


def test_joblib_roundtrip(reuters, tmp_path):
    est = DummyXMTCClassifier().fit(reuters.X_train, reuters.Y_train)
    path = tmp_path / "dummy.joblib"
    joblib.dump(est, path)
    again = joblib.load(path)
    a, b = est.predict_topk(reuters.X_test[:50], k=5), again.predict_topk(reuters.X_test[:50], k=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    p1 = precision_at_k(reuters.Y_test, est.predict_topk(reuters.X_test, k=1)[0], k=1)
    assert p1 == pytest.approx(again.score(reuters.X_test, reuters.Y_test))
