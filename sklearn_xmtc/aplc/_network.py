"""The APLC-XLNet network: pretrained encoder, pooling, hidden layer, APLC output."""

from __future__ import annotations

import torch
from torch import nn

from ..nn import APLCOutput

__all__ = ["APLCTransformerModule", "ModuleLoss", "POOLINGS"]

POOLINGS = ("first", "last", "mean")


class APLCTransformerModule(nn.Module):
    """(B, T) token ids -> APLC loss (training) or (B, L) probabilities.

    Encoder (a ``transformers`` model) -> pooled text vector (the summary
    token: XLNet's final [CLS] is the last real position, BERT's [CLS] the
    first; or the masked mean) -> hidden Linear + dropout -> APLC output layer
    (Ye et al. 2020, figure 1 and section 3).

    Parameters
    ----------
    encoder : transformers.PreTrainedModel
        Returns ``last_hidden_state`` (B, T, E).
    hidden_size : int
        d_h of the hidden layer (the APLC input width d).
    cluster_sizes, label_order, decay_factor, tail_loss
        See :class:`sklearn_xmtc.nn.APLCOutput`.
    pooling : {"first", "last", "mean"}
    dropout : float
    """

    def __init__(self, encoder, *, hidden_size, cluster_sizes, label_order=None,
                 decay_factor=2.0, tail_loss="conditional", pooling="last", dropout=0.1):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.encoder = encoder
        self.pooling = pooling
        self.hidden = nn.Linear(encoder.config.hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.output = APLCOutput(hidden_size, cluster_sizes, label_order, decay_factor,
                                 tail_loss)

    def represent(self, input_ids, attention_mask):
        """(B, T) ids and mask -> (B, d_h) hidden states fed to the APLC layer."""
        mask = attention_mask.long()
        states = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        if self.pooling == "first":
            z = states[:, 0]  # (B, E)
        elif self.pooling == "last":  # right padding: last real token
            last = (mask.sum(dim=1) - 1).clamp(min=0)  # (B,)
            z = states[torch.arange(len(states), device=states.device), last]  # (B, E)
        else:
            w = mask.unsqueeze(-1).to(states.dtype)  # (B, T, 1)
            z = (states * w).sum(dim=1) / w.sum(dim=1).clamp(min=1.0)  # (B, E)
        return self.dropout(self.hidden(z))  # (B, d_h)

    def forward(self, input_ids, attention_mask, labels=None):
        h = self.represent(input_ids, attention_mask)  # (B, d_h)
        if labels is None:
            return self.output(h)  # (B, L) probabilities, prediction only
        return self.output.loss(h, labels)  # scalar, touches only the needed clusters


class ModuleLoss(nn.Module):
    """skorch criterion for a module that returns its own loss."""

    def forward(self, loss, target=None):
        return loss
