"""Token embedding layer with optional pretrained initialisation."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TokenEmbedding"]


class TokenEmbedding(nn.Module):
    """Embedding + dropout; (B, T) ids -> (B, T, dim).

    Parameters
    ----------
    vocab_size, embedding_dim : int
        Ignored ``embedding_dim`` when ``pretrained`` is given (its width wins).
    pad_id : int
        Row kept at zero.
    pretrained : torch.Tensor or None
        (vocab_size, dim) initial weights.
    freeze : bool
        Keep the weights fixed.
    dropout : float
    """

    def __init__(self, vocab_size, embedding_dim, pad_id=0, pretrained=None, freeze=False,
                 dropout=0.0):
        super().__init__()
        if pretrained is not None:
            vocab_size, embedding_dim = pretrained.shape
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        if pretrained is not None:
            with torch.no_grad():
                self.embedding.weight.copy_(pretrained)
        self.embedding.weight.requires_grad_(not freeze)
        self.dropout = nn.Dropout(dropout)
        self.dim = embedding_dim

    def forward(self, input_ids):
        return self.dropout(self.embedding(input_ids))  # (B, T, dim)
