"""Candidate sets of labels (or tree nodes) and the one top-k rule over them.

Every prediction path (flat scores, beam search, sampled candidates, APLC's
per-cluster top-k, validation) ranks with :func:`topk_candidates`, whose rule
is the metrics' (``../methods/metrics.md``): scores sorted in decreasing order,
ties broken toward the lower label index, and invalid entries (candidate -1,
score -inf or NaN) returned last as index -1 with score 0.
"""

from __future__ import annotations

import torch

__all__ = ["merge_candidates", "topk_candidates"]


def merge_candidates(cand, extra=None):
    """Row-wise union of (B, C) and (B, P) index sets, -1 padded at the end.

    Returns int64 (B, C') with C' the largest set size (>= 1); row order is
    descending, duplicates removed (sort, mask equal neighbours, sort again).
    """
    x = cand if extra is None else torch.cat([cand, extra.to(cand.device)], dim=1)
    x = torch.sort(x, dim=1, descending=True).values
    dup = torch.zeros_like(x, dtype=torch.bool)
    dup[:, 1:] = x[:, 1:] == x[:, :-1]
    x = torch.sort(x.masked_fill(dup, -1), dim=1, descending=True).values
    width = max(int((x >= 0).sum(1).max()) if x.numel() else 1, 1)
    return x[:, :width]


def topk_candidates(cand, scores, k):
    """The best ``min(k, C)`` entries of each row of candidate scores.

    Parameters
    ----------
    cand : int64 tensor (B, C) or None
        Label (or node) index of each column, -1 for none; None when the C
        columns are the labels 0..C-1 in order.
    scores : float tensor (B, C)
    k : int

    Returns
    -------
    indices : int64 tensor (B, min(k, C))
        Best first; ties go to the lower label index; -1 where fewer than k
        valid candidates exist (those slots come last).
    values : float32 tensor (B, min(k, C))
        The scores of ``indices``; 0 where the index is -1.
    """
    scores = scores.float()
    B, C = scores.shape
    kk = min(int(k), C)
    labels = (torch.arange(C, device=scores.device).expand(B, C) if cand is None
              else cand.to(scores.device))
    invalid = (labels < 0) | torch.isnan(scores) | (scores == float("-inf"))
    s = scores.masked_fill(invalid, float("-inf"))
    if kk == 0 or B == 0:
        return labels[:, :kk].clone(), s[:, :kk].clone()
    t = torch.topk(s, kk, dim=1).values[:, -1:]  # (B, 1) the k-th best score
    above, eq = s > t, s == t
    need = kk - above.sum(1, keepdim=True)  # (B, 1) entries equal to t to keep
    keep = above | eq
    amb = torch.nonzero(eq.sum(1, keepdim=True) > need, as_tuple=True)[0]  # ties at the cut
    if amb.numel():  # keep the tied entries with the lowest labels (invalid ones last)
        big = torch.iinfo(torch.long).max
        key = torch.where(eq[amb], labels[amb].masked_fill(invalid[amb], big - 1), big)
        rank = torch.empty_like(key)
        rank.scatter_(1, torch.sort(key, dim=1, stable=True).indices,
                      torch.arange(C, device=s.device).expand_as(key).contiguous())
        keep[amb] = above[amb] | (eq[amb] & (rank < need[amb]))
    pos = torch.nonzero(keep, as_tuple=True)[1].view(B, kk)  # exactly kk per row
    sel_s, sel_l = s.gather(1, pos), labels.gather(1, pos)
    sel_inv = invalid.gather(1, pos)
    # order: score descending, then label ascending (sort by label first, stably by score)
    big = torch.iinfo(torch.long).max
    by_label = torch.sort(sel_l.masked_fill(sel_inv, big), dim=1, stable=True).indices
    sel_s, sel_l, sel_inv = (sel_s.gather(1, by_label), sel_l.gather(1, by_label),
                             sel_inv.gather(1, by_label))
    order = torch.sort(sel_s, dim=1, descending=True, stable=True).indices
    idx, val = sel_l.gather(1, order), sel_s.gather(1, order)
    bad = sel_inv.gather(1, order)
    return idx.masked_fill(bad, -1), val.masked_fill(bad, 0.0)
