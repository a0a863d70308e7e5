"""Shallow-wide label trees (AttentionXML; Algorithm 1 of Zhu, Teng and Huang, "LightAttention").

A deep balanced binary tree T0 is built by recursive balanced 2-means on PIFA
label features until every leaf cluster holds at most ``cluster_size``
labels; the shallow-wide tree keeps every c-th level of T0 above the
clusters (K = 2^c children per node), ``tree_height`` levels in all, the
last one being the labels themselves.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._clustering import recursive_balanced_2means

__all__ = ["LabelTree", "build_label_tree", "children_table"]


def children_table(parent, n_parents):
    """(n_parents, K_max) int64 child indices of each parent, padded with -1."""
    parent = np.asarray(parent, dtype=np.int64)
    counts = np.bincount(parent, minlength=n_parents)
    width = max(int(counts.max(initial=0)), 1)
    order = np.argsort(parent, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    pos = np.arange(len(parent)) - starts[parent[order]]
    table = np.full((n_parents, width), -1, dtype=np.int64)
    table[parent[order], pos] = order
    return table


class LabelTree:
    """A label tree stored level by level (level 1 below the root, last = labels).

    Parameters
    ----------
    node_of_label : list of ndarray of int64, each of shape (n_labels,)
        For each level ``d`` (0-based here, level ``d + 1`` in the papers),
        the index of the node of that level above each label; the last array
        is ``arange(n_labels)``.

    Attributes
    ----------
    height : int
        Number of levels (1 = flat, no internal node).
    n_nodes : list of int
        Nodes per level.
    parents : list of ndarray
        ``parents[d]`` (n_nodes[d],) the level ``d - 1`` parent of each level
        ``d`` node (``parents[0]`` is all zero: the root).
    children : list of ndarray
        ``children[d]`` (n_nodes[d], K_max) level ``d + 1`` children padded
        with -1, for ``d < height - 1``.
    """

    def __init__(self, node_of_label):
        self.node_of_label = [np.asarray(a, dtype=np.int64) for a in node_of_label]
        self.n_labels = len(self.node_of_label[-1])
        self.height = len(self.node_of_label)
        self.n_nodes = [int(a.max(initial=-1)) + 1 for a in self.node_of_label]
        self.parents = [np.zeros(self.n_nodes[0], dtype=np.int64)]
        for d in range(1, self.height):
            par = np.zeros(self.n_nodes[d], dtype=np.int64)
            par[self.node_of_label[d]] = self.node_of_label[d - 1]
            self.parents.append(par)
        self.children = [children_table(self.parents[d + 1], self.n_nodes[d])
                         for d in range(self.height - 1)]

    def level_targets(self, Y, level):
        """CSR 0/1 (n_samples, n_nodes[level]): the nodes above each positive."""
        Y = sp.csr_matrix(Y)
        cols = self.node_of_label[level][Y.indices]
        out = sp.csr_matrix((np.ones(len(cols), np.float32), cols, Y.indptr.copy()),
                            shape=(Y.shape[0], self.n_nodes[level]))
        out.sum_duplicates()
        out.data[:] = 1.0
        return out

    def __repr__(self):
        return f"LabelTree(height={self.height}, n_nodes={self.n_nodes})"


def build_label_tree(features, *, cluster_size=8, tree_height=3, branching=8, n_iter=10,
                     random_state=None):
    """Shallow-wide label tree from dense label features (Algorithm 1 of Zhu, Teng and Huang).

    Parameters
    ----------
    features : ndarray of shape (n_labels, d)
        Dense label features (e.g. :func:`~sklearn_xmtc.labels.tfidf_label_features`).
    cluster_size : int, default=8
        M: most labels under one bottom cluster of the deep tree T0.
    tree_height : int, default=3
        H: levels of the shallow-wide tree, labels included (fewer when the
        label set is too small to fill them).
    branching : int, default=8
        K = 2^c children per internal node below level 1 (a power of two);
        level 1 (the root's children) takes whatever width is left.
    n_iter : int, default=10
        2-means iterations per split.
    random_state : int, RandomState or None
        Same seed and features give the same tree.

    Returns
    -------
    LabelTree
    """
    if branching < 2 or branching & (branching - 1):
        raise ValueError(f"branching must be a power of two >= 2, got {branching}.")
    if cluster_size < 1 or tree_height < 1:
        raise ValueError("cluster_size and tree_height must be >= 1, got "
                         f"{cluster_size} and {tree_height}.")
    L = len(features)
    depth = int(np.ceil(np.log2(L / cluster_size))) if L > cluster_size else 0
    if tree_height == 1 or depth == 0:
        return LabelTree([np.arange(L)])
    c = int(np.log2(branching))
    codes = recursive_balanced_2means(features, 2 ** depth, n_iter=n_iter,
                                      random_state=random_state)  # depth-bit codes
    kept = [depth - i * c for i in range(tree_height - 1)]  # c-th ancestors (Alg. 1)
    kept = sorted(d for d in kept if d > 0)
    levels = [codes >> (depth - d) for d in kept] + [np.arange(L)]
    return LabelTree(levels)
