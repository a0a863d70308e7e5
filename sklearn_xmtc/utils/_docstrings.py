"""Docstring fragments shared by the neural estimators."""

__all__ = ["fill_doc", "CHECKPOINT_PARAMETERS", "NEURAL_PARAMETERS", "NEURAL_ATTRIBUTES",
           "LABEL_LIMITS"]

CHECKPOINT_PARAMETERS = """\
    checkpoint_dir : str, path-like or None, default=None
        Folder of training checkpoints. Each fit writes to its own sub-folder
        ``<Class>-<fit id>`` (the id hashes the parameters and the training
        data, so the folds of a ``GridSearchCV`` never share one): the state
        built before the network (tokenizer, label trees, neighbours) once,
        then, at the end of every epoch, the weights, optimiser, learning-rate
        schedule, history and RNG state of the network in training, each
        file written atomically (a kill mid-write leaves the previous one).
    resume : bool or "auto", default=False
        True: continue the interrupted fit from its last complete epoch (the
        saved pre-network state is reused, finished networks and tree levels
        are loaded, not retrained); a ValueError, naming what differs, when
        ``checkpoint_dir`` holds no checkpoint of a fit with these data and
        parameters. "auto": resume when there is such a checkpoint, else
        start afresh (for reruns of a search). On the CPU a resumed fit ends
        with the same weights as an unbroken one of the same seed.
    n_threads : int, "auto" or None, default=None
        Threads torch trains with (``torch.set_num_threads`` during ``fit``,
        restored after; the count used is ``n_threads_``). None keeps torch's
        setting. "auto" counts the cores idle when ``fit`` starts and uses that
        many (at least one): on a machine where another process holds a core,
        OpenMP's spin-waiting can make every epoch several times slower with
        more threads than free cores (see docs/benchmarks.md, "CPU
        contention"). The thread count can change the rounding of sums, so
        bit-identical refits need the same count.
    precision : {"32", "bf16", "fp16"}, default="32"
        Training precision. "bf16" / "fp16" train under mixed precision
        through Hugging Face Accelerate (the ``accelerate`` extra; bf16 also
        on the CPU). A fit started by ``accelerate launch`` (or ``torchrun``)
        on N processes always goes through Accelerate: each process trains on
        its own device, every batch of ``batch_size`` texts is split between
        the processes, gradients are averaged, and the fitted estimator is an
        ordinary one (it pickles, saves and predicts in one process)."""

NEURAL_PARAMETERS = """\
    max_epochs : int
        Training epochs.
    batch_size : int
        Samples per training and prediction batch.
    lr : float
        Learning rate of the optimiser.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        "auto" uses CUDA when available, else the CPU.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, shuffling, dropout and label trees. The
        same seed on the same data and CPU gives identical predictions.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar and skorch's epoch table (train
        loss, and validation P@1/P@5 when ``validation_fraction`` is set).
    validation_fraction : float or None, default=None
        Fraction of the training texts held out to compute validation P@1/P@5
        each epoch.
    patience : int or None, default=None
        With ``validation_fraction``: stop after this many epochs without a
        better validation P@5 and restore the best weights.
    tokenizer : None, str or TextTokenizer, default=None
        None trains a tokenizer on the training texts; a str is a Hugging Face
        tokenizer name or a local directory (``AutoTokenizer.from_pretrained``).
    tokenizer_type : {"word", "bpe"}, default="word"
        Kind of tokenizer trained when ``tokenizer=None``.
    max_vocab_size : int, default=50000
        Vocabulary cap of the trained tokenizer.
    min_frequency : int, default=1
        Minimum corpus frequency of a trained vocabulary entry.
    lowercase : bool, default=True
        Lower-case texts before the trained tokenizer.
    max_length : int
        Tokens kept per text (truncation).
    embeddings : None or str, default=None
        Initial token embeddings (None: random rows, standard normal).
        ``"minilm-distilled"`` or ``"minilm-input"``: static vectors made
        offline, once, from the MiniLM of the ``pretrained`` extra (Model2Vec's
        distillation, or its input-embedding rows; ``"distilled:<dir>"`` /
        ``"input:<dir>"`` for another local transformers model), cached under
        ``$SKLEARN_XMTC_CACHE`` and mapped onto this estimator's own
        vocabulary (a word gets the mean of its word pieces' vectors), reduced
        to their first ``embedding_dim`` principal components, each column
        standardised (the random rows' moments). A word-vector text file (GloVe / word2vec text
        format) initialises the rows of known tokens. A transformers model
        directory gives its input-embedding matrix (each column standardised)
        with that model's tokenizer. With a file or a model directory,
        ``embedding_dim`` is theirs.
    freeze_embeddings : bool, default=False
        Keep the embedding layer fixed during training.
    threshold : float, default=0.5
        Score threshold of :meth:`predict`.
{label_limits}
    callbacks : list or None, default=None
        Extra skorch callbacks (or ``(name, callback)`` pairs). In tree mode
        every network (each level of each tree) gets its own copy, and a
        checkpoint's ``fn_prefix`` gains ``tree<t>_level<d>_`` so the levels
        keep separate files.
    keep_optimizer : bool, default=False
        Keep the optimiser state (Adam moments, twice the weights' size) in
        the fitted estimator, e.g. to continue training; by default it is
        dropped after ``fit``, which keeps pickles about the weights' size.
{checkpoint_doc}
    propensity_a, propensity_b : float, default=0.55, 1.5
        Jain et al. (2016) propensity parameters for ``inv_propensity_`` and
        the PSP scorers."""

NEURAL_ATTRIBUTES = """\
    classes_ : ndarray of shape (n_labels,)
        Label names (or ints), the columns of every output.
    n_labels_ : int
    label_frequencies_ : ndarray of int64, shape (n_labels,)
    inv_propensity_ : ndarray of float64, shape (n_labels,)
    tokenizer_ : TextTokenizer
    vocab_size_ : int
    device_ : str
    net_ : skorch.NeuralNet
        The trained network (``net_.module_`` is the torch module).
    history_ : skorch.History
        Per-epoch training log."""


MIN_LABELS_DOC = """\
    min_labels : int, default=0
        :meth:`predict` returns at least this many labels per text: a smaller
        set gains the best scored labels it lacks (``min_labels=1`` never
        returns an empty set).
"""
MAX_LABELS_DOC = """\
    max_labels : int or None, default=None
        :meth:`predict` returns at most this many labels per text, the best
        scored ones (None: no cap).
"""

#: the ``min_labels`` / ``max_labels`` entries every estimator's docstring shares
LABEL_LIMITS = (MIN_LABELS_DOC + MAX_LABELS_DOC).rstrip("\n")
NEURAL_PARAMETERS = NEURAL_PARAMETERS.replace("{label_limits}", LABEL_LIMITS)


def fill_doc(cls):
    """Substitute ``{neural_parameters}`` / ``{neural_attributes}`` / ``{label_limits}`` /
    ``{checkpoint_doc}`` in
    a docstring (a class documenting its own ``max_labels`` keeps that entry alone)."""
    if cls.__doc__:
        params = NEURAL_PARAMETERS
        if "    max_labels :" in cls.__doc__:
            params = params.replace(MAX_LABELS_DOC, "")
        cls.__doc__ = (cls.__doc__.replace("{neural_parameters}", params)
                       .replace("{label_limits}", LABEL_LIMITS)
                       .replace("{neural_attributes}", NEURAL_ATTRIBUTES)
                       .replace("{checkpoint_doc}", CHECKPOINT_PARAMETERS))
    return cls
