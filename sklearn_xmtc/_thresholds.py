"""Thresholds tuned for micro-F1 on validation data, and the meta-estimator using them.

:func:`tune_thresholds` works on top-k candidates (indices and scores, as
``predict_topk`` returns them) of validation texts with known labels, so any
ranker (ours or a peer library's) is tuned the same way; :func:`sets_from_topk`
applies the result. :class:`TunedThresholdXMTCClassifier` wraps an estimator:
it scores held-out texts (or out-of-fold ones), tunes, refits on all the data.

Global threshold: the candidates are sorted by score once and micro-F1 is
evaluated at every cut between distinct scores (O(m log m) for m candidates).
Per-label thresholds maximise the *micro*-F1 of all labels together, which is
not a sum over labels; it is a ratio ``2 TP / (P + T)`` (TP true positives, P
predicted labels, T true labels), so Dinkelbach's method solves it exactly:
for a fixed ``lam``, ``2 TP - lam P`` is a sum over labels and each label picks
its own best cut; ``lam`` is then set to the F1 that this choice reaches, until
it stops rising (each label keeps the cuts whose extra predictions are more
than ``lam / 2`` precise: the F*/2 rule of Lipton et al., 2014).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseXMTCClassifier, _limits, check_label_limits, limit_label_sets
from .labels import check_label_matrix
from .metrics import hit_matrix
from .nn import topk_candidates

__all__ = ["TunedThresholdXMTCClassifier", "tune_thresholds", "sets_from_topk"]


def _sorted_candidates(indices, scores):
    """Rows sorted by score (best first, invalid last), as (idx, scores, valid)."""
    idx = np.asarray(indices, dtype=np.int64)
    val = np.asarray(scores, dtype=np.float32)
    if idx.ndim != 2 or idx.shape != val.shape:
        raise ValueError(f"indices and scores must be 2-D of one shape, got {idx.shape} and "
                         f"{val.shape}.")
    if np.isnan(val[idx >= 0]).any():
        raise ValueError("scores hold NaN for valid candidates; thresholds cannot be tuned.")
    # best first, ties to the lower label (as ``predict``'s limits), invalid last
    key = np.where(idx >= 0, -val.astype(np.float64), np.inf)
    order = np.lexsort((np.where(idx >= 0, idx, 0), key), axis=1)
    idx, val = np.take_along_axis(idx, order, 1), np.take_along_axis(val, order, 1)
    return idx, val, idx >= 0


def _cut_threshold(s, end):
    """The threshold keeping ``s[:end]`` of the descending float32 ``s``: the midpoint to
    the next lower score, the lowest score when all are kept, just above the best one
    when none is."""
    if end == 0:
        return float(np.nextafter(s[0], np.float32(np.inf)))
    if end == len(s):
        return float(s[end - 1])
    return float(_midpoint(s[end - 1], s[end]))


def _midpoint(upper, lower):
    """The float32 midpoint of ``upper`` > ``lower`` (elementwise), or ``upper`` where
    rounding would not leave it above ``lower``."""
    upper = np.asarray(upper, dtype=np.float32)
    mid = ((upper.astype(np.float64) + lower) / 2).astype(np.float32)
    return np.where(mid > lower, mid, upper)


def tune_thresholds(y_true, indices, scores, *, strategy="global", min_positives=5,
                    min_labels=0, max_labels=None, n_labels=None):
    """Score thresholds that maximise micro-F1 on validation texts.

    A label is predicted for a text when it is one of the text's candidates and
    its score is >= the threshold (the text's ``min_labels`` best candidates
    always are, candidates ranked below ``max_labels`` never are).

    Parameters
    ----------
    y_true : sparse matrix, dense 0/1 array or sequence of label-index iterables
        True labels of the validation texts, shape (n, >= n_labels); labels
        outside the candidates count as missed (false negatives).
    indices : array of int, shape (n, k)
        Candidate labels of each text (``predict_topk``'s indices; -1 = none).
    scores : array of float, shape (n, k)
        Their scores (higher is better).
    strategy : {"global", "per_label"}, default="global"
        One threshold for all labels, or one per label with at least
        ``min_positives`` true occurrences in ``y_true`` (the others keep the
        global one), tuned jointly for micro-F1.
    min_positives : int, default=5
    min_labels, max_labels : int, default=0 and None
        The label-count limits that ``predict`` will apply.
    n_labels : int or None, default=None
        Length of the per-label threshold array (default ``y_true``'s columns).

    Returns
    -------
    threshold : float
        The best global threshold.
    thresholds : ndarray of float32, shape (n_labels,)
        Per-label thresholds (all equal to ``threshold`` for "global").
    micro_f1 : float
        The validation micro-F1 that ``thresholds`` reach.

    References
    ----------
    Lipton, Elkan and Naryanaswamy (2014), "Optimal thresholding of classifiers
    to maximize F1 measure", ECML PKDD. Dinkelbach (1967), "On nonlinear
    fractional programming", Management Science 13(7).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.model_selection import tune_thresholds
    >>> y = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0]])
    >>> idx = np.array([[0, 1], [1, 0], [2, 0]])
    >>> s = np.array([[0.9, 0.6], [0.4, 0.2], [0.5, 0.3]])
    >>> t, _, f1 = tune_thresholds(y, idx, s)  # keeps 5 of the 6 candidates, 3 true
    >>> round(t, 3), round(f1, 3)
    (0.25, 0.75)
    >>> t, per_label, f1 = tune_thresholds(y, idx, s, strategy="per_label", min_positives=0)
    >>> per_label.round(3).tolist(), round(f1, 3)  # label 2 (never true) is dropped
    ([0.25, 0.25, 0.5], 0.857)
    """
    if strategy not in ("global", "per_label"):
        raise ValueError(f"strategy must be 'global' or 'per_label', got {strategy!r}.")
    idx, val, valid = _sorted_candidates(indices, scores)
    Y, _ = check_label_matrix(y_true, n_samples=idx.shape[0], name="y_true")
    n_labels = Y.shape[1] if n_labels is None else int(n_labels)
    if valid.any() and idx[valid].max() >= n_labels:
        raise ValueError(f"indices hold label {int(idx[valid].max())}, beyond the "
                         f"{n_labels} labels.")
    hits = hit_matrix(Y, idx, k=idx.shape[1])
    rank = np.arange(idx.shape[1])[None, :]
    forced = valid & (rank < int(min_labels))
    free = valid & ~forced
    if max_labels is not None:
        free &= rank < int(max_labels)
    T = float(Y.nnz)
    tp0, p0 = float(hits[forced].sum()), float(forced.sum())

    # one global threshold: every cut of the free candidates sorted by score
    s, h, lab = val[free], hits[free], idx[free]
    order = np.argsort(-s.astype(np.float64), kind="stable")
    s, h, lab = s[order], h[order], lab[order]
    ctp = np.concatenate([[0.0], np.cumsum(h, dtype=np.float64)])
    cp = np.arange(len(s) + 1, dtype=np.float64)
    ends = np.concatenate([[0], np.flatnonzero(np.diff(s) != 0) + 1, [len(s)]]) \
        if len(s) else np.zeros(1, np.int64)
    f1 = 2 * (tp0 + ctp[ends]) / np.maximum(p0 + cp[ends] + T, 1e-12)
    best = int(np.argmax(f1))  # first maximum: the fewest predictions
    end = int(ends[best])
    threshold = _cut_threshold(s, end) if len(s) else 0.5
    thresholds = np.full(n_labels, threshold, dtype=np.float32)
    score = float(f1[best])
    if strategy == "global" or not len(s):
        return threshold, thresholds, score

    positives = np.bincount(Y.indices, minlength=max(Y.shape[1], n_labels))
    own = positives[lab] >= int(min_positives)  # candidates of the labels tuned alone
    tp_fixed = tp0 + float(h[~own & (s >= threshold)].sum())
    p_fixed = p0 + float((~own & (s >= threshold)).sum())
    s, h, lab = s[own], h[own], lab[own]
    if not len(s):
        return threshold, thresholds, score
    order = np.lexsort((-s.astype(np.float64), lab))  # by label, then score descending
    s, h, lab = s[order], h[order], lab[order]
    starts = np.flatnonzero(np.diff(lab, prepend=-1) != 0)
    seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(s))))
    ctp = np.cumsum(h, dtype=np.float64)
    ctp -= np.repeat(np.concatenate([[0.0], ctp[starts[1:] - 1]]), np.diff(np.append(starts, len(s))))
    cp = np.arange(len(s), dtype=np.float64) - starts[seg] + 1
    # a cut may end after the last of a run of equal scores within a label
    run_end = np.append((np.diff(s) != 0) | (np.diff(lab) != 0), True)
    lam, chosen = score, None
    for _ in range(100):  # Dinkelbach: lam rises at every step, a few steps in practice
        gain = np.where(run_end, 2 * ctp - lam * cp, -np.inf)
        # best cut of each label: its position of maximal gain (the earliest among equal
        # gains), or nothing when no gain is positive
        order_g = np.lexsort((-gain, seg))
        first = order_g[np.searchsorted(seg[order_g], np.arange(len(starts)))]
        take = gain[first] > 0
        tp = tp_fixed + float(ctp[first][take].sum())
        p = p_fixed + float(cp[first][take].sum())
        new = 2 * tp / max(p + T, 1e-12)
        if new <= lam + 1e-12:
            break
        lam, chosen = new, (first, take)
    if chosen is None:
        return threshold, thresholds, score
    first, take = chosen
    # each tuned label's threshold from its cut (vectorised over the labels)
    stop = np.append(starts[1:], len(s))
    last = first  # the lowest kept candidate of the label
    nxt = np.minimum(first + 1, len(s) - 1)
    at_end = first + 1 == stop
    kept = np.where(at_end, np.minimum(s[last], np.float32(threshold)),
                    _midpoint(s[last], s[nxt]))
    above_best = np.nextafter(s[starts], np.float32(np.inf))
    none = np.maximum(np.float32(threshold), above_best)
    thresholds[lab[starts]] = np.where(take, kept, none)
    return threshold, thresholds, float(lam)


def sets_from_topk(indices, scores, thresholds, *, n_labels, min_labels=0, max_labels=None):
    """The predicted label sets of top-k candidates under (per-label) thresholds.

    Parameters
    ----------
    indices, scores : arrays of shape (n, k)
        Candidates and their scores (-1 = none).
    thresholds : float or array of shape (n_labels,)
    n_labels : int
    min_labels, max_labels : int, default=0 and None
        As the estimators' parameters: at least the ``min_labels`` best
        candidates, at most the ``max_labels`` best chosen ones.

    Returns
    -------
    sets : CSR matrix of float32 0/1, shape (n, n_labels)
    """
    idx = torch.from_numpy(np.ascontiguousarray(indices, dtype=np.int64))
    val = torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))
    chosen = val >= _threshold_of(thresholds, idx)
    r, c = limit_label_sets(idx, val, chosen, min_labels, max_labels)
    out = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(idx.shape[0], n_labels))
    out.sum_duplicates()
    out.data[:] = 1.0
    return out


def _threshold_of(thresholds, cand):
    """Per-entry thresholds of the candidate labels ``cand`` (B, C)."""
    t = np.asarray(thresholds, dtype=np.float32)
    if t.ndim == 0:
        return float(t)
    return torch.from_numpy(t)[cand.clamp(min=0).cpu()].to(cand.device)


def holdout_split(n, fraction, random_state=0):
    """(fit, validation) sorted row indices: a random ``fraction`` of ``n`` rows held out
    (at least one row on each side)."""
    perm = np.random.RandomState(random_state).permutation(n)
    n_valid = min(max(1, int(round(fraction * n))), n - 1)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


def _rows(X, index):
    """Rows ``index`` of a list of texts or of a feature matrix."""
    if hasattr(X, "shape"):
        return X[index]
    return [X[i] for i in index]


class TunedThresholdXMTCClassifier(BaseXMTCClassifier):
    """Tune the score thresholds of an XMTC estimator for micro-F1.

    The :class:`~sklearn.model_selection.TunedThresholdClassifierCV` of XMTC. A
    clone of ``estimator`` is fitted on part of the data and scores the rest
    (a held-out fraction, or every fold of ``cv``); the thresholds that
    maximise the micro-F1 of those predictions are kept (one global value, or
    one per label, see :func:`tune_thresholds`), and the estimator is refitted
    on all the data. ``predict`` then keeps, among the ``n_candidates`` best
    labels of each text, those at or above their threshold, within the
    wrapped estimator's ``min_labels`` / ``max_labels``; ``predict_topk`` and
    ``predict_proba`` are the wrapped estimator's.

    Over a generative estimator (OTSeq2Set) the tuned ``predict`` thresholds
    its label scores instead of returning the generated sets.

    Parameters
    ----------
    estimator : sklearn_xmtc estimator
        Any estimator of this library that scores labels (fitted, with
        ``cv="prefit"``).
    strategy : {"global", "per_label"}, default="global"
        One threshold, or one per label (labels with fewer than
        ``min_positives`` validation positives keep the global one).
    cv : None, int, cross-validation generator, iterable or "prefit", default=None
        None: one split holding out ``validation_fraction`` of the texts. An
        int or splitter: out-of-fold scores of every text (``KFold``), one fit
        per fold. "prefit": ``estimator`` is already fitted and ``fit(X, y)``
        only tunes on ``(X, y)``.
    validation_fraction : float, default=0.2
        Held-out share with ``cv=None``.
    min_positives : int, default=5
        Validation positives a label needs for its own threshold.
    n_candidates : int, default=50
        Best labels per text among which thresholds choose.
    refit : bool, default=True
        Refit on all the data after tuning. False keeps the model fitted on
        the non-held-out texts (only with ``cv=None``).
    random_state : int or None, default=0
        Seeds the held-out split.

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator that scores the labels.
    threshold_ : float
        The tuned global threshold.
    thresholds_ : ndarray of float32, shape (n_labels,)
        The threshold of each label (``threshold_`` everywhere for "global").
    best_score_ : float
        Validation micro-F1 with ``thresholds_``.
    classes_ : ndarray of shape (n_labels,)
    n_labels_ : int
    label_frequencies_ : ndarray of int64, shape (n_labels,)
    inv_propensity_ : ndarray of float64, shape (n_labels,)
        The wrapped estimator's propensity parameters, on all the data.

    References
    ----------
    Lipton, Elkan and Naryanaswamy (2014), "Optimal thresholding of classifiers
    to maximize F1 measure", ECML PKDD.

    Examples
    --------
    >>> from sklearn_xmtc import DummyXMTCClassifier
    >>> from sklearn_xmtc.model_selection import TunedThresholdXMTCClassifier
    >>> X = ["a", "b", "c", "d", "e", "f"]
    >>> y = [["x"], ["x", "y"], ["x"], ["x", "y"], ["x"], ["y"]]
    >>> est = TunedThresholdXMTCClassifier(DummyXMTCClassifier(strategy="prior"), cv=3)
    >>> est.fit(X, y).predict_labels(["g"])
    [['x', 'y']]
    >>> round(est.threshold_, 2), round(est.best_score_, 3)
    (0.5, 0.8)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_topk"])],
        "strategy": [StrOptions({"global", "per_label"})],
        "cv": [None, "cv_object", StrOptions({"prefit"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "min_positives": [Interval(Integral, 1, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "refit": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, *, strategy="global", cv=None, validation_fraction=0.2,
                 min_positives=5, n_candidates=50, refit=True, random_state=0):
        self.estimator = estimator
        self.strategy = strategy
        self.cv = cv
        self.validation_fraction = validation_fraction
        self.min_positives = min_positives
        self.n_candidates = n_candidates
        self.refit = refit
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if isinstance(self.estimator, BaseXMTCClassifier):
            tags.input_tags = self.estimator.__sklearn_tags__().input_tags
        return tags

    def _check_estimator(self):
        if not isinstance(self.estimator, BaseXMTCClassifier):
            raise TypeError(
                "estimator must be an sklearn_xmtc estimator (it scores labels through "
                f"predict_topk), got {type(self.estimator).__name__}.")
        check_label_limits(self.estimator)

    def fit(self, X, y):
        """Fit, tune the thresholds on held-out scores, refit.

        Parameters
        ----------
        X : iterable of str (or the feature matrix the wrapped estimator takes)
        y : sparse matrix, dense 0/1 array or sequence of label iterables

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._check_estimator()
        if self.cv == "prefit":
            return self._fit_prefit(X, y)
        if not self.refit and self.cv is not None:
            raise ValueError("refit=False needs cv=None (one held-out split) or "
                             "cv='prefit': with folds there is no single model to keep.")
        X = self.estimator._check_fit_input(X)
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        Y, classes = check_label_matrix(y, n_samples=n, name="y")
        if n < 2:
            raise ValueError(f"X has {n} sample(s): tuning needs at least 2 (fit and validate).")
        if self.cv is None:
            splits = [holdout_split(n, self.validation_fraction, self.random_state)]
        else:
            splits = list(check_cv(self.cv, classifier=False).split(np.zeros(n)))
        k = min(self.n_candidates, Y.shape[1])
        idx = np.full((n, k), -1, np.int64)
        val = np.zeros((n, k), np.float32)
        seen = np.zeros(n, bool)
        for train, test in splits:
            model = clone(self.estimator).fit(_rows(X, train), Y[train])
            idx[test], val[test] = model.predict_topk(_rows(X, test), k=k)
            seen[test] = True
        rows = np.flatnonzero(seen)
        self._tune(Y[rows], idx[rows], val[rows])
        self.estimator_ = clone(self.estimator).fit(X, Y) if self.refit else model
        self._copy_label_attributes(classes)
        return self

    def _fit_prefit(self, X, y):
        est = self.estimator
        check_is_fitted(est)
        X = est._check_predict_input(X)
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        Y, _ = check_label_matrix(y, classes=est.classes_, n_samples=n, name="y",
                                  unknown="extend")
        idx, val = est.predict_topk(X, k=min(self.n_candidates, est.n_labels_))
        self._tune(Y, idx, val)
        self.estimator_ = est
        self._copy_label_attributes(est.classes_)
        return self

    def _tune(self, Y, idx, val):
        lo, hi = _limits(self.estimator)
        n_labels = self.estimator.n_labels_ if self.cv == "prefit" else Y.shape[1]
        self.threshold_, self.thresholds_, self.best_score_ = tune_thresholds(
            Y, idx, val, strategy=self.strategy, min_positives=self.min_positives,
            min_labels=lo, max_labels=hi, n_labels=n_labels)

    def _copy_label_attributes(self, classes):
        est = self.estimator_
        self.classes_ = np.asarray(classes)
        self.n_labels_ = len(self.classes_)
        self.label_frequencies_ = est.label_frequencies_
        self.inv_propensity_ = est.inv_propensity_

    # -- prediction: the wrapped estimator's scores, the tuned thresholds ------
    def _check_predict_input(self, X, offset=0):
        check_is_fitted(self)
        return self.estimator_._check_predict_input(X, offset=offset)

    def _iter_candidate_scores(self, texts, k=None):
        return self.estimator_._iter_candidate_scores(texts, k=k)

    def _iter_predicted_sets(self, texts, start=0):
        lo, hi = _limits(self.estimator_)
        k = min(self.n_candidates, self.n_labels_)
        for cand, scores in self.estimator_._scored_batches(texts, k=k, start=start):
            top, val = topk_candidates(cand, scores, k)
            chosen = val >= _threshold_of(self.thresholds_, top)
            r, c = limit_label_sets(top, val, chosen, lo, hi)
            yield len(val), r, c
