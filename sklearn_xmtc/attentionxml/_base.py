"""Private base of AttentionXMLClassifier and LightAttentionClassifier: label
trees, level-wise top-down training and beam-search prediction (You et al. 2019;
paper 003)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from .._neural import BaseNeuralXMTCClassifier
from .._training import TokenDataset
from ..labels import LabelTree, build_label_tree, tfidf_label_features
from ._network import AttentionXMLModule, CandidateLoss
from ._tree_training import (ParentDataset, average_candidate_scores, beam_search,
                             init_from_parent_level, top_nodes)

__all__ = ["_BaseAttentionXML"]

_N_FEATURES = 128  # width of the reduced PIFA label features used for clustering


class _BaseAttentionXML(BaseNeuralXMTCClassifier):
    """Shared state and training of the two estimators (not public)."""

    _labels_in_input = True
    _target = "indices"

    _parameter_constraints = {
        **BaseNeuralXMTCClassifier._parameter_constraints,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "linear_sizes": [tuple, list],
        "embedding_dropout": [Interval(Real, 0, 1, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "flat_max_labels": [Interval(Integral, 1, None, closed="left")],
        "tree_height": [Interval(Integral, 2, None, closed="left")],
        "cluster_size": [Interval(Integral, 2, None, closed="left")],
        "tree_branching": [Interval(Integral, 2, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "n_trees": [Interval(Integral, 1, None, closed="left")],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "swa_start": [Interval(Integral, 1, None, closed="left"), None],
    }

    # -- label trees --------------------------------------------------------------
    def _label_features(self, texts, Y, seed):
        return tfidf_label_features(texts, Y, n_components=_N_FEATURES, random_state=seed)

    def _build_tree(self, features, seed):
        b = self.tree_branching
        if b & (b - 1):
            raise ValueError(f"tree_branching must be a power of two, got {b}.")
        return build_label_tree(features, cluster_size=self.cluster_size,
                                tree_height=self.tree_height, branching=b, random_state=seed)

    def _prepare_fit(self, texts, Y, seed):
        sizes = tuple(int(s) for s in self.linear_sizes)
        if min(sizes, default=1) < 1:
            raise ValueError(f"linear_sizes must hold positive ints, got {self.linear_sizes!r}.")
        self.tree_mode_ = self.n_labels_ > self.flat_max_labels
        features = self._label_features(texts, Y, seed) if self._needs_features() else None
        self.label_trees_ = [self._make_tree(features, seed + t) for t in range(self.n_trees)]

    def _needs_features(self):
        return self.tree_mode_

    def _make_tree(self, features, seed):
        if not self.tree_mode_:
            return LabelTree([np.arange(self.n_labels_)])
        return self._build_tree(features, seed)

    # -- networks -----------------------------------------------------------------
    def _module_kwargs(self):
        return dict(embedding_dim=self.embedding_dim, hidden_size=self.hidden_size,
                    linear_sizes=tuple(int(s) for s in self.linear_sizes),
                    embedding_dropout=self.embedding_dropout, dropout=self.dropout,
                    pad_id=self.tokenizer_.pad_id, pretrained=self._initial_embeddings(),
                    freeze_embeddings=self.freeze_embeddings)

    def _net_kwargs(self):
        return {"gradient_clip": self.gradient_clip, "swa_start": self.swa_start}

    def _beams(self, tree):
        return [self.n_candidates] * tree.height

    def _fit_level(self, tree, level, nets, base, seed):
        """Train the network of ``level`` of ``tree`` (top-down, Algorithm of [1])."""
        Y_d = tree.level_targets(base.Y, level)
        args = (base.flat_ids, base.offsets, base.pad_id, Y_d)
        children = None if level == 0 else tree.children[level - 1]
        module = AttentionXMLModule(self.vocab_size_, tree.n_nodes[level], children=children,
                                    **self._module_kwargs())
        if level == 0:
            dataset, criterion = TokenDataset(*args, target="dense"), torch.nn.BCEWithLogitsLoss()
        else:
            init_from_parent_level(module, nets[-1].module_, tree.parents[level])
            parents = self._training_parents(tree, level, nets, base)
            dataset, criterion = ParentDataset(*args, parents=parents), CandidateLoss()
        net = self._make_net(module, criterion, seed)
        net.fit(dataset, None)
        return net

    def _training_parents(self, tree, level, nets, base):
        """(n, C) best level ``level - 1`` nodes of every training text."""
        plain = TokenDataset(base.flat_ids, base.offsets, base.pad_id)
        parts = []
        for X, _ in nets[0].get_iterator(plain, training=False):
            cand, probs = beam_search(nets, tree, X, self._beams(tree), stop_level=level - 1)
            nodes, _ = top_nodes(cand, probs, self._beams(tree)[level - 1])
            parts.append(nodes.cpu().numpy())
        width = max(p.shape[1] for p in parts)
        return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1])),
                                      constant_values=-1) for p in parts])

    def _fit_tree(self, tree, base, seed):
        nets = []
        for level in range(tree.height):
            nets.append(self._fit_level(tree, level, nets, base, seed))
        return nets

    def _fit_network(self, dataset, seed):
        self.tree_nets_ = [self._fit_tree(tree, dataset, seed + t)
                           for t, tree in enumerate(self.label_trees_)]
        return self.tree_nets_[0][-1]

    # -- prediction ---------------------------------------------------------------
    def _scores_from_output(self, output, X):
        if not isinstance(output, tuple):
            return None, torch.sigmoid(output)
        logits, cand, cluster_logits = output[0], output[1], output[4]
        probs = torch.sigmoid(logits.float())  # (B, C)
        if cluster_logits is not None:  # LightAttention: sigmoid(cluster) x sigmoid(label)
            probs = probs * torch.sigmoid(cluster_logits.float())
        return cand, probs.masked_fill(cand < 0, float("-inf"))

    def _tree_scores(self, nets, tree, X):
        return beam_search(nets, tree, X, self._beams(tree))

    def _iter_candidate_scores(self, texts):
        dataset = self._make_dataset(texts)
        for X, _ in self.net_.get_iterator(dataset, training=False):
            X = {k: v.to(self.device_) for k, v in X.items() if k != "labels"}
            parts = [self._tree_scores(nets, tree, X)
                     for nets, tree in zip(self.tree_nets_, self.label_trees_)]
            yield parts[0] if len(parts) == 1 else average_candidate_scores(parts,
                                                                            self.n_labels_)
