"""Scorers ``(estimator, X, y) -> float`` for GridSearchCV and cross_validate.

Ranking scorers call ``estimator.predict_topk``, set scorers
``estimator.predict`` (for a Pipeline: its transformers, then its last step's
method).  :func:`xmtc_scoring` bundles several into one
callable returning a dict, so a multi-metric search runs inference once.
Not built on ``sklearn.metrics.make_scorer``, which slices ``predict_proba``
for 2-label problems and only knows sklearn's names.

``y`` is checked against the estimator's ``classes_`` as
``BaseXMTCClassifier.score`` does: a matrix needs at least ``len(classes_)``
columns (``classes_`` first, then test-only labels; fewer is a
``ValueError``), label lists are mapped through ``classes_`` (unknown labels
count as misses).
"""

from __future__ import annotations

import numpy as np

from ..utils.validation import check_k
from ._classification import SET_METRICS, check_sets, classification_core
from ._inputs import check_same_rows, check_y_true, to_topk_indices
from ._propensity import estimator_inv_propensity
from ._ranking_core import RANKING_METRICS, ranking_core

__all__ = ["XMTCScorer", "get_scorer", "get_scorer_names", "make_xmtc_scorer", "xmtc_scoring"]

_MAX_NAMED_K = 10
_SCORER_NAMES = sorted(
    [f"{m}_at_{k}" for m in RANKING_METRICS for k in range(1, _MAX_NAMED_K + 1)] + list(SET_METRICS)
)


def _final_estimator(estimator, X, method):
    """``(model, X)`` for ``method``: a Pipeline without it runs X through its
    transformers and hands over to its last step (recursively)."""
    if hasattr(estimator, method):
        return estimator, X
    if hasattr(estimator, "steps") and len(estimator.steps) > 0:
        for _, step in estimator.steps[:-1]:
            if step is not None and step != "passthrough":
                X = step.transform(X)
        return _final_estimator(estimator.steps[-1][1], X, method)
    raise AttributeError(
        f"XMTC scorers need estimator.{method}(X), which {type(estimator).__name__} lacks."
    )


def _true_matrix(estimator, y):
    """``y`` as CSR, checked against ``estimator.classes_`` as ``score`` does.

    A matrix needs at least ``len(classes_)`` columns (``classes_`` first,
    then test-only labels); label lists are mapped through ``classes_``, and
    labels unseen by the estimator (e.g. absent from the training fold) get
    extra columns, so they count as missed.
    """
    return check_y_true(y, classes=getattr(estimator, "classes_", None), name="y")


def _topk_indices(estimator, X, k):
    out = estimator.predict_topk(X, k=k)
    idx = np.asarray(out[0] if isinstance(out, tuple) else out)
    if idx.ndim != 2 or idx.dtype.kind not in "iu":
        raise ValueError(
            "estimator.predict_topk must return integer indices of shape (n_samples, k) "
            f"(or an (indices, scores) tuple), got {idx.dtype} of shape {idx.shape}."
        )
    return to_topk_indices(idx, k)  # validates, drops repeats, pads to k with -1


def _pred_sets(estimator, X, Y):
    """``(Y, P)``: true and predicted sets as CSR of the same shape."""
    return check_sets(Y, estimator.predict(X))


def _func_name(func):
    return getattr(func, "__name__", None) or type(func).__name__


def _inv_propensity(estimator, n_columns):
    """Training-fold inverse propensities for the ``n_columns`` columns of ``y``.

    Columns after the estimator's ``classes_`` (labels unseen in its training
    fold) get the inverse propensity of a count of 0.
    """
    return estimator_inv_propensity(estimator, n_columns=n_columns)


class XMTCScorer:
    """One XMTC metric as a scorer ``(estimator, X, y) -> float``.

    Build it with :func:`get_scorer` or :func:`make_xmtc_scorer`.  Picklable
    when its metric is a name or a module-level function.

    Attributes
    ----------
    metric : str or callable
        Metric name ("precision", "psp", "micro_f1", ...) or a callable
        ``metric(y_true_csr, y_pred, **kwargs) -> float``.
    needs : {"topk", "sets"}
        Whether the scorer calls ``predict_topk`` or ``predict``.
    k : int or None
        Cut-off of a "topk" scorer.
    kwargs : dict
        Extra keyword arguments of a callable metric.
    name : str
        Key of the scorer's value in :func:`xmtc_scoring`'s dict.

    Examples
    --------
    >>> from sklearn_xmtc.metrics import get_scorer
    >>> scorer = get_scorer("ndcg_at_3")
    >>> scorer.needs, scorer.k, scorer.name
    ('topk', 3, 'ndcg_at_3')
    """

    def __init__(self, metric, *, needs, k=None, kwargs=None):
        self.metric = metric
        self.needs = needs
        self.k = k
        self.kwargs = dict(kwargs or {})

    @property
    def name(self):
        base = self.metric if isinstance(self.metric, str) else _func_name(self.metric)
        return f"{base}_at_{self.k}" if self.needs == "topk" else base

    def __repr__(self):
        m = repr(self.metric) if isinstance(self.metric, str) else _func_name(self.metric)
        parts = [m]
        if not isinstance(self.metric, str):
            parts.append(f"needs={self.needs!r}")
        if self.k is not None:
            parts.append(f"k={self.k}")
        parts += [f"{key}={val!r}" for key, val in self.kwargs.items()]
        return f"make_xmtc_scorer({', '.join(parts)})"

    def __call__(self, estimator, X, y):
        method = "predict_topk" if self.needs == "topk" else "predict"
        estimator, X = _final_estimator(estimator, X, method)
        Y = _true_matrix(estimator, y)
        if self.needs == "topk":
            pred = _topk_indices(estimator, X, self.k)
            check_same_rows(Y.shape, pred.shape)
        else:
            Y, pred = _pred_sets(estimator, X, Y)
        return self._score(estimator, Y, pred)

    def _score(self, estimator, Y, pred):
        """Score from a converted ``Y`` and a top-k / set prediction."""
        if callable(self.metric):
            if self.needs == "topk":
                pred = pred[:, : self.k]
            return float(self.metric(Y, pred, **self.kwargs))
        if self.needs == "sets":
            return classification_core(Y, pred)[self.metric]
        w = _inv_propensity(estimator, Y.shape[1]) if self.metric in ("psp", "psndcg") else None
        return ranking_core(Y, pred, (self.k,), (self.metric,), w)[self.name]


