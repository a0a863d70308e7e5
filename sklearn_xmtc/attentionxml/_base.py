"""Private base of AttentionXMLClassifier and LightAttentionClassifier: the
BiLSTM + multi-label attention network on the shared label-tree machinery
(You et al. 2019; Zhu, Teng and Huang, "LightAttention")."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from .._label_tree import LabelTreeMixin
from .._neural import BaseNeuralXMTCClassifier
from .._vocabulary import TrainedVocabularyMixin
from ..nn import LogitsBCELoss
from ._network import AttentionXMLModule, CandidateLoss

__all__ = ["_BaseAttentionXML"]


class _BaseAttentionXML(LabelTreeMixin, TrainedVocabularyMixin, BaseNeuralXMTCClassifier):
    """Shared parameters and networks of the two estimators (not public)."""

    _labels_in_input = True
    _target = "indices"

    _parameter_constraints = {
        **BaseNeuralXMTCClassifier._parameter_constraints,
        **TrainedVocabularyMixin._parameter_constraints,
        **LabelTreeMixin._parameter_constraints,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "linear_sizes": [tuple, list],
        "embedding_dropout": [Interval(Real, 0, 1, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "swa_start": [Interval(Integral, 1, None, closed="left"), None],
    }

    def _prepare_fit(self, texts, Y, seed):
        sizes = tuple(int(s) for s in self.linear_sizes)
        if min(sizes, default=1) < 1:
            raise ValueError(f"linear_sizes must hold positive ints, got {self.linear_sizes!r}.")
        super()._prepare_fit(texts, Y, seed)

    # -- networks -----------------------------------------------------------------
    def _module_kwargs(self):
        return dict(embedding_dim=self.embedding_dim, hidden_size=self.hidden_size,
                    linear_sizes=tuple(int(s) for s in self.linear_sizes),
                    embedding_dropout=self.embedding_dropout, dropout=self.dropout,
                    pad_id=self.tokenizer_.pad_id,
                    pretrained=self._initial_embeddings(self.embedding_dim),
                    freeze_embeddings=self.freeze_embeddings)

    def _net_kwargs(self):
        return {**super()._net_kwargs(), "gradient_clip": self.gradient_clip,
                "swa_start": self.swa_start}

    def _build_level(self, tree, level):
        children = None if level == 0 else tree.children[level - 1]
        module = AttentionXMLModule(self.vocab_size_, tree.n_nodes[level], children=children,
                                    **self._module_kwargs())
        return module, (LogitsBCELoss() if level == 0 else CandidateLoss())
