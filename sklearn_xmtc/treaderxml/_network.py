"""TReaderXML's dual cooperative network: Reading (two branches), Interaction, Prediction."""

from __future__ import annotations

import torch
from torch import nn

from ..nn import TokenEmbedding, masked_max_pool

__all__ = ["READINGS", "MaskedSelfAttention", "Reading", "TReaderXMLModule"]

#: the Reading structures of table 3 of Wang et al. (the operations in order; "r" is
#: the residual connection around the operation before it)
READINGS = {"none": (), "mmhsa+r": ("mmhsa", "r"), "mhsa+r": ("mhsa", "r"),
            "mhsa+r+mmhsa": ("mhsa", "r", "mmhsa"), "mmhsa+mhsa": ("mmhsa", "mhsa"),
            "mmhsa+r+mhsa": ("mmhsa", "r", "mhsa")}


def causal_mask(T, device):
    """(T, T) bool, True above the diagonal: position t attends to positions <= t."""
    return torch.triu(torch.ones(T, T, dtype=torch.bool, device=device), diagonal=1)


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention, causal (MMHSA: output projection then tanh, eq. 3-13)
    or not (MHSA). Padding positions are never attended to.

    A position whose every allowed key is padding (a padding query under the causal
    mask) would get NaN from the softmax; it attends to itself instead, and its
    output is never pooled.
    """

    def __init__(self, dim, n_heads, *, causal, dropout=0.0):
        super().__init__()
        self.causal = causal
        self.norm = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, n_heads, dropout=dropout, batch_first=True)
        self.proj = nn.Linear(dim, dim) if causal else None

    def forward(self, H, mask):
        """H (B, T, D), mask (B, T) bool (True = real) -> (B, T, D)."""
        B, T, _ = H.shape
        blocked = ~mask[:, None, :].expand(B, T, T)  # (B, T, T): keys that are padding
        if self.causal:
            blocked = blocked | causal_mask(T, H.device)
        eye = torch.eye(T, dtype=torch.bool, device=H.device)
        blocked = blocked & ~(blocked.all(-1, keepdim=True) & eye)  # never a query without key
        heads = self.attention.num_heads
        attn_mask = blocked.repeat_interleave(heads, dim=0)  # (B * heads, T, T)
        H = self.norm(H)
        out, _ = self.attention(H, H, H, attn_mask=attn_mask, need_weights=False)
        return torch.tanh(self.proj(out)) if self.causal else out


class Reading(nn.Module):
    """One Reading branch: the operations of ``READINGS[reading]`` in order."""

    def __init__(self, dim, n_heads, reading, dropout=0.0):
        super().__init__()
        self.ops = READINGS[reading]
        self.layers = nn.ModuleList(
            MaskedSelfAttention(dim, n_heads, causal=op == "mmhsa", dropout=dropout)
            for op in self.ops if op != "r")

    def forward(self, H, mask):
        layers = iter(self.layers)
        before = H
        for op in self.ops:
            if op == "r":
                H = before + H  # the residual around the previous operation (eq. 14-15)
            else:
                before, H = H, next(layers)(H, mask)
        return H


class TReaderXMLModule(nn.Module):
    """Token ids and teacher label tokens -> one logit per label.

    Text branch: token embedding -> Reading. Teacher branch (``use_teacher``):
    the teacher tokens' embeddings (one trained row per label or internal node,
    index 0 = padding) -> Reading with its own weights. Interaction: the two read
    sequences concatenated along time (teacher first, eq. 16), a bottleneck Linear
    (eq. 17) and one MMHSA layer; Prediction: max-pooling over the real positions
    and a Linear to L logits (eq. 18, with a sigmoid and BCE instead of the softmax,
    the multi-label reading of eq. 19). ``embedding`` is the pooled vector.
    """

    def __init__(self, vocab_size, n_labels, n_nodes, *, embedding_dim=300, n_heads=4,
                 reading="mmhsa+r+mhsa", bottleneck_size=256, use_teacher=True,
                 dropout=0.1, pad_id=0, pretrained=None, freeze_embeddings=False,
                 prior=None):
        super().__init__()
        self.embed = TokenEmbedding(vocab_size, embedding_dim, pad_id, pretrained,
                                    freeze_embeddings, dropout)
        dim = self.embed.dim
        self.use_teacher = use_teacher
        self.read_text = Reading(dim, n_heads, reading, dropout)
        if use_teacher:
            self.label_embed = nn.Embedding(n_nodes + 1, dim, padding_idx=0)
            self.read_teacher = Reading(dim, n_heads, reading, dropout)
        self.bottleneck = nn.Linear(dim, bottleneck_size)
        self.interact = MaskedSelfAttention(bottleneck_size, n_heads, causal=True,
                                            dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(bottleneck_size, n_labels)
        if prior is not None:  # start at the label prior (see TReaderXMLClassifier)
            p = torch.as_tensor(prior, dtype=torch.float32).clamp(1e-6, 1 - 1e-6)
            with torch.no_grad():
                self.out.bias.copy_(torch.log(p) - torch.log1p(-p))

    def forward(self, input_ids, attention_mask, teacher=None):
        mask = attention_mask.bool()
        H = self.read_text(self.embed(input_ids), mask)  # (B, T, d)
        if self.use_teacher:
            if teacher is None:
                raise ValueError("use_teacher=True needs the teacher tokens of each text.")
            width = max(int((teacher > 0).sum(1).max()), 1)  # sets are left-aligned
            teacher = teacher[:, :width]
            t_mask = teacher > 0
            t_mask[:, 0] = True  # a text without teacher labels keeps one padding slot
            E = self.read_teacher(self.label_embed(teacher), t_mask)
            H, mask = torch.cat([E, H], dim=1), torch.cat([t_mask, mask], dim=1)
        Z = self.interact(self.bottleneck(H), mask)  # (B, T', b)
        z = masked_max_pool(Z, mask)
        return {"logits": self.out(self.dropout(z)), "embedding": z}
