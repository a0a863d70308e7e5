"""AttentionXML and LightAttention: trees, candidates, beam search, learning."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc.attentionxml import AttentionXMLClassifier, LightAttentionClassifier
from sklearn_xmtc.attentionxml._network import (AttentionXMLModule, CandidateLoss,
                                                LightAttentionModule)
from sklearn_xmtc.datasets import load_jsonl_dataset, make_tiny_xmtc
from sklearn_xmtc.metrics import precision_at_k
from sklearn_xmtc.nn import MultiLabelAttention, merge_candidates
from sklearn_xmtc.utils.estimator_checks import check_xmtc_estimator

TINY = dict(embedding_dim=16, hidden_size=16, linear_sizes=(16,), max_epochs=2, batch_size=16,
            max_length=32, device="cpu", random_state=0)
FAST = {**TINY, "max_epochs": 1, "max_length": 16, "batch_size": 32}
TREE = dict(flat_max_labels=4, cluster_size=2, tree_branching=2, tree_height=3, n_candidates=2)


@pytest.mark.parametrize("est", [
    AttentionXMLClassifier(**FAST),
    AttentionXMLClassifier(**FAST, **TREE),
    LightAttentionClassifier(n_clusters=3, n_sampled_clusters=2, **FAST),
    LightAttentionClassifier(n_sampled_clusters=2, negative_sampling="static", **FAST, **TREE),
], ids=["axml-flat", "axml-tree", "light-dynamic", "light-static-tree"])
def test_common_checks(est):
    check_xmtc_estimator(est)


def test_attention_gathers_candidate_rows_and_masks_padding():
    torch.manual_seed(0)
    att = MultiLabelAttention(5, 4)
    H = torch.randn(2, 3, 4)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    full = att(H, mask)  # (2, 5, 4)
    part = att(H, mask, torch.tensor([[4, 1], [0, -1]]))
    assert full.shape == (2, 5, 4) and part.shape == (2, 2, 4)
    assert torch.allclose(part[0, 0], full[0, 4]) and torch.allclose(part[1, 0], full[1, 0])
    H2 = H.clone()
    H2[0, 2] = 100.0  # a padded step changes nothing
    assert torch.allclose(att(H2, mask)[0], full[0])


def test_candidate_gradients_are_reproducible_on_two_threads(reproducible_gradient):
    # Labels repeat across the batch (and padding -1 maps to row 0): their rows' gradients
    # are sums whose order must not depend on the threads (it did with weight[candidates]).
    torch.manual_seed(0)
    att = MultiLabelAttention(50, 64)
    H, mask = torch.randn(64, 8, 64), torch.ones(64, 8, dtype=torch.bool)
    cand = torch.randint(-1, 50, (64, 200))
    grad = reproducible_gradient(lambda: att(H, mask, cand).square().sum(), att.weight)
    # and it is the gradient: row j sums d/dW_j over every place label j was gathered
    W = att.weight.detach().clone().requires_grad_()
    onehot = torch.nn.functional.one_hot(cand.clamp(min=0), 50).double()  # (B, C, L)
    alpha = torch.softmax(torch.einsum("btd,bcd->btc", H.double(), onehot @ W.double()), 1)
    torch.einsum("btc,btd->bcd", alpha, H.double()).square().sum().backward()
    assert (grad - W.grad).abs().max() <= 1e-5 * W.grad.abs().max()


def test_merge_candidates_is_a_padded_union():
    out = merge_candidates(torch.tensor([[3, 1, -1], [2, 2, 2]]), torch.tensor([[1, 5], [-1, -1]]))
    assert [sorted(r[r >= 0].tolist()) for r in out] == [[1, 3, 5], [2]]


def test_training_candidates_always_hold_the_positives():
    torch.manual_seed(0)
    ids, mask = torch.randint(1, 50, (4, 7)), torch.ones(4, 7, dtype=torch.bool)
    labels = torch.tensor([[9, 2], [7, -1], [0, 1], [11, -1]])
    children = torch.arange(12).reshape(6, 2)
    module = AttentionXMLModule(50, 12, embedding_dim=8, hidden_size=8, linear_sizes=(8,),
                                children=children)
    parents = torch.tensor([[0, 5], [1, 2], [3, -1], [4, 0]])  # mostly not the positives'
    light = LightAttentionModule(50, 12, cluster_members=children,
                                 label_cluster=torch.arange(12) // 2, n_sampled=1,
                                 embedding_dim=8, hidden_size=8, linear_sizes=(8,))
    outputs = (module(ids, mask, labels=labels, parents=parents), light(ids, mask, labels=labels))
    for out in outputs:
        cand = out["candidates"]
        assert out["embedding"].shape == (4, 16)  # max-pooled BiLSTM states (2 x 8)
        for row, pos in zip(cand.tolist(), labels.tolist()):
            assert {p for p in pos if p >= 0} <= set(row)
        loss = CandidateLoss()(out, labels)
        assert torch.isfinite(loss) and loss > 0
    # the children of the given parents are the other candidates
    cand = module(ids, mask, parents=parents)["candidates"]
    assert sorted(cand[0][cand[0] >= 0].tolist()) == [0, 1, 10, 11]


def _synthetic_50k(n=120, L=50000, seed=0):
    rng = np.random.RandomState(seed)
    words = [f"w{i}" for i in range(300)]
    X = [" ".join(rng.choice(words, 12)) for _ in range(n)]
    Y = sp.csr_matrix((np.ones(2 * n), (np.repeat(np.arange(n), 2), rng.randint(0, L, 2 * n))),
                      shape=(n, L))
    Y.data[:] = 1
    return X, Y


def test_50k_tree_beam_search_is_bounded_and_valid():
    X, Y = _synthetic_50k()
    est = AttentionXMLClassifier(**{**TINY, "max_epochs": 1, "max_length": 12},
                                 n_candidates=4, cluster_size=8, tree_branching=8)
    est.fit(X, Y)
    tree = est.label_trees_[0]
    assert est.tree_mode_ and tree.n_nodes == [1024, 8192, 50000]
    bound = 4 * max(c.shape[1] for c in tree.children)  # beam x branching
    for cand, scores in est._iter_candidate_scores(X[:40]):
        assert cand is not None and cand.shape == scores.shape
        assert cand.shape[1] <= bound < 100  # never O(L) per sample
    idx, scores = est.predict_topk(X[:40], k=10)
    assert ((idx >= 0) & (idx < 50000)).all()
    assert (np.diff(scores, axis=1) <= 1e-7).all()
    assert len({tuple(r) for r in idx.tolist()}) > 1 and all(len(set(r)) == 10 for r in idx)


@pytest.mark.parametrize("est", [
    AttentionXMLClassifier(**{**TINY, "max_epochs": 8, "lr": 1e-2}),
    LightAttentionClassifier(n_clusters=4, n_sampled_clusters=2,
                             **{**TINY, "max_epochs": 8, "lr": 1e-2}),
    LightAttentionClassifier(n_sampled_clusters=2, **{**TINY, "max_epochs": 8, "lr": 1e-2},
                             **{**TREE, "tree_height": 2}),
], ids=["axml-flat", "light-flat", "light-tree"])
def test_learns_planted_words_and_lr_zero_does_not(est):
    X, Y = make_tiny_xmtc(n_samples=300, n_labels=12, random_state=0)
    X_tr, Y_tr, X_te, Y_te = X[:200], Y[:200], X[200:], Y[200:]
    dummy = DummyXMTCClassifier().fit(X_tr, Y_tr)
    p_dummy = precision_at_k(Y_te, dummy.predict_topk(X_te, 1)[0], k=1)
    p = precision_at_k(Y_te, clone(est).fit(X_tr, Y_tr).predict_topk(X_te, 1)[0], k=1)
    frozen = clone(est).set_params(lr=0.0).fit(X_tr, Y_tr)
    p_frozen = precision_at_k(Y_te, frozen.predict_topk(X_te, 1)[0], k=1)
    assert p >= p_dummy + 0.25, (p, p_dummy)  # margin 0.25; an untrained net stays below
    assert p_frozen < p_dummy + 0.25, (p_frozen, p_dummy)


class _TopClusters(Callback):
    """Records, each epoch, the generator's top clusters for the first 8 texts."""

    def initialize(self):
        self.sets_ = []
        return self

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        X, _ = dataset_train.__getitems__(list(range(8)))
        module = net.module_.eval()
        with torch.no_grad():
            gen = module(X["input_ids"], X["attention_mask"])["cluster_logits"]
        self.sets_.append(torch.topk(gen, 3, dim=1).indices.sort(1).values.tolist())
        module.train()


