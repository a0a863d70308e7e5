"""Label-index views of a label hierarchy for estimators: the hierarchy's nodes
numbered with the columns of the training y first, then the internal nodes."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from ._binarizer import check_label_matrix

__all__ = ["HierarchyIndex"]

_UNKNOWN = ("top", "raise")


def _check_classes(classes):
    """``classes`` as a 1-D array and a list of distinct labels; ValueError otherwise."""
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(f"classes must be 1-D, got shape {classes.shape}.")
    names = classes.tolist()
    if len(set(names)) != len(names):
        seen, dup = set(), []
        for c in names:
            if c in seen and c not in dup:
                dup.append(c)
            seen.add(c)
        raise ValueError(f"classes holds duplicated labels, e.g. {dup[:5]!r}.")
    return classes, names


def _reach_up(start, parents):
    """Rows of ``start`` OR-ed with every node reachable from them along ``parents``.

    ``start`` (k x n) and ``parents`` (n x n, row i = parents of node i) are 0/1
    CSR matrices; the graph is acyclic, so this takes at most max-depth steps.
    Returns a canonical 0/1 float32 CSR matrix (k x n).
    """
    acc = frontier = sp.csr_matrix(start)
    while frontier.nnz:  # one step up per iteration
        frontier = sp.csr_matrix(frontier @ parents)
        frontier.data[:] = 1.0
        acc = acc + frontier
    acc = sp.csr_matrix(acc, dtype=np.float32)
    acc.data[:] = 1.0
    acc.sort_indices()
    return acc


def _object_array(items):
    """1-D object array of ``items`` (tuples stay elements, never become a 2-D array)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _build(hierarchy, classes, names):
    """Compute the arrays of a :class:`HierarchyIndex` (see its docstring)."""
    n_columns, column_set = len(names), set(names)
    if n_columns and len(hierarchy.nodes) and column_set.isdisjoint(hierarchy.nodes):
        warnings.warn(
            f"the hierarchy names none of the {n_columns} columns of classes "
            f"(e.g. {names[:3]!r}; its nodes are e.g. {list(hierarchy.nodes)[:3]!r}): every "
            "column becomes a top-level label and every node an internal one. A model "
            "fitted on a label matrix has classes_ = 0..L-1: relabel the hierarchy "
            "(LabelHierarchy.relabel) or fit on label lists.", UserWarning, stacklevel=4)
    levels = hierarchy.levels()  # depth (1 at top) -> sorted nodes
    internal = [node for nodes in levels.values() for node in nodes if node not in column_set]
    node_names = _object_array(names + internal)
    view_of = {node: i for i, node in enumerate(node_names.tolist())}
    n_nodes = len(node_names)
    level = np.zeros(n_nodes, dtype=np.int64)  # columns outside the hierarchy stay 0
    for depth, nodes in levels.items():
        level[[view_of[node] for node in nodes]] = depth - 1
    pos = np.array([view_of[node] for node in hierarchy.nodes], dtype=np.int64)
    P_h = hierarchy._parent_matrix().tocoo()
    parents = sp.csr_matrix(
        (np.ones(P_h.nnz, dtype=np.float32), (pos[P_h.row], pos[P_h.col])),
        shape=(n_nodes, n_nodes),
    )
    parents.sort_indices()
    ancestors = _reach_up(parents, parents)
    closure = sp.csr_matrix(sp.eye(n_columns, n_nodes, dtype=np.float32, format="csr")
                            + ancestors[:n_columns])
    closure.sort_indices()
    order = np.argsort(level, kind="stable")
    n_levels = int(level.max()) + 1 if n_nodes else 0
    is_column = np.zeros(n_nodes, dtype=bool)
    is_column[:n_columns] = True
    unknown = [j for j, c in enumerate(names) if c not in hierarchy]
    return {
        "classes": classes.copy(), "node_names": node_names,
        "n_columns": n_columns, "n_internal": len(internal), "n_nodes": n_nodes,
        "parents": parents, "children": sp.csr_matrix(parents.T), "ancestors": ancestors,
        "level": level, "is_column": is_column,
        "unknown_columns": np.asarray(unknown, dtype=np.int64),
        "_level_order": order.astype(np.int64),
        "_level_ptr": np.searchsorted(level[order], np.arange(n_levels + 1)).astype(np.int64),
        "_closure": closure,
    }