def get_scorer_names():
    """Sorted names accepted by :func:`get_scorer` and :func:`xmtc_scoring`.

    Returns
    -------
    names : list of str
        ``precision_at_k``, ``recall_at_k``, ``ndcg_at_k``, ``psp_at_k``,
        ``psndcg_at_k`` for k in 1..10, and ``micro_precision``,
        ``micro_recall``, ``micro_f1``, ``macro_f1``, ``example_f1``.

    Examples
    --------
    >>> from sklearn_xmtc.metrics import get_scorer_names
    >>> "precision_at_5" in get_scorer_names()
    True
    """
    return list(_SCORER_NAMES)


def get_scorer(scoring):
    """The scorer ``(estimator, X, y) -> float`` of a metric name.

    Parameters
    ----------
    scoring : str or callable
        A name from :func:`get_scorer_names`; a callable is returned as is.

    Returns
    -------
    scorer : XMTCScorer or callable

    Examples
    --------
    >>> from sklearn_xmtc.metrics import get_scorer
    >>> get_scorer("psp_at_3")
    make_xmtc_scorer('psp', k=3)
    """
    if callable(scoring):
        return scoring
    if not isinstance(scoring, str) or scoring not in _SCORER_NAMES:
        raise ValueError(
            f"{scoring!r} is not a valid sklearn_xmtc scorer name; valid names are "
            f"{_SCORER_NAMES} (other cut-offs: make_xmtc_scorer(metric, k=...))."
        )
    if scoring in SET_METRICS:
        return XMTCScorer(scoring, needs="sets")
    metric, _, k = scoring.rpartition("_at_")
    return XMTCScorer(metric, needs="topk", k=int(k))


def make_xmtc_scorer(metric, *, k=None, needs=None, **kwargs):
    """Make a scorer from a metric name or a metric function.

    Parameters
    ----------
    metric : str or callable
        A ranking metric ("precision", "recall", "ndcg", "psp", "psndcg"),
        a full name such as "ndcg_at_3", a set metric ("micro_f1",
        "micro_precision", "micro_recall", "macro_f1", "example_f1"), or a
        function ``metric(y_true, y_pred, **kwargs) -> float`` that receives
        ``y_true`` as CSR (label lists mapped through ``estimator.classes_``)
        and either top-k indices (n, k) or the predicted CSR sets.
    k : int, default=None
        Cut-off of a ranking scorer (None: 5).  Not used by set metrics.
    needs : {"topk", "sets"}, default=None
        Required with a callable metric: call ``predict_topk`` or ``predict``.
    **kwargs
        Passed to a callable metric.

    Returns
    -------
    scorer : XMTCScorer

    Examples
    --------
    >>> from sklearn_xmtc.metrics import make_xmtc_scorer, recall_at_k
    >>> make_xmtc_scorer("ndcg", k=7)
    make_xmtc_scorer('ndcg', k=7)
    >>> make_xmtc_scorer(recall_at_k, needs="topk", k=20).name
    'recall_at_k_at_20'
    """
    if callable(metric):
        if needs not in ("topk", "sets"):
            raise ValueError(
                f'needs must be "topk" or "sets" with a callable metric, got {needs!r}.'
            )
        if needs == "sets" and k is not None:
            raise ValueError('k is only used with needs="topk".')
        k = check_k(5 if k is None else k) if needs == "topk" else None
        return XMTCScorer(metric, needs=needs, k=k, kwargs=kwargs)
    if kwargs or needs is not None:
        raise TypeError("needs and extra keyword arguments are only used with a callable metric.")
    if metric in SET_METRICS:
        if k is not None:
            raise ValueError(f"k is not used by the set metric {metric!r}.")
        return XMTCScorer(metric, needs="sets")
    if isinstance(metric, str) and "_at_" in metric and metric.rpartition("_at_")[2].isdigit():
        metric, _, named_k = metric.rpartition("_at_")
        if k is not None and int(named_k) != k:
            raise ValueError(f"k={k} contradicts the name {metric}_at_{named_k}.")
        k = int(named_k)
    if metric not in RANKING_METRICS:
        raise ValueError(
            f"Unknown metric {metric!r}; valid names are {list(RANKING_METRICS)} (with k) "
            f"and {list(SET_METRICS)}, or pass a callable with needs=."
        )
    return XMTCScorer(metric, needs="topk", k=check_k(5 if k is None else k))


