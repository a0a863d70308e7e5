"""APLC-XLNet (Ye, Chen, Wang, Davison, ICML 2020)."""

from ._estimator import APLCTransformerClassifier

__all__ = ["APLCTransformerClassifier"]
