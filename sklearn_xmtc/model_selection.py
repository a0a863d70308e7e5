"""Model selection for XMTC estimators: cross-validated predictions and tuned thresholds.

:class:`TunedThresholdXMTCClassifier`, :func:`tune_thresholds` and
:func:`sets_from_topk` (in ``sklearn_xmtc._thresholds``, imported on first use)
tune ``predict``'s score thresholds for micro-F1 on validation data.

Cross-validated predictions, with any label format:

scikit-learn's ``cross_val_predict`` works with a dense 0/1 ``y``; with a
sparse ``y`` and ``method="predict_proba"`` it fails inside scikit-learn
(it encodes ``y`` with ``np.asarray``), and with label lists the folds can see
different label sets, so their predictions do not line up. This version
binarises ``y`` once, fits every fold on the same columns (a label absent from
a training fold keeps its column, with a count of 0), and assembles the
predictions in the original order.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import check_cv

from .labels import check_label_matrix
from .utils.validation import check_texts

__all__ = ["cross_val_predict", "TunedThresholdXMTCClassifier", "tune_thresholds",
           "sets_from_topk"]

_THRESHOLDS = ("TunedThresholdXMTCClassifier", "tune_thresholds", "sets_from_topk")


def __getattr__(name):  # the thresholds import torch: only when asked for
    if name in _THRESHOLDS:
        from . import _thresholds

        return getattr(_thresholds, name)
    raise AttributeError(f"module 'sklearn_xmtc.model_selection' has no attribute {name!r}")

_METHODS = ("predict", "predict_proba", "predict_topk")


def _fit_predict(estimator, texts, Y, train, test, method, k):
    est = clone(estimator).fit([texts[i] for i in train], Y[train])
    X_test = [texts[i] for i in test]
    if method == "predict_topk":
        return est.predict_topk(X_test, k=k)
    return getattr(est, method)(X_test)


def cross_val_predict(estimator, X, y, *, cv=5, method="predict", k=5, n_jobs=None,
                      return_classes=False):
    """Out-of-fold predictions of ``estimator`` for every text of ``X``.

    Parameters
    ----------
    estimator : sklearn_xmtc estimator (or a Pipeline ending in one)
    X : iterable of str
    y : sparse matrix, dense 0/1 array or sequence of label iterables
    cv : int, cross-validation generator or iterable, default=5
        As in scikit-learn; an int means ``KFold`` (not stratified: multi-label).
    method : {"predict", "predict_proba", "predict_topk"}, default="predict"
    k : int, default=5
        Labels per text for ``method="predict_topk"``.
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib).
    return_classes : bool, default=False
        Also return the labels of the columns (those of ``y``: sorted label
        names for label lists, ``0..L-1`` for a matrix).

    Returns
    -------
    predictions
        CSR (n, L) for "predict", dense float32 (n, L) for "predict_proba",
        ``(indices, scores)`` (n, min(k, L)) for "predict_topk" (indices are
        columns of ``y``).
    classes : ndarray, only with ``return_classes``

    Examples
    --------
    >>> from sklearn_xmtc import DummyXMTCClassifier
    >>> from sklearn_xmtc.model_selection import cross_val_predict
    >>> X = ["a", "b", "c", "d"]
    >>> y = [["x"], ["x", "y"], ["x"], ["z"]]  # "z" is missing from one training fold
    >>> pred, classes = cross_val_predict(DummyXMTCClassifier(), X, y, cv=2,
    ...                                   return_classes=True)
    >>> pred.shape, classes.tolist()
    ((4, 3), ['x', 'y', 'z'])
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    texts = check_texts(X, name="X")
    Y, classes = check_label_matrix(y, n_samples=len(texts), name="y")
    splits = list(check_cv(cv, classifier=False).split(np.zeros(len(texts))))
    parts = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(estimator, texts, Y, train, test, method, k)
        for train, test in splits)
    order = np.concatenate([test for _, test in splits])
    if len(order) != len(texts) or len(np.unique(order)) != len(texts):
        raise ValueError("cv must put every text in exactly one test fold (a partition).")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    if method == "predict":
        out = sp.vstack(parts, format="csr")[inverse]
    elif method == "predict_proba":
        out = np.concatenate(parts)[inverse]
    else:
        out = (np.concatenate([p[0] for p in parts])[inverse],
               np.concatenate([p[1] for p in parts])[inverse])
    return (out, classes) if return_classes else out
