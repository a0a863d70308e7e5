"""TReaderXML (Wang et al.): kNN teacher labels and a dual cooperative reader."""

from ._estimator import TReaderXMLClassifier

__all__ = ["TReaderXMLClassifier"]
