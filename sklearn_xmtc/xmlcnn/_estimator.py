"""XMLCNNClassifier: the hooks that differ from the shared neural base."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from .._neural import BaseNeuralXMTCClassifier
from .._vocabulary import TrainedVocabularyMixin
from ..utils._docstrings import fill_doc
from ._network import XMLCNNModule

__all__ = ["XMLCNNClassifier"]


@fill_doc
class XMLCNNClassifier(TrainedVocabularyMixin, BaseNeuralXMTCClassifier):
    """XML-CNN: convolutional network with dynamic max pooling and a bottleneck.

    The deep XMTC baseline of Liu et al. (2017): word embeddings, 1-D
    convolutions of several widths, dynamic max pooling (each feature map is
    max-pooled per chunk of the text, keeping coarse position), a bottleneck
    layer and one sigmoid output per label, trained with binary
    cross-entropy over all labels. Dynamic max pooling cuts each text's own
    length (not the padded length of its batch) into the chunks.
    :meth:`transform` returns the bottleneck output (``hidden_size`` wide).

    Parameters
    ----------
    embedding_dim : int, default=300
    filter_sizes : tuple of int, default=(2, 4, 8)
        Convolution widths.
    n_filters : int, default=128
        Feature maps per width.
    n_pool_chunks : int, default=2
        Chunks of dynamic max pooling.
    hidden_size : int, default=512
        Bottleneck width.
    dropout : float, default=0.5
        Dropout after the bottleneck.
    embedding_dropout : float, default=0.25
        Dropout on the embeddings.
{neural_parameters}

    Attributes
    ----------
{neural_attributes}

    References
    ----------
    .. [1] J. Liu, W.-C. Chang, Y. Wu, Y. Yang. "Deep Learning for Extreme
       Multi-label Text Classification". SIGIR 2017.

    Examples
    --------
    >>> from sklearn_xmtc import XMLCNNClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=200, n_labels=10, random_state=0)
    >>> est = XMLCNNClassifier(max_epochs=5, n_filters=16, hidden_size=32,
    ...                        embedding_dim=32, random_state=0).fit(X, Y)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape, scores.shape
    ((2, 3), (2, 3))
    """

    _parameter_constraints = {
        **BaseNeuralXMTCClassifier._parameter_constraints,
        **TrainedVocabularyMixin._parameter_constraints,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "filter_sizes": [tuple, list],
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "n_pool_chunks": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "embedding_dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, *, embedding_dim=300, filter_sizes=(2, 4, 8), n_filters=128,
                 n_pool_chunks=2, hidden_size=512, dropout=0.5, embedding_dropout=0.25,
                 max_epochs=10, batch_size=64, lr=1e-3, device="auto", random_state=None,
                 verbose=0, validation_fraction=None, patience=None, tokenizer=None,
                 tokenizer_type="word", max_vocab_size=50000, min_frequency=1,
                 lowercase=True, max_length=500, embeddings=None, freeze_embeddings=False,
                 threshold=0.5,
                 min_labels=0, max_labels=None, callbacks=None, keep_optimizer=False,
                 checkpoint_dir=None, resume=False, n_threads=None,
                 precision="32",
                 propensity_a=0.55, propensity_b=1.5):
        self.embedding_dim = embedding_dim
        self.filter_sizes = filter_sizes
        self.n_filters = n_filters
        self.n_pool_chunks = n_pool_chunks
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.embedding_dropout = embedding_dropout
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

    def _build_module(self):
        sizes = tuple(int(s) for s in self.filter_sizes)
        if not sizes or min(sizes) < 1:
            raise ValueError(f"filter_sizes must be non-empty positive ints, got {self.filter_sizes!r}.")
        return XMLCNNModule(
            self.vocab_size_, self.n_labels_, embedding_dim=self.embedding_dim,
            filter_sizes=sizes, n_filters=self.n_filters, n_pool_chunks=self.n_pool_chunks,
            hidden_size=self.hidden_size, embedding_dropout=self.embedding_dropout,
            dropout=self.dropout, pad_id=self.tokenizer_.pad_id,
            pretrained=self._initial_embeddings(self.embedding_dim), freeze_embeddings=self.freeze_embeddings)
