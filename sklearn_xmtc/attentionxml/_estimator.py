"""AttentionXMLClassifier and LightAttentionClassifier: the hooks that differ
from the shared neural base (label trees, level-wise training, beam search)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._training import forward_eval
from ..labels import LabelTree, balanced_kmeans
from ..nn import output_scores
from ..utils._docstrings import fill_doc
from ._base import _BaseAttentionXML
from ._network import CandidateLoss, LightAttentionModule

__all__ = ["AttentionXMLClassifier", "LightAttentionClassifier"]


_INIT_DOC = """\
    embedding_dim : int, default=300
        Width of the word embeddings (ignored with a model directory as
        ``embeddings``: the model's width is used).
    hidden_size : int, default=256
        BiLSTM units per direction.
    linear_sizes : tuple of int, default=(256,)
        Fully connected layers shared by every label after the attention.
    embedding_dropout : float, default=0.2
    dropout : float, default=0.5
        Dropout on the attended label representations (before the FC layers).
    flat_max_labels : int, default=20000
        Up to this many labels no tree is built (flat mode).
    tree_height : int, default=3
        H: levels of the shallow-wide label tree, labels included.
    cluster_size : int, default=8
        M: most labels per bottom cluster of the tree.
    tree_branching : int, default=8
        K = 2^c children per internal node below the first level.
    n_candidates : int, default=160
        C: nodes of level d - 1 whose children are scored at level d, in
        training (plus the positives) and as the beam of prediction.
    n_trees : int, default=1
        Ensemble of trees built with different seeds; scores are averaged."""


@fill_doc
class AttentionXMLClassifier(_BaseAttentionXML):
    """AttentionXML: BiLSTM, multi-label attention and a shallow-wide label tree.

    Each text is encoded by a BiLSTM; every label attends to the token states
    with its own vector, and shared fully connected layers score the attended
    representation. Up to ``flat_max_labels`` labels the network scores all
    labels; above, labels are organised in a probabilistic label tree built by
    balanced 2-means on PIFA features (compressed to ``tree_height`` levels,
    Algorithm 1 of [2]), one network is trained per level top-down on the
    children of the ``n_candidates`` best parent nodes plus the positives,
    and prediction is a beam search with path-product scores.
    :meth:`transform` returns the masked max-pooling of the BiLSTM states
    (``2 * hidden_size`` wide) of the network that scores the leaves (the
    last level of the first tree).

    Parameters
    ----------
{init_doc}
    gradient_clip : float or None, default=5.0
        Gradient-norm clipping.
    swa_start : int or None, default=None
        Stochastic weight averaging: the fitted weights of every network are
        the mean of its end-of-epoch weights from epoch ``swa_start`` on (the
        paper uses 10 of 30 epochs); None trains without averaging.
{neural_parameters}

    Attributes
    ----------
{neural_attributes}
    tree_mode_ : bool
        Whether a label tree is used (``n_labels_ > flat_max_labels``).
    label_trees_ : list of LabelTree
        One per tree of the ensemble (height 1 in flat mode).
    tree_nets_ : list of list of skorch.NeuralNet
        The network of each level of each tree; ``net_`` is the last level of
        the first tree.

    References
    ----------
    .. [1] R. You, Z. Zhang, Z. Wang, S. Dai, H. Mamitsuka, S. Zhu.
       "AttentionXML: Label Tree-based Attention-Aware Deep Model for
       High-Performance Extreme Multi-Label Text Classification". NeurIPS 2019.
    .. [2] D. Zhu, S. Teng, J. Huang. "Multi-Label Text Classification
       (MTC)", the LightAttention model: AttentionXML with dynamic negative
       label sampling by generative cooperative networks. BNU-HKBU United
       International College (Algorithm 1: the tree; eq. 1-2).

    Examples
    --------
    >>> from sklearn_xmtc import AttentionXMLClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=200, n_labels=10, random_state=0)
    >>> est = AttentionXMLClassifier(max_epochs=3, embedding_dim=16, hidden_size=16,
    ...                              linear_sizes=(16,), max_length=32,
    ...                              random_state=0).fit(X, Y)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape, scores.shape
    ((2, 3), (2, 3))
    """

    def __init__(self, *, embedding_dim=300, hidden_size=256, linear_sizes=(256,),
                 embedding_dropout=0.2, dropout=0.5, flat_max_labels=20000, tree_height=3,
                 cluster_size=8, tree_branching=8, n_candidates=160, n_trees=1,
                 gradient_clip=5.0, swa_start=None, max_epochs=30, batch_size=40, lr=1e-3,
                 device="auto", random_state=None, verbose=0, validation_fraction=None,
                 patience=None,
                 tokenizer=None, tokenizer_type="word", max_vocab_size=50000, min_frequency=1,
                 lowercase=True, max_length=500, embeddings=None, freeze_embeddings=False,
                 threshold=0.5,
                 min_labels=0, max_labels=None, callbacks=None, keep_optimizer=False,
                 checkpoint_dir=None, resume=False, n_threads=None,
                 precision="32", propensity_a=0.55,
                 propensity_b=1.5):
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.linear_sizes = linear_sizes
        self.embedding_dropout = embedding_dropout
        self.dropout = dropout
        self.flat_max_labels = flat_max_labels
        self.tree_height = tree_height
        self.cluster_size = cluster_size
        self.tree_branching = tree_branching
        self.n_candidates = n_candidates
        self.n_trees = n_trees
        self.gradient_clip = gradient_clip
        self.swa_start = swa_start
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


AttentionXMLClassifier.__doc__ = AttentionXMLClassifier.__doc__.replace("{init_doc}", _INIT_DOC)


@fill_doc
class LightAttentionClassifier(_BaseAttentionXML):
    """LightAttention: AttentionXML with dynamic negative label sampling.

    The AttentionXML network (the discriminator) is trained jointly with a
    generator, a linear layer on the max-pooled BiLSTM states that scores
    label clusters (balanced k-means of PIFA label features, or the bottom
    clusters of the label tree above ``flat_max_labels`` labels). At every
    training step each text's candidates are its positives plus the labels
    of the ``n_sampled_clusters`` clusters the generator currently ranks
    best, so the negatives move as the generator learns; the loss is the
    BCE of the generator on cluster targets plus the BCE of the
    discriminator on the candidates (Zhu, Teng and Huang [1]_, Algorithm 2).
    A label's score is sigmoid(cluster score) x sigmoid(label score) over the
    labels of the best ``n_sampled_clusters`` clusters. :meth:`transform`
    returns the max-pooled BiLSTM states the generator reads (``2 *
    hidden_size`` wide; with ``negative_sampling="static"``, those of the
    network that scores the labels).

    Parameters
    ----------
{init_doc}
    n_clusters : int or None, default=None
        Label clusters in flat mode; None uses
        ``max(n_labels // 100, min(n_labels, 4 * n_sampled_clusters))``.
    n_sampled_clusters : int, default=10
        Clusters whose labels are the candidates of a text.
    negative_sampling : {"dynamic", "static"}, default="dynamic"
        "static" is the ablation: plain AttentionXML level-wise training on
        the same clusters (the cluster network is trained first, then frozen
        candidates feed the label network).
    gradient_clip : float or None, default=5.0
        Gradient-norm clipping.
    swa_start : int or None, default=None
        Stochastic weight averaging: the fitted weights of every network are
        the mean of its end-of-epoch weights from epoch ``swa_start`` on (the
        paper uses 10 of 30 epochs); None trains without averaging.
{neural_parameters}

    Attributes
    ----------
{neural_attributes}
    tree_mode_ : bool
    label_trees_ : list of LabelTree
        Per ensemble member: the clusters (level 0) above the labels (the
        full tree for ``negative_sampling="static"`` in tree mode).
    n_clusters_ : int
        Clusters of the first tree.
    tree_nets_ : list of list of skorch.NeuralNet

    References
    ----------
    .. [1] D. Zhu, S. Teng, J. Huang. "Multi-Label Text Classification
       (MTC)", the LightAttention model: AttentionXML with dynamic negative
       label sampling by generative cooperative networks. BNU-HKBU United
       International College (Algorithm 2).
    .. [2] T. Jiang, D. Wang, L. Sun, H. Yang, Z. Zhao, F. Zhuang. "LightXML:
       Transformer with Dynamic Negative Sampling for High-Performance
       Extreme Multi-label Text Classification". AAAI 2021.
    .. [3] R. You et al. "AttentionXML". NeurIPS 2019.

    Examples
    --------
    >>> from sklearn_xmtc import LightAttentionClassifier
    >>> from sklearn_xmtc.datasets import make_tiny_xmtc
    >>> X, Y = make_tiny_xmtc(n_samples=200, n_labels=10, random_state=0)
    >>> est = LightAttentionClassifier(max_epochs=3, embedding_dim=16, hidden_size=16,
    ...                                linear_sizes=(16,), max_length=32, n_clusters=4,
    ...                                n_sampled_clusters=2, random_state=0).fit(X, Y)
    >>> idx, scores = est.predict_topk(X[:2], k=3)
    >>> idx.shape, scores.shape
    ((2, 3), (2, 3))
    """

    _parameter_constraints = {
        **_BaseAttentionXML._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "n_sampled_clusters": [Interval(Integral, 1, None, closed="left")],
        "negative_sampling": [StrOptions({"dynamic", "static"})],
    }

    def __init__(self, *, embedding_dim=300, hidden_size=256, linear_sizes=(256,),
                 embedding_dropout=0.2, dropout=0.5, flat_max_labels=20000, tree_height=3,
                 cluster_size=8, tree_branching=8, n_candidates=160, n_trees=1,
                 n_clusters=None, n_sampled_clusters=10, negative_sampling="dynamic",
                 gradient_clip=5.0, swa_start=None, max_epochs=30, batch_size=40, lr=1e-3,
                 device="auto", random_state=None, verbose=0, validation_fraction=None,
                 patience=None,
                 tokenizer=None, tokenizer_type="word", max_vocab_size=50000, min_frequency=1,
                 lowercase=True, max_length=500, embeddings=None, freeze_embeddings=False,
                 threshold=0.5,
                 min_labels=0, max_labels=None, callbacks=None, keep_optimizer=False,
                 checkpoint_dir=None, resume=False, n_threads=None,
                 precision="32", propensity_a=0.55,
                 propensity_b=1.5):
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.linear_sizes = linear_sizes
        self.embedding_dropout = embedding_dropout
        self.dropout = dropout
        self.flat_max_labels = flat_max_labels
        self.tree_height = tree_height
        self.cluster_size = cluster_size
        self.tree_branching = tree_branching
        self.n_candidates = n_candidates
        self.n_trees = n_trees
        self.n_clusters = n_clusters
        self.n_sampled_clusters = n_sampled_clusters
        self.negative_sampling = negative_sampling
        self.gradient_clip = gradient_clip
        self.swa_start = swa_start
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

    # -- clusters -----------------------------------------------------------------
    def _needs_features(self):
        return True

    def _flat_clusters(self, features, seed):
        L = self.n_labels_
        k = self.n_clusters or max(L // 100, min(L, 4 * self.n_sampled_clusters))
        clusters = balanced_kmeans(features, min(k, L), random_state=seed)
        return LabelTree([clusters, np.arange(L)])

    def _make_tree(self, features, seed):
        if not self.tree_mode_:
            tree = self._flat_clusters(features, seed)
        else:
            tree = self._build_tree(features, seed)
            if tree.height < 2:
                tree = self._flat_clusters(features, seed)
            elif self.negative_sampling == "dynamic":  # clusters = bottom tree nodes
                tree = LabelTree(tree.node_of_label[-2:])
        return tree

    def _prepare_fit(self, texts, Y, seed):
        super()._prepare_fit(texts, Y, seed)
        self.n_clusters_ = self.label_trees_[0].n_nodes[-2]

    def _beams(self, tree):
        beams = [self.n_candidates] * tree.height
        beams[-2] = self.n_sampled_clusters  # clusters expanded into labels
        return beams

    # -- dynamic negative sampling ------------------------------------------------
    def _nets_per_tree(self, tree):
        return 1 if self.negative_sampling == "dynamic" else tree.height

    def _fit_tree(self, tree, base, seed, tree_index=0):
        if self.negative_sampling == "static":
            return super()._fit_tree(tree, base, seed, tree_index)
        net = self._make_net(*self._network_module(tree, 0), seed,
                             callbacks=self._network_callbacks(tree_index, 0))
        return [self._train(net, base)]  # the positives are in the batches (labels_in_input)

    def _network_module(self, tree, index):
        if self.negative_sampling == "static":
            return super()._network_module(tree, index)
        module = LightAttentionModule(
            self.vocab_size_, self.n_labels_, cluster_members=tree.children[-1],
            label_cluster=tree.node_of_label[-2], n_sampled=self.n_sampled_clusters,
            **self._module_kwargs())
        return module, CandidateLoss()

    def _tree_scores(self, nets, tree, X):
        if self.negative_sampling == "static":
            return super()._tree_scores(nets, tree, X)
        X = {k: v for k, v in X.items() if k in ("input_ids", "attention_mask")}
        return output_scores(forward_eval(nets[0], X))


LightAttentionClassifier.__doc__ = LightAttentionClassifier.__doc__.replace(
    "{init_doc}", _INIT_DOC)