def test_dynamic_negatives_move_while_the_generator_trains():
    X, Y = make_tiny_xmtc(n_samples=200, n_labels=16, random_state=0)
    est = LightAttentionClassifier(n_clusters=8, n_sampled_clusters=3, callbacks=[_TopClusters()],
                                   **{**TINY, "max_epochs": 5, "lr": 1e-2}).fit(X, Y)
    sets = dict(est.net_.callbacks_)["user_0__TopClusters"].sets_
    assert len(sets) == 5
    assert any(sets[i] != sets[i + 1] for i in range(4))  # sampled clusters change
    frozen = clone(est).set_params(lr=0.0).fit(X, Y)
    fixed = dict(frozen.net_.callbacks_)["user_0__TopClusters"].sets_
    assert all(s == fixed[0] for s in fixed)  # no learning: static samples


@pytest.fixture(scope="module")
def reuters(shared_data):
    data = load_jsonl_dataset(shared_data / "reuters21578", max_samples=1500)
    X_te, Y_te = data.X_test[:400], data.Y_test[:400]
    dummy = DummyXMTCClassifier().fit(data.X_train, data.Y_train)
    return data, X_te, Y_te, precision_at_k(Y_te, dummy.predict_topk(X_te, 1)[0], k=1)


REAL = dict(embedding_dim=64, hidden_size=48, linear_sizes=(64,), max_length=64, batch_size=32,
            max_epochs=6, lr=1e-2, dropout=0.2, device="cpu", random_state=0)
