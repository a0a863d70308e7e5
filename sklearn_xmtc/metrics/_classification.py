"""Set-based metrics (Cao and Zhang, OTSeq2Set, EMNLP 2022, Table 6): micro / macro / example-based F1.

They compare predicted label SETS (from ``predict``) with the true sets.
Undefined ratios (0 / 0) are 0, as ``sklearn.metrics`` with
``zero_division=0``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..labels._binarizer import check_label_matrix, is_label_lists
from ..labels._columns import pad_columns
from ._inputs import check_prediction_columns, check_same_rows, check_truth, indices_to_csr

__all__ = [
    "classification_scores",
    "example_f1",
    "macro_f1",
    "micro_f1",
    "micro_precision",
    "micro_recall",
]

SET_METRICS = ("micro_precision", "micro_recall", "micro_f1", "macro_f1", "example_f1")

_PARAMS_DOC = """Parameters
    ----------
    y_true : sparse matrix, dense 0/1 array or sequence of label lists
        True label sets (n_samples, n_labels); never densified.  A matrix has
        the model's labels (``classes_``) first, then any test-only labels.
    y_pred : sparse matrix, dense 0/1 array, sequence of label lists or tuple
        Predicted label sets: a 0/1 matrix (``predict``'s CSR), label lists,
        or top-k indices given as the tuple ``(indices, scores)`` returned by
        ``predict_topk`` (``scores`` may be None; -1 = no label).  A dense
        integer array is a 0/1 indicator matrix, never indices.  A matrix
        wider than ``y_true``, or an index beyond its columns, is a
        ``ValueError``; predicted labels (of label lists) absent from the
        classes are false positives.
    classes : array-like, default=None
        Label of each column (e.g. ``estimator.classes_``).  Required when
        ``y_true`` holds label lists and ``y_pred`` does not (a
        ``ValueError`` otherwise); when both are label lists, None compares
        the labels themselves.  With a matrix ``y_true``, None means its
        column indices, and it must have at least ``len(classes)`` columns.
        Labels absent from ``classes`` get extra columns, so they count as
        errors."""


def _check_pred_sets(y_pred, Y, n_named, classes):
    """``y_pred`` as a CSR set matrix aligned with the columns of ``Y``."""
    if isinstance(y_pred, tuple) and len(y_pred) == 2 and np.ndim(y_pred[0]) == 2:
        idx = np.asarray(y_pred[0])
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Top-k indices must be integers, got dtype {idx.dtype}.")
        if idx.size and idx.min() < -1:
            raise ValueError(f"Label indices must be >= 0 or -1 (none); found {idx.min()}.")
        check_prediction_columns(idx, idx, n_named, classes)
        return indices_to_csr(idx, Y.shape[1])
    if is_label_lists(y_pred):
        return _pred_label_lists(y_pred, Y.shape[1], classes)
    try:
        P = check_label_matrix(y_pred, name="y_pred")[0]
    except ValueError as exc:
        if "binary" not in str(exc):
            raise
        raise ValueError(
            f"{exc} Top-k label indices are passed as the tuple (indices, scores) "
            "or (indices, None)."
        ) from None
    check_prediction_columns(P, None, n_named, classes)
    return P


def _pred_label_lists(y_pred, n_columns, classes):
    """Predicted label lists over ``classes`` (None: ``arange(n_columns)``); labels
    absent from them go to columns after all ``n_columns`` of ``y_true``."""
    if classes is None:
        classes = np.arange(n_columns)
    P = check_label_matrix(y_pred, classes=classes, name="y_pred", unknown="extend")[0]
    shift = n_columns - len(classes)
    if shift and P.shape[1] > len(classes):  # keep clear of y_true's test-only columns
        P = P.copy()
        P.indices[P.indices >= len(classes)] += shift
        P = sp.csr_matrix((P.data, P.indices, P.indptr), shape=(P.shape[0], P.shape[1] + shift))
    return P


def check_sets(y_true, y_pred, classes=None):
    """Convert true and predicted sets to two CSR matrices of equal shape."""
    true_lists = is_label_lists(y_true)
    if true_lists and is_label_lists(y_pred):
        rows_true, rows_pred = list(y_true), list(y_pred)
        both = check_truth(
            rows_true + rows_pred, classes=classes, name="y_true/y_pred", require_classes=False
        )[0]
        n = len(rows_true)
        check_same_rows((n,), (both.shape[0] - n,))
        return both[:n], both[n:]
    if true_lists and classes is None:
        raise ValueError(
            "y_true holds label lists and y_pred is a matrix or top-k indices, so classes= "
            "is required: the label of each column of y_pred (e.g. estimator.classes_)."
        )
    Y, n_named = check_truth(y_true, classes=classes)
    P = _check_pred_sets(y_pred, Y, n_named, classes)
    check_same_rows(Y.shape, P.shape)
    width = max(Y.shape[1], P.shape[1])
    return pad_columns(Y, width), pad_columns(P, width)


def classification_core(Y, P):
    """All set metrics from two aligned canonical CSR 0/1 matrices."""
    width = max(Y.shape[1], P.shape[1])
    Y, P = pad_columns(Y, width), pad_columns(P, width)
    inter = Y.multiply(P).tocsr()
    inter.eliminate_zeros()
    tp_row = np.diff(inter.indptr).astype(np.float64)
    true_row = np.diff(Y.indptr).astype(np.float64)
    pred_row = np.diff(P.indptr).astype(np.float64)
    tp, n_true, n_pred = tp_row.sum(), true_row.sum(), pred_row.sum()
    tp_l = np.bincount(inter.indices, minlength=width)
    true_l = np.bincount(Y.indices, minlength=width)
    pred_l = np.bincount(P.indices, minlength=width)
    support = true_l > 0
    f1_l = 2.0 * tp_l[support] / (true_l[support] + pred_l[support])
    macro = f1_l.mean() if support.any() else 0.0
    den_row = true_row + pred_row
    example = np.divide(2.0 * tp_row, den_row, out=np.zeros_like(den_row), where=den_row > 0)
    return {
        "micro_precision": float(tp / n_pred) if n_pred else 0.0,
        "micro_recall": float(tp / n_true) if n_true else 0.0,
        "micro_f1": float(2.0 * tp / (n_true + n_pred)) if n_true + n_pred else 0.0,
        "macro_f1": float(macro),
        "example_f1": float(example.mean()),
    }


def classification_scores(y_true, y_pred, *, classes=None):
    """All set metrics at once: micro P/R/F1, macro-F1 and example-based F1.

    {params}

    Returns
    -------
    scores : dict
        Keys "micro_precision", "micro_recall", "micro_f1", "macro_f1",
        "example_f1".

    Examples
    --------
    >>> from sklearn_xmtc.metrics import classification_scores
    >>> s = classification_scores([["a", "b"], ["c"]], [["a"], ["c", "d"]])
    >>> s["micro_precision"], s["micro_recall"], s["example_f1"]
    (0.6666666666666666, 0.6666666666666666, 0.6666666666666666)
    """
    return classification_core(*check_sets(y_true, y_pred, classes))


def micro_precision(y_true, y_pred, *, classes=None):
    """Micro-averaged precision: true positives / predicted labels, all pairs.

    {params}

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import micro_precision
    >>> micro_precision(np.array([[1, 1, 0]]), np.array([[1, 0, 1]]))  # 1 / 2
    0.5
    """
    return classification_scores(y_true, y_pred, classes=classes)["micro_precision"]


def micro_recall(y_true, y_pred, *, classes=None):
    """Micro-averaged recall: true positives / true labels, all pairs.

    {params}

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import micro_recall
    >>> micro_recall(np.array([[1, 1, 1]]), np.array([[1, 0, 0]]))  # 1 / 3
    0.3333333333333333
    """
    return classification_scores(y_true, y_pred, classes=classes)["micro_recall"]


def micro_f1(y_true, y_pred, *, classes=None):
    """Micro-averaged F1: ``2 TP / (|true| + |predicted|)`` over all pairs.

    Equals ``sklearn.metrics.f1_score(average="micro", zero_division=0)``.

    {params}

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import micro_f1
    >>> micro_f1(np.array([[1, 1, 0]]), np.array([[1, 0, 1]]))  # 2 * 1 / (2 + 2)
    0.5
    """
    return classification_scores(y_true, y_pred, classes=classes)["micro_f1"]


def macro_f1(y_true, y_pred, *, classes=None):
    """Macro-averaged F1 over the labels with support in ``y_true``.

    F1 of each label l, ``2 TP_l / (|true_l| + |pred_l|)``, averaged over
    the labels that are true for at least one sample.  Labels never true
    (even if predicted) are left out: their false positives lower no label's
    score here, but they do lower :func:`micro_precision`.  Equals
    ``sklearn.metrics.f1_score(average="macro", labels=<supported labels>)``;
    0 when no label has support.

    {params}

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import macro_f1
    >>> Y = np.array([[1, 0, 0], [1, 1, 0]])
    >>> P = np.array([[1, 0, 1], [0, 1, 0]])
    >>> macro_f1(Y, P)  # label 0: 2*1/(2+1); label 1: 2*1/(1+1); label 2 excluded
    0.8333333333333333
    """
    return classification_scores(y_true, y_pred, classes=classes)["macro_f1"]


def example_f1(y_true, y_pred, *, classes=None):
    """Example-based F1: per-sample ``2 |true ∩ pred| / (|true| + |pred|)``, mean.

    A sample with empty truth and empty prediction scores 0, as
    ``sklearn.metrics.f1_score(average="samples", zero_division=0)``.

    {params}

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import example_f1
    >>> Y = np.array([[1, 1, 0], [0, 0, 1]])
    >>> P = np.array([[1, 0, 0], [0, 0, 1]])
    >>> round(example_f1(Y, P), 6)  # (2/3 + 1) / 2
    0.833333
    """
    return classification_scores(y_true, y_pred, classes=classes)["example_f1"]


for _f in (classification_scores, micro_precision, micro_recall, micro_f1, macro_f1, example_f1):
    if _f.__doc__:  # None under python -OO
        _f.__doc__ = _f.__doc__.replace("{params}", _PARAMS_DOC)
del _f