class XMTCMultiScorer:
    """Several XMTC scorers as one callable ``(estimator, X, y) -> dict``.

    Calls ``predict_topk`` once (with the largest k) when any ranking scorer
    is present and ``predict`` once when any set scorer is, then computes
    every metric from those two predictions.  Build it with
    :func:`xmtc_scoring`.

    Attributes
    ----------
    scorers : dict of str -> XMTCScorer

    Examples
    --------
    >>> from sklearn_xmtc.metrics import xmtc_scoring
    >>> multi = xmtc_scoring(["psp_at_5", "example_f1"])
    >>> sorted(multi.scorers)
    ['example_f1', 'psp_at_5']
    """

    def __init__(self, scorers):
        self.scorers = dict(scorers)

    def __repr__(self):
        if all(isinstance(s.metric, str) and key == s.name for key, s in self.scorers.items()):
            return f"xmtc_scoring({list(self.scorers)!r})"
        items = ", ".join(f"{key!r}: {s!r}" for key, s in self.scorers.items())
        return f"xmtc_scoring({{{items}}})"

    def __call__(self, estimator, X, y):
        topk = [s for s in self.scorers.values() if s.needs == "topk"]
        estimator, X = _final_estimator(estimator, X, "predict_topk" if topk else "predict")
        Y = _true_matrix(estimator, y)
        idx = Y_sets = P = None
        if topk:
            idx = _topk_indices(estimator, X, max(s.k for s in topk))
            check_same_rows(Y.shape, idx.shape)
        if len(topk) < len(self.scorers):
            Y_sets, P = _pred_sets(estimator, X, Y)
        shared = self._shared_scores(estimator, Y, idx, Y_sets, P)
        out = {}
        for key, s in self.scorers.items():
            if not callable(s.metric):
                out[key] = shared[s.name]
            elif s.needs == "topk":
                out[key] = s._score(estimator, Y, idx)
            else:
                out[key] = s._score(estimator, Y_sets, P)
        return out

    def _shared_scores(self, estimator, Y, idx, Y_sets, P):
        """Named metrics, each family computed in one pass."""
        named = [s for s in self.scorers.values() if not callable(s.metric)]
        ranking = [s for s in named if s.needs == "topk"]
        shared = {}
        if ranking:
            ks = tuple(sorted({s.k for s in ranking}))
            metrics = tuple(dict.fromkeys(s.metric for s in ranking))
            w = _inv_propensity(estimator, Y.shape[1]) if {"psp", "psndcg"} & set(metrics) else None
            shared.update(ranking_core(Y, idx, ks, metrics, w))
        if any(s.needs == "sets" for s in named):
            shared.update(classification_core(Y_sets, P))
        return shared


def xmtc_scoring(scoring):
    """One multi-metric scorer ``(estimator, X, y) -> dict[str, float]``.

    Inference runs once per call: a single ``predict_topk`` with the largest
    k among the ranking metrics, and a single ``predict`` if a set metric is
    named.  Pass it as ``scoring=`` with ``refit="<one of the names>"``.

    Parameters
    ----------
    scoring : str, sequence of str, or dict of str -> scorer
        Names from :func:`get_scorer_names`, or a dict mapping result keys to
        names or :class:`XMTCScorer` objects (from :func:`make_xmtc_scorer`).

    Returns
    -------
    scorer : XMTCMultiScorer

    Examples
    --------
    >>> from sklearn_xmtc.metrics import xmtc_scoring
    >>> xmtc_scoring(["precision_at_1", "precision_at_5", "micro_f1"])
    xmtc_scoring(['precision_at_1', 'precision_at_5', 'micro_f1'])

    ``GridSearchCV(est, grid, scoring=xmtc_scoring([...]),
    refit="precision_at_5")`` then reports every metric per candidate.
    """
    if isinstance(scoring, str):
        scoring = [scoring]
    items = scoring.items() if isinstance(scoring, dict) else ((name, name) for name in scoring)
    scorers = {}
    for key, s in items:
        s = get_scorer(s) if isinstance(s, str) else s
        if not isinstance(s, XMTCScorer):
            raise TypeError(
                f"xmtc_scoring needs scorer names or XMTCScorer objects; {key!r} is {s!r}."
            )
        scorers[key] = s
    if not scorers:
        raise ValueError("xmtc_scoring needs at least one scorer name.")
    return XMTCMultiScorer(scorers)
