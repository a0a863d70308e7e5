"""Parsing label hierarchy specifications: dicts, (parent, child) pairs and
hierarchy.tsv files, with cycle detection and node depths."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np

from ..utils._io import iter_text_lines

ROOT = "ROOT"
"""Name of the virtual root in hierarchy files; it is never a label."""

_MULTI = (list, tuple, set, frozenset, np.ndarray)


def _sorted(items):
    """Sort labels; mixed, unorderable types are sorted by (type name, str)."""
    items = list(items)
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda x: (type(x).__name__, str(x)))


def _add_edge(parents, parent, child):
    """Record ``parent -> child`` in ``parents`` (child -> list of parents)."""
    for node in (parent, child):
        try:
            hash(node)
        except TypeError:
            raise TypeError(f"Hierarchy labels must be hashable, got {node!r:.60}.") from None
    if child is None or isinstance(child, str) and child == ROOT:
        raise ValueError(f"{child!r} cannot be a child: it is the virtual root.")
    own = parents.setdefault(child, [])
    if parent is None or isinstance(parent, str) and parent == ROOT:
        return
    if parent == child:
        raise ValueError(f"Self-loop: {child!r} is its own parent (a cycle of length 1).")
    if parent not in own:
        own.append(parent)
    parents.setdefault(parent, [])


def _read_tsv(path):
    """Parse a ``parent<TAB>child`` file into child -> list of parents."""
    parents = {}
    for lineno, line in iter_text_lines(path):
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0] or not fields[1]:
            raise ValueError(
                f"{path}:{lineno}: expected 'parent<TAB>child' (two non-empty "
                f"tab-separated fields), got {line!r:.120}."
            )
        try:
            _add_edge(parents, fields[0], fields[1])
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from None
    return parents


def _parse_spec(spec):
    """A dict, pairs or a hierarchy.tsv path -> dict child -> list of parents."""
    if isinstance(spec, (str, os.PathLike)):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"Hierarchy file {os.fspath(spec)!r} does not exist.")
        return _read_tsv(spec)
    parents = {}
    if isinstance(spec, Mapping):
        for child, value in spec.items():
            values = list(value) if isinstance(value, _MULTI) else [value]
            if not values:
                _add_edge(parents, None, child)
            for parent in values:
                _add_edge(parents, parent, child)
        return parents
    if isinstance(spec, Iterable) and not isinstance(spec, bytes):
        for i, pair in enumerate(spec):
            if isinstance(pair, (str, bytes)) or not isinstance(pair, _MULTI) or len(pair) != 2:
                raise ValueError(
                    f"Hierarchy pair {i} must be a (parent, child) pair, got {pair!r:.60}."
                )
            _add_edge(parents, pair[0], pair[1])
        return parents
    raise TypeError(
        "hierarchy must be a dict child -> parent(s), an iterable of (parent, child) "
        "pairs, a path to a 'parent<TAB>child' file or a LabelHierarchy, got "
        f"{type(spec).__name__}."
    )


def _find_cycle(remaining, parents):
    """Return a list of nodes forming a cycle among ``remaining`` nodes."""
    node = next(iter(remaining))
    path, seen = [], {}
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(p for p in parents[node] if p in remaining)
    return path[seen[node]:] + [node]


def _topological_depths(parents):
    """Longest-path depth of every node (top level = 1); ValueError on a cycle."""
    n_waiting = {node: len(ps) for node, ps in parents.items()}
    children = {node: [] for node in parents}
    for node, ps in parents.items():
        for p in ps:
            children[p].append(node)
    depth = {node: 1 for node, k in n_waiting.items() if k == 0}
    queue = list(depth)
    while queue:
        node = queue.pop()
        for child in children[node]:
            depth[child] = max(depth.get(child, 0), depth[node] + 1)
            n_waiting[child] -= 1
            if n_waiting[child] == 0:
                queue.append(child)
    remaining = {node for node, k in n_waiting.items() if k > 0}
    if remaining:
        cycle = _find_cycle(remaining, parents)
        raise ValueError(
            f"The label hierarchy has a cycle through {cycle[0]!r} "
            f"(child -> parent: {' -> '.join(map(repr, cycle[:10]))})."
        )
    return depth
