"""The network contract: what every method network's ``forward`` returns.

A network returns a ``dict`` of tensors (a Mapping passes through skorch's
``to_device``, which rebuilds tuples as ``type(X)(generator)`` and so cannot
take a NamedTuple), with these fields:

``embedding`` (B, d), always
    The text embedding: the vector the output layer reads (XML-CNN's
    bottleneck, APLC's hidden layer). For label-wise attention networks it
    is the masked max-pooling of the encoder states (:func:`masked_max_pool`),
    for sequence-to-set networks the masked mean of the encoder states.
``logits`` (B, C)
    Scores before the sigmoid of the C outputs (all L labels or nodes, or
    the ``candidates``), for networks scored by a sigmoid.
``candidates`` (B, C) int64
    The label (or node) index of each column, -1 for padding. Absent when the
    C columns are all outputs in order.
``scores`` (B, C)
    Probabilities, for networks whose score is not ``sigmoid(logits)``
    (LightAttention's cluster x label product, APLC's cluster products);
    present outside training at least. :func:`output_scores` prefers it.
``log_probs`` (B, N, V) and ``sequence`` (B, N)
    Generative networks: per-step log-distributions and the generated (or,
    when teacher forced, target) indices.

Any other field is for the loss only (``loss`` for a network that computes
its own, ``cluster_logits`` and ``cluster_targets`` of a candidate
generator, ``label_embeddings`` of the OT loss). Inputs that only training
uses are named in :data:`TRAINING_ONLY_INPUTS`; evaluation batches drop them
(``sklearn_xmtc._training.iter_eval_batches``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LogitsBCELoss", "OwnLoss", "TRAINING_ONLY_INPUTS", "masked_max_pool",
           "masked_mean_pool", "output_scores", "pool_states"]

POOLINGS = ("first", "last", "mean")

#: batch inputs fed to a network only during training (the positives)
TRAINING_ONLY_INPUTS = ("labels",)


def output_scores(output):
    """``(candidates or None, scores (B, C))`` of a network output.

    Scores are ``output["scores"]`` when present, else ``sigmoid(logits)``
    (in float32); entries whose candidate is -1 get ``-inf``.
    """
    cand = output.get("candidates")
    scores = output["scores"] if "scores" in output else torch.sigmoid(output["logits"].float())
    if cand is not None:
        scores = scores.masked_fill(cand < 0, float("-inf"))
    return cand, scores


def masked_max_pool(H, mask):
    """(B, T, D) states, (B, T) bool mask -> (B, D) max over the real positions."""
    return H.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


def masked_mean_pool(H, mask):
    """(B, T, D) states, (B, T) mask -> (B, D) mean over the real positions."""
    w = mask.unsqueeze(-1).to(H.dtype)  # (B, T, 1)
    return (H * w).sum(1) / w.sum(1).clamp(min=1.0)


def pool_states(states, mask, pooling):
    """(B, T, E) encoder states -> (B, E) text vector of a pretrained encoder.

    ``"first"``: the first token (BERT's [CLS]); ``"last"``: the last real
    token under right padding (XLNet's final [CLS]); ``"mean"``: the masked mean.
    """
    if pooling == "first":
        return states[:, 0]
    if pooling == "last":
        last = (mask.long().sum(dim=1) - 1).clamp(min=0)  # (B,)
        return states[torch.arange(len(states), device=states.device), last]
    if pooling == "mean":
        return masked_mean_pool(states, mask)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")


class LogitsBCELoss(nn.Module):
    """BCE with logits of ``output["logits"]`` (B, L) against dense (B, L) targets."""

    def forward(self, output, target):
        return F.binary_cross_entropy_with_logits(output["logits"], target)


class OwnLoss(nn.Module):
    """skorch criterion of a network that returns its own ``output["loss"]``."""

    def forward(self, output, target=None):
        return output["loss"]
