"""Static word vectors made offline from a transformers model, cached once.

Two recipes, named by the ``embeddings`` values ``"minilm-input"`` and
``"minilm-distilled"`` (the MiniLM of the ``pretrained`` extra), or
``"input:<model dir>"`` and ``"distilled:<model dir>"`` for any local model:

- ``input``: the model's input-embedding matrix, one row per vocabulary entry.
- ``distilled``: Model2Vec's distillation (Tulkens and van Dongen, 2024): each
  vocabulary entry alone, ``[CLS] entry [SEP]``, through the whole model, its
  output states mean-pooled as the sentence encoder pools a text.

Either table is then centred and rotated onto its principal axes (a PCA that
keeps every dimension, by decreasing variance), so an estimator whose
``embedding_dim`` is smaller than the model's width takes the first
``embedding_dim`` principal components, as Model2Vec reduces its vectors, and
trains a network of the same size as from random rows. Model2Vec's Zipf
re-weighting is left out: it down-weights frequent tokens for mean-pooled
sentence vectors, which a trained network learns to do itself.

The table (one row per entry of the model's vocabulary) is computed once and
cached under ``$SKLEARN_XMTC_CACHE`` (default ``~/.cache/sklearn_xmtc``),
written through a temporary file and a rename. A fit only reads it and maps
its own vocabulary onto it: each of the estimator's tokens is split into the
model's word pieces and gets the mean of their rows; tokens the model only
knows as ``[UNK]`` keep a random row. Each column is then centred and scaled
to unit variance, the moments of the random rows (standard normal, PyTorch's
``nn.Embedding`` default) that the networks' learning rates were set for: the
raw rows of a transformer's input embeddings have a norm near 1 against about
``sqrt(dim)`` for a random row, which is what made the raw MiniLM rows fail to
train AttentionXML on cooking (random rows at that scale fail the same way; see
``docs/benchmarks.md``).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os

import numpy as np

from ..utils._io import atomic_path

__all__ = ["STATIC_METHODS", "parse_static_spec", "static_vectors", "vocabulary_vectors"]

logger = logging.getLogger(__name__)

STATIC_METHODS = ("input", "distilled")
#: name of the packaged MiniLM in ``embeddings`` values such as ``"minilm-distilled"``
_PACKAGED = "minilm"
#: bump when a recipe changes, so stale cache files are not read
_RECIPE_VERSION = 3


def parse_static_spec(spec):
    """``(method, model_dir)`` for a static-vector ``embeddings`` value, else None.

    ``"minilm-input"`` / ``"minilm-distilled"`` name the MiniLM of the
    ``pretrained`` extra; ``"input:<dir>"`` / ``"distilled:<dir>"`` any local
    transformers model directory.
    """
    if not isinstance(spec, str):
        return None
    for method in STATIC_METHODS:
        if spec == f"{_PACKAGED}-{method}":
            from .._registry import offline_encoder

            model = offline_encoder()
            if model is None:
                raise ValueError(
                    f"embeddings={spec!r} needs the MiniLM of the `pretrained` extra "
                    "(pip install 'sklearn_xmtc[pretrained]'), or give "
                    f"embeddings='{method}:<model dir>'.")
            return method, model
        if spec.startswith(f"{method}:"):
            model = spec[len(method) + 1:]
            if not os.path.isfile(os.path.join(model, "config.json")):
                raise ValueError(
                    f"embeddings={spec!r}: {model!r} is not a transformers model directory "
                    "(a folder with config.json).")
            return method, model
    return None


def _cache_dir():
    return os.environ.get("SKLEARN_XMTC_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "sklearn_xmtc")


def _cache_path(model, method, cache_dir):
    """A file name that changes with the model's files, the recipe and its version."""
    h = hashlib.sha256(f"{_RECIPE_VERSION}:{method}".encode())
    for name in sorted(os.listdir(model)):
        path = os.path.join(model, name)
        if os.path.isfile(path):
            h.update(f"{name}:{os.path.getsize(path)}".encode())
            if name == "config.json":
                with open(path, "rb") as fh:
                    h.update(fh.read())
    base = os.path.basename(os.path.normpath(model)) or "model"
    return os.path.join(cache_dir, "static", f"{base}-{method}-{h.hexdigest()[:16]}.npy")


def static_vectors(model, method="distilled", *, cache_dir=None, batch_size=512):
    """One static vector per entry of a transformers model's vocabulary (cached).

    Parameters
    ----------
    model : str or path
        A local transformers model directory.
    method : {"input", "distilled"}, default="distilled"
        The model's input-embedding rows, or Model2Vec's distillation (each
        entry alone through the model, mean-pooled); either centred and
        rotated onto its principal axes (see the module's notes).
    cache_dir : str or None, default=None
        Cache folder (None: ``$SKLEARN_XMTC_CACHE`` or ``~/.cache/sklearn_xmtc``).
    batch_size : int, default=512
        Vocabulary entries per forward pass of the distillation.

    Returns
    -------
    vectors : ndarray of float32, shape (model vocabulary size, hidden size)
        Row ``i`` belongs to the model tokenizer's id ``i``; column ``j`` is
        the ``j``-th principal component.
    """
    if method not in STATIC_METHODS:
        raise ValueError(f"method must be one of {STATIC_METHODS}, got {method!r}.")
    model = os.fspath(model)
    path = _cache_path(model, method, cache_dir or _cache_dir())
    if os.path.isfile(path):
        return np.load(path)
    logger.info("static vectors: building the %s table of %s (once; cached in %s)",
                method, model, path)
    vectors = _principal_axes(_input_rows(model) if method == "input"
                              else _distill(model, batch_size))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, vectors)
    return vectors


