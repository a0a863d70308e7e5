"""Metrics and scorers for extreme multi-label classification (numpy/scipy only).

Ranking metrics (P@k, R@k, nDCG@k, PSP@k, PSnDCG@k) take true labels as
CSR / dense 0-1 / label lists and predictions as top-k indices, dense or
sparse scores; set metrics (micro / macro / example-based F1) take predicted
label sets.  Scorers ``(estimator, X, y)`` call ``predict_topk`` or
``predict``; :func:`xmtc_scoring` evaluates many metrics from one inference.
Definitions: ``methods/metrics.md``; propensities after Jain, Prabhu and
Varma (KDD 2016).
"""

from ._classification import (
    classification_scores,
    example_f1,
    macro_f1,
    micro_f1,
    micro_precision,
    micro_recall,
)
from ._propensity import (
    PROPENSITY_PRESETS,
    estimator_inv_propensity,
    inverse_propensity,
    propensity,
)
from ._ranking import (
    hit_matrix,
    ndcg_at_k,
    precision_at_k,
    psndcg_at_k,
    psp_at_k,
    ranking_scores,
    recall_at_k,
)
from ._scorers import (
    XMTCMultiScorer,
    XMTCScorer,
    get_scorer,
    get_scorer_names,
    make_xmtc_scorer,
    xmtc_scoring,
)

__all__ = sorted(
    [
        "PROPENSITY_PRESETS",
        "XMTCMultiScorer",
        "XMTCScorer",
        "classification_scores",
        "estimator_inv_propensity",
        "example_f1",
        "get_scorer",
        "get_scorer_names",
        "hit_matrix",
        "inverse_propensity",
        "macro_f1",
        "make_xmtc_scorer",
        "micro_f1",
        "micro_precision",
        "micro_recall",
        "ndcg_at_k",
        "precision_at_k",
        "propensity",
        "psndcg_at_k",
        "psp_at_k",
        "ranking_scores",
        "recall_at_k",
        "xmtc_scoring",
    ]
)
