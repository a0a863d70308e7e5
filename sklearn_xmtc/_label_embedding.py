"""LabelTextEmbeddingMixin: label embeddings that start from the label texts.

A network with a table of label vectors (a decoder vocabulary, label tokens)
can start each label's row as the mean of the input token embeddings of its
description (``label_texts``: a ``label<TAB>text`` file or a dict), encoded by
the fitted tokenizer. A decision: the OTSeq2Set paper averages GloVe vectors;
we average the network's own token embeddings (pretrained when
``embeddings`` is given), so no external vectors are needed.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from .labels import load_label_texts

__all__ = ["LabelTextEmbeddingMixin", "label_text_means"]


def _special_ids(tokenizer):
    """Ids that carry no word meaning: padding, unknown and special tokens."""
    if tokenizer.kind == "pretrained":
        return set(tokenizer._backend.all_special_ids) | {tokenizer.pad_id}
    vocab = tokenizer.get_vocab()
    return {vocab[t] for t in ("[PAD]", "[UNK]") if t in vocab} | {tokenizer.pad_id}


def label_text_means(tokenizer, classes, label_texts, token_weight, max_tokens=64):
    """Mean token embedding of each label's text.

    Parameters
    ----------
    tokenizer : TextTokenizer
    classes : array of labels
    label_texts : dict
        label -> text (looked up as ``str(label)``, then ``label``); a label
        missing from it uses its own name.
    token_weight : tensor (vocab, d)
    max_tokens : int
        Tokens of a text used at most.

    Returns
    -------
    means : float tensor (L, d)
        Zero for a label none of whose tokens is a word of the vocabulary.
    known : bool tensor (L,)
        Whether the label had at least one such token.
    """
    texts = [label_texts.get(str(c), label_texts.get(c, str(c))) for c in classes]
    flat, offsets = tokenizer.encode(texts, max_tokens)
    flat = torch.from_numpy(flat.astype(np.int64))
    owner = torch.from_numpy(np.repeat(np.arange(len(texts)), np.diff(offsets)))
    keep = ~torch.isin(flat, torch.tensor(sorted(_special_ids(tokenizer))))
    flat, owner = flat[keep], owner[keep]
    sums = torch.zeros(len(texts), token_weight.shape[1]).index_add_(0, owner, token_weight[flat])
    n = torch.bincount(owner, minlength=len(texts))  # (L,)
    known = n > 0
    means = torch.zeros_like(sums)
    means[known] = sums[known] / n[known, None]
    return means, known


class LabelTextEmbeddingMixin:
    """Declares ``label_texts`` and fills label rows from it (see the module docstring)."""

    _parameter_constraints = {"label_texts": [None, dict, str, os.PathLike]}

    def _init_label_embeddings(self, label_weight, token_weight):
        """Rows ``0..L-1`` of ``label_weight`` (L', d) start as the mean token
        embedding of each label's text; labels without a known token keep their
        random initialisation. Does nothing when ``label_texts`` is None."""
        label_texts = load_label_texts(self.label_texts)
        if label_texts is None:
            return
        with torch.no_grad():
            means, known = label_text_means(self.tokenizer_, self.classes_, label_texts,
                                            token_weight)
            label_weight[: len(known)][known] = means[known]