def _load_model(model):
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise ValueError(f"Could not load the model {model!r}: {exc}") from exc


def _input_rows(model):
    weight = _load_model(model).get_input_embeddings().weight
    return weight.detach().cpu().numpy().astype(np.float32)


def _distill(model, batch_size):
    import torch

    from ..nn import pool_states
    from ._tokenizer import TextTokenizer

    tok = TextTokenizer.from_pretrained(model)._backend
    net = _load_model(model).eval()
    n = len(tok)
    specials = [i for i in (tok.cls_token_id, tok.sep_token_id) if i is not None]
    out = np.empty((n, net.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            ids = torch.arange(start, min(start + batch_size, n))[:, None]
            parts = ([torch.full_like(ids, specials[0])] if specials else []) + [ids] \
                + ([torch.full_like(ids, specials[-1])] if len(specials) > 1 else [])
            seq = torch.cat(parts, dim=1)
            mask = torch.ones_like(seq)
            states = net(input_ids=seq, attention_mask=mask).last_hidden_state
            out[start:start + len(ids)] = pool_states(states, mask, "mean").float().numpy()
    return out


def _principal_axes(rows):
    """``rows`` centred and rotated onto their principal axes (all kept, by decreasing
    variance)."""
    rows = rows.astype(np.float64) - rows.mean(0)
    _, axes = np.linalg.eigh(rows.T @ rows)
    return (rows @ axes[:, ::-1]).astype(np.float32)


def _standardise(rows):
    """Each column centred and scaled to unit variance: the first two moments of the
    random rows (standard normal, uncorrelated after the PCA rotation). A column with
    no variance (below 1e-6 of the largest: fewer rows than dimensions) becomes 0 rather
    than rounding noise blown up."""
    rows = rows - rows.mean(0)
    std = rows.std(0)
    keep = std > 1e-6 * std.max() if std.size else std > 0
    return np.where(keep, rows / np.where(keep, std, 1.0), 0.0).astype(np.float32)


def vocabulary_vectors(spec, tokenizer, dim=None, *, random_state=0):
    """Initial embedding matrix of ``tokenizer``'s vocabulary from static vectors.

    Parameters
    ----------
    spec : str
        A static-vector ``embeddings`` value (:func:`parse_static_spec`).
    tokenizer : TextTokenizer
        The estimator's tokenizer (trained on the corpus, or pretrained).
    dim : int or None, default=None
        Keep the first ``dim`` principal components (None, or ``dim`` at
        least the model's width: all of them).

    Returns
    -------
    matrix : ndarray of float32, shape (tokenizer.vocab_size, dim)
        Each column centred and scaled to unit variance over the tokens the
        model knows (the moments of the random rows, which fill the tokens it
        does not know); the pad row is 0.
    n_found : int
        Tokens whose row comes from the static vectors.
    """
    import scipy.sparse as sp

    from ._tokenizer import TextTokenizer

    method, model = parse_static_spec(spec)
    table = static_vectors(model, method)
    if dim is not None and dim < table.shape[1]:
        table = table[:, :dim]
    source = TextTokenizer.from_pretrained(model)._backend
    vocab = tokenizer.get_vocab()
    words = [""] * tokenizer.vocab_size
    for word, i in vocab.items():
        if i < len(words):
            words[i] = word
    if tokenizer.kind == "pretrained" and tokenizer.vocab_size == len(source) \
            and tokenizer.get_vocab() == dict(source.get_vocab()):
        pieces = [[i] for i in range(len(words))]  # the model's own tokenizer: row i is id i
    else:
        pieces = source([w.lstrip("#") for w in words], add_special_tokens=False)["input_ids"]
    skip = [i for i in (source.unk_token_id, source.pad_token_id) if i is not None]
    special = [tokenizer.pad_id] + [i for w, i in vocab.items() if w in ("[UNK]", "[PAD]")]
    rows = np.repeat(np.arange(len(words)), [len(ids) for ids in pieces])
    cols = np.fromiter(itertools.chain.from_iterable(pieces), dtype=np.int64, count=len(rows))
    keep = ~np.isin(cols, skip) & ~np.isin(rows, special)
    rows, cols = rows[keep], cols[keep]
    counts = np.bincount(rows, minlength=len(words)).astype(np.float64)
    found = counts > 0
    mean = sp.csr_matrix((1.0 / counts[rows], (rows, cols)), shape=(len(words), table.shape[0]))
    composed = np.asarray(mean @ table.astype(np.float64))
    rng = np.random.default_rng(random_state)
    matrix = rng.standard_normal((len(words), table.shape[1])).astype(np.float32)
    if found.any():
        matrix[found] = _standardise(composed[found])
    matrix[tokenizer.pad_id] = 0.0
    logger.info("embeddings %s: %d of %d tokens from %s", spec, found.sum(), len(found), model)
    return matrix, int(found.sum())
