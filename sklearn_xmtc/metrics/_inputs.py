"""Input conversion shared by the metrics: labels -> CSR, predictions -> top-k.

Every function here is vectorised: no Python loop runs over samples.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..labels._binarizer import _check_matrix_columns, check_label_matrix, is_label_lists
from ..utils.validation import check_k

__all__ = [
    "check_inv_propensity",
    "check_prediction_columns",
    "check_same_rows",
    "check_truth",
    "check_y_true",
    "indices_to_csr",
    "prediction_shape",
    "to_topk_indices",
]


def check_y_true(y_true, *, classes=None, name="y_true", require_classes=True):
    """Return ``y_true`` as a canonical CSR 0/1 matrix (never densified).

    See :func:`check_truth` (this returns its matrix only).
    """
    return check_truth(y_true, classes=classes, name=name, require_classes=require_classes)[0]


def check_truth(y_true, *, classes=None, name="y_true", require_classes=True):
    """``(Y, n_named)``: ``y_true`` as canonical CSR and the columns predictions may name.

    Label lists need ``classes`` (a ``ValueError`` otherwise, unless
    ``require_classes`` is False: then ``y_true``'s sorted labels are the
    classes); they are mapped through ``classes``, and a label absent from
    ``classes`` gets an extra column after the known ones, so it can only be
    missed (predictions may name the ``len(classes)`` known columns only).
    A matrix must have at least ``len(classes)`` columns when ``classes`` is
    given: the classes first, then any test-only labels (fewer is a
    ``ValueError`` naming both counts).  A CSR that is already canonical and
    binary is used as it is.
    """
    lists = is_label_lists(y_true)
    if lists and classes is None and require_classes:
        raise ValueError(
            f"{name} holds label lists, so classes= is required: the label of each column "
            "the predictions index (e.g. estimator.classes_). Without it the labels of "
            f"{name} cannot be matched with predicted label indices."
        )
    if not lists and _is_canonical_binary_csr(y_true):
        Y = sp.csr_matrix(y_true)
        if classes is not None:
            _check_matrix_columns(Y, len(classes), name, "extend")
    else:
        Y, _ = check_label_matrix(y_true, classes=classes, name=name, unknown="extend")
    if Y.shape[0] == 0:
        raise ValueError(f"{name} has no samples; at least one is required.")
    n_named = len(classes) if lists and classes is not None else Y.shape[1]
    return Y, n_named


def check_prediction_columns(y_pred, idx, n_named, classes=None, name="y_true"):
    """Raise ``ValueError`` when ``y_pred`` names a column ``y_true`` does not have.

    A score (or set) matrix may have at most ``n_named`` columns (and at least
    ``len(classes)`` when ``classes`` is given); top-k indices ``idx`` must be
    below ``n_named``.  Both counts are named in the message.
    """
    y_pred = _unwrap_topk_tuple(y_pred)
    rule = (
        f"{name} needs one column per label the model can predict (its classes_, in "
        "order), optionally followed by columns of test-only labels; label lists need "
        "classes= (the model's classes_)."
    )
    indices = not sp.issparse(y_pred) and np.asarray(y_pred).dtype.kind in "iu"
    if indices:  # top-k label indices: their width is k, not the label count
        top = int(idx.max()) if idx.size else -1
        if top >= n_named:
            raise ValueError(
                f"y_pred holds the label index {top} but {name} has only {n_named} label "
                f"columns. {rule}"
            )
        return
    width = y_pred.shape[1] if sp.issparse(y_pred) else np.shape(y_pred)[1]
    low = 0 if classes is None else len(classes)
    if width > n_named:
        raise ValueError(
            f"y_pred has {width} columns but {name} has only {n_named} label columns. {rule}"
        )
    if width < low:
        raise ValueError(f"y_pred has {width} columns but there are {low} classes. {rule}")


def _is_canonical_binary_csr(Y):
    return (
        sp.issparse(Y)
        and Y.format == "csr"
        and Y.ndim == 2
        and Y.has_canonical_format
        and bool(np.all(Y.data == 1))
    )


def check_same_rows(y_true_shape, y_pred_shape):
    """Raise ``ValueError`` naming both shapes when the row counts differ."""
    if y_true_shape[0] != y_pred_shape[0]:
        raise ValueError(
            f"y_true and y_pred have different numbers of samples: y_true has shape "
            f"{tuple(y_true_shape)} and y_pred has shape {tuple(y_pred_shape)}."
        )


def prediction_shape(y_pred):
    """Shape of a prediction as given (the indices' for an (indices, scores) tuple)."""
    y_pred = _unwrap_topk_tuple(y_pred)
    return y_pred.shape if sp.issparse(y_pred) else np.shape(y_pred)


def _unwrap_topk_tuple(y_pred):
    """``(indices, scores)`` as returned by ``predict_topk`` -> ``indices``."""
    if isinstance(y_pred, tuple) and len(y_pred) == 2 and np.ndim(y_pred[0]) == 2:
        indices = np.asarray(y_pred[0])
        if indices.dtype.kind not in "iu":
            raise TypeError(
                "The first element of an (indices, scores) tuple must be an integer "
                f"array of label indices, got dtype {indices.dtype}."
            )
        return indices
    return y_pred


def to_topk_indices(y_pred, k):
    """Turn any supported prediction into top-``k`` label indices.

    Parameters
    ----------
    y_pred : ndarray, sparse matrix or tuple
        Integer ndarray (n, k') of label indices sorted best-first (-1 = none);
        float/bool ndarray (n, L) of scores; sparse (n, L) scores (absent = -inf);
        or the ``(indices, scores)`` tuple returned by ``predict_topk``.
    k : int
        Number of ranks to keep.

    Returns
    -------
    indices : ndarray of int64, shape (n, k)
        Best-first label indices; -1 where there is no k-th prediction.  A label
        repeated in a row is kept at its first (best) slot only.
    """
    k = check_k(k)
    y_pred = _unwrap_topk_tuple(y_pred)
    if sp.issparse(y_pred):
        if y_pred.ndim != 2:
            raise ValueError(f"y_pred must be 2-D, got a {y_pred.ndim}-D sparse array.")
        return _sparse_topk(y_pred, k)
    P = np.asarray(y_pred)
    if P.ndim != 2:
        raise ValueError(
            "y_pred must be 2-D: top-k label indices (n_samples, k) or scores "
            f"(n_samples, n_labels); got an array of shape {P.shape}."
        )
    if P.dtype.kind in "iu":
        return _check_index_matrix(P, k)
    if P.dtype.kind == "b":
        P = P.astype(np.float32)
    if P.dtype.kind != "f":
        raise TypeError(
            "y_pred must hold integer label indices or real-valued scores, got "
            f"dtype {P.dtype}."
        )
    return _dense_topk(P, k)


def _check_index_matrix(P, k):
    """Validate integer top-k indices; truncate / pad with -1 to width ``k``."""
    idx = P.astype(np.int64, copy=True)
    if idx.size and idx.min() < -1:
        raise ValueError(
            f"y_pred label indices must be >= 0 (or -1 for no prediction); found {idx.min()}."
        )
    n, width = idx.shape
    if width >= k:
        idx = idx[:, :k].copy()
    else:
        idx = np.hstack([idx, np.full((n, k - width), -1, dtype=np.int64)])
    return _drop_repeats(idx)


def _drop_repeats(idx):
    """Set the later copies of a label repeated within a row to -1."""
    if idx.shape[1] < 2:
        return idx
    s = np.sort(idx, axis=1)  # cheap check first: repeats are rare
    bad = np.flatnonzero(np.any((s[:, 1:] == s[:, :-1]) & (s[:, 1:] >= 0), axis=1))
    if bad.size == 0:
        return idx
    sub = idx[bad]
    order = np.argsort(sub, axis=1, kind="stable")  # equal labels: earlier slot first
    s = np.take_along_axis(sub, order, axis=1)
    rows, cols = np.nonzero((s[:, 1:] == s[:, :-1]) & (s[:, 1:] >= 0))
    sub[rows, order[rows, cols + 1]] = -1
    idx[bad] = sub
    return idx


def _dense_topk(S, k):
    """Top-``k`` columns of a dense score matrix; ties -> lower label index."""
    n, L = S.shape
    if np.isnan(S).any():
        raise ValueError("y_pred scores contain NaN.")
    kk = min(k, L)
    out = np.full((n, k), -1, dtype=np.int64)
    if kk == 0 or n == 0:
        return out
    if kk < L:
        t = np.partition(S, L - kk, axis=1)[:, L - kk][:, None]  # k-th largest score
        above = S > t
        eq = S == t
        need = kk - above.sum(axis=1)
        sel = above | eq
        amb = np.flatnonzero(eq.sum(axis=1) > need)  # rows with ties at the cut
        if amb.size:
            rank = np.cumsum(eq[amb], axis=1, dtype=np.int64)  # 1-based rank by index
            sel[amb] = above[amb] | (eq[amb] & (rank <= need[amb, None]))
        cols = np.nonzero(sel)[1].reshape(n, kk)  # ascending label index per row
    else:
        cols = np.broadcast_to(np.arange(L), (n, L))
    vals = np.take_along_axis(S, cols, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")  # stable: lower index wins ties
    top = np.take_along_axis(cols, order, axis=1)
    top[np.take_along_axis(vals, order, axis=1) == -np.inf] = -1
    out[:, :kk] = top
    return out


def _sparse_topk(S, k):
    """Top-``k`` stored entries per row of a sparse score matrix (absent = -inf)."""
    S = sp.csr_matrix(S)
    if not S.has_canonical_format:
        S = S.copy()
        S.sum_duplicates()
    n = S.shape[0]
    vals = S.data.astype(np.float64, copy=False)
    if np.isnan(vals).any():
        raise ValueError("y_pred scores contain NaN.")
    counts = np.diff(S.indptr)
    rows = np.repeat(np.arange(n), counts)
    order = np.lexsort((S.indices, -vals, rows))  # row, then score desc, then index
    pos = np.arange(S.nnz) - S.indptr[rows]  # rank within the row (rows stay sorted)
    keep = (pos < k) & (vals[order] != -np.inf)
    out = np.full((n, k), -1, dtype=np.int64)
    out[rows[keep], pos[keep]] = S.indices[order[keep]]
    return out


def indices_to_csr(idx, n_columns):
    """Top-k indices (n, k) (-1 = none) -> CSR 0/1 set matrix (n, max width)."""
    idx = _drop_repeats(np.array(idx, dtype=np.int64, copy=True))
    valid = idx >= 0
    width = max(int(n_columns), int(idx.max()) + 1 if idx.size else 0)
    rows = np.nonzero(valid)[0]
    Y = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, idx[valid])),
        shape=(idx.shape[0], width),
    )
    Y.sort_indices()
    return Y


