"""G-HXMC: generation mode for hierarchical XMTC (label-sequence generation with
soft-constrained decoding)."""

from ._estimator import GHXMCClassifier

__all__ = ["GHXMCClassifier"]
