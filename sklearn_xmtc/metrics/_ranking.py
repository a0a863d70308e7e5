"""Ranking metrics: P@k, R@k, nDCG@k, PSP@k and PSnDCG@k.

All of them are computed from one boolean "hit" matrix (n, k) (see
``_ranking_core``); ``ranking_scores`` builds it once and derives every
requested metric and cut-off from it.
"""

from __future__ import annotations

import numpy as np

from ..utils.validation import check_k
from ._inputs import (
    check_prediction_columns,
    check_same_rows,
    check_truth,
    prediction_shape,
    to_topk_indices,
)
from ._ranking_core import RANKING_METRICS, _hits, ranking_core

__all__ = [
    "hit_matrix",
    "ndcg_at_k",
    "precision_at_k",
    "psndcg_at_k",
    "psp_at_k",
    "ranking_scores",
    "recall_at_k",
]

_Y_PRED_DOC = """y_pred : ndarray, sparse matrix or tuple
        Predictions, in one of four forms:

        - an **integer** ndarray (n_samples, k') of label indices, sorted
          best-first, -1 meaning "no prediction" (if k' < k the missing ranks
          count as misses);
        - a **float** (or bool) ndarray (n_samples, n_labels) of scores;
        - a sparse (n_samples, n_labels) score matrix whose absent entries are
          -inf, i.e. never ranked;
        - the ``(indices, scores)`` tuple returned by ``predict_topk``.

        The dtype decides: integer = indices, floating = scores.  Scores are
        ranked in decreasing order, ties broken by the lower label index; a
        score of -inf is never ranked.  ``y_true`` must have a column for
        every label ``y_pred`` can name: an index at or beyond its column
        count, or a score matrix wider than it, is a ``ValueError``."""

_K_DOC = """y_true : sparse matrix, dense 0/1 array or sequence of label lists
        True labels (n_samples, n_labels): a matrix whose first columns are
        the predicted labels (the model's ``classes_``), optionally followed
        by test-only labels; or label lists, which need ``classes``.
    {y_pred}
    k : int, default=5
        Cut-off, >= 1.""".format(y_pred=_Y_PRED_DOC)
_CLASSES_DOC = """classes : array-like, default=None
        Label of each column ``y_pred`` indexes (e.g. ``estimator.classes_``).
        Required when ``y_true`` holds label lists (a ``ValueError``
        otherwise): they are mapped through it, and labels absent from it
        count as misses.  With a matrix ``y_true``, it must have at least
        ``len(classes)`` columns (fewer is a ``ValueError``)."""
_PARAMS_DOC = "Parameters\n    ----------\n    " + _K_DOC + "\n    " + _CLASSES_DOC
_PS_PARAMS_DOC = ("Parameters\n    ----------\n    " + _K_DOC + """
    inv_propensity : array-like of shape (n_labels,)
        ``1 / p_l`` from the training labels (:func:`inverse_propensity`,
        :func:`estimator_inv_propensity`), one per column of ``y_true``:
        test-only columns need their own weight (``n_columns=``); a shorter
        vector is a ``ValueError``, extra entries are ignored.
    """ + _CLASSES_DOC)
_JAIN_REFERENCE = """References
    ----------
    .. [1] H. Jain, Y. Prabhu and M. Varma, "Extreme Multi-label Loss Functions
       for Recommendation, Tagging, Ranking & Other Missing Label
       Applications", KDD 2016."""


def _check_metrics(metrics, inv_propensity):
    if metrics is None:
        metrics = RANKING_METRICS if inv_propensity is not None else RANKING_METRICS[:3]
    elif isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    bad = [m for m in metrics if m not in RANKING_METRICS]
    if bad or not metrics:
        raise ValueError(
            f"Unknown ranking metric(s) {bad}; valid names are {list(RANKING_METRICS)}."
        )
    return metrics


def _check_ks(ks):
    ks = (ks,) if np.ndim(ks) == 0 else tuple(ks)
    if not ks:
        raise ValueError("ks must hold at least one cut-off.")
    return tuple(check_k(k, name="k") for k in ks)