def check_inv_propensity(inv_propensity, n_columns):
    """Validate inverse propensities for the ``n_columns`` columns of ``y_true``.

    Entries beyond ``n_columns`` are dropped (cut, never used).  A shorter
    vector is a ``ValueError``: the weight of a column absent from training
    (a test-only label) must come from its count of 0, via
    ``inverse_propensity(..., n_columns=...)`` or
    ``estimator_inv_propensity(est, n_columns=...)``, never be guessed here.
    """
    if inv_propensity is None:
        raise TypeError(
            "inv_propensity is required for propensity-scored metrics: pass "
            "inverse_propensity(y_train, n_columns=...) or "
            "estimator_inv_propensity(fitted_estimator, n_columns=...)."
        )
    w = np.asarray(inv_propensity, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"inv_propensity must be a non-empty 1-D array, got shape {w.shape}.")
    if not np.all(np.isfinite(w)):
        raise ValueError("inv_propensity must be finite.")
    if w.size < n_columns:
        raise ValueError(
            f"inv_propensity has {w.size} entries but y_true has {n_columns} columns. "
            "Give one weight per column, test-only columns included (they get the "
            "propensity of a label seen 0 times): inverse_propensity(..., "
            f"n_columns={n_columns}) or estimator_inv_propensity(est, n_columns={n_columns})."
        )
    return w[:n_columns]
