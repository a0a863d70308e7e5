"""TReaderXMLClassifier: the hooks that differ from the shared neural base."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils._param_validation import Interval, StrOptions

from .._label_embedding import LabelTextEmbeddingMixin, label_text_means
from .._neighbors import cosine_topk, duplicate_groups
from .._neural import BaseNeuralXMTCClassifier
from .._vocabulary import TrainedVocabularyMixin
from ..labels import LabelHierarchy, check_hierarchy, load_label_texts
from ..utils._docstrings import fill_doc
from ._network import READINGS, TReaderXMLModule
from ._teacher import carried_nodes, teacher_sets

__all__ = ["TReaderXMLClassifier"]


@fill_doc
class TReaderXMLClassifier(LabelTextEmbeddingMixin, TrainedVocabularyMixin,
                           BaseNeuralXMTCClassifier):
    """TReaderXML: kNN teacher labels with their parents, read beside the text.

    Teacher knowledge (Wang et al., section 3.2, Algorithm 1): each text's
    ``n_neighbors`` most cosine-similar training texts (exact, by batched
    matrix products; in ``fit`` a text never retrieves itself nor an exact
    duplicate of itself) give its teacher set: every label they carry and,
    with a ``hierarchy``, each such label's parents (internal nodes that are
    not columns of ``classes_`` included), ordered by how many neighbours
    carry them and truncated to ``max_teacher_labels``. At prediction the
    neighbours come from the training vectors stored at fit.

    The dual cooperative network: the text's token embeddings and the teacher
    tokens' embeddings (one trained row per label or node, started from the
    mean word embedding of its ``label_texts`` entry, or of its name) each go
    through a Reading branch with its own weights (``reading``: the structures
    of table 3; the default is masked multi-head self-attention with a causal
    mask and a tanh output projection, a residual connection, then unmasked
    multi-head self-attention); Interaction concatenates the two read
    sequences along time, applies a bottleneck Linear and one masked MHSA
    layer; Prediction max-pools over the positions and scores every label
    (binary cross-entropy). :meth:`transform` returns the pooled vector
    (``bottleneck_size`` wide).

    Two decisions beyond the paper: every attention layer reads
    layer-normalised inputs (pre-LN), and the output bias starts at the
    log-odds of each label's training frequency (Lin et al. 2017). Without
    the second, the first updates (which push all logits down) saturated the
    tanh of the masked layers, the pooled vector became the same for every
    text and the network stayed at the label prior (rcv1-sample training
    split, 8 epochs: training loss 0.110 against 0.056 with it).

    Table 3's configurations: ID 0 is ``use_teacher=False, reading="none"``,
    ID 1 ``reading="none"``, IDs 2-6 the readings ``"mmhsa+r"``, ``"mhsa+r"``,
    ``"mhsa+r+mmhsa"``, ``"mmhsa+mhsa"``, ``"mmhsa+r+mhsa"`` (the default).

    Parameters
    ----------
    embedding_dim : int, default=300
    n_heads : int, default=4
        Attention heads of every (M)MHSA layer; divides ``embedding_dim`` (the
        pretrained width when ``embeddings`` fixes it) and ``bottleneck_size``.
    reading : str, default="mmhsa+r+mhsa"
        One of ``"none"``, ``"mmhsa+r"``, ``"mhsa+r"``, ``"mhsa+r+mmhsa"``,
        ``"mmhsa+mhsa"``, ``"mmhsa+r+mhsa"``.
    use_teacher : bool, default=True
        False: no teacher branch (no neighbours are searched).
    bottleneck_size : int, default=256
    dropout : float, default=0.1
        On the embeddings, inside attention and before the output layer.
    n_neighbors : int, default=10
    max_teacher_labels : int, default=64
    neighbor_features : {"auto", "tfidf", "embedding"}, default="auto"
        Text vectors of the neighbour search, fixed at fit: TF-IDF rows, or
        the mean of the initial (pretrained) token embeddings (eq. 1; needs
        ``embeddings``). "auto": "embedding" when ``embeddings`` is given.
    hierarchy : None, LabelHierarchy, dict or path, default=None
        Label hierarchy (parents of the neighbours' labels join the teacher
        set); None: the neighbours' labels alone.
    label_texts : None, dict or path, default=None
        ``label -> text`` (or a ``label<TAB>text`` file) for the teacher
        tokens' initial embeddings; labels and nodes without one use their name.
    label_text_length : int, default=16
        Words of a label text used (the paper's 4 for AmazonCat and EURLex,
        16 for RCV1).
    neighbor_batch_size : int, default=1024
        Texts per similarity block of the neighbour search (memory
        O(neighbor_batch_size x n_train)).
{neural_parameters}

    Attributes
    ----------
{neural_attributes}
    hierarchy_index_ : HierarchyIndex or None
        The label-index view of ``hierarchy`` (columns, then internal nodes).
    n_nodes_ : int
        Teacher token kinds: labels plus internal nodes.
    neighbor_vectorizer_ : TfidfVectorizer or None
        With TF-IDF neighbour features.
    neighbor_embeddings_ : ndarray of float32, shape ``(vocab_size_, d)`` or None
        The initial token embeddings whose means are the neighbour vectors
        (``neighbor_features="embedding"``; fixed, while the network's train).
    neighbor_vectors_ : sparse matrix or ndarray of float32, shape (n_train, d)
        The training texts' neighbour vectors (L2-normalised).
    teacher_carried_ : scipy.sparse.csr_matrix, shape ``(n_train, n_nodes_)``
        The nodes each training text carries (its labels and their parents).

    References
    ----------
    .. [1] X. Wang, et al. "Exploiting Dynamic and Fine-grained Semantic Scope
       for Extreme Multi-label Text Classification". NLPCC 2022.

    Examples
    --------
    >>> from sklearn_xmtc.treaderxml import TReaderXMLClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=200, n_labels=10, random_state=0)
    >>> est = TReaderXMLClassifier(embedding_dim=32, bottleneck_size=32, max_epochs=3,
    ...                            lr=1e-3, n_neighbors=5, random_state=0).fit(X, Y)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape, est.transform(X[:2]).shape
    ((2, 3), (2, 32))
    """

    #: side information of a dataset that the main job and the benchmarks pass
    _dataset_params = ("hierarchy", "label_texts")

    _parameter_constraints = {
        **BaseNeuralXMTCClassifier._parameter_constraints,
        **TrainedVocabularyMixin._parameter_constraints,
        **LabelTextEmbeddingMixin._parameter_constraints,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "reading": [StrOptions(set(READINGS))],
        "use_teacher": ["boolean"],
        "bottleneck_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "max_teacher_labels": [Interval(Integral, 1, None, closed="left")],
        "neighbor_features": [StrOptions({"auto", "tfidf", "embedding"})],
        "hierarchy": [None, dict, str, os.PathLike, LabelHierarchy],
        "label_text_length": [Interval(Integral, 1, None, closed="left")],
        "neighbor_batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, embedding_dim=300, n_heads=4, reading="mmhsa+r+mhsa",
                 use_teacher=True, bottleneck_size=256, dropout=0.1, n_neighbors=10,
                 max_teacher_labels=64, neighbor_features="auto", hierarchy=None,
                 label_texts=None, label_text_length=16, neighbor_batch_size=1024,
                 max_epochs=10, batch_size=32, lr=1e-4, device="auto", random_state=None,
                 verbose=0, validation_fraction=None, patience=None, tokenizer=None,
                 tokenizer_type="word", max_vocab_size=50000, min_frequency=1,
                 lowercase=True, max_length=500, embeddings=None, freeze_embeddings=False,
                 threshold=0.5, min_labels=0, max_labels=None, callbacks=None,
                 keep_optimizer=False,
                 checkpoint_dir=None, resume=False, n_threads=None,
                 precision="32", propensity_a=0.55,
                 propensity_b=1.5):
        self.embedding_dim = embedding_dim
        self.n_heads = n_heads
        self.reading = reading
        self.use_teacher = use_teacher
        self.bottleneck_size = bottleneck_size
        self.dropout = dropout
        self.n_neighbors = n_neighbors
        self.max_teacher_labels = max_teacher_labels
        self.neighbor_features = neighbor_features
        self.hierarchy = hierarchy
        self.label_texts = label_texts
        self.label_text_length = label_text_length
        self.neighbor_batch_size = neighbor_batch_size
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tokenizer = tokenizer
        self.tokenizer_type = tokenizer_type
        self.max_vocab_size = max_vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.max_length = max_length
        self.embeddings = embeddings
        self.freeze_embeddings = freeze_embeddings
        self.threshold = threshold
        self.min_labels = min_labels
        self.max_labels = max_labels
        self.callbacks = callbacks
        self.keep_optimizer = keep_optimizer
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.n_threads = n_threads
        self.precision = precision
        self.propensity_a = propensity_a
        self.propensity_b = propensity_b

    # -- fit hooks ----------------------------------------------------------------
    def _features_kind(self):
        kind = self.neighbor_features
        if kind == "auto":
            return "embedding" if self.embeddings is not None else "tfidf"
        if kind == "embedding" and self.embeddings is None:
            raise ValueError("neighbor_features='embedding' averages pretrained token "
                             "embeddings: give embeddings=... (or use 'tfidf').")
        return kind

    def _prepare_fit(self, texts, Y, seed):
        h = check_hierarchy(self.hierarchy)
        self.hierarchy_index_ = None if h is None else h.index_view(self.classes_)
        self.n_nodes_ = self.n_labels_ if h is None else self.hierarchy_index_.n_nodes
        self._initial = self._initial_embeddings(self.embedding_dim)  # used by _build_module
        self.neighbor_vectorizer_ = self.neighbor_embeddings_ = None
        self.neighbor_vectors_ = self.teacher_carried_ = self._fit_teacher = None
        if not self.use_teacher:
            return
        self.teacher_carried_ = carried_nodes(
            Y, None if h is None else self.hierarchy_index_.parents)
        if self._features_kind() == "tfidf":
            self.neighbor_vectorizer_ = TfidfVectorizer(sublinear_tf=True, dtype=np.float32)
            self.neighbor_vectorizer_.fit(texts)
        else:  # the initial embedding, kept fixed for the search (the network's trains)
            self.neighbor_embeddings_ = self._initial.numpy().astype(np.float32)
        self.neighbor_vectors_ = self._neighbor_vectors(texts)
        groups = duplicate_groups(texts)
        idx, _ = cosine_topk(self.neighbor_vectors_, self.neighbor_vectors_, self.n_neighbors,
                             query_groups=groups, reference_groups=groups,
                             batch_size=self.neighbor_batch_size)
        self._fit_teacher = teacher_sets(idx, self.teacher_carried_, self.max_teacher_labels)

    def _neighbor_vectors(self, texts):
        """(n, d) L2-normalised neighbour-search vectors of ``texts``."""
        from sklearn.preprocessing import normalize

        if self.neighbor_vectorizer_ is not None:
            return normalize(self.neighbor_vectorizer_.transform(texts))
        import scipy.sparse as sp

        flat, offsets = self.tokenizer_.encode(texts, self.max_length)
        lengths = np.diff(offsets)
        owner = np.repeat(np.arange(len(texts)), lengths)
        # the mean of each text's token rows (eq. 1), as one sparse product
        mean = sp.csr_matrix((1.0 / lengths[owner], (owner, flat)),
                             shape=(len(texts), self.neighbor_embeddings_.shape[0]))
        return normalize(np.asarray(mean @ self.neighbor_embeddings_)).astype(np.float32)

    def _sample_fields(self, texts, Y=None):
        if not self.use_teacher:
            return {}
        if Y is not None and self._fit_teacher is not None:
            tokens, self._fit_teacher = self._fit_teacher, None  # the leave-one-out sets
            return {"teacher": tokens}
        if not len(texts):
            return {"teacher": np.zeros((0, self.max_teacher_labels), dtype=np.int64)}
        idx, _ = cosine_topk(self._neighbor_vectors(texts), self.neighbor_vectors_,
                             self.n_neighbors, batch_size=self.neighbor_batch_size)
        return {"teacher": teacher_sets(idx, self.teacher_carried_, self.max_teacher_labels)}

    def _build_module(self):
        rebuilding = self.__dict__.get("_rebuilding", False)
        # the initial rows of _prepare_fit, used once (popped first: none is left behind
        # when a check below raises); a saved model: the shapes of its weights
        initial = (self._initial_embeddings(self.embedding_dim) if rebuilding
                   else self.__dict__.pop("_initial", None))
        dim = self.embedding_dim if initial is None else initial.shape[1]
        for name, width in (("embedding width", dim), ("bottleneck_size", self.bottleneck_size)):
            if width % self.n_heads:
                raise ValueError(f"n_heads={self.n_heads} must divide the {name} ({width}).")
        module = TReaderXMLModule(
            self.vocab_size_, self.n_labels_, self.n_nodes_, embedding_dim=self.embedding_dim,
            n_heads=self.n_heads, reading=self.reading, bottleneck_size=self.bottleneck_size,
            use_teacher=self.use_teacher, dropout=self.dropout, pad_id=self.tokenizer_.pad_id,
            pretrained=initial, freeze_embeddings=self.freeze_embeddings,
            prior=self.label_frequencies_ / max(self.n_samples_fit_, 1))
        if self.use_teacher and not rebuilding:
            names = (self.classes_ if self.hierarchy_index_ is None
                     else self.hierarchy_index_.node_names)
            with torch.no_grad():
                means, known = label_text_means(
                    self.tokenizer_, names, load_label_texts(self.label_texts) or {},
                    module.embed.embedding.weight, max_tokens=self.label_text_length)
                rows = module.label_embed.weight[1:]
                rows[known] = means[known]
        return module
