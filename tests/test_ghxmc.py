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
from sklearn_xmtc.ghxmc._bpe import LabelTrie, SubwordLabelRule, label_spellings, subword_targets
from sklearn_xmtc.ghxmc._network import label_sequences
from sklearn_xmtc.labels import load_label_texts
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
        GHXMCClassifier(label_tokenization="word", **TINY).fit(["a b"], [["x"]])
    with pytest.raises(ValueError, match="have the same subwords"):  # cannot be decoded back
        GHXMCClassifier(label_tokenization="bpe", label_texts={"x": "a", "y": "a", "z": "a (x)"},
                        **TINY).fit(["a b", "c d", "e f"], [["x"], ["y"], ["z"]])
    with pytest.raises(InvalidParameterError):
        GHXMCClassifier(constraint_penalty=-1.0, **TINY).fit(["a b"], [["x"]])


# -- the subword mode (label_tokenization="bpe") -----------------------------------------------
def _spell(rule, tokens):
    """Advance ``rule`` (one row per sequence) through ``tokens`` (n, t), beams fixed."""
    n, t = tokens.shape
    rule.start(n, rule.trie.n_subwords + 2, tokens.device)
    for j in range(t):
        rule.advance(torch.arange(n), tokens[:, j])
    return rule


def test_bpe_round_trips_every_label_of_a_real_label_set(shared_data):
    d = load_jsonl_dataset(shared_data / "rcv1-sample")
    names = d.hierarchy.index_view(d.classes).node_names.tolist()  # 103 topics + internal
    texts = load_label_texts(shared_data / "rcv1-sample" / "label_texts.tsv")
    spellings, vocab = label_spellings(names, texts, vocab_size=300)
    assert len(vocab) <= 300 and (spellings[:, 0] >= 0).all()
    assert len({tuple(r[r >= 0]) for r in spellings}) == len(names)  # no two alike
    W, V = len(vocab), len(names)
    # the subwords decode to the label texts (Metaspace keeps the spaces)
    c15 = names.index("C15")
    assert "".join(vocab[i] for i in spellings[c15] if i >= 0).replace("\u2581", " ").strip() \
        == texts["C15"]
    # every node, spelled and followed by SEP, comes back as itself through the trie
    sep = np.full((V, 1), -1)
    spelled = torch.as_tensor(np.concatenate([spellings, sep, sep], 1))
    lengths = (spelled >= 0).sum(1)
    spelled[torch.arange(V), lengths] = W  # SEP
    spelled[torch.arange(V), lengths + 1] = W + 1  # EOS
    spelled = spelled.masked_fill(spelled < 0, W + 1)  # EOS repeats after the end
    no_edges = (torch.zeros(0, dtype=torch.long),) * 2
    rule = _spell(SubwordLabelRule(LabelTrie(spellings, W), V, no_edges,
                                   torch.zeros(V, dtype=torch.bool)), spelled)
    done = rule.completed.masked_fill(rule.completed == V, -1).amax(1)
    np.testing.assert_array_equal(done.numpy(), np.arange(V))
    assert (rule.n_invalid() == 0).all() and rule.used.sum(1).eq(1).all()


def _toy_trie():
    # nodes 0 "a" (level 0), 1 "b c" (child of 0), 2 "b d" (child of 3), 3 "e" (level 0);
    # subwords a=0, b=1, c=2, d=3, e=4; SEP = 5, EOS = 6
    spellings = np.array([[0, -1], [1, 2], [1, 3], [4, -1]])
    edges = (torch.tensor([1, 2]), torch.tensor([0, 3]))
    has_parent = torch.tensor([False, True, True, False])
    return LabelTrie(spellings, 5), edges, has_parent


def test_bpe_strings_that_are_no_label_are_dropped_and_counted():
    trie, edges, has_parent = _toy_trie()
    tokens = torch.tensor([[0, 5, 1, 2, 5, 6, 6],    # a, b c: two labels
                           [1, 5, 2, 5, 4, 5, 6],    # "b" and "c" are no label; e is
                           [4, 5, 1, 3, 1, 6, 6]])   # e, then "b d b" cut by the end
    rule = _spell(SubwordLabelRule(trie, 4, edges, has_parent), tokens)
    assert rule.n_invalid().tolist() == [0, 2, 1]
    np.testing.assert_array_equal(rule.completed.numpy(), [[4, 0, 4, 4, 1, 4, 4],
                                                           [4, 4, 4, 4, 4, 3, 4],
                                                           [4, 3, 4, 4, 4, 4, 4]])
    assert rule.used.tolist() == [[True, True, False, False], [False, False, False, True],
                                  [False, False, False, True]]


