"""BaseNeuralXMTCClassifier: tokenizer, device, seeding and skorch training for
every network-based estimator.

The fit template (:meth:`BaseNeuralXMTCClassifier._fit`) runs, in order:

1. ``_fit_tokenizer(texts)`` -> sets ``tokenizer_`` and ``vocab_size_``
   (:class:`~sklearn_xmtc._vocabulary.TrainedVocabularyMixin` trains one on the
   corpus; :class:`~sklearn_xmtc._pretrained.PretrainedEncoderMixin` loads the
   encoder's);
2. ``_prepare_fit(texts, Y, seed)``: method state built before any dataset
   (label trees, clusters, neighbours, decoding lengths);
3. ``_make_dataset(texts, Y)``: a :class:`~sklearn_xmtc._training.TokenDataset`
   whose batches also carry the per-sample arrays of ``_sample_fields(texts, Y)``
   (a dict name -> array with one row per text: neighbour label tokens, ...);
4. ``_fit_network(dataset, seed)``: by default one skorch net from
   ``_build_module()`` (a network following the contract of
   :mod:`sklearn_xmtc.nn._output`), ``_build_criterion()`` and ``_net_kwargs()``
   (the learning rate, optimiser, clipping and the method's own callbacks).

Prediction runs evaluation batches (:func:`~sklearn_xmtc._training.iter_eval_batches`)
through ``_predict_batch(X, k)``, by default :meth:`_scores_of` of ``net_``; a
network whose ``forward`` accepts ``topk`` is asked for its own top-k
candidates when :meth:`predict_topk` runs. Class attributes ``_target``
("dense" (B, L) targets or "indices" (B, P) padded positives) and
``_labels_in_input`` (positives also fed to ``forward`` as ``labels`` while
training) choose the training batch format.

The tokenizer and the device live here and in the mixins, not in ``_base.py`` as
the layout of ``shared/DESIGN.md`` has it: the re-cut of issue 13, which wins where
the two differ, keeps in the base only what every estimator (the dummy included)
shares.
"""

from __future__ import annotations

import inspect
import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseXMTCClassifier
from ._persist._checkpoint import FitCheckpoint
from ._training import (TokenDataset, build_net, dataset_label_rows, forward_eval,
                        iter_eval_batches, resolve_device, resolve_n_threads, torch_seed,
                        torch_threads)
from ._training._accelerate import finish_accelerated, make_accelerator
from .metrics import precision_at_k
from .nn import LogitsBCELoss, output_scores, topk_candidates
from .text import TextTokenizer
from .utils.validation import check_random_seed

__all__ = ["BaseNeuralXMTCClassifier"]


