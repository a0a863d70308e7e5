"""Exact cosine nearest neighbours by batched matrix products.

Memory is O(batch_size x n_reference) for the similarity block of one batch of
queries, never n x n. Rows are L2-normalised here (a zero row has similarity 0
with everything). In ``fit``, a text must not retrieve itself or an exact
duplicate of itself: ``exclude`` gives each query and each reference row a
group id, and a query never retrieves a reference row of its own group.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

__all__ = ["cosine_topk", "duplicate_groups"]


def duplicate_groups(texts):
    """(n,) int64 group id per text: equal ids for exactly equal strings."""
    _, inverse = np.unique(np.asarray(list(texts), dtype=object).astype(str), return_inverse=True)
    return inverse.astype(np.int64).ravel()


def cosine_topk(queries, reference, k, *, query_groups=None, reference_groups=None,
                batch_size=1024):
    """The ``k`` most cosine-similar reference rows of each query row.

    Parameters
    ----------
    queries : sparse matrix or ndarray, shape (n_queries, d)
    reference : sparse matrix or ndarray, shape (n_reference, d)
    k : int
    query_groups, reference_groups : array of int or None
        When both are given, query ``i`` never retrieves a reference row ``j``
        with ``reference_groups[j] == query_groups[i]`` (leave-one-out over
        a text and its exact duplicates).
    batch_size : int, default=1024
        Queries per similarity block.

    Returns
    -------
    indices : ndarray of int64, shape (n_queries, k)
        Best first (equal similarities in the order of the reference rows; a
        tie at the ``k``-th place may keep either row); -1 where fewer than
        ``k`` rows are allowed.
    similarities : ndarray of float32, shape (n_queries, k)
        Cosine similarity of each (``-inf`` for -1).
    """
    if (query_groups is None) != (reference_groups is None):
        raise ValueError("query_groups and reference_groups go together.")
    Q = normalize(sp.csr_matrix(queries) if sp.issparse(queries) else np.asarray(queries))
    R = normalize(sp.csr_matrix(reference) if sp.issparse(reference) else np.asarray(reference))
    n, m = Q.shape[0], R.shape[0]
    k = int(k)
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_sim = np.full((n, k), -np.inf, dtype=np.float32)
    if m == 0 or k == 0:
        return out_idx, out_sim
    RT = R.T.tocsc() if sp.issparse(R) else R.T
    kk = min(k, m)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        block = Q[start:stop] @ RT
        S = np.asarray(block.toarray() if sp.issparse(block) else block, dtype=np.float64)
        if query_groups is not None:
            S[np.asarray(query_groups[start:stop])[:, None]
              == np.asarray(reference_groups)[None, :]] = -np.inf
        part = np.argpartition(-S, kk - 1, axis=1)[:, :kk] if kk < m else \
            np.broadcast_to(np.arange(m), (stop - start, m)).copy()
        vals = np.take_along_axis(S, part, 1)
        order = np.lexsort((part, -vals), axis=1)  # best first, ties to the lower index
        part, vals = np.take_along_axis(part, order, 1), np.take_along_axis(vals, order, 1)
        part[~np.isfinite(vals)] = -1
        out_idx[start:stop, :kk] = part
        out_sim[start:stop, :kk] = vals.astype(np.float32)
    return out_idx, out_sim
