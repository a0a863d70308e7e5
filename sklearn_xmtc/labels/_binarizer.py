"""Label matrices: label lists / dense 0-1 / sparse -> canonical CSR."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["XMTCLabelBinarizer", "check_label_matrix", "is_label_lists", "labels_from_csr"]


def is_label_lists(Y):
    """True when ``Y`` is a sequence of label iterables (not a matrix)."""
    if sp.issparse(Y) or isinstance(Y, np.ndarray) and Y.dtype != object:
        return False
    if isinstance(Y, np.ndarray):  # object array of lists
        return Y.ndim == 1
    if hasattr(Y, "to_numpy") and getattr(Y, "ndim", 1) == 1:  # pandas Series
        return True
    if isinstance(Y, (list, tuple)):
        return len(Y) == 0 or not isinstance(Y[0], numbers.Number) and not _is_numeric_row(Y[0])
    return False


def _is_numeric_row(row):
    return isinstance(row, np.ndarray) and row.dtype != object and row.ndim == 1 and False


def _canonical_csr(M, name):
    M = sp.csr_matrix(M, dtype=np.float64)
    M.sum_duplicates()
    M.eliminate_zeros()
    if M.nnz and not np.all(M.data == 1):
        bad = M.data[M.data != 1][0]
        raise ValueError(
            f"{name} must be a binary 0/1 label matrix; found the value {bad!r}. "
            "Threshold scores before passing them as labels."
        )
    M.sort_indices()
    return sp.csr_matrix(M, dtype=np.float32)


def _sorted_classes(labels):
    try:
        return np.array(sorted(labels), dtype=object if not _all_int(labels) else np.int64)
    except TypeError:  # mixed, unorderable types: order of first appearance
        return np.array(list(labels), dtype=object)


def _all_int(labels):
    return all(isinstance(c, (numbers.Integral,)) and not isinstance(c, bool) for c in labels)


def _rows_as_lists(Y, name):
    rows = Y.tolist() if hasattr(Y, "tolist") and not isinstance(Y, list) else list(Y)
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)):
            raise TypeError(
                f"{name}[{i}] is a str ({row!r:.40}); each sample's labels must be an "
                f"iterable of labels, e.g. [{row!r:.40}]."
            )
        if row is None or not isinstance(row, Iterable):
            raise TypeError(f"{name}[{i}] must be an iterable of labels, got {row!r:.40}.")
        out.append(list(row))
    return out


def check_label_matrix(Y, *, classes=None, n_samples=None, name="Y", unknown="error"):
    """Validate labels and return ``(Y_csr, classes)``.

    Parameters
    ----------
    Y : sparse matrix, dense 0/1 array-like, or sequence of label iterables
        Labels of each sample.
    classes : array-like or None
        Known label names. ``None`` infers them: ``arange(n_columns)`` for a
        matrix, the sorted distinct labels for label lists.
    n_samples : int or None
        Expected number of rows (checked when given).
    name : str
        Name used in error messages.
    unknown : {"error", "ignore", "extend"}
        What to do with a label (lists) absent from ``classes``: raise, drop it,
        or give it an extra column after the known ones (metrics use this so an
        unseen true label still counts as missed).

    Returns
    -------
    Y_csr : scipy.sparse.csr_matrix of float32, shape (n_samples, n_columns)
    classes : ndarray of shape (n_classes,)
    """
    if Y is None:
        raise ValueError(f"{name} is None; labels are required.")
    if is_label_lists(Y):
        Y_csr, classes = _from_label_lists(_rows_as_lists(Y, name), classes, name, unknown)
    else:
        if not sp.issparse(Y):
            arr = np.asarray(Y)
            if arr.ndim != 2:
                raise ValueError(
                    f"{name} must be 2-D (n_samples, n_labels) or a sequence of label "
                    f"lists, got an array of shape {arr.shape}."
                )
            if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
                raise TypeError(f"{name} must be numeric 0/1, got dtype {arr.dtype}.")
            Y = arr
        elif Y.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {Y.ndim}-D.")
        Y_csr = _canonical_csr(Y, name)
        if classes is None:
            classes = np.arange(Y_csr.shape[1])
        elif len(classes) != Y_csr.shape[1]:
            raise ValueError(
                f"{name} has {Y_csr.shape[1]} label columns but the estimator was fitted "
                f"with {len(classes)} labels."
            )
    if n_samples is not None and Y_csr.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {Y_csr.shape[0]} rows but X has {n_samples} samples; "
            "they must have the same length."
        )
    return Y_csr, np.asarray(classes)


def _from_label_lists(rows, classes, name, unknown):
    flat = [label for row in rows for label in row]
    for label in flat:
        try:
            hash(label)
        except TypeError:
            raise TypeError(f"{name} holds an unhashable label {label!r:.40}.") from None
    if classes is None:
        classes = _sorted_classes(dict.fromkeys(flat))
    index = {c: j for j, c in enumerate(np.asarray(classes).tolist())}
    n_known = len(index)
    cols = np.empty(len(flat), dtype=np.int64)
    for p, label in enumerate(flat):
        j = index.get(label)
        if j is None:
            if unknown == "error":
                raise ValueError(f"{name} holds the label {label!r} that is not in classes.")
            if unknown == "ignore":
                j = -1
            else:
                j = index[label] = len(index)
        cols[p] = j
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    row_ids = np.repeat(np.arange(len(rows)), lengths)
    keep = cols >= 0
    Y = sp.csr_matrix(
        (np.ones(keep.sum()), (row_ids[keep], cols[keep])),
        shape=(len(rows), max(len(index), n_known)),
    )
    Y.data[:] = 1.0  # repeated labels in a row count once
    Y.sum_duplicates()
    Y.data[:] = 1.0
    Y.sort_indices()
    return sp.csr_matrix(Y, dtype=np.float32), classes


class XMTCLabelBinarizer(TransformerMixin, BaseEstimator):
    """Turn label lists, dense 0/1 or sparse label matrices into CSR.

    Like :class:`sklearn.preprocessing.MultiLabelBinarizer`, but sparse-first,
    accepting all three label formats and validating them with errors that
    name the offending row.

    Parameters
    ----------
    classes : array-like or None, default=None
        Fixed label order; None infers it at ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_labels,)

    Examples
    --------
    >>> from sklearn_xmtc.labels import XMTCLabelBinarizer
    >>> b = XMTCLabelBinarizer().fit([["b", "a"], ["c"]])
    >>> b.classes_.tolist()
    ['a', 'b', 'c']
    >>> b.transform([["c", "a"]]).toarray().tolist()
    [[1.0, 0.0, 1.0]]
    >>> b.inverse_transform(b.transform([["c", "a"]]))
    [['a', 'c']]
    """

    def __init__(self, classes=None):
        self.classes = classes

    def fit(self, Y, y=None):
        _, self.classes_ = check_label_matrix(Y, classes=self.classes)
        return self

    def fit_transform(self, Y, y=None):
        Y_csr, self.classes_ = check_label_matrix(Y, classes=self.classes)
        return Y_csr

    def transform(self, Y, unknown="error"):
        check_is_fitted(self)
        return check_label_matrix(Y, classes=self.classes_, unknown=unknown)[0]

    def inverse_transform(self, Y):
        """CSR (n, L) 0/1 -> list of lists of ``classes_`` entries."""
        check_is_fitted(self)
        return labels_from_csr(sp.csr_matrix(Y), self.classes_)


def labels_from_csr(Y, classes):
    """Rows of a CSR 0/1 matrix as lists of ``classes`` entries."""
    Y = sp.csr_matrix(Y)
    Y.eliminate_zeros()
    names = np.asarray(classes)[Y.indices].tolist()
    bounds = Y.indptr.tolist()
    return [names[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
