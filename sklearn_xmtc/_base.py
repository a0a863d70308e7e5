"""BaseXMTCClassifier: the fit / predict template every estimator shares.

A subclass implements two hooks:

- ``_fit(texts, Y)``: learn from a list of str and a CSR (n, L) 0/1 matrix;
- ``_iter_candidate_scores(texts, k=None)``: yield, batch by batch,
  ``(candidates, scores)`` where ``scores`` is a float tensor (B, C) of
  probabilities and ``candidates`` an int64 tensor (B, C) of label indices
  (-1 = none, with score ``-inf``) or ``None`` when the C columns are all L
  labels in order. ``k`` is the number of labels :meth:`predict_topk` asks
  for (None for :meth:`predict` and :meth:`predict_proba`): a method that can
  find its top ``k`` without scoring every label may return fewer columns.

Every ranking goes through :func:`sklearn_xmtc.nn.topk_candidates` (ties to
the lower label index, invalid entries last as (-1, 0)). Generative methods
also override ``_iter_predicted_sets`` (their ``predict`` returns the
generated sets rather than thresholded scores).

Every ``predict`` then applies the estimator's ``min_labels`` / ``max_labels``
(:func:`limit_label_sets`): a set smaller than ``min_labels`` gains the best
scored labels it lacks, a larger set than ``max_labels`` keeps its best scored
ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .labels import check_label_matrix, labels_from_csr
from .metrics import inverse_propensity, precision_at_k
from .nn import topk_candidates
from .utils.validation import check_k, check_texts

__all__ = ["BaseXMTCClassifier", "STREAM_CHUNK", "limit_label_sets"]

#: rows validated, tokenised and scored together by the prediction methods (a generator
#: is read this many texts at a time)
STREAM_CHUNK = 8192


class BaseXMTCClassifier(BaseEstimator):
    """Base class of all sklearn_xmtc estimators (not for direct use).

    It declares (and reads) the parameters every estimator has: ``threshold``,
    ``min_labels``, ``max_labels`` and the propensity parameters.
    """

    _parameter_constraints = {
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "min_labels": [Interval(Integral, 0, None, closed="left")],
        "max_labels": [Interval(Integral, 1, None, closed="left"), None],
        "propensity_a": [Interval(Real, 0, None, closed="neither")],
        "propensity_b": [Interval(Real, 0, None, closed="neither")],
    }

    # -- sklearn plumbing --------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    # -- fit template -------------------------------------------------------
    def fit(self, X, y):
        """Fit the estimator.

        Parameters
        ----------
        X : iterable of str
            Training texts.
        y : sparse matrix, dense 0/1 array or sequence of label iterables
            Labels of each text; label lists may hold names or ints.

        Returns
        -------
        self : object
        """
        self._validate_params()
        check_label_limits(self)
        texts = self._check_fit_input(X)
        n_samples = _n_rows(texts)
        Y, classes = check_label_matrix(y, n_samples=n_samples, name="y")
        if Y.shape[1] == 0:
            raise ValueError("y has an empty label space: at least one label is required.")
        if Y.nnz == 0:
            raise ValueError("y has no positive label at all; nothing can be learned.")
        self.classes_ = classes
        self.n_labels_ = len(classes)
        self.n_samples_fit_ = n_samples
        self.label_frequencies_ = np.bincount(Y.indices, minlength=Y.shape[1]).astype(np.int64)
        self.inv_propensity_ = inverse_propensity(
            label_frequencies=self.label_frequencies_, n_samples=n_samples,
            A=self.propensity_a, B=self.propensity_b)
        self._fit(texts, Y)
        return self

    def _fit(self, texts, Y):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- persistence --------------------------------------------------------
    def save(self, path, *, overwrite=False):
        """Write the estimator to the folder ``path`` without pickle.

        ``model.safetensors`` holds every tensor and array (network weights,
        label trees, propensities, sparse linear weights, a nested encoder's)
        with the rest of the fitted state as JSON in its metadata;
        ``estimator.json`` records the format, the versions, the parameters and
        the checksum that :func:`sklearn_xmtc.load` verifies. Loading runs no
        pickle and rebuilds only sklearn_xmtc and scikit-learn classes, so a
        file from someone else can be loaded without running their code
        (``joblib.dump`` / ``pickle`` stay for files you trust: unpickling
        can execute arbitrary code). Networks are rebuilt from the fitted
        state and the weights loaded into them; a model trained on CUDA loads
        on a CPU-only machine. The folder is written under a temporary name
        and renamed into place.

        Parameters
        ----------
        path : str or path-like
            Folder to create.
        overwrite : bool, default=False
            Replace an existing saved model at ``path``.

        Returns
        -------
        path : str
            The absolute path of the folder.

        Raises
        ------
        TypeError
            A parameter or attribute the format cannot hold (a user's callback
            object, a function), named by its place (``$.state.callbacks[0]``);
            nothing is written.
        FileExistsError
            ``path`` exists and ``overwrite`` is False.
        """
        from ._persist import save

        return save(self, path, overwrite=overwrite)

    def _iter_candidate_scores(self, texts, k=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fit_input(self, X):
        """The validated training inputs (a list of str; an estimator that takes a
        feature matrix overrides this and :meth:`_check_predict_input`)."""
        return check_texts(X, name="X")

    # -- prediction ---------------------------------------------------------
    def _check_predict_input(self, X, offset=0):
        """The validated prediction inputs (``offset``: the position of ``X[0]`` in a
        stream, for error messages)."""
        check_is_fitted(self)
        return check_texts(X, name="X", allow_empty=True, offset=offset)

    def _iter_predict_chunks(self, X):
        """``(start, inputs)``: the prediction inputs, validated, in chunks of at most
        :data:`STREAM_CHUNK` rows; every prediction method reads ``X`` through this.

        A sized input (list, array, Series, feature matrix) is validated whole and cut
        into row slices; any other iterable (a generator, a file object) is read one
        chunk at a time, so the texts, their tokens and the per-batch work in memory are
        those of one chunk, whatever the length of the stream (the output is still
        O(n_samples x k) for :meth:`predict_topk`)."""
        check_is_fitted(self)
        sized = isinstance(X, (str, bytes)) or hasattr(X, "__len__") or \
            hasattr(X, "shape") or not isinstance(X, Iterable)
        if sized:
            inputs = self._check_predict_input(X)
            for start in range(0, _n_rows(inputs), STREAM_CHUNK):
                yield start, inputs[start:start + STREAM_CHUNK]
            return
        stream, start = iter(X), 0
        while True:
            chunk = list(itertools.islice(stream, STREAM_CHUNK))
            if not chunk:
                return
            yield start, self._check_predict_input(chunk, offset=start)
            start += len(chunk)

    def _scored_batches(self, texts, k=None, start=0):
        """``_iter_candidate_scores`` with one guarantee: a NaN score is an error, never
        a label ranked last or a probability of 0 (it means non-finite weights);
        ``start``: the position of ``texts[0]`` in the whole input."""
        for cand, scores in self._iter_candidate_scores(texts, k=k):
            nan = torch.isnan(scores)
            if cand is not None:
                nan &= cand >= 0
            check_no_nan_scores(self, nan, start)
            start += len(scores)
            yield cand, scores

    def predict_topk(self, X, k=5):
        """The ``k`` best labels of each text, best first.

        Memory is O(batch_size x L) at most (O(batch x beam) for tree and
        sampling methods): no (n_samples x n_labels) array is built.

        Parameters
        ----------
        X : iterable of str
            A list, array or Series, or any iterable (a generator of texts,
            read :data:`STREAM_CHUNK` texts at a time).
        k : int, default=5
            Number of labels per text. A ``k`` above the number of labels is
            cut to it: the returned width is ``min(k, n_labels_)``. When a row
            has fewer candidates than that (a tree's beam, a generative
            method's set), its missing slots hold index -1 and score 0, last.
            Equal scores are ordered by label index.

        Returns
        -------
        indices : ndarray of int64, shape ``(n_samples, min(k, n_labels_))``
            Column indices into ``classes_``; -1 pads.
        scores : ndarray of float32, shape ``(n_samples, min(k, n_labels_))``
            Non-increasing along each row.
        """
        k = check_k(k)
        check_is_fitted(self)
        k = min(k, self.n_labels_)  # never allocate more columns than labels
        idx_parts, score_parts = [], []
        for start, chunk in self._iter_predict_chunks(X):
            for cand, scores in self._scored_batches(chunk, k=k, start=start):
                idx, val = _padded_topk(cand, scores, k)
                idx_parts.append(idx)
                score_parts.append(val)
        if not idx_parts:
            return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
        return np.concatenate(idx_parts), np.concatenate(score_parts)

    def _chosen(self, cand, scores):
        """Hook: the bool (B, C) mask of the entries ``predict`` keeps before the
        label-count limits (here: score >= ``threshold``)."""
        return scores >= self.threshold

    def _iter_predicted_sets(self, texts, start=0):
        """Yield (n_batch, rows, cols) of the predicted labels of each batch (``start``:
        the position of ``texts[0]`` in the whole input)."""
        lo, hi = _limits(self)
        for cand, scores in self._scored_batches(texts, start=start):
            r, c = limit_label_sets(cand, scores, self._chosen(cand, scores), lo, hi)
            yield len(scores), r, c

    def predict(self, X):
        """Predicted label sets as a CSR 0/1 matrix (n_samples, n_labels).

        Scoring methods keep the labels whose score is >= ``threshold``;
        generative methods return the generated sets. Then a set with fewer
        than ``min_labels`` labels gains the best scored labels it lacks, and
        a set with more than ``max_labels`` keeps its ``max_labels`` best
        scored ones (ties to the lower label index). ``X`` may be any iterable of
        texts (a generator is read in chunks, as by :meth:`predict_topk`).
        """
        rows, cols, n = [], [], 0
        for start, chunk in self._iter_predict_chunks(X):
            for n_batch, r, c in self._iter_predicted_sets(chunk, start=start):
                rows.append(r + n)
                cols.append(c)
                n += n_batch
        r = np.concatenate(rows) if rows else np.empty(0, np.int64)
        c = np.concatenate(cols) if cols else np.empty(0, np.int64)
        out = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)),
                            shape=(n, self.n_labels_))
        out.sum_duplicates()
        out.data[:] = 1.0
        return out

    def predict_proba(self, X):
        """Scores of every label, dense float32 (n_samples, n_labels).

        This is the one method that allocates O(n_samples x n_labels) memory;
        prefer :meth:`predict_topk` for large label sets. Labels outside a
        tree or sampling method's candidates get probability 0. A generator ``X`` is
        read in chunks; its blocks are joined at the end (twice the output, once).
        """
        blocks = []
        for first, chunk in self._iter_predict_chunks(X):
            out = np.zeros((_n_rows(chunk), self.n_labels_), dtype=np.float32)
            start = 0
            for cand, scores in self._scored_batches(chunk, start=first):
                scores = torch.nan_to_num(scores.float(), neginf=0.0).cpu().numpy()
                stop = start + len(scores)
                if cand is None:
                    out[start:stop] = scores
                else:
                    cand = cand.cpu().numpy()
                    r, c = np.nonzero(cand >= 0)
                    out[start + r, cand[r, c]] = scores[r, c]
                start = stop
            blocks.append(out)
        if len(blocks) == 1:
            return blocks[0]
        return np.concatenate(blocks) if blocks else np.zeros((0, self.n_labels_), np.float32)

    def predict_labels(self, X):
        """Predicted label sets as lists of ``classes_`` entries."""
        return labels_from_csr(self.predict(X), self.classes_)

    def score(self, X, y):
        """Precision@1 of :meth:`predict_topk` against ``y``.

        Parameters
        ----------
        X : iterable of str
            Texts.
        y : sparse matrix, dense 0/1 array or sequence of label iterables
            True labels, checked against ``classes_`` before predicting.  A
            matrix needs at least ``len(classes_)`` columns: ``classes_``
            first, in order, then any test-only labels (as the ``Y_test`` of
            :func:`~sklearn_xmtc.datasets.load_jsonl_dataset`); fewer is a
            ``ValueError`` naming both counts.  Label lists are mapped through
            ``classes_`` (for a model fitted on a matrix these are the column
            indices 0..L-1, so the lists hold those ints); labels the model
            does not know count as misses, and a label of a type no class has
            (names against integer ``classes_``) is a ``ValueError``.

        Returns
        -------
        score : float
        """
        texts = self._check_predict_input(X)
        Y, _ = check_label_matrix(y, classes=self.classes_, n_samples=_n_rows(texts), name="y",
                                  unknown="extend")
        return float(precision_at_k(Y, self.predict_topk(texts, k=1)[0], k=1))


def _limits(est):
    """(min_labels, max_labels) of ``est`` (0 / None when it has no such parameter);
    ValueError when ``min_labels`` > ``max_labels``."""
    lo, hi = int(getattr(est, "min_labels", 0) or 0), getattr(est, "max_labels", None)
    if hi is not None and lo > hi:
        raise ValueError(f"{type(est).__name__}: min_labels={lo} is above max_labels={hi}; "
                         "no label set can satisfy both.")
    return lo, hi


def check_label_limits(est):
    """ValueError when ``min_labels`` > ``max_labels`` (see :func:`_limits`)."""
    _limits(est)


def limit_label_sets(cand, scores, chosen, min_labels=0, max_labels=None):
    """The entries of a batch that ``predict`` returns, as numpy ``(rows, labels)``.

    Parameters
    ----------
    cand : int64 tensor (B, C) or None
        Label of each column (-1 none), or None when the columns are the labels.
    scores : float tensor (B, C)
        Ranking scores (a higher score is a better label).
    chosen : bool tensor (B, C)
        The entries selected before the limits (thresholded scores, a
        generated set).
    min_labels : int, default=0
        Each row gains its best scored labels (ties to the lower label) until
        it holds ``min_labels`` (or every valid candidate).
    max_labels : int or None, default=None
        A row holding more keeps its ``max_labels`` best scored labels.

    Returns
    -------
    rows, labels : ndarray of int64
        Row-major, without duplicates.
    """
    if cand is not None and (min_labels or max_labels is not None):
        # columns in label order (invalid last), so that ties at a cut, broken by
        # column, go to the lower label as in ``predict_topk``
        order = torch.sort(cand.masked_fill(cand < 0, torch.iinfo(torch.long).max),
                           dim=1, stable=True).indices
        cand, scores, chosen = cand.gather(1, order), scores.gather(1, order), chosen.gather(1, order)
    labels = (torch.arange(scores.shape[1], device=scores.device).expand_as(scores)
              if cand is None else cand)
    chosen = chosen & (labels >= 0)
    if min_labels or max_labels is not None:
        s = scores.float().masked_fill(labels < 0, float("-inf"))
        if min_labels:  # the best ``min_labels`` columns of each row join the set
            top, _ = topk_candidates(None, s, min_labels)  # (B, m) columns, -1 pads
            forced = torch.zeros_like(chosen)
            r, j = torch.nonzero(top >= 0, as_tuple=True)
            forced[r, top[r, j]] = True
            chosen = chosen | forced
        s = s.masked_fill(~chosen, float("-inf"))
        if max_labels is not None:  # only the best ``max_labels`` columns stay
            top, _ = topk_candidates(None, s, max_labels)
            kept = torch.zeros_like(chosen)
            r, j = torch.nonzero(top >= 0, as_tuple=True)
            kept[r, top[r, j]] = True
            chosen = kept
        chosen = chosen & (s > float("-inf"))
    r, c = torch.nonzero(chosen, as_tuple=True)
    return r.cpu().numpy(), labels[r, c].cpu().numpy()


def _n_rows(X):
    """Number of samples of validated inputs: a list of texts or a feature matrix."""
    return X.shape[0] if hasattr(X, "shape") else len(X)


def check_no_nan_scores(est, nan, start=0):
    """Raise ValueError naming the first text whose row of the bool (B, ...) ``nan`` mask
    holds a True (``start``: the position of the batch's first text)."""
    if bool(nan.any()):
        row = start + int(torch.nonzero(nan.flatten(1).any(1))[0, 0])
        raise ValueError(
            f"{type(est).__name__} produced NaN scores (first for X[{row}]): the fitted "
            "network's weights are not finite. Fit it again with a lower learning rate.")


def _padded_topk(cand, scores, k):
    """Top-k of one batch as numpy arrays, padded to width k with (-1, 0)."""
    idx, val = topk_candidates(cand, scores, k)
    n, kk = idx.shape
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_val = np.zeros((n, k), dtype=np.float32)
    out_idx[:, :kk] = idx.cpu().numpy()
    out_val[:, :kk] = val.cpu().numpy()
    return out_idx, out_val
