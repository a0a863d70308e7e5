"""Metrics of one benchmark run: ranking metrics, micro-F1 and label-frequency buckets.

Everything is computed from the top-5 predictions and the thresholded sets
(micro P/R/F1, macro-F1 over the labels with test support, example-based F1),
against ``Y_test`` (whose extra columns are labels never seen in training:
they can only be missed).  Propensities are computed ONCE per split from the
training label counts (Jain et al. 2016, A=0.55, B=1.5), identical for every
system, so PSP@k is comparable across our estimators and the peers.

Label-frequency buckets (``label_buckets``): the labels are sorted by
decreasing training frequency and cut where the cumulative share of training
label occurrences crosses 1/3 and 2/3 ("tertiles of label occurrences"):
*head* = the few most frequent labels that carry the first third of all
training occurrences, *torso* the next third, *tail* the rest (the many rare
labels), plus every label with no training occurrence.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sklearn_xmtc.labels import pad_columns
from sklearn_xmtc.metrics import (
    classification_scores,
    hit_matrix,
    inverse_propensity,
    ranking_scores,
)

KS = (1, 2, 3, 4, 5)
BUCKETS = ("head", "torso", "tail")


def train_frequencies(Y_train, n_columns):
    """Training occurrences of each of the ``n_columns`` labels (0 for test-only)."""
    if n_columns < Y_train.shape[1]:
        raise ValueError(f"n_columns={n_columns} < the {Y_train.shape[1]} training labels.")
    return np.bincount(Y_train.indices, minlength=n_columns).astype(np.int64)


def shared_inv_propensity(Y_train, n_columns, A=0.55, B=1.5):
    """Inverse propensities of all ``n_columns`` test columns from training counts.

    Test-only columns get the propensity of a count of 0 (``n_columns=``).
    """
    freq = np.bincount(Y_train.indices, minlength=Y_train.shape[1])
    return inverse_propensity(label_frequencies=freq, n_samples=max(Y_train.shape[0], 1),
                              A=A, B=B, n_columns=n_columns)


def label_buckets(freq):
    """int array (L,): 0 head, 1 torso, 2 tail (see module docstring)."""
    order = np.argsort(-freq, kind="stable")
    before = np.cumsum(freq[order]) - freq[order]  # occurrences of more frequent labels
    share = before / max(freq.sum(), 1)
    bucket = np.empty(freq.size, dtype=np.int64)
    bucket[order] = np.minimum((share * 3).astype(np.int64), 2)
    bucket[freq == 0] = 2
    return bucket


def bucket_scores(Y_test, idx, inv_p, bucket):
    """Per bucket: n_labels, test positives, recall@5 (micro), PSP@5 and P@5 share."""
    hits = hit_matrix(Y_test, idx, k=idx.shape[1])
    safe = np.where(idx >= 0, idx, 0)
    pred_bucket = np.where(idx >= 0, bucket[np.minimum(safe, bucket.size - 1)], -1)
    out = {}
    for b, name in enumerate(BUCKETS):
        in_b = bucket == b
        Yb = sp.csr_matrix(Y_test @ sp.diags(in_b.astype(np.float32)))
        Yb.eliminate_zeros()
        idx_b = np.where(pred_bucket == b, idx, -1)
        n_pos = int(Yb.nnz)
        n_hit = int((hits & (pred_bucket == b)).sum())
        psp = ranking_scores(Yb, idx_b, ks=(5,), inv_propensity=inv_p, metrics=("psp",))
        out[name] = {
            "n_labels": int(in_b.sum()),
            "test_positives": n_pos,
            "recall@5": n_hit / n_pos if n_pos else None,
            "PSP@5": psp["psp_at_5"] if n_pos else None,
            "P@5_share": n_hit / (idx.shape[0] * 5),
        }
    return out


def evaluate_predictions(Y_train, Y_test, idx, sets):
    """All metrics of one run (a flat dict plus ``buckets``)."""
    n_cols = Y_test.shape[1]
    inv_p = shared_inv_propensity(Y_train, n_cols)
    r = ranking_scores(Y_test, idx[:, :5], ks=KS, inv_propensity=inv_p,
                       metrics=("precision", "recall", "ndcg", "psp"))
    out = {f"P@{k}": r[f"precision_at_{k}"] for k in KS}
    out.update({f"nDCG@{k}": r[f"ndcg_at_{k}"] for k in (1, 3, 5)})
    out.update({f"PSP@{k}": r[f"psp_at_{k}"] for k in (1, 3, 5)})
    out["R@5"] = r["recall_at_5"]
    c = classification_scores(Y_test, pad_columns(sets, n_cols))
    out.update({"micro-P": c["micro_precision"], "micro-R": c["micro_recall"],
                "micro-F1": c["micro_f1"], "macro-F1": c["macro_f1"],
                "example-F1": c["example_f1"]})
    out["avg_predicted_set_size"] = float(sets.nnz / max(sets.shape[0], 1))
    out["avg_true_set_size"] = float(Y_test.nnz / max(Y_test.shape[0], 1))
    freq = train_frequencies(Y_train, n_cols)
    out["buckets"] = bucket_scores(Y_test, idx[:, :5], inv_p, label_buckets(freq))
    return out
