"""OTSeq2Set (Cao and Zhang, EMNLP 2022): sequence-to-set XMTC."""

from ._estimator import OTSeq2SetClassifier

__all__ = ["OTSeq2SetClassifier"]