REAL_TREE = dict(flat_max_labels=10, cluster_size=4, tree_height=2, n_candidates=6)


# The default run learns with one flat and one tree model (each code path of the other
# two is covered by the tiny tests); the other two (72 s and 36 s on the CI machine) are slow.
@pytest.mark.parametrize("est", [
    AttentionXMLClassifier(**REAL),
    pytest.param(AttentionXMLClassifier(**REAL, **REAL_TREE), marks=pytest.mark.slow),
    pytest.param(LightAttentionClassifier(n_sampled_clusters=6, **REAL), marks=pytest.mark.slow),
    LightAttentionClassifier(n_sampled_clusters=4, **REAL, **REAL_TREE),
], ids=["axml-flat", "axml-tree", "light-flat", "light-tree"])
def test_beats_dummy_on_a_real_reuters_slice(reuters, est):
    data, X_te, Y_te, p_dummy = reuters
    est.fit(data.X_train, data.Y_train)
    assert est.tree_mode_ == ("flat_max_labels" in est.get_params() and est.flat_max_labels == 10)
    p = precision_at_k(Y_te, est.predict_topk(X_te, 1)[0], k=1)
    # 15-30 s each on one CPU thread; require a 0.15 P@1 margin over the dummy
    assert p >= p_dummy + 0.15, (p, p_dummy)


def test_lr_zero_fails_the_learning_criterion(reuters):
    data, X_te, Y_te, p_dummy = reuters
    est = AttentionXMLClassifier(**{**REAL, "lr": 0.0, "max_epochs": 1}, **REAL_TREE)
    p = precision_at_k(Y_te, est.fit(data.X_train, data.Y_train).predict_topk(X_te, 1)[0], k=1)
    assert p < p_dummy + 0.15, (p, p_dummy)


def test_ensemble_of_trees_averages_scores_and_static_is_levelwise():
    X, Y = make_tiny_xmtc(n_samples=120, n_labels=10, random_state=0)
    one = AttentionXMLClassifier(**TINY, **TREE).fit(X, Y)
    two = AttentionXMLClassifier(n_trees=2, **TINY, **TREE).fit(X, Y)
    assert len(two.tree_nets_) == 2 and len(two.tree_nets_[0]) == two.label_trees_[0].height
    assert not all(np.array_equal(a, b) for a, b in
                   zip(two.label_trees_[0].node_of_label, two.label_trees_[1].node_of_label))
    idx, scores = two.predict_topk(X[:5], k=4)
    assert ((idx >= -1) & (idx < 10)).all() and (np.diff(scores, axis=1) <= 1e-7).all()
    assert (idx[:, :2] >= 0).all()
    assert not np.array_equal(one.predict_proba(X[:5]), two.predict_proba(X[:5]))
    static = LightAttentionClassifier(n_clusters=3, n_sampled_clusters=2,
                                      negative_sampling="static", **TINY).fit(X, Y)
    assert len(static.tree_nets_[0]) == 2 and static.n_clusters_ == 3


