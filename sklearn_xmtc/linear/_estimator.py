"""LinearXMTCClassifier: LIBLINEAR one-vs-rest, flat or down a label tree."""

from __future__ import annotations

import ctypes
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from joblib import effective_n_jobs
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted
from tqdm.auto import tqdm

from .._base import BaseXMTCClassifier, _n_rows
from ..labels import build_label_tree, pifa_features, reduce_label_features
from ..nn import beam_search
from ..utils._docstrings import fill_doc

__all__ = ["LinearXMTCClassifier"]


def _own_labels(ll, prob):
    """A LIBLINEAR problem with the rows of ``prob`` (shared, read only: LIBLINEAR never
    writes them) and a label vector of its own, so that threads can train at once."""
    view = ll.problem.__new__(ll.problem)
    view.l, view.n, view.bias, view.x = prob.l, prob.n, prob.bias, prob.x
    view.y = (ctypes.c_double * prob.l)()
    view.shared_rows = prob  # keeps the rows' memory alive
    return view

# LIBLINEAR solvers for binary problems (-s): 2 = L2-regularised L2-loss SVM (primal),
# 1 = the same in the dual, 0 = logistic regression (primal), 3 = L1-loss SVM (dual)
_SOLVERS = {"l2svm": 2, "l2svm_dual": 1, "logistic": 0, "l1svm_dual": 3}
_MATRIX = (None, "passthrough")


