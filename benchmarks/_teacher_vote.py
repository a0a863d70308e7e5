"""TReaderXML's teacher alone: the neighbours' label votes, no network.

Run by the harness as ``--extra teacher-vote=benchmarks._teacher_vote:TeacherVoteClassifier``.
The same pieces as :class:`~sklearn_xmtc.treaderxml.TReaderXMLClassifier`'s teacher
(TF-IDF vectors, exact cosine neighbours, the labels they carry with their parents): a
label's score is the share of the ``n_neighbors`` training neighbours that carry it
(ties to the more frequent label), so its ranking is the teacher set's, columns only.
"""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import Interval

from sklearn_xmtc._base import BaseXMTCClassifier
from sklearn_xmtc._neighbors import cosine_topk
from sklearn_xmtc.labels import LabelHierarchy, check_hierarchy
from sklearn_xmtc.treaderxml._teacher import carried_nodes

__all__ = ["TeacherVoteClassifier"]


class TeacherVoteClassifier(BaseXMTCClassifier):
    """kNN label votes (see the module docstring)."""

    _dataset_params = ("hierarchy",)
    _parameter_constraints = {
        **BaseXMTCClassifier._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "hierarchy": [None, dict, str, os.PathLike, LabelHierarchy],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, n_neighbors=10, hierarchy=None, threshold=0.5, min_labels=0,
                 max_labels=None, batch_size=1024, propensity_a=0.55, propensity_b=1.5):
        self.n_neighbors = n_neighbors
        self.hierarchy = hierarchy
        self.threshold = threshold
        self.min_labels = min_labels
        self.max_labels = max_labels
        self.batch_size = batch_size
        self.propensity_a = propensity_a
        self.propensity_b = propensity_b

    def _fit(self, texts, Y):
        h = check_hierarchy(self.hierarchy)
        view = None if h is None else h.index_view(self.classes_)
        carried = carried_nodes(Y, None if view is None else view.parents)
        self.votes_ = carried[:, : self.n_labels_].tocsr()  # the columns a neighbour gives
        self.vectorizer_ = TfidfVectorizer(sublinear_tf=True, dtype=np.float32).fit(texts)
        self.vectors_ = normalize(self.vectorizer_.transform(texts))
        self.tie_break_ = (1e-6 * self.label_frequencies_ / max(len(texts), 1)).astype(np.float32)
        return self

    def _iter_candidate_scores(self, texts, k=None):
        import scipy.sparse as sp

        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            idx, _ = cosine_topk(self.vectorizer_.transform(batch), self.vectors_,
                                 self.n_neighbors, batch_size=self.batch_size)
            rows = np.repeat(np.arange(len(batch)), idx.shape[1])
            keep = idx.ravel() >= 0
            S = sp.csr_matrix((np.full(keep.sum(), 1.0 / self.n_neighbors, np.float32),
                               (rows[keep], idx.ravel()[keep])),
                              shape=(len(batch), self.vectors_.shape[0]))
            scores = np.asarray((S @ self.votes_).todense(), dtype=np.float32) + self.tie_break_
            yield None, torch.from_numpy(scores)
