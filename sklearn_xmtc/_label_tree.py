"""LabelTreeMixin: probabilistic label trees for networks that score candidates.

Above ``flat_max_labels`` labels, the labels are organised in a shallow-wide
tree built by balanced 2-means on PIFA label features (Algorithm 1 of Zhu,
Teng and Huang, "LightAttention"); one network per level is trained top-down
(level ``d`` on the children of the ``n_candidates`` best level ``d - 1``
nodes by the levels above, plus the positives, starting from level
``d - 1``'s weights), and prediction is a beam search with path-product
scores, averaged over an ensemble of ``n_trees`` trees (You et al. 2019).

A method using it provides ``_build_level(tree, level)`` -> ``(module,
criterion)``: a network that scores all nodes of level 0 (``logits`` (B, n_0))
and, below, the children of ``parents`` (B, C) (training) or the given
``candidates`` (B, C) (beam search), following :mod:`sklearn_xmtc.nn._output`.
The rows of ``_node_parameters`` (per-node weights) start from the parent's row.

User callbacks: when the model has several networks (tree levels, or trees of
an ensemble), each network trains with its own deep copy of ``callbacks``, and
every checkpoint among them (a callback with an ``fn_prefix``, such as skorch's
``Checkpoint`` and ``TrainEndCheckpoint``, or the checkpoint of a
``LoadInitState``) gets ``tree<t>_level<d>_`` appended to its ``fn_prefix``: the
levels write (and ``LoadInitState`` reads) their own files instead of
overwriting each other. With a single network the callbacks are used as given.
"""

from __future__ import annotations

import copy
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from ._training import TokenDataset, forward_eval, iter_eval_batches
from .labels import LabelTree, build_label_tree, tfidf_label_features
from .nn import average_candidate_scores, beam_search, init_from_parent_level, topk_candidates
from .utils.validation import check_random_seed

__all__ = ["LabelTreeMixin"]

_N_FEATURES = 128  # width of the reduced PIFA label features used for clustering


