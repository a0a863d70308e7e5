"""TrainedVocabularyMixin: networks trained from scratch on the corpus.

XML-CNN, AttentionXML, LightAttention and OTSeq2Set read token ids of a
tokenizer trained on the training texts (or a named one), may start from
pretrained word vectors, and train with one Adam learning rate ``lr``.
"""

from __future__ import annotations

import os
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from .text import build_tokenizer, load_embedding_matrix
from .text._embeddings import is_model_directory

__all__ = ["TrainedVocabularyMixin"]


class TrainedVocabularyMixin:
    """Tokenizer trained on the corpus, optional initial embeddings, one ``lr``.

    Parameters it declares (merged into the estimator's
    ``_parameter_constraints``): ``lr``, ``tokenizer_type``, ``max_vocab_size``,
    ``min_frequency``, ``lowercase``, ``embeddings``, ``freeze_embeddings``.
    Hooks it fills: ``_fit_tokenizer`` and ``_net_kwargs`` (``lr``); it adds
    ``_initial_embeddings(dim)`` for the network's embedding layer.
    """

    _parameter_constraints = {
        "lr": [Interval(Real, 0, None, closed="left")],
        "tokenizer_type": [StrOptions({"word", "bpe"})],
        "max_vocab_size": [Interval(Integral, 3, None, closed="left")],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "lowercase": ["boolean"],
        "embeddings": [None, str, os.PathLike],
        "freeze_embeddings": ["boolean"],
    }

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

    def _initial_embeddings(self, dim):
        """(vocab, dim) float tensor from ``embeddings``, or None; records its shape in
        ``initial_embedding_shape_``. When a saved model rebuilds its network, a zero
        matrix of that shape (the saved weights replace it; no file is read)."""
        if self.__dict__.get("_rebuilding"):
            shape = self.__dict__.get("initial_embedding_shape_")
            return None if shape is None else torch.zeros(tuple(shape))
        if self.embeddings is None:
            self.initial_embedding_shape_ = None
            return None
        matrix, _ = load_embedding_matrix(self.embeddings, self.tokenizer_, dim)
        self.initial_embedding_shape_ = tuple(int(n) for n in matrix.shape)
        return torch.from_numpy(matrix)

    def _net_kwargs(self):
        return {**super()._net_kwargs(), "lr": self.lr}