def ranking_scores(
    y_true, y_pred, ks=(1, 3, 5), *, inv_propensity=None, metrics=None, classes=None
):
    """Several ranking metrics at several cut-offs from one top-k conversion.

    The predictions are ranked once (to ``max(ks)``), the hits are found
    once, and every metric is derived from them.

    Parameters
    ----------
    y_true : sparse matrix, dense 0/1 array or sequence of label lists
        True labels (n_samples, n_labels); never densified.  A matrix has the
        predicted labels first, then any test-only labels.  Label lists are
        mapped to columns through ``classes`` (required with them); a label
        not in ``classes`` gets an extra column and can only be missed.
    {y_pred}
    ks : int or sequence of int, default=(1, 3, 5)
        Cut-offs, each >= 1.
    inv_propensity : array-like of shape (n_labels,), default=None
        Inverse propensities (:func:`inverse_propensity`) of the training
        labels, required for "psp" and "psndcg", one per column of ``y_true``
        (build it with ``n_columns=`` when ``y_true`` has test-only columns);
        a shorter vector is a ``ValueError``, extra entries are ignored.
    metrics : sequence of str, default=None
        Among "precision", "recall", "ndcg", "psp", "psndcg".  None means the
        first three, plus the last two when ``inv_propensity`` is given.
    classes : array-like, default=None
        Label of each column ``y_pred`` indexes (e.g. ``estimator.classes_``);
        required when ``y_true`` holds label lists.  A matrix ``y_true`` must
        have at least ``len(classes)`` columns.

    Returns
    -------
    scores : dict
        ``{{"precision_at_1": ..., "ndcg_at_3": ..., ...}}``: one float per
        metric and cut-off, keyed ``f"{{metric}}_at_{{k}}"``.

    See Also
    --------
    precision_at_k, recall_at_k, ndcg_at_k, psp_at_k, psndcg_at_k

    {jain_reference}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import ranking_scores
    >>> y_true = [[0, 2], [1]]
    >>> top = np.array([[2, 1], [0, -1]])
    >>> ranking_scores(y_true, top, ks=(1, 2), metrics=("precision",), classes=[0, 1, 2])
    {{'precision_at_1': 0.5, 'precision_at_2': 0.25}}
    """
    ks = _check_ks(ks)
    metrics = _check_metrics(metrics, inv_propensity)
    Y, idx = _truth_and_topk(y_true, y_pred, max(ks), classes)
    return ranking_core(Y, idx, ks, metrics, inv_propensity)


def _truth_and_topk(y_true, y_pred, k, classes):
    """``y_true`` as CSR and ``y_pred`` as top-``k`` indices, rows and columns checked."""
    Y, n_named = check_truth(y_true, classes=classes)
    idx = to_topk_indices(y_pred, k)
    check_same_rows(Y.shape, prediction_shape(y_pred))
    check_prediction_columns(y_pred, idx, n_named, classes)
    return Y, idx


def hit_matrix(y_true, y_pred, k=5, *, classes=None):
    """Which of the top-k predictions are true labels, rank by rank.

    The boolean matrix every ranking metric is computed from.

    {params}

    Returns
    -------
    hits : ndarray of bool, shape (n_samples, k)
        ``hits[i, j]``: the label at rank ``j + 1`` of sample ``i`` is one of
        its true labels (a missing rank, -1, never hits; a label repeated in
        a row hits at its first slot only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import hit_matrix
    >>> y_true = np.array([[1, 0, 1], [0, 1, 0]])
    >>> hit_matrix(y_true, np.array([[2, 1], [1, -1]]), k=2).tolist()
    [[True, False], [True, False]]
    """
    return _hits(*_truth_and_topk(y_true, y_pred, k, classes))


def _single(metric, y_true, y_pred, k, classes, inv_propensity=None):
    k = check_k(k)
    scores = ranking_scores(
        y_true, y_pred, (k,), inv_propensity=inv_propensity, metrics=(metric,), classes=classes
    )
    return scores[f"{metric}_at_{k}"]


