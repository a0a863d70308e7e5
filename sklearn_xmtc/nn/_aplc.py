"""Adaptive Probabilistic Label Clusters (APLC), the output layer of APLC-XLNet.

Ye, Chen, Wang, Davison, "Pretrained Generalized Autoregressive Model with
Adaptive Probabilistic Label Clusters for Extreme Multi-label Text
Classification", ICML 2020, section 3.3. Labels sorted by training frequency
are split into a head cluster V_h and K tail clusters V_1..V_K; the head
layer scores the head labels and one logit per tail cluster, and tail cluster
i scores its labels from a hidden state of width d / q^i (eq. 2):

    p(y_j | x) = sigmoid(head_j)                    for y_j in V_h
    p(y_j | x) = sigmoid(cluster_t) sigmoid(tail_j)  for y_j in V_t
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["APLCOutput", "aplc_cluster_sizes", "aplc_n_parameters"]


def aplc_cluster_sizes(n_labels, proportions):
    """Cluster cardinalities ``(l_h, l_1, ..., l_K)`` for ``n_labels`` labels.

    Parameters
    ----------
    n_labels : int
    proportions : sequence of float
        Share of the labels in the head cluster then in each tail cluster
        (the paper's P_num, e.g. ``(0.5, 0.5)`` or ``(0.25,) * 4``); normalised
        to sum to 1. Sizes are rounded by largest remainder; a cluster left
        empty takes one label from the largest one.

    Returns
    -------
    sizes : tuple of int
        Sums to ``n_labels``.
    """
    props = np.asarray(proportions, dtype=np.float64)
    if props.ndim != 1 or len(props) < 1 or not np.all(np.isfinite(props)) \
            or np.any(props <= 0):
        raise ValueError(
            f"cluster_proportions must be a non-empty sequence of positive numbers, got "
            f"{proportions!r}.")
    if n_labels < len(props):
        raise ValueError(
            f"cluster_proportions asks for {len(props)} clusters but there are only "
            f"{n_labels} labels; use fewer clusters (each needs at least one label).")
    exact = props / props.sum() * n_labels
    sizes = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[: n_labels - sizes.sum()]] += 1
    for empty in np.flatnonzero(sizes == 0):  # move one label from the largest cluster
        sizes[np.argmax(sizes)] -= 1
        sizes[empty] = 1
    return tuple(int(s) for s in sizes)


def aplc_n_parameters(d, sizes, decay_factor):
    """Eq. 6 of the paper: N_par = d (l_h + K) + sum_i (d / q^i)(d + l_i).

    ``d / q^i`` is rounded down (at least 1), as in :class:`APLCOutput`.
    """
    head, tails = sizes[0], sizes[1:]
    hidden = [_tail_width(d, decay_factor, i) for i in range(1, len(tails) + 1)]
    return d * (head + len(tails)) + sum(h * (d + l) for h, l in zip(hidden, tails))


def _tail_width(d, q, i):
    return max(1, int(math.floor(d / q ** i + 1e-9)))


class APLCOutput(nn.Module):
    """APLC output layer: (B, d) hidden states -> label probabilities or loss.

    Parameters
    ----------
    in_features : int
        Width d of the hidden state.
    cluster_sizes : sequence of int
        ``(l_h, l_1, ..., l_K)``: the head cluster then the tail clusters, in
        decreasing label frequency (see :func:`aplc_cluster_sizes`).
    label_order : array-like of int, shape (L,), optional
        The label indices sorted by decreasing training frequency: position
        ``r`` of the clusters holds label ``label_order[r]``. Default: labels
        are already sorted (identity).
    decay_factor : float, default=2.0
        q: tail cluster i projects d -> d / q^i before its labels.
    tail_loss : {"conditional", "joint"}, default="conditional"
        "conditional": BCE on every head label and cluster logit, plus BCE on
        the within-cluster logits of the touched clusters (chain-rule
        factorisation). "joint": the reference implementation's variant, BCE
        on the joint probability sigmoid(cluster) x sigmoid(label) for the
        touched clusters and on the cluster logit only for the others.

    Notes
    -----
    No layer has a bias, so the parameter count is exactly eq. 6
    (:attr:`n_parameters`).
    """

    def __init__(self, in_features, cluster_sizes, label_order=None, decay_factor=2.0,
                 tail_loss="conditional"):
        super().__init__()
        sizes = [int(s) for s in cluster_sizes]
        if not sizes or min(sizes) < 1:
            raise ValueError(f"cluster_sizes must be positive ints, got {cluster_sizes!r}.")
        if decay_factor < 1:
            raise ValueError(f"decay_factor must be >= 1, got {decay_factor!r}.")
        if tail_loss not in ("conditional", "joint"):
            raise ValueError(f"tail_loss must be 'conditional' or 'joint', got {tail_loss!r}.")
        n_labels = sum(sizes)
        order = np.arange(n_labels) if label_order is None else np.asarray(label_order)
        if sorted(order.tolist()) != list(range(n_labels)):
            raise ValueError("label_order must be a permutation of range(sum(cluster_sizes)).")
        self.in_features, self.cluster_sizes = int(in_features), tuple(sizes)
        self.decay_factor, self.tail_loss = float(decay_factor), tail_loss
        self.n_head, self.n_tails = sizes[0], len(sizes) - 1
        self.head = nn.Linear(in_features, self.n_head + self.n_tails, bias=False)
        self.tails = nn.ModuleList(
            nn.Sequential(nn.Linear(in_features, _tail_width(in_features, decay_factor, i),
                                    bias=False),
                          nn.Linear(_tail_width(in_features, decay_factor, i), size, bias=False))
            for i, size in enumerate(sizes[1:], start=1))
        order = torch.as_tensor(order, dtype=torch.int64)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(n_labels)
        self.register_buffer("label_order", order)  # rank -> label
        self.register_buffer("label_rank", rank)  # label -> rank
        self.register_buffer("cutoffs", torch.as_tensor(np.cumsum([0] + sizes)))  # (K + 2,)

    @property
    def n_labels(self):
        return int(self.cutoffs[-1])

    @property
    def n_parameters(self):
        """Number of parameters of the layer (eq. 6)."""
        return sum(p.numel() for p in self.parameters())

    # -- training -----------------------------------------------------------
    def loss(self, h, positives):
        """Mean BCE of eq. 5 over the terms the sample touches.

        Parameters
        ----------
        h : Tensor (B, d)
        positives : LongTensor (B, P)
            Positive label indices (original order) padded with -1.

        Returns
        -------
        loss : scalar Tensor
            Sum of the BCE terms divided by their number. Tail cluster t runs
            only on the samples with a positive in it (index-selected), so no
            (B, L) tensor is built.
        """
        valid = positives >= 0  # (B, P)
        ranks = self.label_rank[positives.clamp(min=0)]  # (B, P)
        cluster = torch.bucketize(ranks, self.cutoffs[1:], right=True)  # (B, P) in 0..K
        head_logits = self.head(h)  # (B, l_h + K)
        head_target = torch.zeros_like(head_logits)
        col = torch.where(cluster == 0, ranks, self.n_head + cluster - 1)  # (B, P)
        r, c = torch.nonzero(valid, as_tuple=True)
        head_target[r, col[r, c]] = 1.0
        head_terms = F.binary_cross_entropy_with_logits(head_logits, head_target,
                                                        reduction="none")  # (B, l_h + K)
        total, n_terms = head_terms[:, : self.n_head].sum(), h.new_tensor(
            float(h.shape[0] * self.n_head))
        for t in range(1, self.n_tails + 1):  # K is small: one pass per cluster
            in_t = valid & (cluster == t)  # (B, P)
            rows = torch.nonzero(in_t.any(dim=1), as_tuple=True)[0]  # (n_t,)
            cluster_terms = head_terms[:, self.n_head + t - 1]  # (B,)
            if self.tail_loss == "joint":  # touched rows are scored by the joint terms
                cluster_terms = cluster_terms.index_fill(0, rows, 0.0)
                n_terms = n_terms + (h.shape[0] - len(rows))
            else:
                n_terms = n_terms + h.shape[0]
            total = total + cluster_terms.sum()
            if len(rows) == 0:
                continue
            tail_total, tail_n = self._tail_terms(t, h, rows, ranks, in_t,
                                                  head_logits[rows, self.n_head + t - 1])
            total, n_terms = total + tail_total, n_terms + tail_n
        return total / n_terms

    def _tail_terms(self, t, h, rows, ranks, in_t, cluster_logit):
        """Summed BCE of tail cluster ``t`` on the samples ``rows`` and its term count."""
        lo = int(self.cutoffs[t])
        logits = self.tails[t - 1](h.index_select(0, rows))  # (n_t, l_t)
        target = torch.zeros_like(logits)
        sub = in_t.index_select(0, rows)  # (n_t, P)
        r, c = torch.nonzero(sub, as_tuple=True)
        target[r, ranks.index_select(0, rows)[r, c] - lo] = 1.0
        if self.tail_loss == "joint":
            log_p = F.logsigmoid(cluster_logit)[:, None] + F.logsigmoid(logits)  # (n_t, l_t)
            log_not_p = torch.log1p(-torch.exp(log_p).clamp(max=1 - 1e-6))
            terms = -(target * log_p + (1 - target) * log_not_p)
        else:
            terms = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return terms.sum(), logits.numel()

    # -- prediction -----------------------------------------------------------
    def _cluster_probas(self, h):
        """Yield ``(first_rank, probabilities (B, l_c))`` for the head then each tail."""
        head = torch.sigmoid(self.head(h))  # (B, l_h + K)
        yield 0, head[:, : self.n_head]
        for t in range(1, self.n_tails + 1):
            p_cluster = head[:, self.n_head + t - 1 : self.n_head + t]  # (B, 1)
            yield int(self.cutoffs[t]), p_cluster * torch.sigmoid(self.tails[t - 1](h))

    def forward(self, h):
        """Probabilities of every label (eq. 2), (B, d) -> (B, L), original label order."""
        by_rank = torch.cat([p for _, p in self._cluster_probas(h)], dim=1)  # (B, L)
        return by_rank[:, self.label_rank]

    def topk(self, h, k):
        """Top-k labels merged from each cluster's top-k, (B, d) -> (B, k') x 2.

        Returns ``(labels int64 (B, k'), probabilities (B, k'))`` sorted by
        decreasing probability, ``k' = min(k, L)``. Only one cluster's
        (B, l_c) block is alive at a time.
        """
        cand, vals = [], []
        for start, p in self._cluster_probas(h):
            v, i = torch.topk(p, min(k, p.shape[1]), dim=1)  # (B, k_c)
            cand.append(self.label_order[i + start])
            vals.append(v)
        cand, vals = torch.cat(cand, dim=1), torch.cat(vals, dim=1)  # (B, sum k_c)
        v, pos = torch.topk(vals, min(k, vals.shape[1]), dim=1)
        return torch.gather(cand, 1, pos), v
