"""Multi-label attention (AttentionXML, You et al. 2019; Zhu, Teng and Huang, "LightAttention", eq. 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MultiLabelAttention"]


class MultiLabelAttention(nn.Module):
    """One attention distribution over time per label.

    For label ``j`` with vector ``w_j``: ``alpha_ij = softmax_i(H_i . w_j)``
    over the unmasked time steps and ``m_j = sum_i alpha_ij H_i``.

    Parameters
    ----------
    n_labels : int
        Rows of the label-vector table.
    hidden_dim : int
        Width D of the token states H.

    Notes
    -----
    With ``candidates`` (B, C) only the C gathered rows of the table are used:
    cost O(B x C x T x D), never O(B x L x T x D). Without, every label is
    attended (flat mode): O(B x L x T x D).

    The rows are gathered with an embedding lookup, not ``weight[candidates]``:
    on CPU the backward of tensor indexing accumulates repeated rows (the same
    label in several samples) in a thread-dependent order, so training with more
    than one thread was not reproducible; the embedding backward is.
    """

    def __init__(self, n_labels, hidden_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_labels, hidden_dim))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, H, mask, candidates=None):
        """H (B, T, D), mask bool (B, T), candidates int64 (B, C) or None
        (-1 = padding, given a zero vector) -> (B, C or L, D)."""
        if candidates is None:
            scores = torch.einsum("btd,ld->btl", H, self.weight)  # (B, T, L)
        else:
            W = F.embedding(candidates.clamp(min=0), self.weight)  # (B, C, D)
            scores = torch.einsum("btd,bcd->btc", H, W)  # (B, T, C)
        scores = scores.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        alpha = torch.softmax(scores, dim=1)  # over time
        return torch.einsum("btc,btd->bcd", alpha, H)  # (B, C, D)
