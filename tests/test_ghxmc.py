"""GHXMCClassifier: target sequences, the soft constraint in beam search, learning."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_xmtc import DummyXMTCClassifier, GHXMCClassifier
from sklearn_xmtc._training import inverse_sqrt
from sklearn_xmtc.datasets import load_jsonl_dataset
from sklearn_xmtc.ghxmc._network import label_sequences
from sklearn_xmtc.labels import LabelHierarchy
from sklearn_xmtc.nn import beam_decode, hierarchy_penalty

TINY = dict(d_model=16, n_heads=2, encoder_layers=1, decoder_layers=1, dim_feedforward=32,
            max_epochs=1, batch_size=8, max_length=16, device="cpu", random_state=0)


# -- target sequences ------------------------------------------------------------------------
def dag():
    # x has two parents (A and B); A is under R; y is under B. Levels: R, B 0; A, y 1; x 2.
    return LabelHierarchy({"x": ["A", "B"], "A": "R", "y": "B"})


def test_sequences_order_levels_on_a_dag():
    texts = ["alpha beta", "gamma delta", "alpha gamma", "beta delta"]
    labels = [["x"], ["y"], ["x", "y"], ["y"]]
    est = GHXMCClassifier(hierarchy=dag(), **TINY).fit(texts, labels)
    names = est.hierarchy_index_.node_names.tolist()
    assert names == ["x", "y", "B", "R", "A"]  # columns, then internal nodes by level, name
    assert est.node_level_.tolist() == [2, 1, 0, 0, 1]
    # target sets: x -> {x, A, B, R}; y -> {y, B}: B in 4 texts, R in 2, A in 2, y in 3, x in 2
    assert est.node_frequencies_.tolist() == [2, 3, 4, 2, 2]
    m = est.net_.module_
    pos = torch.tensor([[0, -1], [1, -1], [0, 1]])
    seq = label_sequences(pos, m.ancestor_child, m.ancestor_node, m.node_rank, est.max_steps_)
    B, R, A, x, y, eos = 2, 3, 4, 0, 1, 5
    # level 0 first (B before R: more frequent), then level 1 (y before A: more frequent),
    # then level 2, then EOS
    assert est.max_steps_ == 5
    assert seq.tolist() == [[B, R, A, x, eos, -1], [B, y, eos, -1, -1, -1],
                            [B, R, y, A, x, eos]]
    # without the expansion: the labels only, in the same order
    flat = GHXMCClassifier(hierarchy=dag(), expand_ancestors=False, **TINY).fit(texts, labels)
    m = flat.net_.module_
    seq = label_sequences(pos, m.ancestor_child, m.ancestor_node, m.node_rank, flat.max_steps_)
    assert flat.max_steps_ == 2 and seq.tolist() == [[x, eos, -1], [y, eos, -1], [y, x, eos]]
    # a cut sequence keeps its first (highest, most frequent) nodes and still ends with EOS
    cut = label_sequences(pos, est.net_.module_.ancestor_child, est.net_.module_.ancestor_node,
                          est.net_.module_.node_rank, 2)
    assert cut.tolist() == [[B, R, eos], [B, y, eos], [B, R, eos]]


# -- the soft constraint ---------------------------------------------------------------------
def test_hierarchy_penalty_on_a_dag():
    # nodes 0 x (parents 2, 4), 1 y (parent 2), 2 B, 3 R, 4 A (parent 3)
    child, parent = torch.tensor([0, 0, 1, 4]), torch.tensor([2, 4, 2, 3])
    has_parent = torch.tensor([True, True, False, False, True])
    used = torch.tensor([[False] * 5, [False, False, False, True, True],
                         [False, False, True, False, False]])
    pen = hierarchy_penalty(used, child, parent, has_parent, 2.0)
    assert pen.tolist() == [[2, 2, 0, 0, 2],  # nothing generated: every non-top node
                            [0, 2, 0, 0, 0],  # A generated: x has a parent; A's parent R too
                            [0, 0, 0, 0, 2]]  # B generated: x (one parent of two) and y
    assert torch.isinf(hierarchy_penalty(used, child, parent, has_parent, math.inf)[0, 0])
    assert not hierarchy_penalty(used, child, parent, has_parent, 0.0).any()


def _fixed_step(probs):
    log_p = torch.log(torch.tensor(probs))

    def step(state, prefix):
        return log_p.expand(len(prefix), -1), state
    return step


def test_penalty_changes_beam_scores_as_specified():
    # tokens: 0 = P (level 0), 1 = c (child of P), 2 = EOS; the same distribution every step
    probs = [0.3, 0.6, 0.1]
    lp = [math.log(p) for p in probs]
    child, parent, has_parent = torch.tensor([1]), torch.tensor([0]), torch.tensor([False, True])

    def run(penalty, beam_size=2):
        fn = None if not penalty else (
            lambda used: hierarchy_penalty(used, child, parent, has_parent, penalty))
        return beam_decode(_fixed_step(probs), None, 1, 2, 3, 3, beam_size, fn)

    seq, scores, steps = run(2.0)
    # step 0: c lacks its parent: log .6 - 2 = -2.51 < EOS -2.30 < P -1.20 -> beams P, EOS;
    # step 1: after P, c is allowed (-1.20 - .51); the EOS beam stays finished (0 added)
    assert seq[0].tolist() == [[0, 1], [2, 2]]
    assert torch.allclose(scores[0], torch.tensor([lp[0] + lp[1], lp[2]]))
    assert torch.allclose(steps[0], torch.tensor([[lp[0], lp[0] + lp[1]], [lp[2], lp[2]]]))
    seq, scores, _ = run(0.0)  # unconstrained: c first (-0.51), then P
    assert seq[0, 0].tolist() in ([1, 0], [0, 1]) and seq[0, 1].tolist() in ([1, 0], [0, 1])
    assert torch.allclose(scores[0], torch.tensor([lp[0] + lp[1]] * 2))
    seq, scores, _ = run(1.0)  # c at step 0: -1.51 > EOS: the beams are P... and c...
    assert seq[0, 0].tolist() == [0, 1]
    assert torch.allclose(scores[0], torch.tensor([lp[0] + lp[1], lp[1] - 1.0 + lp[0]]))
    # hard: step 0 allows only P and EOS, so the third beam starts dead (-inf, all EOS)
    # and is replaced at step 1 by P, EOS (-3.51), below the finished EOS beam (-2.30)
    seq, scores, steps = run(math.inf, beam_size=3)
    assert seq[0].tolist() == [[0, 1], [2, 2], [0, 2]]
    assert torch.allclose(scores[0], torch.tensor([lp[0] + lp[1], lp[2], lp[0] + lp[2]]))
    assert torch.isinf(beam_decode(_fixed_step(probs), None, 1, 1, 3, 3, 3, lambda used:
                       hierarchy_penalty(used, child, parent, has_parent, math.inf))[1][0, 2])
    # greedy (one beam) under the same rules
    seq, scores, _ = run(2.0, beam_size=1)
    assert seq[0].tolist() == [[0, 1]] and torch.allclose(scores[0], torch.tensor([lp[0] + lp[1]]))


def test_inverse_sqrt_schedule_by_hand():
    f = inverse_sqrt(4)
    assert [f(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, math.sqrt(4 / 5), math.sqrt(4 / 6)]


# -- on real data ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rcv1(shared_data):
    d = load_jsonl_dataset(shared_data / "rcv1-sample")
    L = len(d.classes)
    h = d.hierarchy.relabel({c: i for i, c in enumerate(d.classes)})
    return d, h, d.Y_test[:, :L]


REAL = dict(d_model=64, n_heads=2, encoder_layers=1, decoder_layers=1, dim_feedforward=128,
            max_length=64, max_epochs=5, lr=2e-3, beam_size=1, device="cpu", random_state=0)


def test_learns_on_rcv1_sample_and_fails_with_lr0(rcv1):
    d, h, Y_test = rcv1
    dummy = f1_score(Y_test, DummyXMTCClassifier().fit(d.X_train, d.Y_train).predict(d.X_test),
                     average="micro")
    est = GHXMCClassifier(hierarchy=h, **REAL).fit(d.X_train, d.Y_train)
    learned = f1_score(Y_test, est.predict(d.X_test), average="micro")
    assert learned >= dummy + 0.1, (learned, dummy)
    # one fit serves every penalty: set_params, then predict (the network is not refitted)
    net = est.net_
    est.set_params(constraint_penalty=math.inf)
    hard = est.decode_sequences(d.X_test[:100])
    assert est.net_ is net
    parents = est.hierarchy_index_.parents
    names = est.hierarchy_index_.node_names.tolist()
    index = {n: i for i, n in enumerate(names)}
    for seq in hard:  # hard mode: never a label before one of its parents
        seen = set()
        for node in seq:
            i = index[node]
            ps = parents[i].indices
            assert not len(ps) or seen & set(ps.tolist()), (seq, node)
            seen.add(i)
    frozen = GHXMCClassifier(hierarchy=h, **{**REAL, "lr": 0.0, "max_epochs": 1})
    frozen.fit(d.X_train, d.Y_train)
    assert f1_score(Y_test, frozen.predict(d.X_test), average="micro") < dummy + 0.1


def test_scores_rank_the_best_beam_first_and_min_labels():
    texts = ["alpha beta", "gamma delta", "alpha gamma", "beta delta"] * 4
    labels = [["x"], ["y"], ["x", "y"], ["y"]] * 4
    est = GHXMCClassifier(hierarchy=dag(), beam_size=3, **{**TINY, "max_epochs": 3})
    est.fit(texts, labels)
    idx, scores = est.predict_topk(texts[:4], k=2)
    assert (np.diff(scores, axis=1) <= 0).all() and (idx >= 0).all()  # a full ranking
    assert est.set_params(min_labels=1).predict(texts[:4]).getnnz(1).min() >= 1
    P = est.predict_proba(texts[:4])
    assert P.shape == (4, 2) and np.isfinite(P).all()


def test_bad_parameters():
    with pytest.raises(ValueError, match="must divide d_model"):
        GHXMCClassifier(**{**TINY, "n_heads": 3}).fit(["a b", "c d"], [["x"], ["y"]])
    with pytest.raises(InvalidParameterError):
        GHXMCClassifier(label_tokenization="bpe", **TINY).fit(["a b"], [["x"]])
    with pytest.raises(InvalidParameterError):
        GHXMCClassifier(constraint_penalty=-1.0, **TINY).fit(["a b"], [["x"]])
