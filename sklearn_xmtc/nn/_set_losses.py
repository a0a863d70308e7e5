"""Set losses for sequence-to-set generation: Hungarian bipartite matching and
semantic optimal transport solved with IPOT.

After Cao and Zhang, "Sequence-to-Set Modeling for Extreme Multi-Label Text
Classification" (OTSeq2Set, Findings of EMNLP 2022), section 2.3, and Xie
et al., "A Fast Proximal Point Method for Computing Exact Wasserstein
Distance" (UAI 2020) for IPOT.

Conventions: ``log_probs`` (B, N, L + 1) are the decoder's N step
distributions over the L labels and the empty label "∅" (index L);
``targets`` (B, P) hold each sample's positive label indices, left-aligned
and padded with -1.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

__all__ = ["bipartite_matching_loss", "ipot", "match_targets", "semantic_ot_loss",
           "sequence_nll_loss"]


def _valid_targets(targets, n_steps):
    """Bool (B, P) of the labels kept: the first ``n_steps`` of each row."""
    pos = torch.arange(targets.shape[1], device=targets.device)
    return (targets >= 0) & (pos < n_steps)  # (B, P)


def match_targets(log_probs, targets, matching="all"):
    """Per-step targets from the minimum-cost bipartite matching (eq. 11-12).

    The cost of giving label ``y_j`` to step ``i`` is ``-p_i(y_j)``. With
    ``matching="all"`` the n labels of a sample are matched among all N
    steps; with ``"first_n"`` among its first n steps. Unmatched steps get
    the empty label. A sample's labels beyond the N-th are dropped.

    Parameters
    ----------
    log_probs : Tensor (B, N, L + 1)
    targets : LongTensor (B, P), -1 padded
    matching : {"all", "first_n"}

    Returns
    -------
    step_targets : LongTensor (B, N)
        Label index (or L for ∅) each step is trained towards.
    """
    if matching not in ("all", "first_n"):
        raise ValueError(f"matching must be 'all' or 'first_n', got {matching!r}.")
    B, N, V = log_probs.shape
    valid = _valid_targets(targets, N)  # (B, P)
    cols = targets.clamp(min=0).unsqueeze(1).expand(B, N, targets.shape[1])  # (B, N, P)
    with torch.no_grad():
        cost = -log_probs.detach().exp().gather(2, cols)  # (B, N, P), batched on the device
    cost = cost.cpu().numpy()  # one transfer of the whole batch
    counts = valid.sum(1).cpu().numpy()
    rows_b, rows_i, rows_j = [], [], []
    # The Hungarian algorithm has no batched form (scipy solves one matrix per
    # call), so the algorithm requires this per-sample loop; each call is on an
    # (N x n) or (n x n) matrix, ~10 us for n, N <= 30.
    for b in np.flatnonzero(counts):
        n = int(counts[b])
        steps = N if matching == "all" else n
        i, j = linear_sum_assignment(cost[b, :steps, :n])
        rows_b.append(np.full(len(i), b))
        rows_i.append(i)
        rows_j.append(j)
    step_targets = torch.full((B, N), V - 1, dtype=torch.long, device=log_probs.device)
    if rows_b:
        b, i, j = (torch.from_numpy(np.concatenate(a)).to(log_probs.device)
                   for a in (rows_b, rows_i, rows_j))
        step_targets[b, i] = targets[b, j]
    return step_targets


def bipartite_matching_loss(log_probs, targets, matching="all", empty_weight=0.2):
    """Bipartite matching loss (eq. 13), summed over steps, averaged over samples.

    ``-sum_i [1(y_i != ∅) log p_i(y_i) + empty_weight 1(y_i = ∅) log p_i(∅)]``
    with ``y_i`` the label matched to step ``i`` by :func:`match_targets`.
    It does not depend on the order in which a sample's labels are given.

    Examples
    --------
    >>> import torch
    >>> log_probs = torch.log(torch.tensor([[[0.1, 0.8, 0.1], [0.7, 0.1, 0.2]]]))
    >>> loss = bipartite_matching_loss(log_probs, torch.tensor([[0, 1]]))
    >>> round(float(loss), 4)  # step 0 -> label 1, step 1 -> label 0
    0.5798
    """
    step_targets = match_targets(log_probs, targets, matching)  # (B, N)
    empty = log_probs.shape[2] - 1
    weights = torch.where(step_targets == empty, float(empty_weight), 1.0)  # (B, N)
    picked = log_probs.gather(2, step_targets.unsqueeze(2)).squeeze(2)  # (B, N)
    return -(weights * picked).sum(1).mean()


def ipot(cost, mu, nu, beta=0.5, n_iter=50, inner_iter=1):
    """Transport plan of the Inexact Proximal point method for OT (IPOT).

    Batched: every sample's plan is updated at once on ``cost``'s device.
    The plan is computed without gradient; the OT distance ``<plan, cost>``
    is differentiable in ``cost`` and, at the optimum, the plan is its exact
    gradient (envelope theorem), which is how IPOT losses are trained.

    Parameters
    ----------
    cost : Tensor (B, n, m)
    mu : Tensor (B, n)
        Source marginals (rows summing to 1).
    nu : Tensor (B, m)
        Target marginals (rows summing to 1; zero on padded columns).
    beta : float, default=0.5
        Proximal step size (Xie et al. 2020, algorithm 1).
    n_iter : int, default=50
        Outer proximal iterations.
    inner_iter : int, default=1
        Sinkhorn iterations per proximal step (1 suffices, Xie et al.).

    Returns
    -------
    plan : Tensor (B, n, m)
        Approximately optimal coupling with marginals ``mu``, ``nu``.
    """
    with torch.no_grad():
        cost = cost.detach()
        kernel = torch.exp(-cost / beta)  # (B, n, m)
        plan = torch.ones_like(cost)  # (B, n, m)
        sigma = torch.ones_like(nu) / cost.shape[2]  # (B, m)
        tiny = torch.finfo(cost.dtype).tiny
        for _ in range(n_iter):
            q = kernel * plan  # (B, n, m)
            for _ in range(inner_iter):
                delta = mu / (q @ sigma.unsqueeze(2)).squeeze(2).clamp_min(tiny)  # (B, n)
                sigma = nu / (q.transpose(1, 2) @ delta.unsqueeze(2)).squeeze(2).clamp_min(tiny)
            plan = delta.unsqueeze(2) * q * sigma.unsqueeze(1)  # (B, n, m)
    return plan


def semantic_ot_loss(probs, targets, label_embeddings, beta=0.5, n_iter=50):
    """Semantic optimal-transport distance (eq. 14-16), averaged over samples.

    Cost ``c(p_i, y_j) = 1 - cos(E^T p_i, E_{y_j})``; uniform marginals over
    the N predictions and a sample's n true labels (its first N).

    Parameters
    ----------
    probs : Tensor (B, N, V)
        Step distributions (V = L + 1 with the empty label).
    targets : LongTensor (B, P), -1 padded
    label_embeddings : Tensor (V, d)
        The label embedding matrix E (rows for the labels and ∅).
    """
    B, N, _ = probs.shape
    valid = _valid_targets(targets, N)  # (B, P)
    pred = F.normalize(probs @ label_embeddings, dim=-1)  # (B, N, d)
    # an embedding lookup, not label_embeddings[...]: its CPU backward is deterministic
    true = F.normalize(F.embedding(targets.clamp(min=0), label_embeddings), dim=-1)  # (B, P, d)
    cost = 1.0 - pred @ true.transpose(1, 2)  # (B, N, P)
    has = valid.any(1)  # samples with at least one label
    nu = valid.float() / valid.sum(1, keepdim=True).clamp_min(1)  # (B, P)
    mu = torch.full((B, N), 1.0 / N, device=probs.device, dtype=probs.dtype)
    plan = ipot(cost, mu, nu, beta=beta, n_iter=n_iter)  # (B, N, P)
    dist = (plan * cost * valid.unsqueeze(1)).sum((1, 2))  # (B,)
    return (dist * has).sum() / max(B, 1)


def sequence_nll_loss(log_probs, step_targets):
    """Teacher-forced negative log-likelihood (Seq2Seq / MLC2Seq baselines).

    ``log_probs`` (B, S, V); ``step_targets`` (B, S) with -1 for steps past the
    end. Summed over steps, averaged over samples.
    """
    B, S, V = log_probs.shape
    total = F.nll_loss(log_probs.reshape(B * S, V), step_targets.reshape(B * S),
                       ignore_index=-1, reduction="sum")
    return total / max(B, 1)
