"""HybridXMTCClassifier: [TF-IDF ; weight x L2-normalised embedding] into a linear ranker."""

from __future__ import annotations

import logging
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import KFold, ParameterGrid
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import BaseXMTCClassifier
from ..metrics import ndcg_at_k
from ..nn import average_candidate_scores, topk_candidates
from ..utils._docstrings import fill_doc

__all__ = ["HybridXMTCClassifier"]

logger = logging.getLogger(__name__)

#: ``encoder="minilm"``: the all-MiniLM-L6-v2 of the `pretrained` extra, frozen
MINILM = "minilm"


@fill_doc
class HybridXMTCClassifier(BaseXMTCClassifier):
    """A linear ranker on TF-IDF beside a text encoder's embedding (XR-Transformer's recipe).

    The encoder is fitted as ``encoder_``; each text becomes one sparse row
    ``[TF-IDF ; embedding_weight x L2-normalised encoder_.transform(text)]``
    (TF-IDF rows are L2-normalised too, so ``embedding_weight`` is the ratio
    of the two blocks' norms), and a
    :class:`~sklearn_xmtc.linear.LinearXMTCClassifier` is trained on those
    rows as ``ranker_``. Zhang et al. (2021) stack the fine-tuned
    transformer's embedding beside TF-IDF this way in PECOS XR-Transformer;
    with a frozen encoder it is the cheapest recipe on CPU.

    Parameters
    ----------
    encoder : estimator or str, default="minilm"
        Anything with ``fit(X, y)`` and ``transform(X)`` giving dense (n, d)
        rows: any neural estimator of the library (cloned, then fitted on the
        training texts and labels), a
        :class:`~sklearn_xmtc.text.FrozenTextEncoder`, or a str: ``"minilm"``
        (the frozen all-MiniLM-L6-v2 of the ``pretrained`` extra), a
        registry name (``"xmlcnn"``, ``"aplc"``..., with the main job's
        parameters; ``python -m sklearn_xmtc list``) or a local Hugging Face
        model directory (frozen).
    embedding_weight : float, default=1.0
        Norm of the embedding block of each row (0 drops the block: a plain
        TF-IDF ranker).
    use_tfidf : bool, default=True
        Keep the TF-IDF block (False: the ranker sees the embedding alone, an
        ablation; ``embedding_weight`` must then be > 0).
    ranker : LinearXMTCClassifier or None, default=None
        The linear ranker (None: ``LinearXMTCClassifier()``). Its TF-IDF
        parameters (``ngram_range``, ``min_df``...) build the TF-IDF block;
        it is cloned and fitted with ``vectorizer=None`` on the stacked rows.
        Tune it as ``ranker__C`` once given. The embedding block's dense
        columns make the default primal solver slow;
        ``LinearXMTCClassifier(solver="l2svm_dual", tol=0.1)`` fits 2.7-3.6x
        faster at the same validation scores (measured on five datasets; the
        registry's ``hybrid`` uses it), not bit for bit repeatable.
    cv : int or None, default=None
        Out-of-fold embeddings for the ranker's training rows: each fold's
        rows are embedded by an encoder fitted on the other folds (an encoder
        embeds its own training texts better than new ones, and a ranker
        trained on those would over-trust them). None: ``encoder_`` embeds
        its own training texts (right for a frozen encoder, which learns
        nothing).
    param_grid : dict or None, default=None
        Settings of the ranker's side chosen on a validation split, as
        :class:`~sklearn.model_selection.GridSearchCV`'s ``param_grid`` (every
        combination of ``{name: list of values}``) but with the encoder fitted
        once for the whole grid: keys ``"embedding_weight"``, ``"use_tfidf"``
        and ``"ranker__<parameter>"`` (e.g. ``"ranker__analyzer"``, ``"ranker__C"``).
        ``validation_fraction`` of the training texts are held out, each
        combination's ranker is fitted on the rest and scored by nDCG@5 on them
        (ties: the first combination in grid order), and the best one is fitted
        on all texts. A frozen encoder (or ``refit_encoder=False``) embeds each
        text once for all of it. ``{"embedding_weight": [0.0, 0.5]}`` lets a
        dataset drop an embedding that does not help it.
    fusion_weight : float in [0, 1] or "auto", default=0.0
        Final score ``(1 - w) x ranker + w x encoder`` over the union of the
        ranker's labels and the encoder's top ``fusion_candidates`` (the
        encoder's own ``predict_topk``: a classifier of the library). "auto"
        chooses ``w`` from ``fusion_grid`` by nDCG@5 on a validation split
        (``validation_fraction`` of the training texts; encoder and ranker
        are fitted on the rest for it, then refitted on everything), after
        ``param_grid``'s choice.
    fusion_grid : tuple of float, default=(0.0, 0.1, 0.2, 0.3, 0.5)
    fusion_candidates : int, default=20
    validation_fraction : float, default=0.2
        Of ``param_grid`` and ``fusion_weight="auto"``.
    refit_encoder : bool, default=True
        False: ``encoder`` is already fitted and used as it is (not cloned);
        ``cv`` then does not apply.
    batch_size : int, default=1024
        Texts per prediction batch.
    n_jobs : int or None, default=None
        Labels the ranker trains at the same time (its ``n_jobs``; -1: all
        cores). None keeps the ranker's own setting. Changes the fit time only.
    verbose : int, default=0
        Passed to the ranker and to an encoder the estimator builds from a str
        (1: their progress bars: the texts embedded, the LIBLINEAR problems
        solved, a network's epochs). An encoder given as an object keeps its
        own ``verbose``; a ranker's is raised to this one.
    threshold : float, default=0.5
        Score threshold of :meth:`predict`.
{label_limits}
    random_state : int or None, default=0
        Seeds the folds, the validation split and a registry encoder.
    propensity_a, propensity_b : float, default=0.55, 1.5

    Attributes
    ----------
    classes_, n_labels_, n_samples_fit_, label_frequencies_, inv_propensity_
    encoder_ : estimator
        The fitted encoder.
    vectorizer_ : TfidfVectorizer or None
        The TF-IDF block (None when ``use_tfidf=False``).
    ranker_ : LinearXMTCClassifier
        The fitted ranker (``vectorizer=None``).
    embedding_weight_ : float
        The embedding block's weight in use (``param_grid``'s choice, if it has one).
    best_params_ : dict
        The ``param_grid`` combination in use (``{}`` without a grid).
    validation_results_ : list of dict or None
        ``{"params": combination, "ndcg@5": validation nDCG@5}`` for each
        combination of ``param_grid`` in grid order (None without a grid).
    fusion_weight_ : float
        The fusion weight in use (the chosen one with "auto").
    fusion_scores_ : dict or None
        ``{w: validation nDCG@5}`` of "auto".

    See Also
    --------
    sklearn_xmtc.linear.LinearXMTCClassifier : the ranker, also usable on a
        ``FeatureUnion``'s output (``vectorizer=None``), the same recipe as a
        ``Pipeline``.

    References
    ----------
    .. [1] J. Zhang, W.-C. Chang, H.-F. Yu, I. S. Dhillon. "Fast
       Multi-Resolution Transformer Fine-tuning for Extreme Multi-label Text
       Classification". NeurIPS 2021.
    .. [2] H.-F. Yu, K. Zhong, J. Zhang, W.-C. Chang, I. S. Dhillon. "PECOS:
       Prediction for Enormous and Correlated Output Spaces". JMLR 23, 2022.

    Examples
    --------
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> from sklearn_xmtc.hybrid import HybridXMTCClassifier
    >>> from sklearn_xmtc.xmlcnn import XMLCNNClassifier
    >>> X, Y = make_tiny_xmtc(n_samples=120, n_labels=6, random_state=0)
    >>> enc = XMLCNNClassifier(embedding_dim=16, n_filters=8, hidden_size=16,
    ...                        max_epochs=1, device="cpu", random_state=0)
    >>> est = HybridXMTCClassifier(enc, embedding_weight=0.5).fit(X, Y)
    >>> est.predict_topk(X[:2], k=3)[0].shape
    (2, 3)

    The same recipe as a plain scikit-learn composition:

    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
    >>> from sklearn.preprocessing import Normalizer
    >>> from sklearn_xmtc.linear import LinearXMTCClassifier
    >>> pipe = Pipeline([
    ...     ("features", FeatureUnion([("tfidf", TfidfVectorizer(sublinear_tf=True)),
    ...                                ("embedding", make_pipeline(enc, Normalizer()))],
    ...                               transformer_weights={"embedding": 0.5})),
    ...     ("linear", LinearXMTCClassifier(vectorizer=None))]).fit(X, Y)
    >>> pipe[-1].predict_topk(pipe[:-1].transform(X[:2]), k=3)[0].shape
    (2, 3)

    (the library's scorers and ``cross_val_predict`` take such a Pipeline as
    it is: they run its transformers, then its last step's ``predict_topk``).
    """

    _parameter_constraints = {
        **BaseXMTCClassifier._parameter_constraints,
        "encoder": [HasMethods(["fit", "transform"]), str, os.PathLike],
        "embedding_weight": [Interval(Real, 0, None, closed="left")],
        "use_tfidf": ["boolean"],
        "ranker": [HasMethods(["fit", "make_vectorizer"]), None],
        "cv": [Interval(Integral, 2, None, closed="left"), None],
        "param_grid": [dict, None],
        "fusion_weight": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "fusion_grid": [tuple, list],
        "fusion_candidates": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "refit_encoder": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(self, encoder=MINILM, *, embedding_weight=1.0, use_tfidf=True, ranker=None,
                 cv=None, param_grid=None, fusion_weight=0.0, fusion_grid=(0.0, 0.1, 0.2, 0.3, 0.5),
                 fusion_candidates=20, validation_fraction=0.2, refit_encoder=True,
                 batch_size=1024, n_jobs=None, verbose=0, threshold=0.5,
                 min_labels=0, max_labels=None, random_state=0, propensity_a=0.55,
                 propensity_b=1.5):
        self.encoder = encoder
        self.embedding_weight = embedding_weight
        self.use_tfidf = use_tfidf
        self.ranker = ranker
        self.cv = cv
        self.param_grid = param_grid
        self.fusion_weight = fusion_weight
        self.fusion_grid = fusion_grid
        self.fusion_candidates = fusion_candidates
        self.validation_fraction = validation_fraction
        self.refit_encoder = refit_encoder
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.threshold = threshold
        self.min_labels = min_labels
        self.max_labels = max_labels
        self.random_state = random_state
        self.propensity_a = propensity_a
        self.propensity_b = propensity_b

    # -- the parts ------------------------------------------------------------
    def _encoder_template(self):
        """The unfitted encoder ``encoder`` names (a fitted one when refit_encoder=False)."""
        enc = self.encoder
        if not isinstance(enc, (str, os.PathLike)):
            return enc if not self.refit_encoder else clone(enc)
        from .._registry import _registry, make_estimator, offline_encoder
        from ..text import FrozenTextEncoder

        if enc == MINILM:
            path = offline_encoder()
            if path is None:
                raise ValueError("encoder='minilm' needs the `pretrained` extra "
                                 "(pip install 'sklearn-xmtc[pretrained]'), or pass an "
                                 "encoder or a local model directory.")
            return FrozenTextEncoder(path, verbose=self.verbose)
        if isinstance(enc, str) and enc in _registry():
            if enc == "hybrid":
                raise ValueError("a hybrid cannot be its own encoder: encoder='hybrid'.")
            est = make_estimator(enc, random_state=self.random_state or 0)
            if "verbose" in est.get_params(deep=False):
                est.set_params(verbose=self.verbose)
            if not hasattr(est, "transform"):
                raise ValueError(f"the registry estimator {enc!r} has no transform(): it "
                                 "cannot be an encoder.")
            return est
        if Path(enc).is_dir():
            return FrozenTextEncoder(os.fspath(enc), verbose=self.verbose)
        raise ValueError(f"encoder={enc!r} is neither 'minilm', a registry name "
                         f"({sorted(n for n in _registry() if n != 'hybrid')}) nor a model "
                         "directory.")

    def _ranker_template(self):
        from ..linear import LinearXMTCClassifier

        return LinearXMTCClassifier() if self.ranker is None else self.ranker

    def _settings(self, point=None):
        """The ranker side of one fit: ``point`` (a ``param_grid`` combination) over the
        estimator's own ``embedding_weight``, ``use_tfidf`` and ``ranker``."""
        point = dict(point or {})
        where = f" (param_grid combination {point})" if point else ""
        weight = point.pop("embedding_weight", self.embedding_weight)
        use_tfidf = point.pop("use_tfidf", self.use_tfidf)
        if not isinstance(weight, Real) or isinstance(weight, bool) or weight < 0:
            raise ValueError(f"embedding_weight must be a float >= 0, got {weight!r}{where}.")
        if not isinstance(use_tfidf, (bool, np.bool_)):
            raise TypeError(f"use_tfidf must be a bool, got {use_tfidf!r}{where}.")
        if not use_tfidf and weight == 0:
            raise ValueError("use_tfidf=False with embedding_weight=0 leaves the ranker no "
                             f"feature at all{where}.")
        ranker = clone(self._ranker_template())
        if point:
            ranker.set_params(**{name[len("ranker__"):]: v for name, v in point.items()})
            if hasattr(ranker, "_validate_params"):
                ranker._validate_params()
        return {"embedding_weight": float(weight), "use_tfidf": bool(use_tfidf),
                "ranker": ranker}

    def _grid(self):
        """The ``param_grid`` combinations, checked (one empty combination without a grid)."""
        if not self.param_grid:
            return [{}]
        ranker_params = set(self._ranker_template().get_params(deep=False))
        for name, values in self.param_grid.items():
            own = name in ("embedding_weight", "use_tfidf")
            if not own and not (name.startswith("ranker__")
                                and name[len("ranker__"):] in ranker_params):
                raise ValueError(
                    f"param_grid key {name!r} is not 'embedding_weight', 'use_tfidf' or "
                    "'ranker__<a parameter of the ranker>' (the encoder is fitted once for "
                    "the whole grid, so its parameters cannot be in it).")
            if isinstance(values, str) or not hasattr(values, "__len__") or not len(values):
                raise ValueError(f"param_grid[{name!r}] must be a non-empty list of values, "
                                 f"got {values!r}.")
        return list(ParameterGrid(self.param_grid))

    def _rows(self, vectorizer, Z, texts, weight):
        """The stacked CSR rows of ``texts`` given their embeddings ``Z``."""
        blocks = [] if vectorizer is None else [vectorizer.transform(texts)]
        if weight > 0:
            Zn = normalize(np.asarray(Z, dtype=np.float64))
            blocks.append(sp.csr_matrix(weight * Zn))
        return sp.hstack(blocks, format="csr")

    def _embed(self, encoder, texts):
        Z = np.asarray(encoder.transform(texts))
        if Z.ndim != 2 or Z.shape[0] != len(texts):
            raise ValueError(f"the encoder's transform returned shape {Z.shape} for "
                             f"{len(texts)} texts; an (n_texts, d) array is needed.")
        return Z

    def _fixed_embedding(self, template):
        """Whether a text's embedding does not depend on what the encoder is fitted on
        (a frozen encoder, or one used as it is): then the texts are embedded once."""
        from ..text import FrozenTextEncoder

        return not self.refit_encoder or isinstance(template, FrozenTextEncoder)

    def _encode(self, template, texts, Y):
        """(encoder fitted on ``texts``, the embeddings the ranker trains on: out of fold
        with ``cv``)."""
        if not self.refit_encoder:
            check_is_fitted(template)
            return template, self._embed(template, texts)
        encoder = clone(template).fit(texts, Y)
        if not self.cv or self._fixed_embedding(template):
            return encoder, self._embed(encoder, texts)
        Z = None
        folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
        for train, held in folds.split(np.zeros(len(texts))):
            part = clone(template).fit([texts[i] for i in train], Y[train])
            Zh = self._embed(part, [texts[i] for i in held])
            if Z is None:
                Z = np.zeros((len(texts), Zh.shape[1]), np.float32)
            Z[held] = Zh
        return encoder, Z

    def _fit_ranker(self, settings, texts, Z, Y, vectorizers=None):
        """(TF-IDF block, ranker) of ``settings`` fitted on ``texts`` (``vectorizers``:
        a cache of fitted TF-IDF blocks by their parameters)."""
        ranker = clone(settings["ranker"]).set_params(vectorizer=None)
        if self.n_jobs is not None:
            ranker.set_params(n_jobs=self.n_jobs)
        if self.verbose and "verbose" in ranker.get_params(deep=False):
            ranker.set_params(verbose=max(self.verbose, ranker.verbose))
        vectorizer = None
        if settings["use_tfidf"]:
            vectorizer = settings["ranker"].make_vectorizer()
            key = repr(vectorizer)
            if vectorizers is not None and key in vectorizers:
                vectorizer = vectorizers[key]
            else:
                vectorizer.fit(texts)
                if vectorizers is not None:
                    vectorizers[key] = vectorizer
        ranker.fit(self._rows(vectorizer, Z, texts, settings["embedding_weight"]), Y)
        return vectorizer, ranker

    def _fit(self, texts, Y):
        template = self._encoder_template()
        grid = self._grid()
        candidates = [self._settings(point) for point in grid]  # all checked before a fit
        settings = candidates[0]
        if self.fusion_weight != 0 and not hasattr(template, "predict_topk"):
            raise ValueError("fusion_weight needs an encoder with predict_topk (a classifier "
                             f"of the library); {type(template).__name__} has none.")
        self.fusion_scores_ = self.validation_results_ = None
        self.best_params_ = dict(grid[0])
        self.fusion_weight_ = None if self.fusion_weight == "auto" else float(self.fusion_weight)
        encoded = None
        if len(grid) > 1 or self.fusion_weight == "auto":
            settings, encoded = self._choose(template, grid, candidates, texts, Y)
        self.encoder_, Z = encoded or self._encode(template, texts, Y)
        logger.info("fitting the ranker on all %d texts", len(texts))
        self.vectorizer_, self.ranker_ = self._fit_ranker(settings, texts, Z, Y)
        self.embedding_weight_ = settings["embedding_weight"]
        return self

    def _choose(self, template, grid, candidates, texts, Y):
        """The ``param_grid`` combination with the best validation nDCG@5, then the
        fusion weight of "auto": ``validation_fraction`` of the texts held out, the rest
        fitted on. Returns its settings and, when the embeddings do not depend on the
        fit, (encoder, embeddings of all texts) for the final fit."""
        rng = np.random.RandomState(self.random_state)
        perm = rng.permutation(len(texts))
        n_valid = max(1, int(round(self.validation_fraction * len(texts))))
        valid, train = np.sort(perm[:n_valid]), np.sort(perm[n_valid:])
        fit_texts, held = [texts[i] for i in train], [texts[i] for i in valid]
        encoded = None
        if self._fixed_embedding(template):
            encoded = self._encode(template, texts, Y)
            encoder, Z_fit, Z_held = encoded[0], encoded[1][train], encoded[1][valid]
        else:
            encoder, Z_fit = self._encode(template, fit_texts, Y[train])
            Z_held = self._embed(encoder, held)
        vectorizers, results, fitted = {}, [], []
        for point, settings in zip(grid, candidates):
            vectorizer, ranker = self._fit_ranker(settings, fit_texts, Z_fit, Y[train],
                                                  vectorizers)
            F = self._rows(vectorizer, Z_held, held, settings["embedding_weight"])
            score = float(ndcg_at_k(Y[valid], ranker.predict_topk(F, k=5)[0], k=5))
            results.append({"params": dict(point), "ndcg@5": score})
            logger.info("param_grid %d/%d %s: validation nDCG@5 %.4f", len(results),
                        len(grid), point, score)
            fitted.append((settings, vectorizer, ranker))
        best = max(range(len(grid)), key=lambda i: (results[i]["ndcg@5"], -i))  # ties: first
        settings, vectorizer, ranker = fitted[best]
        if len(grid) > 1:
            self.best_params_, self.validation_results_ = dict(grid[best]), results
            logger.info("param_grid: %s chosen (validation nDCG@5 %s)", grid[best],
                        [round(r["ndcg@5"], 4) for r in results])
        if self.fusion_weight == "auto":
            parts = (encoder, vectorizer, ranker, settings["embedding_weight"])
            scores = {}
            for w in self.fusion_grid:
                idx = self._topk_with(parts, float(w), held, 5)
                scores[float(w)] = float(ndcg_at_k(Y[valid], idx, k=5))
            self.fusion_weight_ = max(scores, key=lambda w: (scores[w], -w))  # less fusion
            self.fusion_scores_ = scores
            logger.info("fusion weight %.2f (validation nDCG@5 %s)", self.fusion_weight_,
                        scores)
        return settings, encoded

    def _topk_with(self, parts, w, texts, k):
        idx = [topk_candidates(c, s, k)[0].numpy()
               for c, s in self._batches(parts, w, texts)]
        return np.concatenate(idx) if idx else np.empty((0, k), np.int64)

    # -- prediction -------------------------------------------------------------
    def _batches(self, parts, w, texts):
        encoder, vectorizer, ranker, weight = parts
        L = ranker.n_labels_
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            F = self._rows(vectorizer, self._embed(encoder, batch), batch, weight)
            for cand, scores in ranker._iter_candidate_scores(F):
                if w == 0:
                    yield cand, scores
                    continue
                e_idx, e_val = encoder.predict_topk(batch, k=min(self.fusion_candidates, L))
                ranked = torch.nan_to_num(scores.float(), neginf=0.0) * (1 - w)
                enc = torch.from_numpy(e_val).float() * w
                cand, fused = average_candidate_scores(
                    [(cand, ranked), (torch.from_numpy(e_idx), enc)], L)
                yield cand, fused * 2  # the sum of the two parts (-inf stays -inf)

    def _iter_candidate_scores(self, texts, k=None):
        yield from self._batches((self.encoder_, self.vectorizer_, self.ranker_,
                                  self.embedding_weight_), self.fusion_weight_, texts)
