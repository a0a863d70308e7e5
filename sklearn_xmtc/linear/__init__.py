"""TF-IDF + LIBLINEAR one-vs-rest: the linear baseline users expect, in the same API."""

from ._estimator import LinearXMTCClassifier

__all__ = ["LinearXMTCClassifier"]
