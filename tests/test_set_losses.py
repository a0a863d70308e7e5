"""Set losses (Hungarian matching, IPOT optimal transport) and lightweight
convolutions: hand-computed values, brute-force optima, gradients."""

import itertools
import math

import numpy as np
import pytest
import torch

from sklearn_xmtc.nn import (LightConvEncoder, LightweightConv1d, bipartite_matching_loss, ipot,
                             match_targets, semantic_ot_loss, sequence_nll_loss)


def _random_log_probs(B, N, V, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.log_softmax(3 * torch.randn(B, N, V, generator=g), dim=-1)


def _matched_cost(log_probs, targets, step_targets, b):
    """Total -p cost of the non-empty steps of sample b."""
    p = log_probs[b].exp()
    empty = log_probs.shape[2] - 1
    return sum(-p[i, int(y)].item() for i, y in enumerate(step_targets[b]) if y != empty)


def _brute_force_cost(p, labels, steps):
    """Minimum over injective maps label -> step among ``steps`` of sum -p."""
    best = math.inf
    for chosen in itertools.permutations(range(steps), len(labels)):
        best = min(best, sum(-p[s, y].item() for s, y in zip(chosen, labels)))
    return best


# -- bipartite matching ----------------------------------------------------------
@pytest.mark.parametrize("matching", ["all", "first_n"])
def test_matching_equals_brute_force_minimum(matching):
    N, V = 5, 9  # 8 labels + empty
    log_probs = _random_log_probs(40, N, V, seed=1)
    rng = np.random.default_rng(0)
    targets = torch.full((40, 4), -1)
    for b in range(40):
        n = rng.integers(1, 5)
        targets[b, :n] = torch.from_numpy(rng.choice(8, n, replace=False))
    step_targets = match_targets(log_probs, targets, matching)
    for b in range(40):
        labels = [int(y) for y in targets[b] if y >= 0]
        steps = N if matching == "all" else len(labels)
        got = _matched_cost(log_probs, targets, step_targets, b)
        want = _brute_force_cost(log_probs[b].exp(), labels, steps)
        assert got == pytest.approx(want, abs=1e-6)
        # every label is used exactly once, all other steps are empty
        assert sorted(int(y) for y in step_targets[b] if y != V - 1) == sorted(labels)
        if matching == "first_n":
            assert (step_targets[b, len(labels):] == V - 1).all()


def test_matching_loss_is_invariant_to_label_order():
    log_probs = _random_log_probs(16, 6, 11, seed=2)
    rng = np.random.default_rng(1)
    targets = torch.full((16, 5), -1)
    for b in range(16):
        n = rng.integers(0, 6)
        targets[b, :n] = torch.from_numpy(rng.choice(10, n, replace=False))
    shuffled = targets.clone()
    for b in range(16):
        n = int((targets[b] >= 0).sum())
        shuffled[b, :n] = targets[b, torch.from_numpy(rng.permutation(n))]
    assert not torch.equal(shuffled, targets)
    for matching in ("all", "first_n"):
        a = bipartite_matching_loss(log_probs, targets, matching)
        b = bipartite_matching_loss(log_probs, shuffled, matching)
        assert float(a) == pytest.approx(float(b), abs=1e-6)


def test_matching_loss_hand_computed_with_empty_weight():
    # N=3 steps, labels {0, 1}, empty = 2; sample has the single label 1
    p = torch.tensor([[[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]]])
    loss = bipartite_matching_loss(p.log(), torch.tensor([[1]]), "all", empty_weight=0.2)
    # label 1 -> step 1 (p = 0.6); steps 0 and 2 -> empty
    want = -(math.log(0.6) + 0.2 * math.log(0.2) + 0.2 * math.log(0.6))
    assert float(loss) == pytest.approx(want, rel=1e-5)
    first = bipartite_matching_loss(p.log(), torch.tensor([[1]]), "first_n", empty_weight=0.2)
    # first_n: label 1 must sit on step 0 (p = 0.3)
    want = -(math.log(0.3) + 0.2 * math.log(0.3) + 0.2 * math.log(0.6))
    assert float(first) == pytest.approx(want, rel=1e-5)


def test_matching_drops_labels_beyond_n_steps_and_handles_empty_rows():
    log_probs = _random_log_probs(2, 2, 6, seed=3)
    targets = torch.tensor([[0, 1, 2, 3], [-1, -1, -1, -1]])
    st = match_targets(log_probs, targets)
    assert sorted(st[0].tolist()) == [0, 1]  # only the first N=2 labels
    assert st[1].tolist() == [5, 5]
    with pytest.raises(ValueError, match="matching"):
        match_targets(log_probs, targets, "greedy")


def test_matching_loss_gradient_reaches_the_matched_steps():
    logits = torch.zeros(1, 3, 4, requires_grad=True)
    bipartite_matching_loss(torch.log_softmax(logits, -1), torch.tensor([[2, -1]])).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


# -- IPOT ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_ipot_matches_the_exact_assignment_on_square_uniform_cases(n):
    g = torch.Generator().manual_seed(n)
    cost = 2 * torch.rand(30, n, n, generator=g)  # cosine-distance range
    mu = torch.full((30, n), 1.0 / n)
    for n_iter, tol in ((50, 5e-3), (200, 1e-3)):  # measured max errors 3e-3, 3e-4
        plan = ipot(cost, mu, mu, beta=0.5, n_iter=n_iter)
        got = (plan * cost).sum((1, 2))
        for b in range(30):
            # Birkhoff: the exact OT with uniform square marginals is a permutation
            exact = min(sum(cost[b, i, p[i]].item() for i in range(n))
                        for p in itertools.permutations(range(n))) / n
            assert got[b].item() == pytest.approx(exact, abs=tol)


def test_ipot_plan_has_the_requested_marginals_with_padding():
    g = torch.Generator().manual_seed(0)
    cost = torch.rand(4, 5, 3, generator=g)
    mu = torch.full((4, 5), 0.2)
    nu = torch.tensor([[0.5, 0.5, 0.0], [1 / 3] * 3, [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    plan = ipot(cost, mu, nu, n_iter=100)
    assert torch.allclose(plan.sum(2), mu, atol=1e-3)
    assert torch.allclose(plan.sum(1), nu, atol=1e-3)
    assert (plan[:, :, 2][nu[:, 2] == 0] == 0).all()


def test_ot_distance_gradient_is_the_plan_and_matches_finite_differences():
    g = torch.Generator().manual_seed(5)
    cost = (2 * torch.rand(1, 4, 4, generator=g, dtype=torch.float64)).requires_grad_()
    mu = torch.full((1, 4), 0.25, dtype=torch.float64)

    def dist(c):
        return (ipot(c, mu, mu, n_iter=300) * c).sum()

    d = dist(cost)
    d.backward()
    assert torch.allclose(cost.grad, ipot(cost, mu, mu, n_iter=300))
    direction = torch.randn(1, 4, 4, generator=g, dtype=torch.float64)
    eps = 1e-4
    fd = (dist(cost.detach() + eps * direction) - dist(cost.detach() - eps * direction)) / (2 * eps)
    assert float(fd) == pytest.approx(float((cost.grad * direction).sum()), abs=1e-3)


def test_semantic_ot_loss_is_zero_for_perfect_predictions_and_has_gradients():
    E = torch.randn(6, 8)  # 5 labels + empty
    targets = torch.tensor([[1, 3], [4, -1]])
    perfect = torch.zeros(2, 2, 6)
    perfect[0, 0, 1] = perfect[0, 1, 3] = perfect[1, 0, 4] = perfect[1, 1, 4] = 1.0
    assert float(semantic_ot_loss(perfect, targets, E)) == pytest.approx(0.0, abs=1e-5)
    logits = torch.randn(2, 2, 6, requires_grad=True)
    E = E.clone().requires_grad_()
    loss = semantic_ot_loss(torch.softmax(logits, -1), targets, E)
    assert float(loss.detach()) > 0.01
    loss.backward()
    for grad in (logits.grad, E.grad):
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_semantic_ot_loss_label_gradients_are_reproducible_on_two_threads(reproducible_gradient):
    # targets repeat labels across the batch: the summed rows of E must not depend on threads
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(64, 6, 51, generator=g), -1)
    targets = torch.randint(0, 51, (64, 40), generator=g)
    E = torch.randn(51, 64, generator=g, requires_grad=True)
    reproducible_gradient(lambda: semantic_ot_loss(probs, targets, E, n_iter=5), E)


def test_sequence_nll_loss_ignores_steps_past_the_end():
    p = torch.tensor([[[0.7, 0.3], [0.4, 0.6]]])
    loss = sequence_nll_loss(p.log(), torch.tensor([[0, -1]]))
    assert float(loss) == pytest.approx(-math.log(0.7), rel=1e-6)


# -- lightweight convolutions ---------------------------------------------------------
def test_lightweight_conv_is_a_softmax_normalised_shared_kernel():
    conv = LightweightConv1d(4, 3, heads=2)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[0.0, 0.0, 0.0], [0.0, math.log(3.0), 0.0]]))
    x = torch.arange(20, dtype=torch.float32).reshape(1, 5, 4)
    out, _ = conv(x)
    # head 0 (channels 0, 1): mean of 3 neighbours; head 1 (2, 3): weights 1/5, 3/5, 1/5
    assert out[0, 2, 0].item() == pytest.approx((x[0, 1, 0] + x[0, 2, 0] + x[0, 3, 0]).item() / 3)
    assert out[0, 2, 3].item() == pytest.approx(
        (0.2 * x[0, 1, 3] + 0.6 * x[0, 2, 3] + 0.2 * x[0, 3, 3]).item(), rel=1e-5)
    assert conv.weight.numel() == 6  # H x K weights whatever the channel count
    with pytest.raises(ValueError, match="multiple of heads"):
        LightweightConv1d(5, 3, heads=2)


def test_lightconv_encoder_strides_and_ignores_padding():
    torch.manual_seed(0)
    enc = LightConvEncoder(8, kernel_sizes=(3, 7, 4), heads=4, last_stride=3).eval()
    x = torch.randn(1, 10, 8)
    mask = torch.tensor([[True] * 6 + [False] * 4])
    out, m = enc(x, mask)
    assert out.shape == (1, 4, 8) and m.tolist() == [[True, True, False, False]]
    x2 = x.clone()
    x2[0, 6:] = 100.0  # changing padded positions changes no real output
    out2, _ = enc(x2, mask)
    assert torch.allclose(out[0, :2], out2[0, :2], atol=1e-6)
