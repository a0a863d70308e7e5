"""OTSeq2SetClassifier: the hooks that differ from the shared neural base."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from .._generative import GenerativeSetMixin
from .._label_embedding import LabelTextEmbeddingMixin
from .._neural import BaseNeuralXMTCClassifier
from .._training import cosine_annealing
from .._vocabulary import TrainedVocabularyMixin
from ..utils._docstrings import fill_doc
from ._network import OTSeq2SetLoss, OTSeq2SetModule

__all__ = ["OTSeq2SetClassifier"]

MAX_LABELS_CAP = 30  # default N: the largest training label count, at most this


@fill_doc
class OTSeq2SetClassifier(GenerativeSetMixin, LabelTextEmbeddingMixin, TrainedVocabularyMixin,
                          BaseNeuralXMTCClassifier):
    """OTSeq2Set: sequence-to-set generation with bipartite matching and OT.

    A BiGRU encoder reads the text; lightweight convolutions give a second,
    shorter "label level" memory; a GRU decoder with additive attention over
    both generates up to N labels, each step fed the embedding of its own
    previous arg-max (student forcing), until it emits the empty label ∅.
    Training matches the N step distributions to the true label SET with the
    Hungarian algorithm (so label order does not matter) and adds a semantic
    optimal-transport distance between the predictions and the true labels
    in label-embedding space, solved with IPOT (Cao and Zhang 2022).
    :meth:`transform` returns the masked mean of the BiGRU encoder states
    (``2 * hidden_size`` wide), which also starts the decoder.

    :meth:`predict` returns the generated set (``threshold`` is not used).
    Greedy decoding runs N steps and never repeats a label. With
    ``matching="first_n"`` and with ``loss="mle"`` the set is the labels
    generated before the first ∅ (training puts the labels first, then ∅).
    With ``matching="all"`` training assigns ∅ to any unmatched step, so
    ∅ may come between labels: the set is every non-∅ label of the N steps
    (a decision; stopping at the first ∅ lost 5 micro-F1 points on a
    cooking slice).
    :meth:`predict_topk` / :meth:`predict_proba` score each label by its
    largest probability over the N decoding steps (all N steps, also those
    after the first ∅), so ranking metrics apply too.

    The paper's baselines are settings of the same estimator: Seq2Seq is
    ``loss="mle", label_order="given", use_lightconv=False``, MLC2Seq the
    same with ``label_order="frequency"``; BM is ``ot_weight=0,
    use_lightconv=False``; BM+LC, BM+OT and BM+OT+LC (the complete model,
    the default) follow.

    Parameters
    ----------
    embedding_dim : int, default=300
        Width of the token and label embeddings.
    hidden_size : int, default=512
        Encoder GRU units per direction, decoder GRU units and attention size.
    encoder_layers : int, default=2
        Layers of the bidirectional GRU encoder.
    use_lightconv : bool, default=True
        Attend also over lightweight convolutions of the encoder states.
    lightconv_kernels : tuple of int, default=(3, 7, 15, 30)
        Kernel width of each lightweight-convolution layer.
    lightconv_heads : int, default=16
        Kernels shared across channel groups; must divide ``2 * hidden_size``.
    lightconv_last_stride : int, default=3
        Stride of the last lightweight-convolution layer.
    bottleneck_size : int or None, default=None
        Width b of the output bottleneck (eq. 10); None: one Linear layer.
    dropout : float, default=0.2
    loss : {"matching", "mle"}, default="matching"
        "matching": bipartite matching (+ OT) with student forcing; "mle":
        teacher-forced likelihood of the label sequence in ``label_order``
        (Seq2Seq / MLC2Seq baselines).
    matching : {"all", "first_n"}, default="all"
        Assign a text's n labels among all N steps or its first n steps.
    empty_weight : float, default=0.2
        Weight lambda of the ∅ terms of the matching loss (eq. 13).
    ot_weight : float, default=8.0
        Weight of the semantic OT distance (eq. 17); 0 disables it.
    ot_iterations : int, default=50
        IPOT proximal iterations.
    ot_beta : float, default=0.5
        IPOT proximal step size.
    label_order : {"given", "frequency"}, default="given"
        Target order of ``loss="mle"``: the order of ``classes_`` or the
        most frequent training labels first (MLC2Seq).
    max_labels : int or None, default=None
        N, the decoding steps (the largest generated set). None: the largest
        training label count, at most 30. Labels of a text beyond the N-th
        (in ``classes_`` order) are not trained on. :meth:`predict` returns at
        most this many labels (with ``min_labels`` above the generated set's
        size too: the best scored ones).
    label_texts : None, dict or path, default=None
        Label descriptions (``label<TAB>text`` file or dict). Each label's
        embedding starts as the mean of the input token embeddings of its
        text's tokens under the fitted tokenizer; a label missing from it
        uses its own name. None: random label embeddings.
    gradient_clip : float or None, default=8.0
        Maximum gradient norm.
{neural_parameters}

    Attributes
    ----------
{neural_attributes}
    max_labels_ : int
        N, the number of decoding steps.

    References
    ----------
    .. [1] J. Cao, Y. Zhang. "OTSeq2Set: An Optimal Transport Enhanced
       Sequence-to-Set Model for Extreme Multi-label Text Classification".
       EMNLP 2022.
    .. [2] F. Wu, A. Fan, A. Baevski, Y. Dauphin, M. Auli. "Pay Less Attention
       with Lightweight and Dynamic Convolutions". ICLR 2019.
    .. [3] Y. Xie, X. Wang, R. Wang, H. Zha. "A Fast Proximal Point Method for
       Computing Exact Wasserstein Distance". UAI 2020.

    Examples
    --------
    >>> from sklearn_xmtc import OTSeq2SetClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=200, n_labels=10, random_state=0)
    >>> est = OTSeq2SetClassifier(max_epochs=3, embedding_dim=32, hidden_size=32,
    ...                           encoder_layers=1, lightconv_heads=4, max_length=64,
    ...                           device="cpu", random_state=0).fit(X, Y)
    >>> est.predict(X[:2]).shape
    (2, 10)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape
    (2, 3)
    """

    _labels_in_input = True
    _target = "indices"

    _parameter_constraints = {
        **BaseNeuralXMTCClassifier._parameter_constraints,
        **TrainedVocabularyMixin._parameter_constraints,
        **LabelTextEmbeddingMixin._parameter_constraints,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "encoder_layers": [Interval(Integral, 1, None, closed="left")],
        "use_lightconv": ["boolean"],
        "lightconv_kernels": [tuple, list],
        "lightconv_heads": [Interval(Integral, 1, None, closed="left")],
        "lightconv_last_stride": [Interval(Integral, 1, None, closed="left")],
        "bottleneck_size": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "loss": [StrOptions({"matching", "mle"})],
        "matching": [StrOptions({"all", "first_n"})],
        "empty_weight": [Interval(Real, 0, None, closed="left")],
        "ot_weight": [Interval(Real, 0, None, closed="left")],
        "ot_iterations": [Interval(Integral, 1, None, closed="left")],
        "ot_beta": [Interval(Real, 0, None, closed="neither")],
        "label_order": [StrOptions({"given", "frequency"})],
        "max_labels": [Interval(Integral, 1, None, closed="left"), None],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, *, embedding_dim=300, hidden_size=512, encoder_layers=2,
                 use_lightconv=True, lightconv_kernels=(3, 7, 15, 30), lightconv_heads=16,
                 lightconv_last_stride=3, bottleneck_size=None, dropout=0.2, loss="matching",
                 matching="all", empty_weight=0.2, ot_weight=8.0, ot_iterations=50,
                 ot_beta=0.5, label_order="given", max_labels=None, label_texts=None,
                 gradient_clip=8.0, max_epochs=10, batch_size=32, lr=1e-3, device="auto",
                 random_state=None, verbose=0, validation_fraction=None, patience=None,
                 tokenizer=None, tokenizer_type="word", max_vocab_size=50000,
                 min_frequency=1, lowercase=True, max_length=500, embeddings=None,
                 freeze_embeddings=False, threshold=0.5, min_labels=0, callbacks=None,
                 keep_optimizer=False, checkpoint_dir=None, resume=False, n_threads=None,
                 precision="32",
                 propensity_a=0.55, propensity_b=1.5):
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.encoder_layers = encoder_layers
        self.use_lightconv = use_lightconv
        self.lightconv_kernels = lightconv_kernels
        self.lightconv_heads = lightconv_heads
        self.lightconv_last_stride = lightconv_last_stride
        self.bottleneck_size = bottleneck_size
        self.dropout = dropout
        self.loss = loss
        self.matching = matching
        self.empty_weight = empty_weight
        self.ot_weight = ot_weight
        self.ot_iterations = ot_iterations
        self.ot_beta = ot_beta
        self.label_order = label_order
        self.max_labels = max_labels
        self.label_texts = label_texts
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
        self.callbacks = callbacks
        self.keep_optimizer = keep_optimizer
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.n_threads = n_threads
        self.precision = precision
        self.propensity_a = propensity_a
        self.propensity_b = propensity_b

    # -- fit hooks ----------------------------------------------------------------
    def _prepare_fit(self, texts, Y, seed):
        kernels = tuple(int(k) for k in self.lightconv_kernels)
        if self.use_lightconv and (not kernels or min(kernels) < 1):
            raise ValueError("lightconv_kernels must be non-empty positive ints, got "
                             f"{self.lightconv_kernels!r}.")
        if self.use_lightconv and (2 * self.hidden_size) % self.lightconv_heads:
            raise ValueError(f"lightconv_heads={self.lightconv_heads} must divide "
                             f"2 * hidden_size = {2 * self.hidden_size}.")
        counts = np.diff(Y.indptr)
        self.max_labels_ = (int(self.max_labels) if self.max_labels is not None
                            else int(min(max(counts.max(), 1), MAX_LABELS_CAP)))

    def _label_rank(self):
        """(L,) rank of each label in the MLE target order, or None (given order)."""
        if self.loss != "mle" or self.label_order == "given":
            return None
        order = np.argsort(-self.label_frequencies_, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return torch.from_numpy(rank.astype(np.int64))

    def _build_module(self):
        module = OTSeq2SetModule(
            self.vocab_size_, self.n_labels_, embedding_dim=self.embedding_dim,
            hidden_size=self.hidden_size, encoder_layers=self.encoder_layers,
            use_lightconv=self.use_lightconv,
            lightconv_kernels=tuple(int(k) for k in self.lightconv_kernels),
            lightconv_heads=self.lightconv_heads,
            lightconv_last_stride=self.lightconv_last_stride,
            bottleneck_size=self.bottleneck_size, dropout=self.dropout,
            max_labels=self.max_labels_, teacher_forcing=self.loss == "mle",
            label_rank=self._label_rank(), pad_id=self.tokenizer_.pad_id,
            pretrained=self._initial_embeddings(self.embedding_dim),
            freeze_embeddings=self.freeze_embeddings)
        self._init_label_embeddings(module.label_embed.weight, module.embed.embedding.weight)
        return module

    def _build_criterion(self):
        return OTSeq2SetLoss(loss=self.loss, matching=self.matching,
                             empty_weight=self.empty_weight, ot_weight=self.ot_weight,
                             ot_beta=self.ot_beta, ot_iterations=self.ot_iterations)

    def _net_kwargs(self):
        return {**super()._net_kwargs(), "gradient_clip": self.gradient_clip,
                "method_callbacks": [cosine_annealing(self.max_epochs)]}

    # -- prediction hooks (the generated set and the best-step scores: GenerativeSetMixin)
    def _stops_at_empty(self):
        """Whether a generated set ends at the first ∅ (see the class docstring)."""
        return self.loss == "mle" or self.matching == "first_n"
