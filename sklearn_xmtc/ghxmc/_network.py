"""The G-HXMC network: a Transformer encoder-decoder that generates label sequences.

The decoder vocabulary is the V hierarchy nodes (the L columns of ``classes_``
first, then the internal nodes), the end token EOS (index V) and, as decoder
input only, the start token BOS (index V + 1); in the subword mode
(:mod:`._bpe`, ``spellings`` given) it is the W subwords, SEP, EOS and BOS
instead. Decoder input and output embeddings are tied (Press and Wolf 2016).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import TokenEmbedding, beam_decode, hierarchy_penalty, masked_mean_pool
from ._bpe import LabelTrie, SubwordLabelRule, subword_targets

__all__ = ["GHXMCLoss", "GHXMCModule", "label_sequences", "sinusoidal_positions"]


def sinusoidal_positions(length, dim, device=None):
    """(length, dim) sinusoidal position encodings (Vaswani et al. 2017, section 3.5)."""
    pos = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device)
                     * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return pe


def label_sequences(labels, ancestor_child, ancestor_node, node_rank, max_steps):
    """Target node sequences of padded column positives.

    Parameters
    ----------
    labels : int64 tensor (B, P)
        Column indices of each text's labels, -1 padded.
    ancestor_child, ancestor_node : int64 tensors (E,)
        Pairs (column, node): ``ancestor_node[e]`` is an ancestor of column
        ``ancestor_child[e]`` (empty: no expansion).
    node_rank : int64 tensor (V,)
        Position of each node in the target order (level, then training
        frequency within the level, then index).
    max_steps : int
        S, the most nodes a sequence holds; the rest are dropped.

    Returns
    -------
    targets : int64 tensor (B, S + 1)
        Each text's labels and their ancestors in ``node_rank`` order, then EOS
        (index V), then -1.
    """
    V = len(node_rank)
    B = labels.shape[0]
    hot = torch.zeros(B, V + 1, dtype=torch.float32, device=labels.device)
    hot.scatter_(1, labels.masked_fill(labels < 0, V), 1.0)  # column V: the padding
    hot = hot[:, :V]
    if len(ancestor_child):
        hot = hot.index_add(1, ancestor_node, hot[:, ancestor_child])
    hot = hot > 0
    big = torch.iinfo(torch.long).max
    key = torch.where(hot, node_rank.unsqueeze(0), big)
    order = torch.sort(key, dim=1, stable=True).indices[:, :max_steps]  # (B, S')
    nodes = order.masked_fill(key.gather(1, order) == big, -1)
    targets = torch.cat([nodes, nodes.new_full((B, max_steps + 1 - nodes.shape[1]), -1)], 1)
    n = (nodes >= 0).sum(1)
    targets[torch.arange(B, device=labels.device), n] = V
    return targets


class GHXMCModule(nn.Module):
    """(B, T) token ids -> label-node sequences (teacher forced or decoded).

    ``forward`` returns:

    - with ``labels`` (training): ``step_logits`` (B, S + 1, V + 1) and their
      ``targets`` (:func:`label_sequences`), and ``embedding``;
    - otherwise (decoding, with the inputs ``beam_size`` and
      ``constraint_penalty`` or the module's own defaults): ``beams`` (B, K, N) node tokens (EOS = V),
      ``beam_scores`` (B, K), ``scores`` (B, L) the column scores
      (:meth:`label_scores`), ``sequence`` (B, N) the best beam's columns
      (L = ∅ for EOS and internal nodes), ``n_invalid`` (B,) the best beam's
      strings that are no label (subword mode; 0 otherwise) and ``embedding``;
      in the subword mode ``beams`` holds at each step the node a SEP completed
      there (V elsewhere) and ``tokens`` (B, K, N) the subwords themselves;
    - with ``embedding_only`` true: ``embedding`` only (the masked mean of the
      encoder states), no decoding.
    """

    #: ties between labels of one beam: a later step is scaled by 1 - TIE * step / N
    TIE = 1e-4

    def __init__(self, vocab_size, n_labels, n_nodes, *, edges, ancestors, node_rank,
                 d_model=512, n_heads=8, encoder_layers=6, decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, max_steps=16, beam_size=4,
                 constraint_penalty=2.0, pad_id=0, pretrained=None, freeze_embeddings=False,
                 spellings=None, n_subwords=0):
        super().__init__()
        if spellings is None:
            self.trie, n_out = None, n_nodes + 1  # nodes, EOS
        else:  # subwords, SEP, EOS; each node spelled as its subwords, then SEP
            self.trie, n_out = LabelTrie(spellings, n_subwords), int(n_subwords) + 2
            sep = torch.full((len(spellings), 1), -1, dtype=torch.long)
            spelled = torch.cat([torch.as_tensor(spellings, dtype=torch.long), sep], 1)
            spelled[torch.arange(len(spelled)), (spelled >= 0).sum(1)] = n_out - 2
            self.register_buffer("spelled", spelled, persistent=False)
        self.n_out = n_out
        self.beam_size, self.constraint_penalty = int(beam_size), float(constraint_penalty)
        self.n_labels, self.n_nodes, self.max_steps = n_labels, n_nodes, int(max_steps)
        self.embed = TokenEmbedding(vocab_size, d_model, pad_id, pretrained, freeze_embeddings)
        self.d_model = d_model
        self.node_embed = nn.Embedding(n_out + 1, d_model)  # outputs, BOS
        nn.init.normal_(self.node_embed.weight, std=d_model ** -0.5)
        self.out_bias = nn.Parameter(torch.zeros(n_out))
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward, dropout,
                                           batch_first=True)
        encoder = nn.TransformerEncoder(layer, encoder_layers, nn.LayerNorm(d_model),
                                        enable_nested_tensor=False)  # batch-independent
        self.transformer = nn.Transformer(
            d_model, n_heads, encoder_layers, decoder_layers, dim_feedforward, dropout,
            custom_encoder=encoder, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        child, parent = edges
        has_parent = torch.zeros(n_nodes, dtype=torch.bool)
        has_parent[child] = True
        self.register_buffer("edge_child", child)
        self.register_buffer("edge_parent", parent)
        self.register_buffer("has_parent", has_parent)
        self.register_buffer("ancestor_child", ancestors[0])
        self.register_buffer("ancestor_node", ancestors[1])
        self.register_buffer("node_rank", node_rank)

    # -- encoder ------------------------------------------------------------------------
    def encode(self, input_ids, attention_mask):
        """Encoder states (B, T, d), the key mask (B, T) and the mean state (B, d)."""
        mask = attention_mask.bool().clone()
        mask[:, 0] = True  # an all-pad text still has one position
        x = self.embed(input_ids) + sinusoidal_positions(input_ids.shape[1], self.d_model,
                                                         input_ids.device)
        memory = self.transformer.encoder(self.dropout(x), src_key_padding_mask=~mask)
        return memory, mask, masked_mean_pool(memory, mask)

    # -- decoder ------------------------------------------------------------------------
    def _decode(self, tokens, memory, mask):
        """(B, t) decoder inputs -> (B, t, V + 1) output logits (causal)."""
        t = tokens.shape[1]
        y = self.node_embed(tokens) * math.sqrt(self.d_model)
        y = self.dropout(y + sinusoidal_positions(t, self.d_model, tokens.device))
        causal = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device)
        h = self.transformer.decoder(y, memory, tgt_mask=causal, tgt_is_causal=True,
                                     memory_key_padding_mask=~mask)
        return h @ self.node_embed.weight[: self.n_out].T + self.out_bias

    def _teacher(self, memory, mask, labels):
        targets = label_sequences(labels, self.ancestor_child, self.ancestor_node,
                                  self.node_rank, self.max_steps)  # (B, S + 1)
        if self.trie is not None:  # S counts subwords and SEPs
            targets = subword_targets(targets, self.spelled, self.max_steps, self.n_out - 2,
                                      self.n_out - 1)
        start = targets.new_full((len(targets), 1), self.n_out)
        inputs = torch.cat([start, targets[:, :-1]], 1).clamp(min=0)  # pads never read back
        return self._decode(inputs, memory, mask), targets

    def generate(self, memory, mask, beam_size, constraint_penalty):
        """Beam search (:func:`sklearn_xmtc.nn.beam_decode`) with the soft constraint.

        Returns ``(beams, beam_scores, step_scores, first, rule)``, ``first``
        (B, outputs) the log-distribution of the first step (before any penalty)
        and ``rule`` the subword rule after decoding (None in the label mode).
        """
        first = []

        def step(state, prefix):
            mem, m = state
            log_p = F.log_softmax(self._decode(prefix, mem, m)[:, -1].float(), dim=1)
            if not first:
                first.append(log_p)
            return log_p, state

        penalty = rule = None
        if self.trie is not None:
            rule = SubwordLabelRule(self.trie.to(memory.device), self.n_nodes,
                                    (self.edge_child, self.edge_parent), self.has_parent,
                                    constraint_penalty)
        elif constraint_penalty:
            def penalty(used):
                return hierarchy_penalty(used, self.edge_child, self.edge_parent,
                                         self.has_parent, constraint_penalty)
        B = len(memory)
        beams, scores, steps = beam_decode(step, (memory, mask), B, self.max_steps + 1,
                                           self.n_out, self.n_out, beam_size, penalty, rule)
        K = beams.shape[1]
        return beams, scores, steps, first[0].reshape(B, K, -1)[:, 0], rule

    def label_scores(self, beams, beam_scores, first):
        """(B, L) column scores of a decoded batch.

        A column in a final beam scores the exponentiated score of the best final
        beam holding it (columns of one beam ordered by the step that made them:
        the later one scaled by ``1 - TIE x step / N``). Every other column scores
        below all of those: the lowest such score (scaled by ``1 - 2 TIE``)
        times its first-step probability, so a full ranking (and ``min_labels``)
        always exists.
        """
        B, K, N = beams.shape
        steps = torch.arange(N, device=beams.device).float()
        finite = torch.isfinite(beam_scores)
        value = beam_scores.exp().unsqueeze(2) * (1 - self.TIE * steps / max(N, 1))  # (B,K,N)
        value = value.masked_fill(~finite.unsqueeze(2), float("-inf"))
        col = beams.masked_fill(beams >= self.n_labels, self.n_labels).flatten(1)
        out = torch.full((B, self.n_labels + 1), float("-inf"), device=beams.device)
        out.scatter_reduce_(1, col, value.flatten(1), reduce="amax")
        out = out[:, : self.n_labels]
        floor = beam_scores.masked_fill(~finite, float("inf")).amin(1, keepdim=True).exp()
        rest = floor * (1 - 2 * self.TIE) * first[:, : self.n_labels].exp()  # (B, L)
        return torch.where(torch.isfinite(out), out, rest)

    def forward(self, input_ids, attention_mask, labels=None, beam_size=None,
                constraint_penalty=None, embedding_only=None):
        memory, mask, embedding = self.encode(input_ids, attention_mask)
        if labels is not None:
            logits, targets = self._teacher(memory, mask, labels)
            return {"step_logits": logits, "targets": targets, "embedding": embedding}
        if embedding_only is not None and bool(embedding_only):
            return {"embedding": embedding}
        beam_size = self.beam_size if beam_size is None else int(beam_size)
        penalty = (self.constraint_penalty if constraint_penalty is None
                   else float(constraint_penalty))
        beams, beam_scores, _, first, rule = self.generate(memory, mask, beam_size, penalty)
        out = {"n_invalid": beams.new_zeros(len(beams))}
        if rule is not None:  # subwords -> the node each SEP completed; a node's first-step
            B, K, N = beams.shape  # probability: its first subword's
            out = {"tokens": beams, "n_invalid": rule.n_invalid().reshape(B, K)[:, 0]}
            beams, first = rule.completed.reshape(B, K, N), first[:, self.trie.first]
        best = beams[:, 0]
        sequence = best.masked_fill(best >= self.n_labels, self.n_labels)
        return {**out, "beams": beams, "beam_scores": beam_scores, "sequence": sequence,
                "scores": self.label_scores(beams, beam_scores, first), "embedding": embedding}


class GHXMCLoss(nn.Module):
    """Teacher-forced cross-entropy with label smoothing over the target sequences."""

    def __init__(self, label_smoothing=0.1):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, output, y=None):
        logits, targets = output["step_logits"], output["targets"]
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-1,
                               label_smoothing=self.label_smoothing)
