"""The XML-CNN network: convolutions, dynamic max pooling, bottleneck."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import TokenEmbedding

__all__ = ["XMLCNNModule"]


class XMLCNNModule(nn.Module):
    """(B, T) token ids -> ``{"logits": (B, L), "embedding": (B, hidden)}``.

    Embedding -> 1-D convolutions (one per filter size, ReLU) -> dynamic max
    pooling into ``n_pool_chunks`` chunks along each text's own length (the
    positions of its real tokens, at least ``min_length``: never the padded
    length of the batch, so a text's output does not depend on its batch
    mates) -> bottleneck Linear +
    ReLU + dropout -> output Linear (Liu et al. 2017, figure 1). The text
    embedding is the bottleneck output (after dropout, which is off in eval).
    """

    def __init__(self, vocab_size, n_labels, *, embedding_dim=300, filter_sizes=(2, 4, 8),
                 n_filters=128, n_pool_chunks=2, hidden_size=512, embedding_dropout=0.25,
                 dropout=0.5, pad_id=0, pretrained=None, freeze_embeddings=False):
        super().__init__()
        self.embed = TokenEmbedding(vocab_size, embedding_dim, pad_id, pretrained,
                                    freeze_embeddings, embedding_dropout)
        self.convs = nn.ModuleList(
            nn.Conv1d(self.embed.dim, n_filters, size) for size in filter_sizes)
        self.n_pool_chunks = n_pool_chunks
        self.filter_sizes = tuple(int(f) for f in filter_sizes)
        self.min_length = max(filter_sizes) + n_pool_chunks - 1
        self.bottleneck = nn.Linear(len(filter_sizes) * n_filters * n_pool_chunks, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, n_labels)

    def _chunk_max(self, c, valid):
        """Max of (B, F, T') feature maps over ``n_pool_chunks`` chunks of the first
        ``valid`` (B,) positions of each row (the chunks of adaptive max pooling:
        chunk j = [floor(j V / p), ceil((j + 1) V / p))) -> (B, F, p)."""
        p = self.n_pool_chunks
        j = torch.arange(p, device=c.device)
        start = (j[None, :] * valid[:, None]) // p  # (B, p)
        end = ((j[None, :] + 1) * valid[:, None] + p - 1) // p  # (B, p)
        pos = torch.arange(c.shape[2], device=c.device)
        inside = (pos >= start[..., None]) & (pos < end[..., None])  # (B, p, T')
        return c.unsqueeze(2).masked_fill(~inside.unsqueeze(1), float("-inf")).amax(-1)

    def forward(self, input_ids, attention_mask):
        if input_ids.shape[1] < self.min_length:  # short batch: pad time axis
            extra = self.min_length - input_ids.shape[1]
            input_ids = F.pad(input_ids, (0, extra))
            attention_mask = F.pad(attention_mask, (0, extra))
        h = self.embed(input_ids) * attention_mask.unsqueeze(-1)  # (B, T, E)
        h = h.transpose(1, 2)  # (B, E, T)
        length = attention_mask.sum(1).clamp(min=self.min_length)  # (B,) own length
        pooled = [self._chunk_max(F.relu(conv(h)), length - size + 1)  # (B, F, p)
                  for conv, size in zip(self.convs, self.filter_sizes)]
        z = torch.cat([p.flatten(1) for p in pooled], dim=1)  # (B, |sizes| * F * p)
        z = self.dropout(F.relu(self.bottleneck(z)))  # (B, hidden)
        return {"logits": self.out(z), "embedding": z}  # (B, L), (B, hidden)
