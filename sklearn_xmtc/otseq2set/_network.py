"""The OTSeq2Set network (Cao and Zhang 2022, section 2.2) and its criterion.

BiGRU encoder, optional lightweight convolutions over its states, one
additive attention (shared W, U, v) over both memories, a GRU decoder fed
the embedding of its previous prediction, and a (bottleneck) output layer
over the L labels plus the empty label ∅ (index L). Index L + 1 is the
start-of-sequence input embedding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import (LightConvEncoder, SetDecoderMixin, TokenEmbedding, bipartite_matching_loss,
                  semantic_ot_loss, sequence_nll_loss)

__all__ = ["OTSeq2SetLoss", "OTSeq2SetModule", "order_labels"]


def order_labels(labels, rank=None):
    """Sort each row's labels (B, P), -1 padded, by ``rank[label]`` (stable).

    ``rank=None`` keeps the given order. Padding stays at the end.
    """
    if rank is None:
        return labels
    big = torch.iinfo(torch.long).max
    key = torch.where(labels >= 0, rank[labels.clamp(min=0)], big)  # (B, P)
    order = torch.sort(key, dim=1, stable=True).indices
    return labels.gather(1, order)


class AdditiveAttention(nn.Module):
    """Bahdanau attention (eq. 4-6): ``e_ti = v . tanh(W s_{t-1} + U h_i)``."""

    def __init__(self, query_size, key_size, attention_size):
        super().__init__()
        self.W = nn.Linear(query_size, attention_size, bias=False)
        self.U = nn.Linear(key_size, attention_size, bias=False)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def keys(self, memory):
        return self.U(memory)  # (B, T, A), computed once per text

    def forward(self, state, memory, keys, mask):
        """state (B, Q), memory (B, T, K), keys (B, T, A), mask (B, T) -> (B, K)."""
        e = self.v(torch.tanh(self.W(state).unsqueeze(1) + keys)).squeeze(2)  # (B, T)
        alpha = torch.softmax(e.masked_fill(~mask, float("-inf")), dim=1)  # (B, T)
        return torch.bmm(alpha.unsqueeze(1), memory).squeeze(1)  # (B, K)


class OTSeq2SetModule(SetDecoderMixin, nn.Module):
    """(B, T) token ids -> N step distributions over L labels + ∅.

    ``forward`` returns ``{"log_probs": (B, S, L + 1), "sequence": (B, S),
    "label_embeddings": (L + 1, d), "embedding": (B, 2H)}`` (the embedding is
    the masked mean of the encoder states, which also starts the decoder).
    Without teacher forcing, the decoder runs ``max_labels`` = N greedy steps
    (student forcing, eq. 1; :meth:`SetDecoderMixin.greedy_decode`): each step
    is fed the embedding of the previous step's arg-max label, labels already
    generated are excluded from the arg-max (never from the distribution) and
    ``sequence`` is the generated labels. With ``teacher_forcing`` and
    ``labels`` (the MLE baselines), step t is fed the t-th true label in
    ``label_rank`` order and ``sequence`` holds the step targets (labels, then
    ∅, then -1).
    """

    def __init__(self, vocab_size, n_labels, *, embedding_dim=300, hidden_size=512,
                 encoder_layers=2, use_lightconv=True, lightconv_kernels=(3, 7, 15, 30),
                 lightconv_heads=16, lightconv_last_stride=3, bottleneck_size=None,
                 dropout=0.2, max_labels=10, teacher_forcing=False, label_rank=None,
                 pad_id=0, pretrained=None, freeze_embeddings=False):
        super().__init__()
        self.n_labels, self.max_labels, self.teacher_forcing = n_labels, max_labels, teacher_forcing
        self.register_buffer("label_rank", label_rank)
        self.embed = TokenEmbedding(vocab_size, embedding_dim, pad_id, pretrained,
                                    freeze_embeddings, dropout)
        dim = self.embed.dim
        self.encoder = nn.GRU(dim, hidden_size, num_layers=encoder_layers, batch_first=True,
                              bidirectional=True, dropout=dropout if encoder_layers > 1 else 0.0)
        mem = 2 * hidden_size
        self.lightconv = (LightConvEncoder(mem, lightconv_kernels, lightconv_heads,
                                           lightconv_last_stride, dropout)
                          if use_lightconv else None)
        n_ctx = 2 if use_lightconv else 1
        self.attention = AdditiveAttention(hidden_size, mem, hidden_size)
        self.label_embed = nn.Embedding(n_labels + 2, dim)  # labels, ∅, start
        self.init_state = nn.Linear(mem, hidden_size)
        self.decoder = nn.GRUCell(dim + n_ctx * mem, hidden_size)
        feats = hidden_size + n_ctx * mem + dim
        self.out = (nn.Linear(feats, n_labels + 1) if bottleneck_size is None else
                    nn.Sequential(nn.Linear(feats, bottleneck_size, bias=False), nn.Tanh(),
                                  nn.Linear(bottleneck_size, n_labels + 1)))
        self.dropout = nn.Dropout(dropout)

    # -- encoder ------------------------------------------------------------------
    def encode(self, input_ids, attention_mask):
        """Memories [(h, keys, mask), ...], the initial decoder state and the
        text embedding (the masked mean of the encoder states, (B, 2H))."""
        lengths = attention_mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(input_ids), lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.encoder(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True,
                                                total_length=input_ids.shape[1])  # (B, T, 2H)
        h = self.dropout(h)
        mask = attention_mask.clone()
        mask[:, 0] = True  # an all-pad text still has one position to attend to
        memories = [(h, self.attention.keys(h), mask)]
        if self.lightconv is not None:
            h_hat, mask_hat = self.lightconv(h, mask)  # (B, T', 2H)
            memories.append((h_hat, self.attention.keys(h_hat), mask_hat))
        mean = (h * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True)  # (B, 2H)
        return memories, torch.tanh(self.init_state(mean)), mean  # (B, H), (B, 2H)

    # -- decoder ------------------------------------------------------------------
    def _step(self, state, prev, memories):
        """One decoding step (eq. 8-10): (B, H), (B,) -> log-probs (B, L + 1), (B, H)."""
        e_prev = self.dropout(self.label_embed(prev))  # (B, d)
        ctx = [self.attention(state, h, k, m) for h, k, m in memories]  # each (B, 2H)
        state = self.decoder(torch.cat([e_prev, *ctx], 1), state)  # (B, H)
        feats = self.dropout(torch.cat([state, *ctx, e_prev], 1))
        return F.log_softmax(self.out(feats), dim=1), state

    def _greedy(self, state, memories):
        return self.greedy_decode(lambda st, prev: self._step(st, prev, memories), state,
                                  self.max_labels, self.n_labels, self.n_labels + 1)

    def _teacher(self, state, memories, labels):
        ordered = order_labels(labels, self.label_rank)[:, :self.max_labels]  # (B, P')
        B, P = ordered.shape
        targets = torch.cat([ordered, ordered.new_full((B, 1), -1)], 1)  # (B, P' + 1)
        n = (ordered >= 0).sum(1)  # (B,)
        targets[torch.arange(B, device=n.device), n] = self.n_labels  # ∅ ends the sequence
        start = ordered.new_full((B, 1), self.n_labels + 1)
        inputs = torch.cat([start, targets[:, :-1]], 1)  # (B, P' + 1)
        inputs = inputs.masked_fill(inputs < 0, self.n_labels)
        steps = []
        for t in range(P + 1):
            log_p, state = self._step(state, inputs[:, t], memories)
            steps.append(log_p)
        return torch.stack(steps, 1), targets

    def forward(self, input_ids, attention_mask, labels=None):
        memories, state, embedding = self.encode(input_ids, attention_mask)
        if self.teacher_forcing and labels is not None:
            log_probs, seq = self._teacher(state, memories, labels)
        else:
            log_probs, seq = self._greedy(state, memories)
        return {"log_probs": log_probs, "sequence": seq, "embedding": embedding,
                "label_embeddings": self.label_embed.weight[: self.n_labels + 1]}


class OTSeq2SetLoss(nn.Module):
    """Training objective (eq. 17): ``L_bm + ot_weight x L_ot``, or the MLE loss.

    Called by skorch as ``criterion(module_output, y)`` with ``y`` the padded
    positives (B, P).
    """

    def __init__(self, loss="matching", matching="all", empty_weight=0.2, ot_weight=8.0,
                 ot_beta=0.5, ot_iterations=50):
        super().__init__()
        self.loss, self.matching, self.empty_weight = loss, matching, empty_weight
        self.ot_weight, self.ot_beta, self.ot_iterations = ot_weight, ot_beta, ot_iterations

    def forward(self, output, y):
        log_probs, seq = output["log_probs"], output["sequence"]
        label_embeddings = output["label_embeddings"]
        if self.loss == "mle":
            return sequence_nll_loss(log_probs, seq)
        total = bipartite_matching_loss(log_probs, y, self.matching, self.empty_weight)
        if self.ot_weight:
            ot = semantic_ot_loss(log_probs.exp(), y, label_embeddings, beta=self.ot_beta,
                                  n_iter=self.ot_iterations)
            total = total + self.ot_weight * ot
        return total
