"""Label hierarchies (trees or DAGs) over label names: validation and expansion."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import scipy.sparse as sp

from ._binarizer import check_label_matrix
from ._hierarchy_index import HierarchyIndex, _check_classes, _reach_up
from ._hierarchy_spec import ROOT, _parse_spec, _sorted, _topological_depths

__all__ = ["ROOT", "LabelHierarchy", "check_hierarchy"]


class LabelHierarchy:
    """A label hierarchy: a tree or a DAG over label names.

    Parameters
    ----------
    spec : dict, iterable of pairs, str, path-like or LabelHierarchy
        - dict ``child -> parent`` or ``child -> iterable of parents`` (DAG);
          a parent ``None`` or ``"ROOT"`` (or an empty list) marks a top-level node;
        - iterable of ``(parent, child)`` pairs;
        - path to a ``parent<TAB>child`` UTF-8 file whose top-level parent is
          ``ROOT`` (the format of ``shared/data/*/hierarchy.tsv``);
        - another ``LabelHierarchy`` (copied).

        ``ROOT`` is the virtual root, never a node. A node that only appears as
        a parent is a top-level node. The graph is validated on construction.

    Attributes
    ----------
    spec : object
        The specification as given (an iterator is stored as a list).

    Raises
    ------
    ValueError
        On a cycle (the message names a node on it), a self-loop, or a
        malformed file line (the message gives ``file:line``).

    Notes
    -----
    In a DAG a node can have several parents; :meth:`depth` is then the length
    of the *longest* path from ``ROOT`` (so every parent is shallower than its
    children) and :meth:`ancestors` is the union over all paths. The hierarchy
    is used by HXMC methods such as G-HXMC (generation mode for hierarchical XMTC) and TReaderXML (Wang et al., "Exploiting Dynamic and Fine-grained Semantic Scope for Extreme Multi-label Text Classification");
    estimators work on :meth:`index_view` (integer node indices, sparse matrices).

    Examples
    --------
    >>> from sklearn_xmtc.labels import LabelHierarchy
    >>> h = LabelHierarchy({"cat": "animal", "dog": "animal", "animal": None})
    >>> h.parents("cat"), sorted(h.ancestors("cat")), h.depth("cat")
    (['animal'], ['animal'], 2)
    >>> import numpy as np
    >>> Y, classes = h.expand(np.array([[1, 0]]), ["cat", "dog"])
    >>> Y.toarray().tolist(), classes.tolist()
    ([[1.0, 0.0, 1.0]], ['cat', 'dog', 'animal'])
    """

    def __init__(self, spec):
        if isinstance(spec, Iterator):
            spec = list(spec)
        self.spec = spec
        parents = ({node: list(ps) for node, ps in spec._parents.items()}
                   if isinstance(spec, LabelHierarchy) else _parse_spec(spec))
        depth = _topological_depths(parents)
        nodes = _sorted(parents)
        self._index = {node: i for i, node in enumerate(nodes)}
        self._parents = {node: tuple(parents[node]) for node in nodes}
        self._children = {node: [] for node in nodes}
        for node in nodes:
            for p in self._parents[node]:
                self._children[p].append(node)
        self._depth = {node: depth[node] for node in nodes}

    # ------------------------------------------------------------------ queries
    @property
    def nodes(self):
        """All node names (sorted; ``ROOT`` excluded)."""
        return list(self._parents)

    def _check(self, label):
        if label not in self:
            raise KeyError(f"{label!r} is not a node of the label hierarchy.")

    def parents(self, label):
        """Direct parents of ``label`` (``[]`` for a top-level node)."""
        self._check(label)
        return list(self._parents[label])

    def children(self, label):
        """Direct children of ``label``; ``children("ROOT")`` is :meth:`roots`."""
        if isinstance(label, str) and label == ROOT:
            return self.roots()
        self._check(label)
        return list(self._children[label])

    def ancestors(self, label):
        """Set of all (transitive) ancestors of ``label``, ``ROOT`` excluded."""
        self._check(label)
        seen, stack = set(), list(self._parents[label])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self._parents[node])
        return seen

    def depth(self, label):
        """Depth of ``label``: 1 at top level; longest path from ``ROOT`` in a DAG."""
        self._check(label)
        return self._depth[label]

    def levels(self):
        """Dict ``depth -> list of nodes`` (ascending depth, sorted nodes)."""
        out = {}
        for node, d in self._depth.items():
            out.setdefault(d, []).append(node)
        return dict(sorted(out.items()))

    def roots(self):
        """Top-level nodes (children of ``ROOT``)."""
        return [node for node, ps in self._parents.items() if not ps]

    def leaves(self):
        """Nodes without children."""
        return [node for node, cs in self._children.items() if not cs]

    def edges(self):
        """List of ``(parent, child)`` pairs, with ``ROOT`` for top-level nodes."""
        return [(p, node) for node, ps in self._parents.items() for p in (ps or (ROOT,))]

    def relabel(self, mapping):
        """The same hierarchy with the nodes of ``mapping`` renamed (the others kept).

        E.g. a dataset's column names to the column indices that an estimator
        fitted on the label matrix has as ``classes_``.

        >>> h = LabelHierarchy({"cat": "animal", "dog": "animal"})
        >>> h.relabel({"cat": 0, "dog": 1}).parents(0)
        ['animal']
        """
        new = {node: mapping.get(node, node) for node in self._parents}
        if len(set(new.values())) != len(new):
            raise ValueError("relabel: the new names collide with each other or with the "
                             "nodes that keep their names.")
        return LabelHierarchy({new[node]: [new[p] for p in ps]
                               for node, ps in self._parents.items()})

    def validate_labels(self, classes, *, name="classes"):
        """Raise ValueError if labels of ``classes`` are not hierarchy nodes.

        Nodes that are not in ``classes`` are fine (internal nodes).
        """
        missing = [c for c in np.asarray(classes, dtype=object).tolist() if c not in self]
        if missing:
            raise ValueError(
                f"{len(missing)} label(s) of {name} are not in the label hierarchy, "
                f"e.g. {missing[:5]!r}."
            )

    # --------------------------------------------------------------- matrices
    def _class_list(self, classes):
        classes, names = _check_classes(classes)
        self.validate_labels(names)
        return classes, names

    def _parent_matrix(self):
        """CSR (n x n) 0/1 in :attr:`nodes` order: row i = the parents of node i."""
        n_nodes = len(self._index)
        child = [self._index[c] for c, ps in self._parents.items() for _ in ps]
        parent = [self._index[p] for ps in self._parents.values() for p in ps]
        return sp.csr_matrix((np.ones(len(child)), (child, parent)), shape=(n_nodes, n_nodes))

    def _ancestor_matrix(self, classes):
        classes, names = self._class_list(classes)
        n_nodes, rows = len(self._index), [self._index[c] for c in names]
        start = sp.csr_matrix(
            (np.ones(len(rows)), (np.arange(len(rows)), rows)), shape=(len(rows), n_nodes)
        )
        acc = _reach_up(start, self._parent_matrix())
        used = set(np.unique(acc.indices).tolist()) - set(rows)
        nodes = self.nodes
        extra = _sorted(nodes[j] for j in used)
        cols = rows + [self._index[e] for e in extra]
        A = sp.csr_matrix(acc[:, cols], dtype=np.float32)
        A.data[:] = 1.0
        A.sort_indices()
        all_int = classes.dtype.kind in "iu" and all(isinstance(e, int) for e in extra)
        expanded = np.asarray(names + extra, dtype=np.int64 if all_int else object)
        return A, expanded

    def ancestor_matrix(self, classes, *, return_classes=False):
        """Sparse ancestor-or-self indicator of ``classes``.

        Parameters
        ----------
        classes : array-like of shape (L,)
            Labels (all must be nodes).
        return_classes : bool, default=False
            Also return the column labels.

        Returns
        -------
        A : scipy.sparse.csr_matrix of float32, shape (L, L')
            ``A[i, j] = 1`` when column label ``j`` is ``classes[i]`` or one of
            its ancestors. Columns: ``classes`` then the ancestors not in
            ``classes`` (sorted).
        expanded_classes : ndarray of shape (L',)
            Only when ``return_classes=True``.
        """
        A, expanded = self._ancestor_matrix(classes)
        return (A, expanded) if return_classes else A

    def expand(self, Y, classes):
        """Add every ancestor of each positive label as a positive.

        Parameters
        ----------
        Y : sparse matrix, dense 0/1 array or label lists, shape (n_samples, L)
            Labels; columns follow ``classes``.
        classes : array-like of shape (L,)
            Column labels of ``Y`` (all must be nodes).

        Returns
        -------
        Y_expanded : scipy.sparse.csr_matrix of float32, shape (n_samples, L')
            ``binarise(Y @ A)`` with ``A`` from :meth:`ancestor_matrix`; the
            first ``L`` columns are ``Y``'s own (plus inherited positives).
        expanded_classes : ndarray of shape (L',)
            ``classes`` followed by the ancestors not in ``classes`` (sorted).
        """
        A, expanded = self._ancestor_matrix(classes)
        Y_csr, _ = check_label_matrix(Y, classes=np.asarray(classes), name="Y")
        Y_exp = sp.csr_matrix(Y_csr @ A, dtype=np.float32)
        Y_exp.data[:] = 1.0
        Y_exp.sort_indices()
        return Y_exp, expanded

    def index_view(self, classes, *, unknown="top"):
        """Label-index view for an estimator: columns first, then internal nodes.

        Parameters
        ----------
        classes : array-like of shape (L,)
            Column labels, e.g. an estimator's ``classes_`` (distinct).
        unknown : {"top", "raise"}, default="top"
            A class that is not a node becomes a top-level node, or raises.

        Returns
        -------
        view : HierarchyIndex
            Nodes ``0..L-1`` are ``classes``; ``L..`` the other hierarchy nodes,
            sorted by level then name. See :class:`HierarchyIndex`.

        Examples
        --------
        >>> from sklearn_xmtc.labels import LabelHierarchy
        >>> view = LabelHierarchy({"b": "a", "c": "a"}).index_view(["c", "b"])
        >>> view.node_names.tolist(), view.parents[:2].indices.tolist()
        (['c', 'b', 'a'], [2, 2])
        """
        return HierarchyIndex(self, classes, unknown=unknown)

    def parent_index(self, classes):
        """Column of each class's parent in ``classes`` (tree only), or -1.

        When the direct parent is not in ``classes`` its nearest ancestor that
        is gives the column (use :meth:`expand` to close ``classes``); -1 marks
        a top-level label or one without any ancestor in ``classes``.

        Returns
        -------
        parent : ndarray of int64, shape (L,)

        Raises
        ------
        ValueError
            If a class or one of its ancestors has several parents (a DAG).
        """
        _, names = self._class_list(classes)
        col = {c: j for j, c in enumerate(names)}
        out = np.full(len(names), -1, dtype=np.int64)
        for j, node in enumerate(names):
            while True:
                ps = self._parents[node]
                if len(ps) > 1:
                    raise ValueError(
                        f"parent_index needs a tree, but {node!r} has {len(ps)} parents."
                    )
                if not ps:
                    break
                node = ps[0]
                if node in col:
                    out[j] = col[node]
                    break
        return out

    # ------------------------------------------------------------ protocols
    def __contains__(self, label):
        try:
            return label in self._index
        except TypeError:  # unhashable
            return False

    def __len__(self):
        return len(self._index)

    def __iter__(self):
        return iter(self.nodes)

    def __eq__(self, other):
        if not isinstance(other, LabelHierarchy):
            return NotImplemented
        return {k: set(v) for k, v in self._parents.items()} == {
            k: set(v) for k, v in other._parents.items()
        }

    __hash__ = None

    def __repr__(self):
        max_depth = max(self._depth.values(), default=0)
        return (
            f"LabelHierarchy(n_nodes={len(self)}, n_roots={len(self.roots())}, "
            f"max_depth={max_depth})"
        )


def check_hierarchy(hierarchy):
    """Turn an estimator's ``hierarchy`` parameter into a LabelHierarchy or None.

    Parameters
    ----------
    hierarchy : None, dict, iterable of pairs, str, path-like or LabelHierarchy
        See :class:`LabelHierarchy`; a LabelHierarchy is returned unchanged.

    Returns
    -------
    hierarchy : LabelHierarchy or None

    Raises
    ------
    TypeError
        For any other type.

    Examples
    --------
    >>> from sklearn_xmtc.labels import check_hierarchy
    >>> check_hierarchy(None) is None
    True
    >>> check_hierarchy([("ROOT", "a"), ("a", "b")]).parents("b")
    ['a']
    """
    if hierarchy is None or isinstance(hierarchy, LabelHierarchy):
        return hierarchy
    if isinstance(hierarchy, (str, os.PathLike, Mapping)) or (
        isinstance(hierarchy, Iterable) and not isinstance(hierarchy, bytes)
    ):
        return LabelHierarchy(hierarchy)
    raise TypeError(
        "hierarchy must be None, a dict child -> parent(s), an iterable of (parent, "
        "child) pairs, a path to a 'parent<TAB>child' file or a LabelHierarchy, got "
        f"{type(hierarchy).__name__}."
    )
