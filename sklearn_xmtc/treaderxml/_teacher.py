"""Teacher label sets of TReaderXML (Wang et al., section 3.2 and Algorithm 1)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["carried_nodes", "teacher_sets"]


def carried_nodes(Y, parents=None):
    """(n, n_nodes) 0/1 CSR: each training text's labels and, with a hierarchy, each
    label's parents (Algorithm 1's additions for one neighbour).

    Parameters
    ----------
    Y : sparse matrix (n, L)
        Training labels (columns of ``classes_``).
    parents : sparse matrix (n_nodes, n_nodes) or None
        A :class:`~sklearn_xmtc.labels.HierarchyIndex`'s ``parents`` (columns
        first, then internal nodes); None: no hierarchy, the labels alone.
    """
    Y = sp.csr_matrix(Y, dtype=np.float32)
    if parents is None:
        return Y
    n_nodes = parents.shape[0]
    own = sp.hstack([Y, sp.csr_matrix((Y.shape[0], n_nodes - Y.shape[1]))], format="csr")
    carried = own + Y @ sp.csr_matrix(parents)[: Y.shape[1]]
    carried.data[:] = 1.0
    carried.eliminate_zeros()
    return carried.tocsr()


def teacher_sets(neighbors, carried, max_labels):
    """Teacher tokens of each text from the nodes its neighbours carry.

    A node's count is the number of neighbours that carry it; the set is ordered by
    decreasing count (ties to the lower node index) and truncated to ``max_labels``.

    Parameters
    ----------
    neighbors : ndarray of int64, shape (n, k)
        Training-row indices of each text's neighbours (-1 = none).
    carried : sparse matrix (n_train, n_nodes)
        :func:`carried_nodes` of the training texts.
    max_labels : int

    Returns
    -------
    tokens : ndarray of int64, shape (n, max_labels)
        Node index + 1 (0 = padding), best first.
    """
    n, k = neighbors.shape
    rows = np.repeat(np.arange(n), k)
    cols = neighbors.ravel()
    keep = cols >= 0
    S = sp.csr_matrix((np.ones(keep.sum(), np.float32), (rows[keep], cols[keep])),
                      shape=(n, carried.shape[0]))
    counts = (S @ carried).tocsr()  # (n, n_nodes): neighbours carrying each node
    counts.sort_indices()
    tokens = np.zeros((n, int(max_labels)), dtype=np.int64)
    if counts.nnz == 0 or max_labels == 0:
        return tokens
    owner = np.repeat(np.arange(n), np.diff(counts.indptr))
    # by text, then count descending, then node index ascending
    order = np.lexsort((counts.indices, -counts.data, owner))
    rank = np.arange(counts.nnz) - counts.indptr[owner[order]]
    take = rank < max_labels
    tokens[owner[order][take], rank[take]] = counts.indices[order][take] + 1
    return tokens