class LabelTreeMixin:
    """Label trees, level-wise training, beam search and tree ensembles.

    Parameters it declares: ``flat_max_labels``, ``tree_height``,
    ``cluster_size``, ``tree_branching``, ``n_candidates``, ``n_trees``.
    Fitted attributes: ``tree_mode_``, ``label_trees_``, ``tree_nets_``.
    """

    _node_parameters = ("attention.weight",)

    _parameter_constraints = {
        "flat_max_labels": [Interval(Integral, 1, None, closed="left")],
        "tree_height": [Interval(Integral, 2, None, closed="left")],
        "cluster_size": [Interval(Integral, 2, None, closed="left")],
        "tree_branching": [Interval(Integral, 2, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "n_trees": [Interval(Integral, 1, None, closed="left")],
    }

    # -- trees ----------------------------------------------------------------------
    def _label_features(self, texts, Y, seed):
        return tfidf_label_features(texts, Y, n_components=_N_FEATURES, random_state=seed)

    def _build_tree(self, features, seed):
        b = self.tree_branching
        if b & (b - 1):
            raise ValueError(f"tree_branching must be a power of two, got {b}.")
        return build_label_tree(features, cluster_size=self.cluster_size,
                                tree_height=self.tree_height, branching=b, random_state=seed)

    def _prepare_fit(self, texts, Y, seed):
        super()._prepare_fit(texts, Y, seed)
        self.tree_mode_ = self.n_labels_ > self.flat_max_labels
        features = self._label_features(texts, Y, seed) if self._needs_features() else None
        self.label_trees_ = [self._make_tree(features, seed + t) for t in range(self.n_trees)]

    def _needs_features(self):
        return self.tree_mode_

    def _make_tree(self, features, seed):
        if not self.tree_mode_:
            return LabelTree([np.arange(self.n_labels_)])
        return self._build_tree(features, seed)

    def _beams(self, tree):
        """Nodes kept per level by the beam search (and as training parents)."""
        return [self.n_candidates] * tree.height

    # -- level-wise training ----------------------------------------------------------
    def _build_level(self, tree, level):  # pragma: no cover - abstract
        raise NotImplementedError

    def _nets_per_tree(self, tree):
        """How many networks one tree trains (one per level, by default)."""
        return tree.height

    def _network_callbacks(self, tree_index, level):
        """The user's callbacks for one network (see the module docstring)."""
        n_nets = sum(self._nets_per_tree(t) for t in self.label_trees_)
        if not self.callbacks or n_nets == 1:
            return self.callbacks
        cbs = copy.deepcopy(self.callbacks)  # one copy: shared checkpoints stay shared
        renamed = set()
        for cb in cbs:
            cb = cb[1] if isinstance(cb, tuple) else cb
            for obj in (cb, getattr(cb, "checkpoint", None)):
                if isinstance(getattr(obj, "fn_prefix", None), str) and id(obj) not in renamed:
                    obj.fn_prefix = f"{obj.fn_prefix}tree{tree_index}_level{level}_"
                    renamed.add(id(obj))
        return cbs

    def _fit_level(self, tree, level, nets, base, seed, tree_index=0):
        """Train the network of ``level`` of ``tree`` (top-down)."""
        Y_d = tree.level_targets(base.Y, level)
        module, criterion = self._build_level(tree, level)
        if level == 0:
            dataset = base.with_fields(Y_d, target="dense", labels_in_input=False)
        else:
            init_from_parent_level(module, nets[-1].module_, tree.parents[level],
                                   self._node_parameters)
            parents = self._training_parents(tree, level, nets, base)
            dataset = base.with_fields(Y_d, target="indices", labels_in_input=True,
                                       parents=parents)
        net = self._make_net(module, criterion, seed,
                             callbacks=self._network_callbacks(tree_index, level))
        return self._train(net, dataset)

    def _training_parents(self, tree, level, nets, base):
        """(n, C) best level ``level - 1`` nodes of every training text."""
        plain = TokenDataset(base.flat_ids, base.offsets, base.pad_id)
        width = self._beams(tree)[level - 1]
        parts = []
        for X in iter_eval_batches(nets[0], plain):
            cand, probs = self._beam(nets, tree, X, stop_level=level - 1)
            parts.append(topk_candidates(cand, probs, width)[0].cpu().numpy())
        width = max(p.shape[1] for p in parts)
        return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1])),
                                      constant_values=-1) for p in parts])

    def _fit_tree(self, tree, base, seed, tree_index=0):
        nets = []
        for level in range(tree.height):
            nets.append(self._fit_level(tree, level, nets, base, seed, tree_index))
        return nets

    def _fit_network(self, dataset, seed):
        self.tree_nets_ = [self._fit_tree(tree, dataset, seed + t, t)
                           for t, tree in enumerate(self.label_trees_)]
        return self.tree_nets_[0][-1]

    def _fitted_nets(self):
        return [net for nets in self.tree_nets_ for net in nets]

    def _network_module(self, tree, index):
        """``(module, criterion)`` of network ``index`` of ``tree`` (level ``index``)."""
        return self._build_level(tree, index)

    def _build_networks(self):
        seed = check_random_seed(self.random_state)
        self.tree_nets_ = [
            [self._make_net(*self._network_module(tree, i), seed + t,
                            callbacks=self._network_callbacks(t, i))
             for i in range(self._nets_per_tree(tree))]
            for t, tree in enumerate(self.label_trees_)]
        self.net_ = self.tree_nets_[0][-1]
        return self._fitted_nets()

    def _embedding_net(self):
        """The network that scores the leaves (the last level of the first tree)."""
        return self.tree_nets_[0][-1]

    # -- prediction ---------------------------------------------------------------------
    def _beam(self, nets, tree, X, stop_level=None):
        stop = tree.height - 1 if stop_level is None else stop_level
        return beam_search(lambda d, inputs: forward_eval(nets[d], inputs), tree.children, X,
                           self._beams(tree), stop)

    def _tree_scores(self, nets, tree, X):
        return self._beam(nets, tree, X)

    def _predict_batch(self, X, k=None):
        parts = [self._tree_scores(nets, tree, X)
                 for nets, tree in zip(self.tree_nets_, self.label_trees_)]
        return parts[0] if len(parts) == 1 else average_candidate_scores(parts, self.n_labels_)
