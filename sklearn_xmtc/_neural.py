"""BaseNeuralXMTCClassifier: tokenizer, device, seeding and skorch training for
every network-based estimator. A method subclass provides:

- ``_build_module()`` -> ``torch.nn.Module`` taking ``input_ids``,
  ``attention_mask`` (and ``labels`` when ``_labels_in_input``);
- optionally ``_build_criterion()`` (default: BCE with logits on dense
  targets), ``_prepare_fit(texts, Y, seed)`` (label trees, clusters...),
  ``_scores_from_output(output, X)`` (default: sigmoid of (B, L) logits),
  ``_net_kwargs()`` (optimiser, clipping...) and ``_fit_network``.
"""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseXMTCClassifier
from ._training import (TokenDataset, build_net, dataset_label_rows, forward_eval,
                        resolve_device, torch_seed)
from .metrics import precision_at_k
from .text import TextTokenizer, build_tokenizer, load_embedding_matrix
from .text._embeddings import is_model_directory
from .utils.validation import check_random_seed

__all__ = ["BaseNeuralXMTCClassifier"]


class BaseNeuralXMTCClassifier(BaseXMTCClassifier):
    """Base class of the neural estimators (not for direct use)."""

    _labels_in_input = False  # module.forward(..., labels=positives) in training
    _target = "dense"  # "dense" (B, L) float targets or "indices" (B, P) padded

    _parameter_constraints = {
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "tokenizer": [None, str, os.PathLike, TextTokenizer],
        "tokenizer_type": [StrOptions({"word", "bpe"})],
        "max_vocab_size": [Interval(Integral, 3, None, closed="left")],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "lowercase": ["boolean"],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "embeddings": [None, str, os.PathLike],
        "freeze_embeddings": ["boolean"],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "callbacks": [list, None],
        "propensity_a": [Interval(Real, 0, None, closed="neither")],
        "propensity_b": [Interval(Real, 0, None, closed="left")],
    }

    # -- fit --------------------------------------------------------------------
    def _fit(self, texts, Y):
        if not any(t.strip() for t in texts):
            raise ValueError("Every training text is empty; there is nothing to learn from.")
        self.device_ = resolve_device(self.device)
        seed = check_random_seed(self.random_state)
        with torch_seed(seed, self.device_):
            self._fit_tokenizer(texts)
            dataset = self._make_dataset(texts, Y)
            self._prepare_fit(texts, Y, seed)
            self.net_ = self._fit_network(dataset, seed)
        self.history_ = self.net_.history
        return self

    def _fit_tokenizer(self, texts):
        spec = self.tokenizer
        if spec is None and self.embeddings is not None and is_model_directory(self.embeddings):
            spec = self.embeddings  # a model's embedding matrix needs its own tokenizer
        self.tokenizer_ = build_tokenizer(
            spec, texts, kind=self.tokenizer_type, max_vocab_size=self.max_vocab_size,
            min_frequency=self.min_frequency, lowercase=self.lowercase)
        if self.tokenizer_.kind != "pretrained" and self.tokenizer_.vocab_size <= 2:
            raise ValueError(
                "The trained tokenizer has no token: the texts are empty or every token is "
                f"rarer than min_frequency={self.min_frequency}."
            )
        self.vocab_size_ = self.tokenizer_.vocab_size

    def _make_dataset(self, texts, Y=None):
        flat, offsets = self.tokenizer_.encode(texts, self.max_length)
        return TokenDataset(flat, offsets, self.tokenizer_.pad_id, Y, target=self._target,
                            labels_in_input=self._labels_in_input)

    def _initial_embeddings(self):
        """(vocab, dim) float tensor from ``embeddings``, or None."""
        if self.embeddings is None:
            return None
        matrix, _ = load_embedding_matrix(self.embeddings, self.tokenizer_,
                                          getattr(self, "embedding_dim", 300))
        return torch.from_numpy(matrix)

    def _prepare_fit(self, texts, Y, seed):
        """Hook: method state built before the network (trees, clusters)."""

    def _build_module(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_criterion(self):
        return torch.nn.BCEWithLogitsLoss()

    def _net_kwargs(self):
        return {}

    def _make_net(self, module, criterion, seed, **overrides):
        kwargs = dict(
            lr=self.lr, max_epochs=self.max_epochs, batch_size=self.batch_size,
            device=self.device_, verbose=self.verbose, seed=seed,
            validation_fraction=self.validation_fraction, patience=self.patience,
            evaluate=self._validation_scores, callbacks=self.callbacks)
        kwargs.update(self._net_kwargs())
        kwargs.update(overrides)
        return build_net(module, criterion, **kwargs)

    def _fit_network(self, dataset, seed):
        net = self._make_net(self._build_module(), self._build_criterion(), seed)
        net.fit(dataset, None)
        return net

    def _validation_scores(self, net, dataset):
        parts = [self._topk_indices(c, s, 5) for c, s in self._dataset_scores(net, dataset)]
        idx = np.concatenate(parts)
        Y = dataset_label_rows(dataset)
        return {"valid_p@1": precision_at_k(Y, idx, k=1), "valid_p@5": precision_at_k(Y, idx, k=5)}

    @staticmethod
    def _topk_indices(cand, scores, k):
        kk = min(k, scores.shape[1])
        pos = torch.topk(scores.float(), kk, dim=1).indices
        idx = pos if cand is None else torch.gather(cand, 1, pos)
        return idx.cpu().numpy()

    # -- prediction -------------------------------------------------------------
    def _dataset_scores(self, net, dataset):
        """Yield (candidates, scores) per batch of ``dataset`` (labels never used)."""
        for X, _ in net.get_iterator(dataset, training=False):
            X = {k: v for k, v in X.items() if k != "labels"}
            yield self._scores_from_output(forward_eval(net, X), X)

    def _scores_from_output(self, output, X):
        return None, torch.sigmoid(output)

    def _iter_candidate_scores(self, texts):
        dataset = self._make_dataset(texts)
        yield from self._dataset_scores(self.net_, dataset)

    def __setstate__(self, state):
        self.__dict__.update(state)
        net = state.get("net_")
        if net is not None:  # skorch maps a CUDA net to the CPU when CUDA is absent
            self.device_ = str(net.device)
