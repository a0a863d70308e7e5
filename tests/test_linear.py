"""LinearXMTCClassifier: TF-IDF + LIBLINEAR one-vs-rest (the `linear` extra)."""

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("liblinear", reason="needs the `linear` extra")

from sklearn.svm import LinearSVC  # noqa: E402

from sklearn_xmtc import DummyXMTCClassifier  # noqa: E402
from sklearn_xmtc.datasets import load_dataset, make_tiny_xmtc  # noqa: E402
from sklearn_xmtc.linear import LinearXMTCClassifier  # noqa: E402
from sklearn_xmtc.metrics import precision_at_k  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_xmtc(n_samples=200, n_labels=6, random_state=0)


def test_weights_are_liblinears_l2_svm_per_label(tiny):
    """Each column is the L2-loss SVM of its label (bias regularised, as LIBLINEAR's -B 1):
    scikit-learn's LinearSVC(dual=False) solves the same problem with its own LIBLINEAR."""
    X, Y = tiny
    est = LinearXMTCClassifier(tol=1e-8).fit(X, Y)
    F = est._features(X)
    for j in range(Y.shape[1]):
        y = Y[:, j].toarray().ravel() > 0
        ref = LinearSVC(C=1.0, dual=False, tol=1e-8, fit_intercept=False).fit(F, y)
        assert np.allclose(est.coef_[:, j].toarray().ravel(), ref.coef_.ravel(), atol=1e-4)
    decision = (F @ est.coef_).toarray()
    proba = est.predict_proba(X)
    assert np.allclose(proba, 1 / (1 + np.exp(-decision)), atol=1e-6)
    assert np.array_equal(est.predict(X).toarray() > 0, decision >= 0)  # threshold 0.5


def test_pruning_keeps_the_ranking_and_a_label_never_seen(tiny):
    X, Y = tiny
    full = LinearXMTCClassifier().fit(X, Y)
    pruned = LinearXMTCClassifier(prune_threshold=0.05).fit(X, Y)
    kept = np.abs(full.coef_.toarray()) > 0.05
    assert pruned.coef_.nnz == kept.sum() < full.coef_.nnz  # exactly the large weights
    a, b = full.predict_topk(X, k=1)[0], pruned.predict_topk(X, k=1)[0]
    assert (a == b).mean() > 0.9
    Y2 = sp.hstack([Y, sp.csr_matrix((Y.shape[0], 1))], format="csr")  # an empty column
    est = LinearXMTCClassifier().fit(X, Y2)
    assert est.coef_[:, -1].nnz == 0 and (est.predict_topk(X, k=1)[0] != 6).all()


def test_learns_on_a_reuters21578_slice(shared_data):
    data = load_dataset(str(shared_data / "reuters21578"))
    X_tr, Y_tr, X_te, Y_te = data.X_train[:3000], data.Y_train[:3000], data.X_test[:400], \
        data.Y_test[:400]
    dummy = precision_at_k(Y_te, DummyXMTCClassifier().fit(X_tr, Y_tr).predict_topk(X_te, 1)[0],
                           k=1)
    est = LinearXMTCClassifier().fit(X_tr, Y_tr)
    p1 = precision_at_k(Y_te, est.predict_topk(X_te, 1)[0], k=1)
    assert p1 > dummy + 0.3, (p1, dummy)  # measured: 0.80 against 0.435
