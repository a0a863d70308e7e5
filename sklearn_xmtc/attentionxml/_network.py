"""AttentionXML / LightAttention networks: BiLSTM + multi-label attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..nn import MultiLabelAttention, TokenEmbedding, masked_max_pool, merge_candidates

__all__ = ["AttentionXMLModule", "CandidateLoss", "LightAttentionModule"]


class AttentionXMLModule(nn.Module):
    """(B, T) token ids -> logits of all outputs (flat) or of candidates.

    Embedding (dropout) -> BiLSTM -> multi-label attention over the outputs
    (or the gathered candidates) -> dropout -> FC layers shared by every
    output (ReLU) -> one logit per output (You et al. 2019, figure 2).

    With ``children`` (a level of a label tree: (n_parents, K) child table),
    ``forward(..., parents=(B, C))`` scores the children of the given parent
    nodes plus, when given, the positives ``labels`` (B, P); ``candidates``
    (B, C) scores those nodes directly.

    Returns the network contract (:mod:`sklearn_xmtc.nn._output`):
    ``{"logits": (B, L) or (B, C'), "candidates": (B, C') when not flat,
    "embedding": (B, 2h)}``; the embedding is the masked max-pooling of the
    BiLSTM states (the attention reads the states label by label, so no
    single vector feeds the output layer).
    """

    def __init__(self, vocab_size, n_outputs, *, embedding_dim=300, hidden_size=256,
                 linear_sizes=(256,), embedding_dropout=0.2, dropout=0.5, pad_id=0,
                 pretrained=None, freeze_embeddings=False, children=None):
        super().__init__()
        self.embed = TokenEmbedding(vocab_size, embedding_dim, pad_id, pretrained,
                                    freeze_embeddings, embedding_dropout)
        self.lstm = nn.LSTM(self.embed.dim, hidden_size, batch_first=True,
                            bidirectional=True)
        self.attention = MultiLabelAttention(n_outputs, 2 * hidden_size)
        self.dropout = nn.Dropout(dropout)
        sizes = [2 * hidden_size, *linear_sizes]
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], 1)
        self.register_buffer("children_", None if children is None else
                             torch.as_tensor(children, dtype=torch.long))

    def encode(self, input_ids, attention_mask):
        """-> H (B, T, 2h) BiLSTM states (padding excluded from the recurrence)."""
        emb = self.embed(input_ids)  # (B, T, E)
        lengths = attention_mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        H, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True,
                                   total_length=input_ids.shape[1])
        return H  # (B, T, 2h)

    def score(self, H, mask, candidates=None):
        """H (B, T, 2h) -> logits (B, C) of the candidates, or (B, L) of all outputs."""
        m = self.dropout(self.attention(H, mask, candidates))  # (B, C, 2h)
        for layer in self.fc:
            m = F.relu(layer(m))  # (B, C, s)
        return self.out(m).squeeze(-1)  # (B, C)

    def forward(self, input_ids, attention_mask, labels=None, parents=None, candidates=None):
        mask = attention_mask.bool()
        H = self.encode(input_ids, mask)
        embedding = masked_max_pool(H, mask)  # (B, 2h)
        if candidates is None and parents is None:
            if self.children_ is not None:  # a level below the top, asked for its embedding
                return {"embedding": embedding}
            return {"logits": self.score(H, mask), "embedding": embedding}  # flat: (B, L)
        if candidates is None:
            cand = self.children_[parents.clamp(min=0)]  # (B, C, K)
            cand = cand.masked_fill((parents < 0).unsqueeze(-1), -1).flatten(1)
            candidates = merge_candidates(cand, labels)  # (B, C')
        logits = self.score(H, mask, candidates).masked_fill(candidates < 0, 0.0)
        return {"logits": logits, "candidates": candidates, "embedding": embedding}


class LightAttentionModule(AttentionXMLModule):
    """AttentionXML discriminator + a cluster generator (Zhu, Teng and Huang,
    "LightAttention", Algorithm 2).

    The generator is a linear layer on the max-pooled BiLSTM states giving one
    logit per label cluster. Each forward pass takes the ``n_sampled`` best
    clusters by the (detached) generator and scores their labels plus the
    positives ``labels``: the negatives move as the generator learns.
    Returns ``{"logits": label logits (B, C'), "candidates": (B, C'),
    "cluster_logits": (B, n_clusters), "cluster_targets": (B, n_clusters)
    (with ``labels``), "embedding": (B, 2h) the max-pooled states the
    generator reads}`` and, outside training, ``"scores"``: sigmoid(cluster
    logit) x sigmoid(label logit) of each candidate (paper eq. 1).
    """

    def __init__(self, vocab_size, n_outputs, *, cluster_members, label_cluster,
                 n_sampled=10, **kwargs):
        super().__init__(vocab_size, n_outputs, **kwargs)
        self.register_buffer("members_", torch.as_tensor(cluster_members, dtype=torch.long))
        self.register_buffer("label_cluster_", torch.as_tensor(label_cluster, dtype=torch.long))
        self.n_sampled = int(min(n_sampled, len(cluster_members)))
        self.generator = nn.Linear(2 * kwargs.get("hidden_size", 256), len(cluster_members))

    def forward(self, input_ids, attention_mask, labels=None, parents=None, candidates=None):
        mask = attention_mask.bool()
        H = self.encode(input_ids, mask)
        pooled = masked_max_pool(H, mask)  # (B, 2h)
        gen = self.generator(self.dropout(pooled))  # (B, n_clusters)
        top = torch.topk(gen.detach(), self.n_sampled, dim=1).indices  # (B, S)
        cand = merge_candidates(self.members_[top].flatten(1), labels)  # (B, C')
        logits = self.score(H, mask, cand).masked_fill(cand < 0, 0.0)
        targets = None
        if labels is not None:
            targets = torch.zeros_like(gen)
            r, c = torch.nonzero(labels >= 0, as_tuple=True)
            targets[r, self.label_cluster_[labels[r, c]]] = 1.0
        out = {"logits": logits, "candidates": cand, "cluster_logits": gen,
               "cluster_targets": targets, "embedding": pooled}
        if not self.training:
            cand_gen = gen.gather(1, self.label_cluster_[cand.clamp(min=0)])  # (B, C')
            out["scores"] = torch.sigmoid(logits.float()) * torch.sigmoid(cand_gen.float())
        return out


class CandidateLoss(nn.Module):
    """BCE with logits on the candidates (padding masked out), plus the BCE of
    the cluster generator when the module has one (LightAttention: the joint loss).

    ``forward(output, positives)``: ``output`` is a module's output dict
    (``logits``, ``candidates``, optionally ``cluster_logits`` and
    ``cluster_targets``), ``positives`` int64 (B, P) positive indices padded
    with -1.
    """

    def forward(self, output, positives):
        logits, cand = output["logits"], output["candidates"]
        gen, gen_targets = output.get("cluster_logits"), output.get("cluster_targets")
        positives = positives.to(cand.device)
        valid = cand >= 0  # (B, C)
        target = (cand.unsqueeze(-1) == positives.unsqueeze(1)).any(-1) & valid
        loss = F.binary_cross_entropy_with_logits(logits[valid], target[valid].float())
        if gen is not None and gen_targets is not None:
            loss = loss + F.binary_cross_entropy_with_logits(gen, gen_targets)
        return loss
