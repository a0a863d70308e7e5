"""Core of the ranking metrics: hits, ideal gains and every metric from them.

Everything is derived from one boolean "hit" matrix (n, k), whether the label
at rank j of sample i is a true label, found with one ``searchsorted`` over
the CSR's (row, column) keys.  No Python loop runs over samples.
"""

from __future__ import annotations

import numpy as np

from ._inputs import check_inv_propensity, check_same_rows

__all__ = ["PROPENSITY_METRICS", "RANKING_METRICS", "ranking_core"]

RANKING_METRICS = ("precision", "recall", "ndcg", "psp", "psndcg")
PROPENSITY_METRICS = ("psp", "psndcg")


def _hits(Y, idx):
    """Boolean (n, k): ``idx[i, j]`` is a true label of row ``i`` of canonical CSR ``Y``.

    Public as :func:`~sklearn_xmtc.metrics.hit_matrix`, which converts its inputs first.
    """
    n, L = Y.shape
    valid = (idx >= 0) & (idx < L)
    if Y.nnz == 0:
        return np.zeros(idx.shape, dtype=bool)
    row_of_nnz = np.repeat(np.arange(n, dtype=np.int64), np.diff(Y.indptr))
    keys = row_of_nnz * L + Y.indices  # sorted: rows ascending, indices sorted
    query = np.arange(n, dtype=np.int64)[:, None] * L + np.where(valid, idx, 0)
    pos = np.searchsorted(keys, query.ravel()).reshape(idx.shape)
    np.minimum(pos, keys.size - 1, out=pos)
    return valid & (keys[pos] == query)


def _discounts(k):
    """DCG discounts 1 / log2(j + 1) for ranks j = 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def _best_weights(Y, w, k):
    """(n, k): each row's true-label weights ``w`` sorted descending, 0-padded."""
    n, nnz = Y.shape[0], Y.nnz
    vals = w[Y.indices]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(Y.indptr))
    rank = np.empty(nnz, dtype=np.int64)
    rank[np.argsort(-vals)] = np.arange(nnz)  # global rank, largest value first
    order = np.argsort(rows * nnz + rank)  # by row, then value desc; rows stay sorted
    pos = np.arange(nnz) - Y.indptr[rows]
    keep = pos < k
    best = np.zeros((n, k))
    best[rows[keep], pos[keep]] = vals[order[keep]]
    return best


def _safe_ratio(num, den):
    return float(num / den) if den > 0 else 0.0


def _prefix_sums(M, ks):
    """Sum over all rows of ``M[:, :k]`` for each k in ``ks`` (column-wise)."""
    cum = np.cumsum(M.sum(axis=0))
    return {k: float(cum[k - 1]) for k in ks}


def _row_prefix(M, ks):
    """(n, len(ks)): per-row sums of ``M[:, :k]`` (one BLAS product)."""
    sel = (np.arange(M.shape[1])[:, None] < np.asarray(ks)[None, :]).astype(np.float64)
    return M @ sel


def _scores_from_hits(Y, idx, hits, ks, metrics, w):
    """Every requested metric at every cut-off in ``ks`` from the hit matrix."""
    n, kmax = hits.shape
    disc = _discounts(kmax)
    n_true = np.diff(Y.indptr)
    H = hits.astype(np.float64)
    out = {}
    if "precision" in metrics:
        tp = _prefix_sums(H, ks)
        out.update({f"precision_at_{k}": tp[k] / (n * k) for k in ks})
    if "recall" in metrics:
        rec = _row_prefix(H, ks) / np.maximum(n_true, 1)[:, None]  # empty rows: 0 / 1
        out.update({f"recall_at_{k}": float(v) for k, v in zip(ks, rec.mean(axis=0))})
    if "ndcg" in metrics:
        ideal = np.concatenate([[0.0], np.cumsum(disc)])
        idcg = ideal[np.minimum(n_true[:, None], np.asarray(ks)[None, :])]
        dcg = _row_prefix(H * disc, ks)
        nd = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)
        out.update({f"ndcg_at_{k}": float(v) for k, v in zip(ks, nd.mean(axis=0))})
    if any(m in PROPENSITY_METRICS for m in metrics):
        gain = np.append(w, 0.0)[np.where(hits, idx, w.size)]  # a miss weighs 0
        best = _best_weights(Y, w, kmax)
        for m, d in (("psp", 1.0), ("psndcg", disc)):
            if m in metrics:
                num, den = _prefix_sums(gain * d, ks), _prefix_sums(best * d, ks)
                out.update({f"{m}_at_{k}": _safe_ratio(num[k], den[k]) for k in ks})
    return {f"{m}_at_{k}": out[f"{m}_at_{k}"] for m in metrics for k in ks}


def ranking_core(Y, idx, ks, metrics, inv_propensity=None):
    """Ranking metrics from an already converted CSR ``Y`` and top-k ``idx``.

    ``idx`` must have at least ``max(ks)`` columns (more are ignored).  Used
    by :func:`ranking_scores` and by the scorers, which convert inputs once.
    """
    kmax = max(ks)
    idx = idx[:, :kmax]
    if idx.shape[1] < kmax:
        pad = np.full((idx.shape[0], kmax - idx.shape[1]), -1, dtype=np.int64)
        idx = np.hstack([idx, pad])
    check_same_rows(Y.shape, idx.shape)
    w = None
    if any(m in PROPENSITY_METRICS for m in metrics):
        w = check_inv_propensity(inv_propensity, Y.shape[1])
    return _scores_from_hits(Y, idx, _hits(Y, idx), ks, metrics, w)
