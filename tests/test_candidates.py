"""The one top-k rule (ties to the lower label, invalid entries last as (-1, 0))."""

import numpy as np
import pytest
import torch

from sklearn_xmtc.nn import merge_candidates, topk_candidates


def _brute_force(cand, scores, k):
    """Row by row with Python's sort: (-score, label) over the valid entries."""
    B, C = scores.shape
    labels = np.tile(np.arange(C), (B, 1)) if cand is None else cand.numpy()
    kk = min(k, C)
    out_i, out_v = [], []
    for b in range(B):
        items = sorted((-float(s), int(lab)) for s, lab in zip(scores[b].tolist(), labels[b])
                       if lab >= 0 and not np.isnan(s) and s != float("-inf"))[:kk]
        pad = kk - len(items)
        out_i.append([lab for _, lab in items] + [-1] * pad)
        out_v.append([-s for s, _ in items] + [0.0] * pad)
    return out_i, out_v


def test_hand_computed_ties_and_invalid_entries():
    s = torch.tensor([[0.5, 0.9, 0.5, 0.5, float("-inf")],
                      [0.1, 0.2, float("nan"), 0.2, 0.2]])
    idx, val = topk_candidates(None, s, 3)
    assert idx.tolist() == [[1, 0, 2], [1, 3, 4]]  # equal scores: lower label first
    cand = torch.tensor([[7, 3, 5, 1, -1], [4, 3, 2, 1, 0]])
    idx, val = topk_candidates(cand, s, 9)  # k above C: width C
    assert idx.tolist() == [[3, 1, 5, 7, -1], [0, 1, 3, 4, -1]]
    assert val[:, -1].tolist() == [0.0, 0.0]  # NaN and -inf entries: (-1, 0), last
    assert val.dtype == torch.float32 and idx.dtype == torch.int64


@pytest.mark.parametrize("seed", range(5))
def test_matches_a_brute_force_sort(seed):
    g = torch.Generator().manual_seed(seed)
    for trial in range(100):
        B, C = 3, int(torch.randint(1, 12, (1,), generator=g))
        s = torch.randint(0, 4, (B, C), generator=g).float()  # many ties
        s[torch.rand(B, C, generator=g) < 0.2] = float("-inf")
        s[torch.rand(B, C, generator=g) < 0.1] = float("nan")
        cand = torch.stack([torch.randperm(20, generator=g)[:C] for _ in range(B)])
        cand[torch.rand(B, C, generator=g) < 0.2] = -1
        cand = None if trial % 3 == 0 else cand
        k = int(torch.randint(1, 14, (1,), generator=g))
        idx, val = topk_candidates(cand, s, k)
        exp_i, exp_v = _brute_force(cand, s, k)
        assert idx.tolist() == exp_i
        assert val.tolist() == exp_v


def test_empty_batch_and_merge():
    idx, val = topk_candidates(None, torch.zeros(0, 4), 2)
    assert idx.shape == (0, 2) and val.shape == (0, 2)
    out = merge_candidates(torch.tensor([[3, 1, -1], [2, 2, 2]]), torch.tensor([[1, 5], [-1, -1]]))
    assert out.tolist() == [[5, 3, 1], [2, -1, -1]]
