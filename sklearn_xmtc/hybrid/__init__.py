"""Sparse + dense hybrid: TF-IDF beside a text encoder's embedding, one linear ranker."""

from ._estimator import HybridXMTCClassifier

__all__ = ["HybridXMTCClassifier"]