@fill_doc
class LinearXMTCClassifier(BaseXMTCClassifier):
    """LIBLINEAR one-vs-rest on TF-IDF features (or on a given feature matrix).

    The linear baseline of XMTC that LibMultiLabel ships (Lin et al. 2023):
    a TF-IDF matrix of the texts (its own vectorizer parameters) and, for each
    label, a binary LIBLINEAR model trained on all texts (positives: the texts
    with the label). Scores are the decision values passed through a sigmoid
    (monotone, so rankings are LIBLINEAR's). Weights whose magnitude is below
    ``prune_threshold`` are dropped, so the model is a sparse (n_features x L)
    matrix and prediction is one sparse product per batch.

    With more than ``flat_max_labels`` labels the labels are put in a tree
    (recursive balanced 2-means over PIFA label features, as Parabel,
    Bonsai and LibMultiLabel's tree model do): one binary model per tree
    node, trained only on the texts that reach its parent, and a beam search
    at prediction. A label's score is the product of the sigmoids along its
    path. Training then costs about O(n x depth x tree_branching) binary problems
    of shrinking size instead of L problems over all n texts.

    The binding is ``liblinear-multicore`` (the ``linear`` extra), maintained
    by LIBLINEAR's authors, with multi-threaded solvers (``n_threads``); it is
    also what LibMultiLabel's linear module trains with.

    Parameters
    ----------
    vectorizer : {"tfidf", None, "passthrough"}, default="tfidf"
        ``"tfidf"``: ``X`` is texts, turned into TF-IDF rows with the
        parameters below. ``None`` or ``"passthrough"``: ``X`` is a feature
        matrix (sparse or dense, 2-D, numeric; e.g. a ``FeatureUnion``'s
        output) used as it is; the TF-IDF parameters are then ignored.
    solver : {"l2svm", "l2svm_dual", "logistic", "l1svm_dual"}, default="l2svm"
        LIBLINEAR's ``-s 2`` (LibMultiLabel's default), ``-s 1``, ``-s 0``, ``-s 3``.
        ``"l2svm_dual"`` with ``tol=0.1`` (LIBLINEAR's own default for ``-s 1``)
        trained the hybrid's ranker 2.7-3.6x faster than the default on five
        datasets' validation cuts, at the same scores, but does not repeat
        itself exactly (``n_jobs`` below; ``benchmarks/select_hybrid.py --phase
        solver``).
    C : float, default=1.0
        LIBLINEAR's ``-c``.
    tol : float, default=1e-4
        LIBLINEAR's ``-e``.
    bias : bool, default=True
        Add a bias feature (``-B 1``).
    prune_threshold : float, default=0.0
        Drop weights with ``|w| <= prune_threshold`` (0 keeps every non-zero).
    flat_max_labels : int, default=8192
        Most labels trained flat (one-vs-rest over all texts); above it, a
        label tree. 0 always builds a tree.
    cluster_size, tree_height, tree_branching : int, default=64, 3, 16
        The tree (:func:`~sklearn_xmtc.labels.build_label_tree`): at most
        ``cluster_size`` labels per bottom cluster, ``tree_height`` levels
        with the labels, ``tree_branching`` (a power of two) children per internal
        node.
    n_candidates : int, default=20
        Tree nodes kept per level at prediction (the beam; the name
        AttentionXML's parameter has).
    ngram_range, min_df, max_df, max_features, sublinear_tf : TF-IDF parameters
        Of :class:`sklearn.feature_extraction.text.TfidfVectorizer` (of its word
        block; ``max_df``, ``max_features`` and ``sublinear_tf`` also of the
        character block).
    analyzer : {"word", "char_wb", "word+char_wb"}, default="word"
        The TF-IDF features: word n-grams (``ngram_range``), character
        n-grams inside word boundaries (``char_ngram_range``; they match
        inflections, compounds and misspellings that words miss), or both side
        by side, each block L2-normalised and weighted by sqrt(1/2) so that a
        row keeps unit norm. Character rows hold 15-17x more non-zeros, and
        training takes 7-16x longer (``benchmarks/char_ngrams.py``).
    char_ngram_range : tuple (min_n, max_n), default=(2, 5)
        Character n-gram lengths of ``analyzer="char_wb"`` / ``"word+char_wb"``.
    char_min_df : int or float, default=2
        ``min_df`` of the character block (n-grams seen in one text only are
        dropped: there are many, and they cannot generalise).
    threshold : float, default=0.5
        Score threshold of :meth:`predict` (0.5 is a decision value of 0).
{label_limits}
    batch_size : int, default=2048
        Texts per prediction batch (bounds memory at O(batch_size x L)).
    n_threads : int, default=1
        LIBLINEAR threads inside one binary problem (``-m``; solvers "l2svm",
        "l2svm_dual", "logistic"). Worth it only for a few large problems; for
        many labels ``n_jobs`` is the faster way to use the cores.
    n_jobs : int or None, default=None
        Labels (tree nodes) trained at the same time, each in a thread of its
        own (LIBLINEAR releases the GIL; the threads share the feature rows and
        each has its own label vector). ``None`` means 1, ``-1`` all cores
        (joblib's convention). The primal solvers ("l2svm", "logistic") give the
        same weights bit for bit, whatever ``n_jobs`` is. The dual ones
        ("l2svm_dual", "l1svm_dual") do not repeat exactly even one label at a
        time: the binding's coordinate order is not seeded, and two fits differ
        by about ``tol`` in the weights (measured: up to 7e-5 with tol=1e-4).
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over the binary problems of ``fit``
        (one per label, or per tree node), on stderr.
    random_state : int, RandomState or None, default=0
        Seeds the label tree's clustering.
    propensity_a, propensity_b : float, default=0.55, 1.5

    Attributes
    ----------
    classes_, n_labels_, n_samples_fit_, label_frequencies_, inv_propensity_
    vectorizer_ : TfidfVectorizer or None
        None when ``vectorizer`` is None or ``"passthrough"``.
    n_features_in_ : int
        Feature columns of a given matrix (``vectorizer=None`` only).
    coef_ : scipy.sparse.csc_matrix of float32, shape (n_features (+1 bias), n_labels)
        The label models of a flat fit (None with a tree).
    tree_ : LabelTree or None
        The label tree (None when flat).
    tree_coef_ : list of scipy.sparse.csc_matrix
        ``tree_coef_[d]`` ``(n_features (+1), tree_.n_nodes[d])``: the model of each
        level-``d`` node against its siblings.

    References
    ----------
    .. [1] R.-E. Fan, K.-W. Chang, C.-J. Hsieh, X.-R. Wang, C.-J. Lin.
       "LIBLINEAR: A Library for Large Linear Classification". JMLR 9, 2008.
    .. [2] Y.-C. Lin, S.-A. Chen, J.-J. Liu, C.-J. Lin. "Linear Classifier: An
       Often-Forgotten Baseline for Text Classification". ACL 2023.
    .. [3] Y. Prabhu, A. Kag, S. Harsola, R. Agrawal, M. Varma. "Parabel:
       Partitioned Label Trees for Extreme Classification". WWW 2018.

    Examples
    --------
    >>> from sklearn_xmtc.linear import LinearXMTCClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=200, n_labels=10, random_state=0)
    >>> est = LinearXMTCClassifier().fit(X, Y)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape, est.coef_.shape[1]
    ((2, 3), 10)

    On a feature matrix, and with a label tree:

    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> F = TfidfVectorizer().fit_transform(X)
    >>> tree = LinearXMTCClassifier(vectorizer=None, flat_max_labels=0,
    ...                             cluster_size=2, tree_branching=2).fit(F, Y)
    >>> tree.predict_topk(F[:2], k=3)[0].shape, tree.tree_.height
    ((2, 3), 3)
    """

    _parameter_constraints = {
        **BaseXMTCClassifier._parameter_constraints,
        "vectorizer": [StrOptions({"tfidf", "passthrough"}), None],
        "solver": [StrOptions(set(_SOLVERS))],
        "C": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "bias": ["boolean"],
        "prune_threshold": [Interval(Real, 0, None, closed="left")],
        "flat_max_labels": [Interval(Integral, 0, None, closed="left")],
        "cluster_size": [Interval(Integral, 1, None, closed="left")],
        "tree_height": [Interval(Integral, 2, None, closed="left")],
        "tree_branching": [Interval(Integral, 2, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "ngram_range": [tuple],
        "min_df": [Interval(Integral, 1, None, closed="left"),
                   Interval(Real, 0, 1, closed="both")],
        "max_df": [Interval(Integral, 1, None, closed="left"),
                   Interval(Real, 0, 1, closed="both")],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "sublinear_tf": ["boolean"],
        "analyzer": [StrOptions({"word", "char_wb", "word+char_wb"})],
        "char_ngram_range": [tuple],
        "char_min_df": [Interval(Integral, 1, None, closed="left"),
                        Interval(Real, 0, 1, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_threads": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, vectorizer="tfidf", solver="l2svm", C=1.0, tol=1e-4, bias=True,
                 prune_threshold=0.0, flat_max_labels=8192, cluster_size=64, tree_height=3,
                 tree_branching=16, n_candidates=20, ngram_range=(1, 1), min_df=1, max_df=1.0,
                 max_features=None, sublinear_tf=True, analyzer="word",
                 char_ngram_range=(2, 5), char_min_df=2, threshold=0.5,
                 min_labels=0, max_labels=None, batch_size=2048,
                 n_threads=1, n_jobs=None, verbose=0, random_state=0, propensity_a=0.55,
                 propensity_b=1.5):
        self.vectorizer = vectorizer
        self.solver = solver
        self.C = C
        self.tol = tol
        self.bias = bias
        self.prune_threshold = prune_threshold
        self.flat_max_labels = flat_max_labels
        self.cluster_size = cluster_size
        self.tree_height = tree_height
        self.tree_branching = tree_branching
        self.n_candidates = n_candidates
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.analyzer = analyzer
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.threshold = threshold
        self.min_labels = min_labels
        self.max_labels = max_labels
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state
        self.propensity_a = propensity_a
        self.propensity_b = propensity_b

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.vectorizer in _MATRIX:
            tags.input_tags.two_d_array = True
            tags.input_tags.sparse = True
            tags.input_tags.string = False
        return tags

    # -- inputs ---------------------------------------------------------------
    def make_vectorizer(self):
        """An unfitted :class:`~sklearn.feature_extraction.text.TfidfVectorizer`
        with this estimator's TF-IDF parameters, or a
        :class:`~sklearn.pipeline.FeatureUnion` of the word and character ones
        (``analyzer="word+char_wb"``). The hybrid builds its text block with it."""
        common = dict(max_df=self.max_df, max_features=self.max_features,
                      sublinear_tf=self.sublinear_tf, dtype=np.float64)
        word = TfidfVectorizer(ngram_range=self.ngram_range, min_df=self.min_df, **common)
        if self.analyzer == "word":
            return word
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngram_range,
                               min_df=self.char_min_df, **common)
        if self.analyzer == "char_wb":
            return char
        half = float(np.sqrt(0.5))
        return FeatureUnion([("word", word), ("char", char)],
                            transformer_weights={"word": half, "char": half})

    def _check_matrix(self, X):
        name = type(self).__name__
        if isinstance(X, (str, bytes)) or (
                isinstance(X, (list, tuple)) and X and isinstance(X[0], str)):
            raise TypeError(f"{name}(vectorizer={self.vectorizer!r}) takes a numeric feature "
                            "matrix X, got texts: use vectorizer='tfidf' for raw texts.")
        return check_array(X, accept_sparse="csr", dtype=np.float64, ensure_all_finite=True,
                           input_name="X")

    def _check_fit_input(self, X):
        if self.vectorizer not in _MATRIX:
            return super()._check_fit_input(X)
        F = self._check_matrix(X)
        self.n_features_in_ = F.shape[1]
        return F

    def _check_predict_input(self, X, offset=0):
        if self.vectorizer not in _MATRIX:
            return super()._check_predict_input(X, offset=offset)
        check_is_fitted(self)
        F = self._check_matrix(X)
        if F.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {F.shape[1]} features, but {type(self).__name__} was "
                             f"fitted with {self.n_features_in_}.")
        return F

    def _features(self, X):
        """CSR float64 rows of ``X`` (texts or a validated matrix), bias column last."""
        F = self.vectorizer_.transform(X) if self.vectorizer_ is not None else X
        F = sp.csr_matrix(F, dtype=np.float64)
        if self.bias:
            F = sp.hstack([F, np.ones((F.shape[0], 1))], format="csr")
        return F

    # -- fit ------------------------------------------------------------------
    def _fit(self, X, Y):
        try:
            from liblinear import liblinearutil as ll
        except ImportError as exc:  # pragma: no cover - the extra is installed in CI
            raise ImportError("LinearXMTCClassifier needs the `linear` extra: "
                              "pip install 'sklearn-xmtc[linear]'") from exc
        # liblinear-multicore sets OpenMP's thread count for the whole process (to 1 by
        # default), which torch shares: without this, every torch op after a fit (a hybrid's
        # encoder, the user's next network) runs on one thread, 2-3x slower on 2 cores
        threads = torch.get_num_threads()
        try:
            return self._fit_liblinear(ll, X, Y)
        finally:
            torch.set_num_threads(threads)

    def _fit_liblinear(self, ll, X, Y):
        if self.n_jobs == 0:
            raise ValueError(f"{type(self).__name__}: n_jobs=0 trains nothing; use None or 1 "
                             "(one label at a time), k > 1 (k threads) or -1 (all cores).")
        self.vectorizer_ = None if self.vectorizer in _MATRIX else self.make_vectorizer().fit(X)
        F = self._features(X)
        threads = f" -m {self.n_threads}" if self.n_threads > 1 and self.solver != "l1svm_dual" \
            else ""
        options = f"-s {_SOLVERS[self.solver]} -c {self.C} -e {self.tol} -q{threads}"
        jobs = effective_n_jobs(self.n_jobs)
        # the number of problems is known up front when flat; a tree's is not (yet)
        flat = Y.shape[1] <= self.flat_max_labels
        with ThreadPoolExecutor(jobs) if jobs > 1 else nullcontext() as pool, \
                tqdm(total=Y.shape[1] if flat else None, desc="LIBLINEAR problems",
                     unit="label" if flat else "node", leave=False,
                     disable=not self.verbose) as bar:
            return self._fit_levels(
                F, Y, lambda F, T: self._train_columns(ll, options, F, T, pool, bar))

    def _fit_levels(self, F, Y, train):
        """The flat model, or the tree and its levels; ``train(F, T)`` fits the columns
        of ``T`` over the rows of ``F``."""
        self.coef_, self.tree_, self.tree_coef_ = None, None, []
        # a label (a tree node) without a positive training text scores 0, below all others
        self._never_positive = [self.label_frequencies_ == 0]
        if Y.shape[1] <= self.flat_max_labels:
            self.coef_ = train(F, Y)
            return self
        features = reduce_label_features(pifa_features(F, Y), random_state=self.random_state)
        self.tree_ = tree = build_label_tree(
            features, cluster_size=self.cluster_size, tree_height=self.tree_height,
            branching=self.tree_branching, random_state=self.random_state)
        if tree.height == 1:  # too few labels for a tree: flat after all
            self.tree_ = None
            self.coef_ = train(F, Y)
            return self
        seen = self.label_frequencies_ > 0
        self._never_positive = [np.bincount(nodes[seen], minlength=n) == 0
                                for nodes, n in zip(tree.node_of_label, tree.n_nodes)]
        for d in range(tree.height):
            T = tree.level_targets(Y, d).tocsc() if d < tree.height - 1 else Y.tocsc()
            if d == 0:
                self.tree_coef_.append(train(F, T))
                above = T
                continue
            # node vs its siblings, on the texts that reach its parent: one problem per
            # parent (a loop over the internal nodes, as every label tree trains)
            cols = [None] * tree.n_nodes[d]
            kids = tree.children[d - 1]
            for p in range(tree.n_nodes[d - 1]):
                rows = above.indices[above.indptr[p]:above.indptr[p + 1]]
                nodes = kids[p][kids[p] >= 0]
                if len(rows) == 0:
                    W = sp.csc_matrix((F.shape[1], len(nodes)))
                else:
                    W = train(F[rows], T[rows][:, nodes])
                for i, node in enumerate(nodes):
                    cols[node] = W[:, i]
            self.tree_coef_.append(sp.hstack(cols, format="csc").astype(np.float32))
            above = T
        return self

    def _train_columns(self, ll, options, F, Y, pool=None, bar=None):
        """(n_features, Y.shape[1]) CSC float32 weights: one binary problem per column of the
        0/1 matrix ``Y`` over the rows of ``F`` (what one-vs-rest is: a loop over labels),
        on the threads of ``pool`` when given (each thread its own label vector); ``bar``
        (a tqdm) counts the problems done."""
        shared = ll.problem(np.zeros(F.shape[0]), F)
        Yc = sp.csc_matrix(Y)
        local, counted = threading.local(), threading.Lock()

        def train(j):
            prob = getattr(local, "prob", None)
            if prob is None:
                prob = local.prob = shared if pool is None else _own_labels(ll, shared)
            y = np.ctypeslib.as_array(prob.y, (F.shape[0],))
            y[:] = -1.0
            y[Yc.indices[Yc.indptr[j]:Yc.indptr[j + 1]]] = 1.0
            column = self._train_one(ll, prob, options, F.shape[1], y)
            if bar is not None:
                with counted:  # the threads share the bar
                    bar.update(1)
            return column

        labels = range(Yc.shape[1])
        columns = list(map(train, labels) if pool is None else pool.map(train, labels))
        return sp.hstack(columns, format="csc").astype(np.float32)

    def _train_one(self, ll, prob, options, n_features, y):
        """(n_features, 1) sparse weights of one label (+1 = positive)."""
        if not (y > 0).any():  # never positive here: no weight (and a score of 0 if never
            return sp.csc_matrix((n_features, 1))  # positive at all, _never_positive)
        if (y > 0).all():  # always positive (a tree node's only child): always reached
            w = np.zeros(n_features)
            if self.bias:
                w[-1] = 1.0
            return sp.csc_matrix(w[:, None])
        model = ll.train(prob, ll.parameter(options))
        w = np.ctypeslib.as_array(model.w, (n_features,)).copy()
        if model.get_labels()[0] != 1:  # LIBLINEAR's w is for its first label
            w = -w
        w[np.abs(w) <= self.prune_threshold] = 0.0
        return sp.csc_matrix(w[:, None])

    # -- prediction -------------------------------------------------------------
    def _iter_candidate_scores(self, X, k=None):
        for start in range(0, _n_rows(X), self.batch_size):
            F = self._features(X[start:start + self.batch_size])
            if self.tree_ is None:
                # (B, L) decision values: dense, bounded by batch_size rows
                decision = (F @ self.coef_).toarray().astype(np.float32, copy=False)
                decision[:, self._never_positive[0]] = -np.inf
                yield None, torch.sigmoid(torch.from_numpy(decision))
                continue
            beams = [self.n_candidates] * (self.tree_.height - 1)
            yield beam_search(lambda d, inputs, F=F: self._score_level(F, d, inputs),
                              self.tree_.children, {"rows": torch.arange(F.shape[0])}, beams,
                              self.tree_.height - 1, input_keys=("rows",))

    def _score_level(self, F, d, inputs):
        """Decision values of the level-``d`` nodes: all of them at level 0, else the
        (B, C) ``candidates`` (computed over their union, O(B x C) per batch)."""
        W = self.tree_coef_[d]
        never = self._never_positive[d]
        if d == 0:
            D = (F @ W).toarray().astype(np.float32)  # (B, n_nodes[0]): batch-bounded
            D[:, never] = -np.inf
            return {"logits": torch.from_numpy(D)}
        cand = inputs["candidates"].numpy()
        used, inverse = np.unique(np.maximum(cand, 0), return_inverse=True)
        D = (F @ W[:, used]).toarray().astype(np.float32)  # (B, |used|)
        D[:, never[used]] = -np.inf
        logits = np.take_along_axis(D, inverse.reshape(cand.shape), axis=1)
        return {"logits": torch.from_numpy(logits), "candidates": inputs["candidates"]}
