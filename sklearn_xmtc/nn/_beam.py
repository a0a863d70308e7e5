"""Beam search down a label tree, tree ensembles and level initialisation.

A label tree (``sklearn_xmtc.labels.LabelTree``) is scored by one network per
level: level 0 scores all its nodes, level ``d`` the children of the best
level ``d - 1`` nodes (AttentionXML, You et al. 2019). A label's score is the
product of the probabilities along its path (Zhu, Teng and Huang,
"LightAttention", eq. 1).
"""

from __future__ import annotations

import torch

from ._candidates import topk_candidates
from ._output import output_scores

__all__ = ["average_candidate_scores", "beam_search", "init_from_parent_level"]


def init_from_parent_level(module, previous, parent, node_parameters=("attention.weight",)):
    """Copy ``previous``'s weights into ``module``; the per-node rows of
    ``node_parameters`` start from the row of the node's parent (``parent``:
    (n_nodes,) int64 index into the previous level)."""
    own = module.state_dict()
    per_node = tuple(name.rpartition(".")[0] + "." for name in node_parameters)
    state = {k: v for k, v in previous.state_dict().items()
             if k in own and own[k].shape == v.shape and not k.startswith(per_node)
             and not k.endswith("_")}
    module.load_state_dict(state, strict=False)
    with torch.no_grad():
        for name in node_parameters:
            old, new = previous.get_parameter(name), module.get_parameter(name)
            rows = old[torch.as_tensor(parent, device=old.device)]  # (n_nodes, D)
            new.copy_(rows.to(new.device))
    return module


def beam_search(score_level, children, X, beams, stop_level,
                input_keys=("input_ids", "attention_mask")):
    """Path-product scores of one batch down a label tree.

    Parameters
    ----------
    score_level : callable ``(level, inputs) -> network output``
        Runs the network of a level in evaluation mode; ``inputs`` is ``X``
        plus, below level 0, ``candidates`` (B, C) node indices.
    children : list of int64 arrays
        ``children[d]`` (n_nodes[d], K): the level ``d + 1`` children of each
        level ``d`` node (-1 pads).
    X : dict batch (``input_ids``, ``attention_mask``)
    beams : list of int
        ``beams[d]`` level-``d`` nodes kept to expand into level ``d + 1``.
    stop_level : int
        The last level scored.
    input_keys : tuple of str, default=("input_ids", "attention_mask")
        The entries of ``X`` passed to ``score_level`` (a linear model passes
        its own, e.g. the batch's feature rows).

    Returns
    -------
    candidates : int64 tensor (B, C) or None (all nodes of a flat level 0)
    scores : float tensor (B, C), ``-inf`` where the candidate is -1. Per
        sample C <= beams[d - 1] x branching: no O(L) array below level 0.
    """
    X = {k: v for k, v in X.items() if k in input_keys}
    cand, probs = output_scores(score_level(0, X))  # (B, n_0)
    for d in range(1, stop_level + 1):
        nodes, parent_p = topk_candidates(cand, probs, beams[d - 1])  # (B, C)
        table = torch.from_numpy(children[d - 1]).to(nodes.device)
        kids = table[nodes.clamp(min=0)].masked_fill((nodes < 0).unsqueeze(-1), -1)  # (B,C,K)
        cand = kids.flatten(1)  # (B, C*K)
        logits = score_level(d, {**X, "candidates": cand})["logits"].float()
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
