"""Label matrices: label lists / dense 0-1 / sparse -> canonical CSR.

How ``Y`` is read (:func:`is_label_lists`, :func:`check_label_matrix`):

- a sparse matrix or a numeric 2-D numpy array is a 0/1 label matrix;
- a list or tuple of rows is a dense 0/1 matrix given row by row (as
  ``Y.toarray().tolist()`` or ``list(Y_dense)`` give it) when every row is a
  list or a 1-D numeric numpy array, all rows have the same length >= 2, they
  hold only 0 and 1 (int, float or bool) and at least one 0; a ``UserWarning``
  is raised when the rows are also valid label lists (two columns, each row
  ``[0, 1]`` or ``[1, 0]``);
- anything else is a sequence of label lists (rows that are tuples or sets
  always are).  Labels must not be missing (None, NaN): a ``ValueError``
  names the sample.  Labels of different types (``1`` and ``"1"``) are
  different labels, with a ``UserWarning``.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["XMTCLabelBinarizer", "check_label_matrix", "is_label_lists", "labels_from_csr"]


def is_label_lists(Y):
    """True when ``Y`` is a sequence of label iterables (not a matrix).

    A list or tuple of equal-length rows holding only 0/1 (at least one 0,
    length >= 2, each row a list or a 1-D numeric array) is a dense 0/1
    matrix, not label lists; rows that are tuples or sets are always label
    lists.  See the module docstring for the full rule.

    Parameters
    ----------
    Y : object
        Labels in any accepted format.

    Returns
    -------
    answer : bool

    Examples
    --------
    >>> from sklearn_xmtc.labels import is_label_lists
    >>> is_label_lists([[0, 3], [2]]), is_label_lists([[1], [0]])
    (True, True)
    >>> is_label_lists([[1, 0, 1], [0, 1, 0]])  # rows of a 0/1 matrix
    False
    >>> is_label_lists([(0, 1), (1, 0)])  # tuples: always label lists
    True
    """
    if sp.issparse(Y) or isinstance(Y, np.ndarray) and Y.dtype != object:
        return False
    if isinstance(Y, np.ndarray):  # object array of lists
        return Y.ndim == 1
    if hasattr(Y, "to_numpy") and getattr(Y, "ndim", 1) == 1:  # pandas Series
        return True
    if isinstance(Y, (list, tuple)):
        if len(Y) == 0:
            return True
        return not isinstance(Y[0], numbers.Number) and _dense_rows(Y) is None
    return False


def _is_binary_row(row):
    """A list or 1-D numeric array of length >= 2 holding only 0/1 values."""
    if not isinstance(row, (list, np.ndarray)):
        return False
    try:
        arr = np.asarray(row)
    except (ValueError, TypeError):
        return False
    return (arr.ndim == 1 and arr.size >= 2 and arr.dtype.kind in "biuf"
            and bool(np.all((arr == 0) | (arr == 1))))


def _dense_rows(Y):
    """``Y`` (rows) as a 2-D 0/1 array when it reads as a dense matrix, else None.

    The first row is tested alone first, so genuine label lists are rejected
    without converting all of them.
    """
    if not _is_binary_row(Y[0]) or not set(map(type, Y)) <= {list, np.ndarray}:
        return None
    if len(set(map(len, Y))) != 1:
        return None
    try:
        arr = np.asarray(Y)
    except (ValueError, TypeError):
        return None
    if arr.ndim != 2 or arr.dtype.kind not in "biuf":
        return None
    zero = arr == 0
    if not np.all(zero | (arr == 1)) or not zero.any():
        return None
    return arr


def _warn_if_ambiguous(arr, name):
    """Warn when dense 0/1 rows read as a matrix are also valid label lists."""
    if arr.shape[1] == 2 and np.all(arr.sum(axis=1) == 1):
        warnings.warn(
            f"{name} was read as a dense 0/1 label matrix ({arr.shape[0]} rows x 2 "
            "columns), but its rows [0, 1] / [1, 0] are also valid label lists. To pass "
            f"label lists, give each sample's labels as a tuple or a set (e.g. "
            f"[tuple(r) for r in {name}]); to pass a matrix without this warning, give "
            f"np.asarray({name}) or a sparse matrix.",
            UserWarning,
            stacklevel=5,
        )


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
        Labels of each sample.  A list of equal-length 0/1 rows is a dense
        matrix, not label lists (rule in the module docstring and
        :func:`is_label_lists`).  Missing labels (None, NaN) are an error;
        labels of mixed types (``1`` and ``"1"``) a ``UserWarning`` when
        ``classes`` is None, and an error when a label's type is one no class
        has.
    classes : array-like or None
        Known label names. ``None`` infers them: ``arange(n_columns)`` for a
        matrix, the sorted distinct labels for label lists.  A matrix must
        have at least ``len(classes)`` columns, the first ones being
        ``classes`` in order (fewer is a ``ValueError``); more is an error
        for ``unknown="error"``.
    n_samples : int or None
        Expected number of rows (checked when given).
    name : str
        Name used in error messages.
    unknown : {"error", "ignore", "extend"}
        What to do with a label absent from ``classes`` (a label of the
        lists, or a matrix column after the first ``len(classes)``): raise,
        drop it, or keep it in an extra column after the known ones (metrics
        use this so an unseen true label still counts as missed).

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
        Y_csr = _canonical_csr(_as_matrix(Y, name), name)
        if classes is None:
            classes = np.arange(Y_csr.shape[1])
        else:
            Y_csr = _check_matrix_columns(Y_csr, len(classes), name, unknown)
    if n_samples is not None and Y_csr.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {Y_csr.shape[0]} rows but X has {n_samples} samples; "
            "they must have the same length."
        )
    return Y_csr, np.asarray(classes)


def _as_matrix(Y, name):
    """A sparse matrix, or ``Y`` as a numeric 2-D array (dense rows warn when ambiguous)."""
    if sp.issparse(Y):
        if Y.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {Y.ndim}-D.")
        return Y
    rows = _dense_rows(Y) if isinstance(Y, (list, tuple)) and len(Y) else None
    if rows is not None:
        _warn_if_ambiguous(rows, name)
    arr = np.asarray(Y) if rows is None else rows
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_labels) or a sequence of label "
            f"lists, got an array of shape {arr.shape}."
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric 0/1, got dtype {arr.dtype}.")
    return arr


def _check_matrix_columns(Y, n_classes, name, unknown):
    """Columns of a label matrix against ``n_classes`` known classes (see check_label_matrix)."""
    n = Y.shape[1]
    if n < n_classes:
        raise ValueError(
            f"{name} has {n} label columns but there are {n_classes} classes (the "
            "estimator's classes_, or classes=): a label matrix needs one column per class, "
            "in the order of the classes, optionally followed by columns of labels the "
            "classes lack (test-only labels)."
        )
    if n > n_classes and unknown == "error":
        raise ValueError(
            f"{name} has {n} label columns but the estimator was fitted with {n_classes} labels."
        )
    if n > n_classes and unknown == "ignore":
        Y = Y[:, :n_classes]
    return Y


def _from_label_lists(rows, classes, name, unknown):
    flat = [label for row in rows for label in row]
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    types = _check_labels(flat, lengths, name)
    if classes is None:
        _warn_mixed_types(flat, types, name)
        classes = _sorted_classes(dict.fromkeys(flat))
        class_list = classes.tolist()
    else:
        class_list = np.asarray(classes).tolist()
        _check_label_kinds(flat, types, class_list, name)
    index = {c: j for j, c in enumerate(class_list)}
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


def _sample_of(p, lengths):
    """Row of the ``p``-th label of the flattened label lists."""
    return int(np.searchsorted(np.cumsum(lengths), p, side="right"))


def _is_missing(label):
    if label is None:
        return True
    try:
        return bool(label != label)  # NaN, NaT
    except (TypeError, ValueError):  # pandas.NA: its comparisons are undefined
        return True


def _check_labels(flat, lengths, name):
    """Reject unhashable and missing (None, NaN) labels; return the set of label types.

    Only labels of types other than str, bytes and int are inspected one by one.
    """
    types = set(map(type, flat))
    odd = {t for t in types if not issubclass(t, (str, bytes, numbers.Integral))}
    if not odd:
        return types
    for p, label in enumerate(flat):
        if type(label) not in odd:
            continue
        try:
            hash(label)
        except TypeError:
            raise TypeError(
                f"{name}[{_sample_of(p, lengths)}] holds an unhashable label {label!r:.40}."
            ) from None
        if _is_missing(label):
            raise ValueError(
                f"{name}[{_sample_of(p, lengths)}] holds a missing label ({label!r}); labels "
                "must not be None or NaN (a sample without labels is an empty list)."
            )
    return types


def _kind(t, coarse=False):
    """Type family of a label type; ``coarse`` merges bool/int/float (1 == 1.0 == True)."""
    if issubclass(t, (bool, np.bool_)):
        return "numeric" if coarse else "bool"
    if issubclass(t, numbers.Integral):
        return "numeric" if coarse else "int"
    if issubclass(t, numbers.Real):
        return "numeric" if coarse else "float"
    if issubclass(t, str):
        return "str"
    return "bytes" if issubclass(t, bytes) else t.__name__


def _first_of_kind(labels, kinds, coarse=False):
    return next(x for x in labels if _kind(type(x), coarse) in kinds)


def _warn_mixed_types(flat, types, name):
    kinds = {_kind(t) for t in types}
    if len(kinds) < 2:
        return
    a = flat[0]
    b = _first_of_kind(flat, kinds - {_kind(type(a))})
    warnings.warn(
        f"{name} mixes label types, e.g. {a!r} ({type(a).__name__}) and {b!r} "
        f"({type(b).__name__}); labels of different types are different classes (1 and "
        "'1' are two labels). Convert all labels to one type (e.g. str) if they should match.",
        UserWarning,
        stacklevel=5,
    )


def _check_label_kinds(flat, types, class_list, name):
    """Raise when a label is of a type no class has (it could never match)."""
    label_kinds = {_kind(t, coarse=True) for t in types}
    class_kinds = {_kind(t, coarse=True) for t in set(map(type, class_list))}
    foreign = label_kinds - class_kinds
    if not foreign or not class_list:
        return
    label = _first_of_kind(flat, foreign, coarse=True)
    hint = ""
    if class_kinds == {"numeric"}:
        hint = (
            " A model fitted on a label matrix has classes_ = its column indices "
            f"0..{len(class_list) - 1}: pass a matrix with those columns first, or label "
            "lists of column indices."
        )
    raise ValueError(
        f"{name} holds the label {label!r} ({type(label).__name__}), but the classes are "
        f"{'/'.join(sorted(class_kinds))} labels (e.g. {class_list[0]!r}): it can match no "
        f"class.{hint}"
    )


class XMTCLabelBinarizer(TransformerMixin, BaseEstimator):
    """Turn label lists, dense 0/1 or sparse label matrices into CSR.

    Like :class:`sklearn.preprocessing.MultiLabelBinarizer`, but sparse-first,
    accepting all three label formats and validating them with errors that
    name the offending row.

    How ``Y`` is read:

    - a sparse matrix or a numeric 2-D numpy array is a 0/1 matrix
      (``classes_`` = its column indices);
    - a list of rows is a dense 0/1 matrix when every row is a list or a 1-D
      numeric array, all of the same length >= 2, holding only 0/1 and at
      least one 0 (``Y.toarray().tolist()``, ``list(Y_dense)``).  A
      ``UserWarning`` is raised when these rows are also valid label lists
      (two columns, rows ``[0, 1]`` / ``[1, 0]``); pass such label lists as
      tuples or sets (``[tuple(r) for r in Y]``);
    - anything else is label lists (``[[0, 3], [2]]``, ``[[1], [0]]``,
      ``[("a",), ("b", "c")]``).

    A missing label (None, NaN) is a ``ValueError`` naming the sample; labels
    of different types (``1`` and ``"1"``) are kept apart with a
    ``UserWarning``.

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

    Rows of a dense 0/1 matrix are a matrix; integer label lists stay label
    lists:

    >>> XMTCLabelBinarizer().fit([[1, 0, 1], [0, 1, 0]]).classes_.tolist()
    [0, 1, 2]
    >>> XMTCLabelBinarizer().fit([[0, 3], [2]]).classes_.tolist()
    [0, 2, 3]
    """

    def __init__(self, classes=None):
        self.classes = classes

    def fit(self, Y, y=None):
        """Learn ``classes_`` from ``Y``.

        Parameters
        ----------
        Y : sparse matrix, dense 0/1 array-like or sequence of label iterables
            Labels of each sample, read as described in the class docstring.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        _, self.classes_ = check_label_matrix(Y, classes=self.classes)
        return self

    def fit_transform(self, Y, y=None):
        """Learn ``classes_`` and return ``Y`` as CSR.

        Parameters
        ----------
        Y : sparse matrix, dense 0/1 array-like or sequence of label iterables
            Labels of each sample, read as described in the class docstring.
        y : None
            Ignored.

        Returns
        -------
        Y_csr : scipy.sparse.csr_matrix of float32, shape (n_samples, n_labels)
        """
        Y_csr, self.classes_ = check_label_matrix(Y, classes=self.classes)
        return Y_csr

    def transform(self, Y, unknown="error"):
        """``Y`` as CSR over ``classes_``.

        Parameters
        ----------
        Y : sparse matrix, dense 0/1 array-like or sequence of label iterables
            Labels of each sample; a matrix needs ``len(classes_)`` columns.
        unknown : {"error", "ignore", "extend"}, default="error"
            A label absent from ``classes_`` (or a matrix column beyond them):
            raise, drop it, or keep it in an extra column after the known ones.

        Returns
        -------
        Y_csr : scipy.sparse.csr_matrix of float32, shape (n_samples, n_columns)
        """
        check_is_fitted(self)
        return check_label_matrix(Y, classes=self.classes_, unknown=unknown)[0]

    def inverse_transform(self, Y):
        """CSR (n, L) 0/1 -> list of lists of ``classes_`` entries.

        Parameters
        ----------
        Y : sparse matrix or array-like of shape (n_samples, n_labels)
            0/1 label matrix over ``classes_``.

        Returns
        -------
        labels : list of list
        """
        check_is_fitted(self)
        return labels_from_csr(sp.csr_matrix(Y), self.classes_)


def labels_from_csr(Y, classes):
    """Rows of a CSR 0/1 matrix as lists of ``classes`` entries."""
    Y = sp.csr_matrix(Y)
    Y.eliminate_zeros()
    names = np.asarray(classes)[Y.indices].tolist()
    bounds = Y.indptr.tolist()
    return [names[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
