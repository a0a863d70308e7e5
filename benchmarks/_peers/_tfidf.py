"""TF-IDF features shared by every peer (built the same way for all of them).

``TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2,
dtype=float32)``, fitted on the training texts only; rows are L2-normalised
(sklearn's default ``norm="l2"``).  The vectorizer's time is part of each
peer's fit (fit_transform on train) and predict (transform on test) times.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

TFIDF_PARAMS = {"sublinear_tf": True, "ngram_range": (1, 2), "min_df": 2, "dtype": np.float32}


def make_vectorizer(**overrides):
    """The shared TF-IDF vectorizer (``TFIDF_PARAMS`` plus ``overrides``)."""
    return TfidfVectorizer(**{**TFIDF_PARAMS, **overrides})


def topk_from_dense(scores, k):
    """(indices int64 (n, k), scores float32 (n, k)) of a dense (n, L) block, best first."""
    k_eff = min(k, scores.shape[1])
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]  # (n, k_eff)
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(vals, order, axis=1).astype(np.float32)
    return _pad(idx, vals, k)


def topk_from_pairs(rows, k):
    """Top-k arrays from per-row lists of (label, score) pairs, -1 padded."""
    idx = np.full((len(rows), k), -1, dtype=np.int64)
    val = np.full((len(rows), k), -np.inf, dtype=np.float32)
    for i, pairs in enumerate(rows):  # peers return Python lists per row
        pairs = sorted(pairs, key=lambda p: -p[1])[:k]
        if pairs:
            idx[i, : len(pairs)] = [p[0] for p in pairs]
            val[i, : len(pairs)] = [p[1] for p in pairs]
    return idx, val


def topk_from_csr(S, k):
    """Top-k arrays from a sparse (n, L) score matrix (absent = never ranked)."""
    S = S.tocsr()
    rows = [
        list(zip(S.indices[a:b].tolist(), S.data[a:b].tolist()))
        for a, b in zip(S.indptr[:-1], S.indptr[1:])
    ]
    return topk_from_pairs(rows, k)


def _pad(idx, vals, k):
    if idx.shape[1] == k:
        return idx, vals
    n = idx.shape[0]
    pad_i = np.full((n, k - idx.shape[1]), -1, dtype=np.int64)
    pad_v = np.full((n, k - idx.shape[1]), -np.inf, dtype=np.float32)
    return np.hstack([idx, pad_i]), np.hstack([vals, pad_v])
