"""Balanced spherical k-means by recursive 2-means, vectorised over a level.

Every node of a level is split at once (AttentionXML / Parabel's balanced
2-means, level-synchronous): labels are kept sorted by node so each node is a
contiguous segment; the two centroids of each segment are L2-normalised sums,
a label goes to the side its cosine favours and the split is balanced by
ranking within the segment. Cost per iteration is O(L x d); memory is
O(L x d) for dense (L, d) label features.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["balanced_kmeans", "recursive_balanced_2means"]


def _segment_sums(X, seg, n_seg):
    """Row sums of X per segment id, L2-normalised: (n_seg, d)."""
    out = np.zeros((n_seg, X.shape[1]), dtype=np.float64)
    _add_sorted(out, seg, X)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12)


def _add_sorted(out, seg, X):
    """out[g] += sum of the rows of X in segment g (reduceat on a stable sort)."""
    order = np.argsort(seg, kind="stable")
    s = seg[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    out[s[starts]] = np.add.reduceat(X[order], starts, axis=0)


def _split_level(X, seg, n_seg, k, rng, n_iter):
    """One balanced 2-means split of every segment; returns side (L,) in {0, 1}.

    ``seg`` (L,) segment of each label, ``k`` (n_seg,) clusters wanted below
    each segment: the left side gets ceil(k/2)/k of the labels. Segments with
    k <= 1 are not split (side 0).
    """
    L = len(seg)
    sizes = np.bincount(seg, minlength=n_seg)
    n_left = np.rint(sizes * np.ceil(k / 2) / np.maximum(k, 1)).astype(np.int64)
    n_left = np.where(k > 1, np.clip(n_left, 1, np.maximum(sizes - 1, 1)), sizes)
    order0 = np.argsort(seg, kind="stable")  # labels grouped by segment
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    # two distinct random seed labels per segment
    a = (rng.random_sample(n_seg) * sizes).astype(np.int64)
    b = (a + 1 + (rng.random_sample(n_seg) * np.maximum(sizes - 1, 1)).astype(np.int64))
    b = b % np.maximum(sizes, 1)
    c0 = X[order0[np.minimum(starts + a, L - 1)]].astype(np.float64)
    c1 = X[order0[np.minimum(starts + b, L - 1)]].astype(np.float64)
    side = np.zeros(L, dtype=np.int64)
    for _ in range(n_iter):
        diff = (c0 - c1)[seg]  # (L, d)
        score = np.einsum("ld,ld->l", X, diff)  # cosine to c0 minus cosine to c1
        order = np.lexsort((-score, seg))  # by segment, then most c0-like first
        rank = np.empty(L, dtype=np.int64)
        rank[order] = np.arange(L) - starts[seg[order]]
        new_side = (rank >= n_left[seg]).astype(np.int64)
        if np.array_equal(new_side, side) and _ > 0:
            break
        side = new_side
        both = _segment_sums(X, seg * 2 + side, 2 * n_seg)
        c0, c1 = both[0::2], both[1::2]
    return side


def recursive_balanced_2means(X, n_clusters, *, n_iter=10, random_state=None):
    """Cluster the rows of ``X`` into ``n_clusters`` balanced groups.

    Parameters
    ----------
    X : ndarray of shape (n_labels, d)
        Dense label features (L2-normalised rows, e.g. reduced PIFA).
    n_clusters : int
        1 <= n_clusters <= n_labels. Group sizes differ by at most a few labels.
    n_iter : int, default=10
        2-means iterations per level.
    random_state : int, RandomState or None

    Returns
    -------
    codes : ndarray of int64, shape (n_labels,)
        Binary path code of each label's group (depth ``ceil(log2(n_clusters))``):
        with ``n_clusters`` a power of two, ``codes >> s`` is the ancestor
        group ``s`` levels up.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    L = X.shape[0]
    if not 1 <= n_clusters <= max(L, 1):
        raise ValueError(f"n_clusters must be in [1, {L}], got {n_clusters}.")
    rng = check_random_state(random_state)
    depth = int(np.ceil(np.log2(n_clusters))) if n_clusters > 1 else 0
    seg = np.zeros(L, dtype=np.int64)
    k = np.array([n_clusters], dtype=np.int64)
    for _ in range(depth):
        side = _split_level(X, seg, len(k), k, rng, n_iter)
        seg = seg * 2 + side
        k = np.stack([np.ceil(k / 2), np.floor(k / 2)], axis=1).astype(np.int64).ravel()
    return seg


def balanced_kmeans(X, n_clusters, *, n_iter=10, random_state=None):
    """Balanced clusters of the rows of ``X``: (n_labels,) ids in [0, n_clusters)."""
    codes = recursive_balanced_2means(X, n_clusters, n_iter=n_iter, random_state=random_state)
    return np.unique(codes, return_inverse=True)[1].astype(np.int64)
