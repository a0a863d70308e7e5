"""LinearXMTCClassifier: TF-IDF features and one LIBLINEAR binary problem per label."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils._param_validation import Interval, StrOptions

from .._base import BaseXMTCClassifier

__all__ = ["LinearXMTCClassifier"]

# LIBLINEAR solvers for binary problems (-s): 2 = L2-regularised L2-loss SVM (primal),
# 1 = the same in the dual, 0 = logistic regression (primal), 3 = L1-loss SVM (dual)
_SOLVERS = {"l2svm": 2, "l2svm_dual": 1, "logistic": 0, "l1svm_dual": 3}


class LinearXMTCClassifier(BaseXMTCClassifier):
    """TF-IDF of the raw texts into LIBLINEAR one-vs-rest.

    The linear baseline of XMTC that LibMultiLabel ships (Lin et al. 2023):
    a TF-IDF matrix of the texts (its own vectorizer parameters) and, for each
    label, a binary LIBLINEAR model trained on all texts (positives: the texts
    with the label). Scores are the decision values passed through a sigmoid
    (monotone, so rankings are LIBLINEAR's). Weights whose magnitude is below
    ``prune_threshold`` are dropped, so the model is a sparse (n_features x L)
    matrix and prediction is one sparse product per batch.

    The binding is ``liblinear-multicore`` (the ``linear`` extra), maintained
    by LIBLINEAR's authors, with multi-threaded solvers (``n_threads``); it is
    also what LibMultiLabel's linear module trains with.

    Parameters
    ----------
    solver : {"l2svm", "l2svm_dual", "logistic", "l1svm_dual"}, default="l2svm"
        LIBLINEAR's ``-s 2`` (LibMultiLabel's default), ``-s 1``, ``-s 0``, ``-s 3``.
    C : float, default=1.0
        LIBLINEAR's ``-c``.
    tol : float, default=1e-4
        LIBLINEAR's ``-e``.
    bias : bool, default=True
        Add a bias feature (``-B 1``).
    prune_threshold : float, default=0.0
        Drop weights with ``|w| <= prune_threshold`` (0 keeps every non-zero).
    ngram_range, min_df, max_df, max_features, sublinear_tf : TF-IDF parameters
        Of :class:`sklearn.feature_extraction.text.TfidfVectorizer`.
    threshold : float, default=0.5
        Score threshold of :meth:`predict` (0.5 is a decision value of 0).
    batch_size : int, default=2048
        Texts per prediction batch (bounds memory at O(batch_size x L)).
    n_threads : int, default=1
        LIBLINEAR threads (``-m``; solvers "l2svm", "l2svm_dual", "logistic").
    propensity_a, propensity_b : float, default=0.55, 1.5

    Attributes
    ----------
    classes_, n_labels_, n_samples_fit_, label_frequencies_, inv_propensity_
    vectorizer_ : TfidfVectorizer
    coef_ : scipy.sparse.csc_matrix of float32, shape (n_features (+1 bias), n_labels)

    References
    ----------
    .. [1] R.-E. Fan, K.-W. Chang, C.-J. Hsieh, X.-R. Wang, C.-J. Lin.
       "LIBLINEAR: A Library for Large Linear Classification". JMLR 9, 2008.
    .. [2] Y.-C. Lin, S.-A. Chen, J.-J. Liu, C.-J. Lin. "Linear Classifier: An
       Often-Forgotten Baseline for Text Classification". ACL 2023.

    Examples
    --------
    >>> from sklearn_xmtc.linear import LinearXMTCClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=200, n_labels=10, random_state=0)
    >>> est = LinearXMTCClassifier().fit(X, Y)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape, est.coef_.shape[1]
    ((2, 3), 10)
    """

    _parameter_constraints = {
        **BaseXMTCClassifier._parameter_constraints,
        "solver": [StrOptions(set(_SOLVERS))],
        "C": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "bias": ["boolean"],
        "prune_threshold": [Interval(Real, 0, None, closed="left")],
        "ngram_range": [tuple],
        "min_df": [Interval(Integral, 1, None, closed="left"),
                   Interval(Real, 0, 1, closed="both")],
        "max_df": [Interval(Integral, 1, None, closed="left"),
                   Interval(Real, 0, 1, closed="both")],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "sublinear_tf": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_threads": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, solver="l2svm", C=1.0, tol=1e-4, bias=True, prune_threshold=0.0,
                 ngram_range=(1, 1), min_df=1, max_df=1.0, max_features=None,
                 sublinear_tf=True, threshold=0.5, batch_size=2048, n_threads=1,
                 propensity_a=0.55, propensity_b=1.5):
        self.solver = solver
        self.C = C
        self.tol = tol
        self.bias = bias
        self.prune_threshold = prune_threshold
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.threshold = threshold
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.propensity_a = propensity_a
        self.propensity_b = propensity_b

    def _features(self, texts):
        F = self.vectorizer_.transform(texts).astype(np.float64)
        if self.bias:
            F = sp.hstack([F, np.ones((F.shape[0], 1))], format="csr")
        return sp.csr_matrix(F)

    def _fit(self, texts, Y):
        try:
            from liblinear import liblinearutil as ll
        except ImportError as exc:  # pragma: no cover - the extra is installed in CI
            raise ImportError("LinearXMTCClassifier needs the `linear` extra: "
                              "pip install 'sklearn-xmtc[linear]'") from exc
        self.vectorizer_ = TfidfVectorizer(
            ngram_range=self.ngram_range, min_df=self.min_df, max_df=self.max_df,
            max_features=self.max_features, sublinear_tf=self.sublinear_tf, dtype=np.float64)
        self.vectorizer_.fit(texts)
        F = self._features(texts)
        threads = f" -m {self.n_threads}" if self.n_threads > 1 and self.solver != "l1svm_dual" \
            else ""
        options = f"-s {_SOLVERS[self.solver]} -c {self.C} -e {self.tol} -q{threads}"
        prob = ll.problem(np.zeros(F.shape[0]), F)
        y = np.ctypeslib.as_array(prob.y, (F.shape[0],))
        Yc = sp.csc_matrix(Y)
        columns = []  # one binary problem per label: what one-vs-rest is (a loop over L)
        for j in range(Y.shape[1]):
            y[:] = -1.0
            y[Yc.indices[Yc.indptr[j]:Yc.indptr[j + 1]]] = 1.0
            columns.append(self._train_one(ll, prob, options, F.shape[1], y))
        self.coef_ = sp.hstack(columns, format="csc").astype(np.float32)
        return self

    def _train_one(self, ll, prob, options, n_features, y):
        """(n_features, 1) sparse weights of one label (+1 = positive)."""
        if not (y > 0).any():  # never positive in training: a constant -inf-like score
            return sp.csc_matrix((n_features, 1))
        model = ll.train(prob, ll.parameter(options))
        w = np.ctypeslib.as_array(model.w, (n_features,)).copy()
        if model.get_labels()[0] != 1:  # LIBLINEAR's w is for its first label
            w = -w
        w[np.abs(w) <= self.prune_threshold] = 0.0
        return sp.csc_matrix(w[:, None])

    def _iter_candidate_scores(self, texts, k=None):
        for start in range(0, len(texts), self.batch_size):
            F = self._features(texts[start:start + self.batch_size])
            # (B, L) decision values: dense, bounded by batch_size rows
            decision = (F @ self.coef_).toarray().astype(np.float32, copy=False)
            yield None, torch.sigmoid(torch.from_numpy(decision))
