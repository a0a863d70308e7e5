"""Pretrained input embeddings: word-vector text files or a transformers model."""

from __future__ import annotations

import logging
import os

import numpy as np

from ._static import _standardise, parse_static_spec, vocabulary_vectors

__all__ = ["load_embedding_matrix", "is_model_directory"]

logger = logging.getLogger(__name__)


def is_model_directory(path):
    """True when ``path`` is a directory holding a transformers ``config.json``."""
    return os.path.isdir(str(path)) and os.path.isfile(os.path.join(str(path), "config.json"))


def load_embedding_matrix(spec, tokenizer, embedding_dim, *, random_state=0):
    """Initial embedding matrix (vocab_size, dim) for ``tokenizer``.

    Parameters
    ----------
    spec : str or path
        A word-vector text file (GloVe: ``word v1 ... vd`` per line; word2vec
        text: the same after a ``count dim`` header line), a transformers model
        directory, whose input-embedding matrix is returned whole, each column
        standardised (the tokenizer must then be that model's, see
        ``BaseXMTCClassifier``), or a static-vector
        name (``"minilm-distilled"``, ``"minilm-input"``, ``"distilled:<dir>"``,
        ``"input:<dir>"``; :mod:`sklearn_xmtc.text._static`) mapped onto
        ``tokenizer``'s own vocabulary.
    tokenizer : TextTokenizer
    embedding_dim : int
        Dimension of random rows (ignored for a model directory); static
        vectors keep their first ``embedding_dim`` principal components.

    Returns
    -------
    matrix : ndarray of float32, shape (tokenizer.vocab_size, dim)
    n_found : int
        Number of rows taken from ``spec``.
    """
    spec = os.fspath(spec)
    if parse_static_spec(spec) is not None:
        return vocabulary_vectors(spec, tokenizer, embedding_dim, random_state=random_state)
    if is_model_directory(spec):
        return _from_model(spec, tokenizer)
    if not os.path.isfile(spec):
        raise ValueError(
            f"embeddings={spec!r} is neither a word-vector text file nor a transformers "
            "model directory (a folder with config.json)."
        )
    return _from_text_file(spec, tokenizer, embedding_dim, random_state)


def _from_model(path, tokenizer):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(path)
    weight = model.get_input_embeddings().weight.detach().cpu().numpy().astype(np.float32)
    if weight.shape[0] < tokenizer.vocab_size:
        raise ValueError(
            f"The model in {path!r} has {weight.shape[0]} embedding rows but the tokenizer "
            f"emits {tokenizer.vocab_size} ids; use that model's own tokenizer "
            "(tokenizer=None with embeddings=<model dir>)."
        )
    # at the random rows' moments (each column standard normal): raw transformer input rows
    # have a norm near 1, about sqrt(dim) times smaller, and then do not train (cooking,
    # docs/benchmarks.md)
    return _standardise(weight[: tokenizer.vocab_size]), tokenizer.vocab_size


def _from_text_file(path, tokenizer, dim, seed):
    vocab = tokenizer.get_vocab()
    rng = np.random.default_rng(seed)
    matrix = None
    found = np.zeros(tokenizer.vocab_size, dtype=bool)
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.rstrip().split(" ")
            if lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec header
            if len(parts) < 2:
                continue
            if matrix is None:
                dim = len(parts) - 1
                matrix = rng.normal(0, 0.1, (tokenizer.vocab_size, dim)).astype(np.float32)
            elif len(parts) - 1 != dim:
                raise ValueError(
                    f"{path}:{lineno}: expected {dim} values after the word, got {len(parts) - 1}."
                )
            idx = vocab.get(parts[0])
            if idx is None or found[idx]:
                continue
            matrix[idx] = np.asarray(parts[1:], dtype=np.float32)
            found[idx] = True
    if matrix is None:
        raise ValueError(f"{path} holds no word vectors.")
    matrix[tokenizer.pad_id] = 0.0
    logger.info("embeddings: %d of %d tokens found in %s", found.sum(), len(found), path)
    return matrix, int(found.sum())