def test_bad_parameters_give_clear_errors():
    X, Y = make_tiny_xmtc(n_samples=40, n_labels=6, random_state=0)
    with pytest.raises(ValueError, match="power of two"):
        AttentionXMLClassifier(**TINY, **{**TREE, "tree_branching": 6}).fit(X, Y)
    with pytest.raises(ValueError, match="negative_sampling"):
        LightAttentionClassifier(negative_sampling="random", **TINY).fit(X, Y)
    with pytest.raises(ValueError, match="linear_sizes"):
        AttentionXMLClassifier(**{**TINY, "linear_sizes": (0,)}).fit(X, Y)


class _Snapshots(Callback):
    """Copies of the module's parameters at the end of every epoch."""

    def initialize(self):
        self.snaps_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.snaps_.append([p.detach().clone() for p in net.module_.parameters()])


@pytest.mark.parametrize("cls", [AttentionXMLClassifier, LightAttentionClassifier])
def test_swa_weights_are_the_mean_of_the_epoch_snapshots(cls):
    X, Y = make_tiny_xmtc(n_samples=120, n_labels=8, random_state=0)
    extra = {"n_clusters": 3, "n_sampled_clusters": 2} if cls is LightAttentionClassifier else {}
    params = {**TINY, **extra, "max_epochs": 4, "lr": 1e-2, "callbacks": [_Snapshots()]}
    est = cls(swa_start=2, **params).fit(X, Y)
    snaps = dict(est.net_.callbacks_)["user_0__Snapshots"].snaps_
    assert len(snaps) == 4
    assert est.net_.history[:, "swa_n"] == [1, 2, 3]  # epochs 2, 3, 4 averaged
    final = [p.detach() for p in est.net_.module_.parameters()]
    moved = 0
    for i, p in enumerate(final):
        mean = torch.stack([s[i] for s in snaps[1:]]).mean(0)
        assert torch.allclose(p, mean, atol=1e-6)
        moved += not torch.allclose(snaps[-1][i], mean)
    assert moved > 0  # the average differs from the last epoch's weights
    plain = cls(**params).fit(X, Y)  # no averaging: the last epoch's weights
    last = dict(plain.net_.callbacks_)["user_0__Snapshots"].snaps_[-1]
    assert all(torch.equal(p.detach(), q) for p, q in zip(plain.net_.module_.parameters(), last))
    with pytest.raises(ValueError, match="swa_start"):
        cls(swa_start=0, **params).fit(X, Y)


def test_user_checkpoints_in_tree_mode_keep_one_file_set_per_level(tmp_path):
    from skorch.callbacks import Checkpoint, LoadInitState

    X, Y = make_tiny_xmtc(n_samples=120, n_labels=8, random_state=0)
    params = dict(embedding_dim=8, hidden_size=8, linear_sizes=(8,), max_length=32,
                  flat_max_labels=4, cluster_size=2, tree_height=2, n_candidates=2,
                  max_epochs=1, device="cpu", random_state=0)
    cp = Checkpoint(monitor=None, dirname=str(tmp_path), f_optimizer=None, f_criterion=None)
    est = AttentionXMLClassifier(callbacks=[cp], **params).fit(X, Y)
    assert cp.fn_prefix == ""  # the estimator's parameter is left as given
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["tree0_level0_history.json", "tree0_level0_params.pt",
                     "tree0_level1_history.json", "tree0_level1_params.pt"]
    for level, net in enumerate(est.tree_nets_[0]):  # each file is its own level's weights
        saved = torch.load(tmp_path / f"tree0_level{level}_params.pt")
        assert torch.equal(saved["attention.weight"], net.module_.attention.weight.cpu())
    # a fresh fit that starts from the checkpoints: each level loads its own file (used to
    # crash with a state_dict size mismatch); lr=0 keeps the loaded weights as they are
    again = AttentionXMLClassifier(callbacks=[LoadInitState(cp)], lr=0.0, **params).fit(X, Y)
    for a, b in zip(est.tree_nets_[0], again.tree_nets_[0]):
        assert torch.equal(a.module_.attention.weight, b.module_.attention.weight)
