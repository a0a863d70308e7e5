"""Level-wise training helpers: candidate datasets, beam search, ensembles.

AttentionXML trains one network per tree level, top-down; level ``d`` sees
the children of the ``n_candidates`` best level ``d - 1`` nodes (by the
trained levels above) plus the positives, and starts from level ``d - 1``'s
weights. Prediction is a beam search whose label scores are the products of
the probabilities along the path (paper 003, eq. 1).
"""

from __future__ import annotations

import numpy as np
import torch

from .._training import TokenDataset, forward_eval

__all__ = ["ParentDataset", "average_candidate_scores", "beam_search",
           "init_from_parent_level", "top_nodes"]


class ParentDataset(TokenDataset):
    """A :class:`TokenDataset` whose batches also carry ``X["parents"]``:
    int64 (B, C) parent nodes (-1 pads) whose children are the candidates."""

    def __init__(self, flat_ids, offsets, pad_id, Y=None, *, parents, target="indices",
                 labels_in_input=True):
        super().__init__(flat_ids, offsets, pad_id, Y, target=target,
                         labels_in_input=labels_in_input)
        self.parents = parents

    def __getitems__(self, indices):
        X, y = super().__getitems__(indices)
        X["parents"] = torch.from_numpy(self.parents[np.asarray(indices, dtype=np.int64)])
        return X, y


def init_from_parent_level(module, previous, parent):
    """Copy ``previous``'s weights into ``module``; each node's attention
    vector starts from its parent's (``parent`` (n_nodes,) int64)."""
    own = module.state_dict()
    state = {k: v for k, v in previous.state_dict().items()
             if k in own and own[k].shape == v.shape and not k.startswith("attention.")
             and not k.endswith("_")}
    module.load_state_dict(state, strict=False)
    with torch.no_grad():
        old = previous.attention.weight  # (n_parents, D)
        w = old[torch.as_tensor(parent, device=old.device)]  # (n_nodes, D)
        module.attention.weight.copy_(w.to(module.attention.weight.device))
    return module


def top_nodes(cand, probs, width):
    """Best ``width`` entries of (B, C) probabilities: (nodes (B, w), scores (B, w)),
    nodes -1 and scores 0 where fewer valid candidates exist."""
    val, pos = torch.topk(probs, min(width, probs.shape[1]), dim=1)
    nodes = pos if cand is None else torch.gather(cand, 1, pos)
    invalid = torch.isinf(val) | (nodes < 0)
    return nodes.masked_fill(invalid, -1), val.masked_fill(invalid, 0.0)


def beam_search(nets, tree, X, beams, stop_level=None):
    """Path-product scores of one batch down a label tree.

    Parameters
    ----------
    nets : list of skorch nets, one per level (level 0 scores all its nodes)
    tree : LabelTree
    X : dict batch (``input_ids``, ``attention_mask``)
    beams : list of int
        ``beams[d]`` level-``d`` nodes kept to expand into level ``d + 1``.
    stop_level : int or None
        Stop after this level (default: the last).

    Returns
    -------
    candidates : int64 tensor (B, C) or None (all nodes of a flat level 0)
    scores : float tensor (B, C), ``-inf`` where the candidate is -1. Per
        sample C <= beams[d - 1] x branching: no O(L) array below level 0.
    """
    X = {k: v for k, v in X.items() if k in ("input_ids", "attention_mask")}
    stop = tree.height - 1 if stop_level is None else stop_level
    cand, probs = None, torch.sigmoid(forward_eval(nets[0], X).float())  # (B, n_0)
    for d in range(1, stop + 1):
        nodes, parent_p = top_nodes(cand, probs, beams[d - 1])  # (B, C)
        table = torch.from_numpy(tree.children[d - 1]).to(nodes.device)
        kids = table[nodes.clamp(min=0)].masked_fill((nodes < 0).unsqueeze(-1), -1)  # (B,C,K)
        cand = kids.flatten(1)  # (B, C*K)
        logits = forward_eval(nets[d], {**X, "candidates": cand})[0].float()
        probs = torch.sigmoid(logits) * parent_p.repeat_interleave(kids.shape[2], dim=1)
        probs = probs.masked_fill(cand < 0, float("-inf"))
    return cand, probs


def average_candidate_scores(parts, n_labels):
    """Mean of several ``(candidates or None, scores)`` of one batch (an
    ensemble of trees); a label missing from a part counts 0 there."""
    if all(c is None for c, _ in parts):
        return None, torch.stack([s for _, s in parts]).mean(0)
    cands, scores = [], []
    for c, s in parts:
        B = s.shape[0]
        if c is None:
            c = torch.arange(s.shape[1], device=s.device).expand(B, -1)
        cands.append(c)
        scores.append(torch.nan_to_num(s.float(), neginf=0.0))
    cand, score = torch.cat(cands, 1), torch.cat(scores, 1)  # (B, sum C)
    B = cand.shape[0]
    key = torch.arange(B, device=cand.device).unsqueeze(1) * (n_labels + 1) + cand + 1
    uniq, inv = torch.unique(key.flatten(), return_inverse=True)
    total = torch.zeros(len(uniq), device=cand.device).scatter_add_(0, inv, score.flatten())
    rows, labels = uniq // (n_labels + 1), uniq % (n_labels + 1) - 1
    counts = torch.bincount(rows, minlength=B)
    starts = torch.cumsum(counts, 0) - counts
    pos = torch.arange(len(uniq), device=cand.device) - starts[rows]
    out_c = torch.full((B, int(counts.max())), -1, dtype=torch.long, device=cand.device)
    out_s = torch.full(out_c.shape, float("-inf"), device=cand.device)
    out_c[rows, pos] = labels
    out_s[rows, pos] = torch.where(labels >= 0, total / len(parts), float("-inf"))
    return out_c, out_s
