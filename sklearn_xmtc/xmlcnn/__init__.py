"""XML-CNN (Liu et al., SIGIR 2017)."""

from ._estimator import XMLCNNClassifier

__all__ = ["XMLCNNClassifier"]