def _freeze(value):
    """Make the arrays of ``value`` (ndarray or sparse matrix) read-only."""
    if sp.issparse(value):
        value.sort_indices()  # sets the canonical flags before the arrays freeze
        for arr in (value.data, value.indices, value.indptr):
            arr.flags.writeable = False
    elif isinstance(value, np.ndarray):
        value.flags.writeable = False
    return value


class HierarchyIndex:
    """Immutable label-index view of a :class:`LabelHierarchy` for an estimator.

    An estimator's ``classes_`` stay the columns of the training y. Hierarchy
    nodes that are not columns are *internal* nodes (e.g. ICD-10 categories
    never assigned themselves): an estimator may use them as tokens (teacher
    tokens in TReaderXML; decoder vocabulary in G-HXMC)
    but predicts columns only. The view numbers all nodes:

    - ``0 .. L-1``: the columns, in ``classes`` order;
    - ``L .. L+I-1``: the internal nodes, sorted by level, then by name.

    Parameters
    ----------
    hierarchy : LabelHierarchy or anything :func:`check_hierarchy` accepts
        The label hierarchy (not None).
    classes : array-like of shape (L,)
        Column labels (distinct), e.g. an estimator's ``classes_``.
    unknown : {"top", "raise"}, default="top"
        A column that is not a hierarchy node: ``"top"`` makes it a top-level
        node (level 0, no parents, no children; listed in ``unknown_columns``),
        so a partial hierarchy still works; ``"raise"`` raises ValueError
        naming a few of them.

    Attributes
    ----------
    classes : ndarray of shape (L,)
        A copy of ``classes``.
    node_names : ndarray of object, shape (n_nodes,)
        Name of every node index; ``internal_nodes`` is ``node_names[L:]``.
    n_columns, n_internal, n_nodes : int
        ``L``, ``I`` and ``L + I``.
    parents : scipy.sparse.csr_matrix of float32, shape (n_nodes, n_nodes)
        0/1; row ``i`` holds the parents of node ``i`` (several in a DAG).
        ``ROOT`` is not a node: top-level nodes have empty rows.
    children : scipy.sparse.csr_matrix of float32, shape (n_nodes, n_nodes)
        ``parents.T``: row ``i`` holds the children of node ``i``.
    ancestors : scipy.sparse.csr_matrix of float32, shape (n_nodes, n_nodes)
        Transitive closure of ``parents``; a node is *not* its own ancestor.
    level : ndarray of int64, shape (n_nodes,)
        0 for top-level nodes. In a DAG: the longest path from ``ROOT`` minus 1
        (``LabelHierarchy.depth - 1``), so every parent is on a lower level
        than each of its children.
    is_column : ndarray of bool, shape (n_nodes,)
        True for the first ``L`` nodes.
    unknown_columns : ndarray of int64
        Columns that are not hierarchy nodes (empty with ``unknown="raise"``).

    Notes
    -----
    All arrays are read-only and every query is vectorised (no per-query
    dicts): e.g. the parent tokens of kNN teacher labels ``Y_knn`` (CSR,
    n x L) are ``Y_knn @ view.parents[:L]``. Indices within a level
    (:meth:`nodes_at_level`) are ascending: columns first.

    Examples
    --------
    >>> from sklearn_xmtc.labels import LabelHierarchy
    >>> h = LabelHierarchy({"cat": "mammal", "dog": "mammal", "mammal": "animal",
    ...                     "bird": "animal"})
    >>> view = h.index_view(["dog", "cat", "bird", "fish"])  # fish: not in h
    >>> view.node_names.tolist()
    ['dog', 'cat', 'bird', 'fish', 'animal', 'mammal']
    >>> view.n_columns, view.n_internal, view.level.tolist()
    (4, 2, [2, 2, 1, 0, 0, 1])
    >>> view.parents[0].indices.tolist(), view.ancestors[0].indices.tolist()
    ([5], [4, 5])
    >>> view.nodes_at_level(1).tolist()
    [2, 5]
    >>> view.expand_to_ancestors([["cat"], ["fish"]]).toarray().tolist()
    [[0.0, 1.0, 0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]]
    >>> view.columns_only([5, 1, 4, 3]).tolist()
    [1, 3]
    """

    __slots__ = ("classes", "node_names", "n_columns", "n_internal", "n_nodes",
                 "parents", "children", "ancestors", "level", "is_column",
                 "unknown_columns", "_level_order", "_level_ptr", "_closure")

    def __init__(self, hierarchy, classes, *, unknown="top"):
        from ._hierarchy import check_hierarchy  # _hierarchy imports this module

        h = check_hierarchy(hierarchy)
        if h is None:
            raise ValueError("HierarchyIndex needs a hierarchy, got None.")
        if not isinstance(unknown, str) or unknown not in _UNKNOWN:
            raise ValueError(f"unknown must be one of {_UNKNOWN}, got {unknown!r}.")
        classes, names = _check_classes(classes)
        if unknown == "raise":
            h.validate_labels(names)
        self.__setstate__(_build(h, classes, names))

    def __setattr__(self, name, value):
        raise AttributeError(f"HierarchyIndex is immutable; cannot set {name!r}.")

    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state):
        for name in self.__slots__:
            object.__setattr__(self, name, _freeze(state[name]))

    @property
    def internal_nodes(self):
        """Names of the internal nodes (object array, node indices ``L..``)."""
        return self.node_names[self.n_columns:]

    @property
    def n_levels(self):
        """Number of levels (``level.max() + 1``; 0 for an empty view)."""
        return len(self._level_ptr) - 1

    def nodes_at_level(self, level):
        """Node indices at ``level`` (ascending int64, read-only; empty past the last).

        Raises ValueError for a negative level.
        """
        level = int(level)
        if level < 0:
            raise ValueError(f"level must be >= 0, got {level}.")
        if level >= self.n_levels:
            return self._level_order[:0]
        return self._level_order[self._level_ptr[level]:self._level_ptr[level + 1]]

    def expand_to_ancestors(self, Y):
        """Add every ancestor node of each positive column.

        Parameters
        ----------
        Y : sparse matrix, dense 0/1 array or label lists, shape (n_samples, L)
            Labels over ``classes``.

        Returns
        -------
        Y_nodes : scipy.sparse.csr_matrix of float32, shape (n_samples, n_nodes)
            The first ``L`` columns are ``Y`` plus inherited positives (a column
            that is an ancestor of a positive column); the others mark the
            internal ancestors.
        """
        Y_csr, _ = check_label_matrix(Y, classes=self.classes, name="Y")
        out = sp.csr_matrix(Y_csr @ self._closure, dtype=np.float32)
        out.data[:] = 1.0
        out.sort_indices()
        return out

    def columns_only(self, node_indices):
        """Keep the column indices (``< L``) of a 1-D array of node indices, in order.

        Raises ValueError for a non-integer, non-1-D or out-of-range input.
        """
        idx = np.asarray(node_indices)
        if idx.ndim == 1 and idx.size == 0:
            return np.zeros(0, dtype=np.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise ValueError(
                f"node_indices must be a 1-D integer array, got dtype {idx.dtype} "
                f"and shape {idx.shape}."
            )
        if idx.min() < 0 or idx.max() >= self.n_nodes:
            raise ValueError(f"node_indices must lie in [0, {self.n_nodes}).")
        return idx[idx < self.n_columns].astype(np.int64, copy=False)

    def __repr__(self):
        return (f"HierarchyIndex(n_columns={self.n_columns}, n_internal={self.n_internal}, "
                f"n_levels={self.n_levels})")
