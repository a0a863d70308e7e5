"""Common interface of the peer libraries run by ``benchmarks/run.py``.

A peer sees TF-IDF features (``_tfidf.py``), not texts: ``fit(X, Y)`` with a
CSR float32 (n, d) matrix and a CSR 0/1 (n, L) label matrix;
``predict_topk(X, k)`` -> ``(indices int64 (n, k), scores float32 (n, k))``,
-1 padding missing ranks.  The thresholded label sets used for micro-F1 are the
top-``SET_CANDIDATES`` candidates whose score reaches the peer's
``threshold`` (0.5 on probability-like scores, 0 on LibMultiLabel's
one-vs-rest decision values, the equivalent of sigmoid(value) >= 0.5).
"""

from __future__ import annotations

import importlib
import importlib.metadata

import numpy as np
import scipy.sparse as sp

SET_CANDIDATES = 10  # candidates among which the thresholded set is chosen


class Peer:
    """Base class: a name, a threshold, and hooks ``_fit`` / ``_predict_topk``."""

    name = "peer"
    module = None  # importable module checked by ``unavailable``
    distribution = None  # pip distribution name, for the version record
    threshold = 0.5
    score_kind = "probability-like score in [0, 1]"
    defaults: dict = {}

    def __init__(self, n_threads=1, seed=0, params=None):
        unknown = set(params or {}) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter(s) {sorted(unknown)}; "
                f"known: {sorted(self.defaults)}"
            )
        self.n_threads = n_threads
        self.seed = seed
        self.params = {**self.defaults, **(params or {})}

    @classmethod
    def unavailable(cls):
        """None when the peer can run here, else a note saying why not."""
        try:
            importlib.import_module(cls.module)
        except Exception as exc:  # any import failure means "skip with a note"
            return f"{cls.module} not importable ({type(exc).__name__}: {exc})"
        return None

    @classmethod
    def version(cls):
        try:
            return importlib.metadata.version(cls.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def fit(self, X, Y):
        self.n_labels_ = Y.shape[1]
        self._fit(sp.csr_matrix(X, dtype=np.float32), sp.csr_matrix(Y, dtype=np.float32))
        return self

    def predict_topk(self, X, k=5):
        return self._predict_topk(sp.csr_matrix(X, dtype=np.float32), k)

    def sets_from_topk(self, idx, scores):
        """CSR 0/1 (n, L): candidates with ``score >= threshold``."""
        keep = (idx >= 0) & (scores >= self.threshold)
        rows = np.broadcast_to(np.arange(idx.shape[0])[:, None], idx.shape)[keep]
        data = np.ones(rows.size, dtype=np.float32)
        return sp.csr_matrix((data, (rows, idx[keep])), shape=(idx.shape[0], self.n_labels_))

    def describe(self):
        return {"params": self.params, "threshold": self.threshold, "score_kind": self.score_kind}

    def _fit(self, X, Y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_topk(self, X, k):  # pragma: no cover - abstract
        raise NotImplementedError
