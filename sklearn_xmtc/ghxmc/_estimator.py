"""GHXMCClassifier: the hooks that differ from the shared neural base."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from .._generative import GenerativeSetMixin
from .._neural import BaseNeuralXMTCClassifier
from .._training import InverseSqrtLR, forward_eval, iter_eval_batches
from .._vocabulary import TrainedVocabularyMixin
from ..labels import LabelHierarchy, check_hierarchy, load_label_texts
from ..utils._docstrings import fill_doc
from ._bpe import label_spellings
from ._network import GHXMCLoss, GHXMCModule

__all__ = ["GHXMCClassifier"]

MAX_STEPS_CAP = 64  # default S: the longest training target sequence, at most this
MAX_SUBWORD_STEPS_CAP = 256  # the same in subwords and SEPs (label_tokenization="bpe")


@fill_doc
class GHXMCClassifier(GenerativeSetMixin, TrainedVocabularyMixin, BaseNeuralXMTCClassifier):
    """G-HXMC: hierarchical label-sequence generation with soft-constrained decoding.

    A Transformer encoder-decoder (``torch.nn.Transformer``, sinusoidal
    positions) reads the text and generates its labels as a sequence: the
    text's labels with all their ancestors in ``hierarchy``
    (``expand_ancestors=True``), ordered by level (level 0 first), then by
    training frequency within a level, then EOS. Hierarchy nodes that are not
    columns of ``classes_`` are internal tokens: generated (the constraint
    needs them), never returned. Decoder input and output embeddings are tied;
    training is teacher-forced maximum likelihood with label smoothing, Adam
    (0.9, 0.98) and the inverse-square-root warm-up schedule.

    Decoding is beam search (``beam_size``; 1 is greedy), never repeating a
    label, with the soft hierarchy constraint: a label that is not at level 0
    and none of whose parents has been generated yet has its log-probability
    lowered by ``constraint_penalty`` (0: unconstrained, ``inf``: hard). Both
    are decoding parameters: one fit serves every value (``set_params``, then
    predict; no refit). Without a hierarchy the model trains and decodes
    unconstrained (labels ordered by training frequency).

    :meth:`predict` returns the best beam's generated set (``threshold`` is
    not used; ``min_labels`` / ``max_labels`` then add or drop labels by
    score). :meth:`predict_topk` / :meth:`predict_proba` rank the labels of the
    final beams by the best beam score in which they appear (see
    :meth:`~sklearn_xmtc.ghxmc._network.GHXMCModule.label_scores` for ties and
    for the labels in no beam, which follow, by first-step probability).
    :meth:`transform` returns the masked mean of the encoder states
    (``d_model`` wide). :meth:`decode_sequences` shows the generated node
    sequences, internal nodes included.

    With ``label_tokenization="bpe"`` each node is generated as the subwords
    of its text (``label_texts``, else its name) under a BPE model trained on
    the node texts at fit, each label followed by SEP, the sequence ended by
    EOS. A prefix trie of the spellings maps the subwords back to labels;
    a string that is no label is dropped (:meth:`count_invalid_labels` counts
    them per text; ``predict`` never changes the estimator). The penalty then
    applies at a label's first subword, and only when every node starting with
    that subword lacks a generated parent (or is no label at all).

    Parameters
    ----------
    d_model : int, default=512
        Width of the embeddings and of the Transformer (Transformer-base).
    n_heads : int, default=8
        Attention heads; must divide ``d_model``.
    encoder_layers, decoder_layers : int, default=6
        Transformer layers.
    dim_feedforward : int, default=2048
    dropout : float, default=0.1
    label_smoothing : float, default=0.1
    warmup_steps : int or "auto", default="auto"
        Warm-up steps of the inverse-square-root schedule; "auto" scales the
        paper's 4000 down for small data: ``min(4000, total_steps // 10)``.
        ``lr`` is the peak learning rate.
    hierarchy : None, LabelHierarchy, dict or path, default=None
        Label hierarchy (a tree or a DAG) of the target sequences and the
        constraint; columns it does not name are level-0 nodes.
    expand_ancestors : bool, default=True
        Add every ancestor of a text's labels to its target sequence. With
        False the sequences hold the labels only (ordered the same way) and
        the constraint can only be met by labels that are themselves columns.
    label_tokenization : {"label", "bpe"}, default="label"
        "label": one output token per label or internal node. "bpe": labels
        spelled in subwords of their texts (see above).
    label_texts : None, dict or path, default=None
        ``label -> text`` (or a ``label<TAB>text`` file) of the subword mode;
        nodes without one are spelled as their name, and nodes sharing a text
        get their name appended. Not used by the "label" mode.
    bpe_vocab_size : int, default=1000
        Most subwords of the BPE model of the subword mode.
    beam_size : int, default=4
        Beams of the decoding; 1 is greedy decoding.
    constraint_penalty : float, default=2.0
        Penalty of the soft hierarchy constraint (0 off, ``float("inf")`` hard).
    max_steps : int or None, default=None
        S, the most labels (nodes) a sequence holds; decoding runs S + 1 steps.
        None: the longest training target sequence, at most 64. Longer targets
        are cut (their last, deepest and rarest, nodes dropped). In the subword
        mode S counts subwords and SEPs (None: at most 256), and a node whose
        spelling would pass S is dropped whole.
    gradient_clip : float or None, default=None
        Maximum gradient norm.
{neural_parameters}

    Attributes
    ----------
{neural_attributes}
    hierarchy_index_ : HierarchyIndex or None
        Label-index view of ``hierarchy`` (columns, then internal nodes).
    n_nodes_ : int
        V, the decoder's label tokens (columns and internal nodes).
    node_level_ : ndarray of int64, shape ``(n_nodes_,)``
        Level of each node (0 at the top).
    node_frequencies_ : ndarray of int64, shape ``(n_nodes_,)``
        Training texts whose target sequence holds each node.
    max_steps_ : int
        S.
    label_spellings_ : ndarray of int64, shape ``(n_nodes_, max_subwords)`` or None
        Subword mode: each node's subword ids (-1 padded); None otherwise.
    subword_vocabulary_ : list of str or None
        Subword mode: the subwords, by id; None otherwise.

    References
    ----------
    .. [1] "Generation mode for Hierarchical EXtreme Multi-label text
       Classification" (G-HXMC), paper 000 of the project (see
       ``shared/methods/ghxmc.md``).
    .. [2] A. Vaswani et al. "Attention Is All You Need". NeurIPS 2017.
    .. [3] O. Press, L. Wolf. "Using the Output Embedding to Improve Language
       Models". EACL 2017.

    Examples
    --------
    >>> from sklearn_xmtc import GHXMCClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=200, n_labels=10, random_state=0)
    >>> est = GHXMCClassifier(d_model=32, n_heads=2, encoder_layers=1, decoder_layers=1,
    ...                       dim_feedforward=64, max_epochs=3, lr=1e-3, max_length=64,
    ...                       device="cpu", random_state=0).fit(X, Y)
    >>> est.predict(X[:2]).shape
    (2, 10)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape, est.transform(X[:2]).shape
    ((2, 3), (2, 32))
    """

    #: side information of a dataset that the main job and the benchmarks pass
    _dataset_params = ("hierarchy", "label_texts")
    _labels_in_input = True
    _target = "indices"

    _parameter_constraints = {
        **BaseNeuralXMTCClassifier._parameter_constraints,
        **TrainedVocabularyMixin._parameter_constraints,
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "encoder_layers": [Interval(Integral, 1, None, closed="left")],
        "decoder_layers": [Interval(Integral, 1, None, closed="left")],
        "dim_feedforward": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "warmup_steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "hierarchy": [None, dict, str, os.PathLike, LabelHierarchy],
        "expand_ancestors": ["boolean"],
        "label_tokenization": [StrOptions({"label", "bpe"})],
        "label_texts": [None, dict, str, os.PathLike],
        "bpe_vocab_size": [Interval(Integral, 1, None, closed="left")],
        "beam_size": [Interval(Integral, 1, None, closed="left")],
        "constraint_penalty": [Interval(Real, 0, None, closed="left")],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, *, d_model=512, n_heads=8, encoder_layers=6, decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, label_smoothing=0.1, warmup_steps="auto",
                 hierarchy=None, expand_ancestors=True, label_tokenization="label",
                 label_texts=None, bpe_vocab_size=1000, beam_size=4, constraint_penalty=2.0, max_steps=None, gradient_clip=None,
                 max_epochs=10, batch_size=32, lr=5e-4, device="auto", random_state=None,
                 verbose=0, validation_fraction=None, patience=None, tokenizer=None,
                 tokenizer_type="word", max_vocab_size=50000, min_frequency=1,
                 lowercase=True, max_length=500, embeddings=None, freeze_embeddings=False,
                 threshold=0.5, min_labels=0, max_labels=None, callbacks=None,
                 keep_optimizer=False,
                 checkpoint_dir=None, resume=False, n_threads=None,
                 precision="32", propensity_a=0.55,
                 propensity_b=1.5):
        self.d_model = d_model
        self.n_heads = n_heads
        self.encoder_layers = encoder_layers
        self.decoder_layers = decoder_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.warmup_steps = warmup_steps
        self.hierarchy = hierarchy
        self.expand_ancestors = expand_ancestors
        self.label_tokenization = label_tokenization
        self.label_texts = label_texts
        self.bpe_vocab_size = bpe_vocab_size
        self.beam_size = beam_size
        self.constraint_penalty = constraint_penalty
        self.max_steps = max_steps
        self.gradient_clip = gradient_clip
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

    # -- fit hooks ----------------------------------------------------------------------
    def _prepare_fit(self, texts, Y, seed):
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads={self.n_heads} must divide d_model={self.d_model}.")
        h = check_hierarchy(self.hierarchy)
        L = self.n_labels_
        if h is None:
            self.hierarchy_index_ = None
            self.n_nodes_ = L
            self.node_level_ = np.zeros(L, dtype=np.int64)
            self._edges = self._ancestor_pairs = (np.zeros(0, np.int64),) * 2
        else:
            view = self.hierarchy_index_ = h.index_view(self.classes_)
            self.n_nodes_ = view.n_nodes
            self.node_level_ = view.level.copy()
            P = view.parents.tocoo()
            self._edges = (P.row.astype(np.int64), P.col.astype(np.int64))
            A = (view.ancestors[:L] if self.expand_ancestors
                 else sp.csr_matrix((L, view.n_nodes))).tocoo()
            self._ancestor_pairs = (A.row.astype(np.int64), A.col.astype(np.int64))
        # node frequencies over the target sets: each text's columns plus their ancestors
        child, node = self._ancestor_pairs
        Yc = sp.csr_matrix(Y, dtype=np.float32)
        up = sp.csr_matrix((np.ones(len(child), np.float32), (child, node)),
                           shape=(L, self.n_nodes_))
        targets = sp.hstack([Yc, sp.csr_matrix((Y.shape[0], self.n_nodes_ - L))]).tocsr() + Yc @ up
        targets.data[:] = 1.0
        self.node_frequencies_ = np.asarray(targets.sum(0)).ravel().astype(np.int64)
        order = np.lexsort((np.arange(self.n_nodes_), -self.node_frequencies_, self.node_level_))
        self._node_rank = np.empty(self.n_nodes_, dtype=np.int64)
        self._node_rank[order] = np.arange(self.n_nodes_)
        lengths, cap = np.diff(targets.tocsr().indptr), MAX_STEPS_CAP
        self.label_spellings_ = self.subword_vocabulary_ = None
        if self.label_tokenization == "bpe":
            names = (self.classes_ if self.hierarchy_index_ is None
                     else self.hierarchy_index_.node_names)
            self.label_spellings_, self.subword_vocabulary_ = label_spellings(
                list(names), load_label_texts(self.label_texts), self.bpe_vocab_size)
            spelled = (self.label_spellings_ >= 0).sum(1) + 1  # subwords, then SEP
            lengths, cap = targets.tocsr() @ spelled.astype(np.float32), MAX_SUBWORD_STEPS_CAP
        self.max_steps_ = (int(self.max_steps) if self.max_steps is not None
                           else int(min(max(lengths.max(), 1), cap)))

    def _build_module(self):
        initial = self._initial_embeddings(self.d_model)
        if initial is not None and initial.shape[1] != self.d_model:
            raise ValueError(f"embeddings={self.embeddings!r} has {initial.shape[1]} columns; "
                             f"G-HXMC needs d_model={self.d_model} of them (set d_model).")
        t = torch.from_numpy
        module = GHXMCModule(
            self.vocab_size_, self.n_labels_, self.n_nodes_,
            edges=(t(self._edges[0]), t(self._edges[1])),
            ancestors=(t(self._ancestor_pairs[0]), t(self._ancestor_pairs[1])),
            node_rank=t(self._node_rank), d_model=self.d_model, n_heads=self.n_heads,
            encoder_layers=self.encoder_layers, decoder_layers=self.decoder_layers,
            dim_feedforward=self.dim_feedforward, dropout=self.dropout,
            max_steps=self.max_steps_, beam_size=self.beam_size,
            constraint_penalty=self.constraint_penalty, pad_id=self.tokenizer_.pad_id,
            pretrained=initial,
            freeze_embeddings=self.freeze_embeddings,
            spellings=(None if self.label_spellings_ is None
                       else t(self.label_spellings_)),
            n_subwords=len(self.subword_vocabulary_ or ()))
        return module

    def _build_criterion(self):
        return GHXMCLoss(self.label_smoothing)

    def _net_kwargs(self):
        return {**super()._net_kwargs(), "gradient_clip": self.gradient_clip,
                "optimizer__betas": (0.9, 0.98),
                "method_callbacks": [("lr_scheduler", InverseSqrtLR(self.warmup_steps))]}

    # -- prediction hooks ---------------------------------------------------------------
    def _stops_at_empty(self):
        """Internal nodes read as ∅ in ``sequence``: the set is every column of the beam."""
        return False

    def _decoding_inputs(self, X):
        return {**X, "beam_size": torch.tensor(int(self.beam_size)),
                "constraint_penalty": torch.tensor(float(self.constraint_penalty))}

    def _label_scores(self, out):
        return out["scores"]

    def _embedding_inputs(self, X):
        return {**X, "embedding_only": torch.tensor(True)}  # no decoding for transform

    def decode_sequences(self, X):
        """The best beam's generated node sequence of each text, in generation order.

        Internal nodes (hierarchy nodes that are not columns) are included, by
        name; the sequences stop before EOS. Uses the current ``beam_size`` and
        ``constraint_penalty``.

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        sequences : list of list
            Node names (``classes_`` entries for columns).
        """
        names = (self.classes_ if self.hierarchy_index_ is None
                 else self.hierarchy_index_.node_names)
        out = []
        for decoded in self._decoded_batches(X):
            for row in decoded["beams"][:, 0].cpu().numpy():  # EOS (and, for subwords,
                out.append([names[i] for i in row[row < self.n_nodes_]])  # inside a label)
        return out

    def count_invalid_labels(self, X):
        """Per text, the strings of the best beam that are no label.

        In the subword mode (``label_tokenization="bpe"``) a generated string
        (subwords up to a SEP, or cut off by ``max_steps``) that spells no
        node is dropped from the predictions; this counts them. Always 0 in
        the "label" mode. Uses the current ``beam_size`` and
        ``constraint_penalty``.

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        counts : ndarray of int64, shape (n_samples,)
        """
        counts = [decoded["n_invalid"].cpu() for decoded in self._decoded_batches(X)]
        return torch.cat(counts).numpy().astype(np.int64) if counts else np.zeros(0, np.int64)

    def _decoded_batches(self, X):
        """The decoded network output of each evaluation batch of the texts ``X``."""
        texts = self._check_predict_input(X)
        for batch in iter_eval_batches(self.net_, self._make_dataset(texts)):
            yield forward_eval(self.net_, self._decoding_inputs(batch))