def test_bpe_penalty_at_a_first_subword_only_when_every_label_it_starts_lacks():
    trie, edges, has_parent = _toy_trie()
    log_p = torch.log(torch.full((1, 7), 1 / 7))
    rule = SubwordLabelRule(trie, 4, edges, has_parent, penalty=2.0)
    rule.start(1, 7, "cpu")
    base = log_p[0].tolist()
    # at the start: b starts 1 and 2, both lacking a parent; c, d start no label; SEP blocked
    got = rule.adjust(log_p)[0].tolist()
    assert got[:5] == pytest.approx([base[0], base[1] - 2, base[2] - 2, base[3] - 2, base[4]])
    assert got[5] == -math.inf and got[6] == pytest.approx(base[6])
    rule.advance(torch.tensor([0]), torch.tensor([0]))  # "a"
    got = rule.adjust(log_p)[0].tolist()  # inside a string: no penalty, no EOS, SEP allowed
    assert got[:6] == pytest.approx(base[:6]) and got[6] == -math.inf
    rule.advance(torch.tensor([0]), torch.tensor([5]))  # SEP: node 0 generated
    got = rule.adjust(log_p)[0].tolist()  # b now starts node 1, whose parent is there
    assert got[1] == pytest.approx(base[1]) and got[2] == pytest.approx(base[2] - 2)
    rule.advance(torch.tensor([0]), torch.tensor([0]))  # "a" again: its SEP is blocked
    assert rule.adjust(log_p)[0, 5] == -math.inf
    hard = SubwordLabelRule(trie, 4, edges, has_parent, penalty=math.inf)
    hard.start(1, 7, "cpu")
    assert hard.adjust(log_p)[0, 1] == -math.inf and hard.adjust(log_p)[0, 0] > -math.inf


def test_bpe_targets_spell_whole_labels_within_the_budget():
    spelled = torch.tensor([[0, 5, -1], [1, 2, 5], [1, 3, 5], [4, 5, -1]])  # with SEP (5)
    nodes = torch.tensor([[0, 1, 4, -1], [3, 2, 1, 4]])  # node ids, EOS (4), -1
    np.testing.assert_array_equal(subword_targets(nodes, spelled, 6, 5, 6).numpy(),
                                  [[0, 5, 1, 2, 5, 6, -1], [4, 5, 1, 3, 5, 6, -1]])  # 1 cut


def test_bpe_mode_fits_decodes_and_round_trips():
    texts = ["alpha beta", "gamma delta", "alpha gamma", "beta delta"] * 4
    labels = [["x"], ["y"], ["x", "y"], ["y"]] * 4
    names = {"x": "cell cycle", "y": "cell death", "A": "cycle", "B": "cell", "R": "root"}
    est = GHXMCClassifier(hierarchy=dag(), label_tokenization="bpe", label_texts=names,
                          beam_size=1, **{**TINY, "max_epochs": 40, "lr": 1e-2}).fit(texts, labels)
    nodes = est.hierarchy_index_.node_names.tolist()
    assert est.label_spellings_.shape[0] == len(nodes) == est.n_nodes_
    words = ["".join(est.subword_vocabulary_[i] for i in row if i >= 0) for row in
             est.label_spellings_]
    assert [w.replace("\u2581", " ").strip() for w in words] == [names[n] for n in nodes]
    truth = np.array([[1, 0], [0, 1], [1, 1], [0, 1]])
    learned = f1_score(truth, est.predict(texts[:4]).toarray(), average="micro")
    assert learned >= 0.85, learned  # measured 0.91: "alpha gamma" gets x, not y
    seqs = est.decode_sequences(texts[:4])
    assert all(set(s) <= set(nodes) for s in seqs) and "x" in seqs[0]
    assert est.count_invalid_labels(texts[:4]).tolist() == [0, 0, 0, 0]
    frozen = GHXMCClassifier(hierarchy=dag(), label_tokenization="bpe", label_texts=names,
                             beam_size=1, **{**TINY, "max_epochs": 1, "lr": 0.0}).fit(texts, labels)
    assert f1_score(truth, frozen.predict(texts[:4]).toarray(), average="micro") < 0.6


def test_bpe_spells_columns_by_their_own_keys():
    # fitted on a label matrix, classes_ are 0..L-1: label_texts keyed by column index
    # (as the command line passes them) spell the columns; internal nodes by name
    X = ["alpha beta", "gamma delta"] * 4
    Y = np.array([[1, 0], [0, 1]] * 4)
    h = LabelHierarchy({0: "G", 1: "G"})
    est = GHXMCClassifier(hierarchy=h, label_tokenization="bpe",
                          label_texts={0: "cell cycle", 1: "cell death", "G": "growth"},
                          **TINY).fit(X, Y)
    words = ["".join(est.subword_vocabulary_[i] for i in row if i >= 0).replace("\u2581", " ")
             .strip() for row in est.label_spellings_]
    assert words == ["cell cycle", "cell death", "growth"]
