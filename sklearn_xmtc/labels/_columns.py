"""Column-space helpers for label / score matrices."""

from __future__ import annotations

import numbers

import scipy.sparse as sp

__all__ = ["pad_columns"]


def pad_columns(M, n_columns):
    """Widen a sparse matrix to ``n_columns`` columns with empty columns on the right.

    Used to align a matrix over the training labels (e.g. predicted sets)
    with a test label matrix whose extra columns, after the training ones,
    are labels never seen in training.  The stored entries are not touched.

    Parameters
    ----------
    M : sparse matrix or array-like of shape (n_samples, n_known)
        Matrix to widen; converted to CSR.
    n_columns : int
        Number of columns of the result, ``>= n_known``.

    Returns
    -------
    M_padded : scipy.sparse.csr_matrix of shape (n_samples, n_columns)
        ``M`` itself (as CSR) when it already has ``n_columns`` columns;
        otherwise a CSR sharing ``M``'s data, indices and indptr arrays.

    Raises
    ------
    ValueError
        If ``n_columns`` is not an int or is smaller than ``M``'s column count.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sklearn_xmtc.labels import pad_columns
    >>> P = sp.csr_matrix([[1, 0], [0, 1]])
    >>> pad_columns(P, 3).toarray().tolist()
    [[1, 0, 0], [0, 1, 0]]
    """
    M = sp.csr_matrix(M)
    n_known = M.shape[1]
    if isinstance(n_columns, bool) or not isinstance(n_columns, numbers.Integral):
        raise ValueError(f"n_columns must be an int, got {n_columns!r}.")
    if n_columns < n_known:
        raise ValueError(
            f"Cannot pad a matrix with {n_known} columns to fewer columns ({n_columns})."
        )
    if n_columns == n_known:
        return M
    return sp.csr_matrix((M.data, M.indices, M.indptr), shape=(M.shape[0], int(n_columns)))