class BaseNeuralXMTCClassifier(BaseXMTCClassifier):
    """Base class of the neural estimators (not for direct use)."""

    _labels_in_input = False  # module.forward(..., labels=positives) in training
    _target = "dense"  # "dense" (B, L) float targets or "indices" (B, P) padded

    _parameter_constraints = {
        **BaseXMTCClassifier._parameter_constraints,
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "tokenizer": [None, str, os.PathLike, TextTokenizer],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [list, None],
        "keep_optimizer": ["boolean"],
        "checkpoint_dir": [None, str, os.PathLike],
        "resume": ["boolean", StrOptions({"auto"})],
        "n_threads": [None, Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "precision": [StrOptions({"32", "bf16", "fp16"})],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.device != "cpu"
        return tags

    # -- fit --------------------------------------------------------------------
    def _fit(self, texts, Y):
        # a method written before these parameters existed runs with their defaults
        with torch_threads(resolve_n_threads(getattr(self, "n_threads", None))):
            self.n_threads_ = torch.get_num_threads()
            return self._fit_with_threads(texts, Y)

    def _fit_with_threads(self, texts, Y):
        if not any(t.strip() for t in texts):
            raise ValueError("Every training text is empty; there is nothing to learn from.")
        if self.patience is not None and self.validation_fraction is None:
            raise ValueError(f"patience={self.patience} needs validation_fraction (early "
                             "stopping watches the validation P@5); set both or neither.")
        accelerator = make_accelerator(getattr(self, "precision", "32"), self.device)
        self.device_ = (resolve_device(self.device) if accelerator is None
                        else str(accelerator.device))
        seed = check_random_seed(self.random_state)
        checkpoint = FitCheckpoint.open(self, texts, Y)
        with torch_seed(seed, self.device_):
            if checkpoint is None or not checkpoint.restore_prefit(self, self.device_):
                self._fit_tokenizer(texts)
                self._prepare_fit(texts, Y, seed)
                if checkpoint is not None:
                    checkpoint.write_prefit(self, self.device_)
            dataset = self._make_dataset(texts, Y)
            self._checkpoint, self._accelerator = checkpoint, accelerator
            try:
                self.net_ = self._fit_network(dataset, seed)
            finally:
                del self._checkpoint, self._accelerator
        for net in self._fitted_nets():
            finish_accelerated(net)
            if checkpoint is not None:
                checkpoint.detach(net)
        if not self.keep_optimizer:
            for net in self._fitted_nets():
                net.drop_optimizer()
        self.history_ = self.net_.history
        return self

    def _fitted_nets(self):
        """Every skorch net of the fitted model (the levels of every tree, for trees)."""
        return [self.net_]

    def _fit_tokenizer(self, texts):  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare_fit(self, texts, Y, seed):
        """Hook: method state built before the dataset and the network."""

    def _sample_fields(self, texts, Y=None):
        """Hook: per-sample arrays added to every batch (``{name: (n, ...) array}``)."""
        return {}

    def _make_dataset(self, texts, Y=None):
        flat, offsets = self.tokenizer_.encode(texts, self.max_length)
        return TokenDataset(flat, offsets, self.tokenizer_.pad_id, Y, target=self._target,
                            labels_in_input=self._labels_in_input,
                            fields=self._sample_fields(texts, Y))

    def _build_module(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_criterion(self):
        return LogitsBCELoss()

    def _net_kwargs(self):
        """Hook: ``build_net`` arguments of the method (at least ``lr``)."""
        return {}

    def _make_net(self, module, criterion, seed, *, callbacks=None):
        """The skorch net of one network; ``callbacks`` replaces the user's list (tree
        methods give each level its own, see ``LabelTreeMixin``)."""
        kwargs = dict(
            max_epochs=self.max_epochs, batch_size=self.batch_size,
            device=self.device_, verbose=self.verbose, seed=seed,
            validation_fraction=self.validation_fraction, patience=self.patience,
            evaluate=self._validation_scores, accelerator=self.__dict__.get("_accelerator"),
            callbacks=self.callbacks if callbacks is None else callbacks)
        kwargs.update(self._net_kwargs())
        return build_net(module, criterion, **kwargs)

    def _fit_network(self, dataset, seed):
        net = self._make_net(self._build_module(), self._build_criterion(), seed)
        return self._train(net, dataset)

    def _train(self, net, dataset):
        """Train one skorch net of the fit: ``net.fit``, or, with ``checkpoint_dir``, through
        the fit's checkpoint (written every epoch; resumed with ``resume``)."""
        checkpoint = self.__dict__.get("_checkpoint")
        if checkpoint is None:
            net.fit(dataset, None)
            return net
        return checkpoint.train(net, dataset)

    # -- persistence ----------------------------------------------------------------
    def _build_networks(self):
        """Fresh, untrained skorch nets of the fitted shapes, in :meth:`_fitted_nets`
        order, set on the estimator's attributes (the safe format loads weights into
        them). Built from the fitted state only: nothing is downloaded or read."""
        seed = check_random_seed(self.random_state)
        self.net_ = self._make_net(self._build_module(), self._build_criterion(), seed)
        return [self.net_]

    def _load_networks(self, saved, device=None):
        """Rebuild the networks (:meth:`_build_networks`) and load the saved weights,
        histories and optimiser states into them; ``device`` None keeps the fitted
        device when it is available here, else the CPU."""
        from skorch.history import History

        fitted = str(self.__dict__.get("device_", "cpu"))
        if device is not None:
            fitted = resolve_device(device)
        elif (fitted.startswith("cuda") and not torch.cuda.is_available()) or \
                (fitted == "mps" and not torch.backends.mps.is_available()):
            fitted = "cpu"
        self.device_ = fitted
        self._rebuilding = True
        try:
            with torch_seed(0, "cpu"):  # module construction must not move the caller's RNG
                nets = self._build_networks()
        finally:
            del self._rebuilding
        if len(nets) != len(saved):
            raise ValueError(f"the saved model has {len(saved)} network(s) but its fitted "
                             f"state rebuilds {len(nets)}: the file does not match this "
                             f"version of {type(self).__name__}")
        for net, part in zip(nets, saved):
            net.initialize()
            net.module_.load_state_dict(part["state_dict"])
            net.history = History(part["history"])
            if part["optimizer"] is None:
                net.drop_optimizer()
            else:
                net.optimizer_.load_state_dict(part["optimizer"])
        self.history_ = self.net_.history

    def _validation_scores(self, net, dataset):
        """Validation P@1 and P@5 of ``net`` on a held-out part of the training set."""
        parts = [topk_candidates(*self._scores_of(net, X, 5), 5)[0].cpu().numpy()
                 for X in iter_eval_batches(net, dataset)]
        idx = np.concatenate(parts)
        Y = dataset_label_rows(dataset)
        return {"valid_p@1": precision_at_k(Y, idx, k=1), "valid_p@5": precision_at_k(Y, idx, k=5)}

    # -- prediction -------------------------------------------------------------
    def _scores_of(self, net, X, k=None):
        """``(candidates, scores)`` of one evaluation batch through ``net``.

        With ``k`` and a network whose ``forward`` takes ``topk``, the network
        returns its own best ``k`` candidates (APLC's per-cluster top-k).
        """
        if k is not None and "topk" in inspect.signature(net.module_.forward).parameters:
            X = {**X, "topk": torch.tensor(int(k))}
        return output_scores(forward_eval(net, X))

    def _predict_batch(self, X, k=None):
        """Hook: ``(candidates, scores)`` of one prediction batch (trees override it)."""
        return self._scores_of(self.net_, X, k)

    def _iter_candidate_scores(self, texts, k=None):
        for X in iter_eval_batches(self.net_, self._make_dataset(texts)):
            yield self._predict_batch(X, k)

    # -- text embeddings ----------------------------------------------------------
    def _embedding_net(self):
        """Hook: the skorch net whose ``embedding`` output :meth:`transform` returns."""
        return self.net_

    def transform(self, X):
        """Text embeddings: the ``embedding`` field of the fitted network.

        Batch by batch (memory O(batch_size x d)), in evaluation mode, so the
        same text gets the same vector (within float rounding, 1e-5) whatever
        else is in its batch. What the vector is depends on the method (see its
        class docstring and :mod:`sklearn_xmtc.nn._output`). Composes in
        ``FeatureUnion`` / ``ColumnTransformer``.

        Parameters
        ----------
        X : iterable of str
            Any iterable (a generator is read in chunks, as by ``predict_topk``).

        Returns
        -------
        embeddings : ndarray of float32, shape (n_samples, d)
        """
        check_is_fitted(self)
        net = self._embedding_net()
        parts = [forward_eval(net, self._embedding_inputs(batch))["embedding"]
                 .float().cpu().numpy()
                 for _, chunk in self._iter_predict_chunks(X)
                 for batch in iter_eval_batches(net, self._make_dataset(chunk))]
        if not parts:
            width = self._embedding_width(net)
            return np.empty((0, width), np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _embedding_inputs(self, X):
        """Hook: the inputs of an evaluation batch ``X`` for :meth:`transform` (default
        ``X``; a decoding network may skip its decoder)."""
        return X

    def _embedding_width(self, net):
        one = self._make_dataset(["a"])
        (batch,) = list(iter_eval_batches(net, one))
        return forward_eval(net, self._embedding_inputs(batch))["embedding"].shape[1]

    def fit_transform(self, X, y):
        """``fit(X, y)``, then :meth:`transform` of the training texts."""
        return self.fit(X, y).transform(X)

    def __setstate__(self, state):
        self.__dict__.update(state)
        net = state.get("net_")
        if net is not None:  # skorch maps a CUDA net to the CPU when CUDA is absent
            self.device_ = str(net.device)
