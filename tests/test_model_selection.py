"""cross_val_predict with every label format (scikit-learn's fails on CSR and label lists)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold
from sklearn.model_selection import cross_val_predict as sk_cross_val_predict

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc.datasets import make_tiny_xmtc
from sklearn_xmtc.model_selection import cross_val_predict


@pytest.fixture(scope="module")
def data():
    X, Y = make_tiny_xmtc(n_samples=60, n_labels=8, random_state=0)
    return X, sp.csr_matrix(Y)


def _by_hand(X, Y, cv, method):
    """Fit each fold on the same columns and put the test rows back in place."""
    out = np.zeros((len(X), Y.shape[1]), np.float32)
    for train, test in cv.split(X):
        est = DummyXMTCClassifier(strategy="prior", threshold=0.2).fit(
            [X[i] for i in train], Y[train])
        pred = getattr(est, method)([X[i] for i in test])
        out[test] = pred.toarray() if sp.issparse(pred) else pred
    return out


def test_csr_y_with_predict_proba_works_and_matches_fold_fits(data):
    X, Y = data
    est = DummyXMTCClassifier(strategy="prior", threshold=0.2)
    with pytest.raises(IndexError):  # scikit-learn's own function, for the record
        sk_cross_val_predict(est, X, Y, cv=KFold(3), method="predict_proba")
    for method in ("predict_proba", "predict"):
        ours = cross_val_predict(est, X, Y, cv=KFold(3), method=method)
        ours = ours.toarray() if sp.issparse(ours) else ours
        assert np.array_equal(ours, _by_hand(X, Y, KFold(3), method))


def test_label_lists_with_a_label_missing_from_a_training_fold(data):
    X, Y = data
    lists = [[f"l{j}" for j in row.indices] for row in Y]
    lists[0] = lists[0] + ["rare"]  # only in the first fold's test part
    with pytest.raises(ValueError):  # scikit-learn's: folds of different widths
        sk_cross_val_predict(DummyXMTCClassifier(), X, lists, cv=KFold(3))
    pred, classes = cross_val_predict(DummyXMTCClassifier(), X, lists, cv=KFold(3),
                                      return_classes=True)
    assert pred.shape == (60, 9) and "rare" in classes.tolist()
    idx, scores = cross_val_predict(DummyXMTCClassifier(), X, lists, cv=KFold(3),
                                    method="predict_topk", k=2)
    rare = classes.tolist().index("rare")
    assert rare not in idx[:20]  # the fold that predicts text 0 never saw "rare"
    shuffled = KFold(3, shuffle=True, random_state=0)  # rows come back in input order
    a = cross_val_predict(DummyXMTCClassifier(), X, lists, cv=shuffled, method="predict_topk")
    for train, test in shuffled.split(X):
        fold = DummyXMTCClassifier().fit([X[i] for i in train],
                                         [lists[i] for i in train])
        names = fold.classes_[fold.predict_topk([X[i] for i in test], k=5)[0]]
        assert (classes[a[0][test]] == names).all()


def test_bad_method_and_non_partition_cv(data):
    X, Y = data
    with pytest.raises(ValueError, match="method must be one of"):
        cross_val_predict(DummyXMTCClassifier(), X, Y, method="decision_function")
    overlap = [(np.arange(30, 60), np.arange(0, 40)), (np.arange(0, 30), np.arange(30, 60))]
    with pytest.raises(ValueError, match="exactly one test fold"):
        cross_val_predict(DummyXMTCClassifier(), X, Y, cv=overlap)
