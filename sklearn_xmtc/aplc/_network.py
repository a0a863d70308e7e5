"""The APLC-XLNet network: pretrained encoder, pooling, hidden layer, APLC output."""

from __future__ import annotations

from torch import nn

from ..nn import APLCOutput, pool_states
from ..nn._output import POOLINGS

__all__ = ["APLCTransformerModule"]


class APLCTransformerModule(nn.Module):
    """(B, T) token ids -> APLC loss (training) or label probabilities.

    Encoder (a ``transformers`` model) -> pooled text vector (the summary
    token: XLNet's final [CLS] is the last real position, BERT's [CLS] the
    first; or the masked mean) -> hidden Linear + dropout -> APLC output layer
    (Ye et al. 2020, figure 1 and section 3).

    ``forward`` returns ``{"loss", "embedding"}`` with ``labels`` (training,
    touching only the clusters that hold a positive, eq. 5), else
    ``{"scores": (B, L) probabilities (eq. 2), "embedding"}``, or with
    ``topk`` the merged per-cluster best ``topk`` labels as ``"candidates"``
    and their ``"scores"`` (no (B, L) array). The embedding is the hidden
    layer's output (B, d_h), the APLC layer's input.

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
        z = pool_states(states, mask, self.pooling)  # (B, E)
        return self.dropout(self.hidden(z))  # (B, d_h)

    def forward(self, input_ids, attention_mask, labels=None, topk=None):
        h = self.represent(input_ids, attention_mask)  # (B, d_h)
        if labels is not None:  # a scalar, touching only the needed clusters
            return {"loss": self.output.loss(h, labels), "embedding": h}
        if topk is not None:
            cand, scores = self.output.topk(h, int(topk))  # (B, k') each
            return {"candidates": cand, "scores": scores, "embedding": h}
        return {"scores": self.output(h), "embedding": h}  # (B, L) probabilities
