"""DummyXMTCClassifier: the baseline every method must beat."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseXMTCClassifier
from .utils._docstrings import fill_doc

__all__ = ["DummyXMTCClassifier"]


@fill_doc
class DummyXMTCClassifier(BaseXMTCClassifier):
    """Predicts from label frequencies only, ignoring the text.

    The :class:`~sklearn.dummy.DummyClassifier` of XMTC: it ranks labels by
    their training frequency, so its P@k is the floor any text model must
    clear (on skewed XMTC data it is far from zero).

    Parameters
    ----------
    strategy : {"most_frequent", "prior"}, default="most_frequent"
        Scores are always the label priors (training frequency / n_samples).
        ``predict`` returns, for "most_frequent", the ``m`` most frequent labels
        with ``m`` the rounded mean number of labels per training sample (at
        least 1); for "prior", the labels whose prior is >= ``threshold``.
    threshold : float, default=0.5
        Prior threshold for ``strategy="prior"``.
{label_limits}
    batch_size : int, default=1024
        Rows per prediction batch (bounds memory at O(batch_size x L)).
    propensity_a, propensity_b : float, default=0.55, 1.5
        Jain et al. (2016) propensity parameters for ``inv_propensity_``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_labels,)
    n_labels_ : int
    label_frequencies_ : ndarray of int64, shape (n_labels,)
    inv_propensity_ : ndarray of float64, shape (n_labels,)
    priors_ : ndarray of float32, shape (n_labels,)
    n_set_labels_ : int
        Size of the "most_frequent" predicted set.

    Examples
    --------
    >>> from sklearn_xmtc import DummyXMTCClassifier
    >>> est = DummyXMTCClassifier().fit(["a b", "b c", "c a"], [["x"], ["x", "y"], ["x"]])
    >>> est.predict_labels(["anything"])
    [['x']]
    >>> idx, scores = est.predict_topk(["anything"], k=2)
    >>> est.classes_[idx[0]].tolist(), [round(float(s), 2) for s in scores[0]]
    (['x', 'y'], [1.0, 0.33])
    """

    _parameter_constraints = {
        **BaseXMTCClassifier._parameter_constraints,
        "strategy": [StrOptions({"most_frequent", "prior"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, strategy="most_frequent", threshold=0.5, min_labels=0,
                 max_labels=None, batch_size=1024, propensity_a=0.55, propensity_b=1.5):
        self.strategy = strategy
        self.threshold = threshold
        self.min_labels = min_labels
        self.max_labels = max_labels
        self.batch_size = batch_size
        self.propensity_a = propensity_a
        self.propensity_b = propensity_b

    def _fit(self, texts, Y):
        self.priors_ = (self.label_frequencies_ / Y.shape[0]).astype(np.float32)
        self.n_set_labels_ = max(1, int(round(Y.nnz / Y.shape[0])))
        return self

    def _iter_candidate_scores(self, texts, k=None):
        priors = torch.from_numpy(self.priors_)
        for start in range(0, len(texts), self.batch_size):
            n = min(self.batch_size, len(texts) - start)
            yield None, priors.expand(n, -1)

    def _chosen(self, cand, scores):
        if self.strategy == "prior":
            return super()._chosen(cand, scores)
        # stable order: frequency descending, ties by lower index
        top = torch.from_numpy(np.argsort(-self.priors_, kind="stable")[: self.n_set_labels_])
        chosen = torch.zeros(scores.shape, dtype=torch.bool)
        chosen[:, top] = True
        return chosen