def precision_at_k(y_true, y_pred, k=5, *, classes=None):
    """Precision at k: mean over samples of ``|top-k ∩ true| / k``.

    Missing ranks (-1, or fewer than k candidates) count as misses; the
    denominator is always k.  A sample without true labels scores 0.

    {params}

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import precision_at_k
    >>> y_true = np.array([[1, 0, 1], [0, 1, 0]])
    >>> scores = np.array([[0.9, 0.5, 0.1], [0.2, 0.3, 0.1]])
    >>> precision_at_k(y_true, scores, k=1)  # hits: 1 + 1 -> (1/1 + 1/1) / 2
    1.0
    >>> precision_at_k(y_true, scores, k=2)  # (1/2 + 1/2) / 2
    0.5
    """
    return _single("precision", y_true, y_pred, k, classes)


def recall_at_k(y_true, y_pred, k=5, *, classes=None):
    """Recall at k: mean over samples of ``|top-k ∩ true| / |true|``.

    A sample without true labels contributes 0 (it still counts in the mean).

    {params}

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import recall_at_k
    >>> y_true = np.array([[1, 0, 1], [0, 1, 0]])
    >>> recall_at_k(y_true, np.array([[0, 1], [1, 2]]), k=2)  # (1/2 + 1/1) / 2
    0.75
    """
    return _single("recall", y_true, y_pred, k, classes)


def ndcg_at_k(y_true, y_pred, k=5, *, classes=None):
    """Normalised discounted cumulative gain at k.

    ``DCG = sum_j hit_j / log2(j + 1)`` over ranks j <= k, divided by the
    ideal ``IDCG = sum_{{j <= min(k, |true|)}} 1 / log2(j + 1)``, then averaged
    over samples.  A sample without true labels contributes 0.

    {params}

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import ndcg_at_k
    >>> y_true = np.array([[1, 0, 1]])
    >>> round(ndcg_at_k(y_true, np.array([[1, 0]]), k=2), 6)  # (1/log2 3) / (1 + 1/log2 3)
    0.386853
    """
    return _single("ndcg", y_true, y_pred, k, classes)


def psp_at_k(y_true, y_pred, k=5, *, inv_propensity, classes=None):
    """Propensity-scored precision at k (Jain et al., 2016).

    A ratio of sums over all samples, as the Extreme Classification
    Repository, pyxclib and napkinXC report it: the sum of ``1 / p_l`` over
    every hit in the top k, divided by the sum over samples of the best
    achievable value (the k largest ``1 / p_l`` among the sample's true
    labels).  0 when no sample has a true label.

    {ps_params}

    Returns
    -------
    score : float

    {jain_reference}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import psp_at_k
    >>> y_true = np.array([[1, 0, 1], [0, 1, 0]])
    >>> w = np.array([1.0, 2.0, 4.0])
    >>> psp_at_k(y_true, np.array([[0], [1]]), k=1, inv_propensity=w)  # (1 + 2) / (4 + 2)
    0.5
    """
    return _single("psp", y_true, y_pred, k, classes, inv_propensity)


def psndcg_at_k(y_true, y_pred, k=5, *, inv_propensity, classes=None):
    """Propensity-scored nDCG at k (Jain et al., 2016).

    Like :func:`psp_at_k` with the DCG discount ``1 / log2(j + 1)`` on rank j,
    in both the numerator and the best achievable denominator (the sample's
    true labels sorted by decreasing ``1 / p_l``).  A ratio of sums over
    samples; 0 when no sample has a true label.

    {ps_params}

    Returns
    -------
    score : float

    {jain_reference}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import psndcg_at_k
    >>> y_true = np.array([[1, 0, 1]])
    >>> w = np.array([1.0, 2.0, 4.0])
    >>> # num = 4/log2(3); best = 4 + 1/log2(3)
    >>> round(psndcg_at_k(y_true, np.array([[1, 2]]), k=2, inv_propensity=w), 6)
    0.54497
    """
    return _single("psndcg", y_true, y_pred, k, classes, inv_propensity)


for _f in (hit_matrix, ranking_scores, precision_at_k, recall_at_k, ndcg_at_k, psp_at_k,
           psndcg_at_k):
    if _f.__doc__:  # None under python -OO
        _f.__doc__ = _f.__doc__.format(y_pred=_Y_PRED_DOC, params=_PARAMS_DOC,
                                       ps_params=_PS_PARAMS_DOC, jain_reference=_JAIN_REFERENCE)
del _f
