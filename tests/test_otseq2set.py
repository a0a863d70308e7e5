"""OTSeq2Set end to end: generated sets, learning, baselines, label texts, checks."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc._training import forward_eval, iter_eval_batches
from sklearn_xmtc.datasets import load_jsonl_dataset, make_tiny_xmtc
from sklearn_xmtc.metrics import micro_f1, xmtc_scoring
from sklearn_xmtc.otseq2set import OTSeq2SetClassifier
from sklearn_xmtc.otseq2set._network import order_labels
from sklearn_xmtc.utils.estimator_checks import check_xmtc_estimator

SMALL = dict(embedding_dim=32, hidden_size=32, encoder_layers=1, lightconv_heads=4,
             lightconv_kernels=(3, 7), max_length=64, batch_size=32, device="cpu",
             random_state=0)


@pytest.fixture(scope="module")
def tiny():
    X, Y = make_tiny_xmtc(n_samples=400, n_labels=12, random_state=0)
    return X[:300], Y[:300], X[300:], Y[300:]


@pytest.fixture(scope="module")
def fitted(tiny):
    return OTSeq2SetClassifier(max_epochs=15, lr=3e-3, **SMALL).fit(tiny[0], tiny[1])


def _sequences(est, X):
    """Greedy label sequences (n, N) straight from the network."""
    dataset = est._make_dataset(X)
    return torch.cat([forward_eval(est.net_, Xb)["sequence"]
                      for Xb in iter_eval_batches(est.net_, dataset)])


def test_learns_planted_words_and_lr_zero_does_not(tiny, fitted):
    X_tr, Y_tr, X_te, Y_te = tiny
    dummy = micro_f1(Y_te, DummyXMTCClassifier().fit(X_tr, Y_tr).predict(X_te))
    learned = micro_f1(Y_te, fitted.predict(X_te))
    frozen = OTSeq2SetClassifier(max_epochs=1, lr=0.0, **SMALL).fit(X_tr, Y_tr)
    # measured: dummy 0.45, OTSeq2Set 0.81, lr=0 0.15; require a 0.25 margin
    assert learned >= dummy + 0.25, (learned, dummy)
    assert micro_f1(Y_te, frozen.predict(X_te)) < dummy + 0.25


def test_generated_sets_vary_in_size_and_never_repeat_a_label(tiny, fitted):
    X_te = tiny[2]
    pred = fitted.predict(X_te)
    sizes = np.diff(pred.indptr)
    assert len(set(sizes.tolist())) >= 2  # 1, 2 and 3-label texts get different sets
    seq = _sequences(fitted, X_te)  # (n, N)
    L = fitted.n_labels_
    assert seq.shape == (len(X_te), fitted.max_labels_)
    for row in seq.tolist():
        labels = [y for y in row if y != L]
        assert len(labels) == len(set(labels))
    # matching="all": the set is every non-empty generated label
    assert np.array_equal(sizes, (seq != L).sum(1).numpy())
    # a label of the generated set is in the top-|set| ranking of predict_topk
    idx, _ = fitted.predict_topk(X_te, k=L)
    assert all(set(pred[i].indices) <= set(idx[i]) for i in range(len(X_te)))


def test_decoding_stops_at_the_empty_label_for_first_n_and_mle(tiny, monkeypatch):
    X_tr, Y_tr = tiny[0][:64], tiny[1][:64]
    L = Y_tr.shape[1]
    seq = torch.tensor([[3, L, 5], [L, 2, 4], [1, 2, 7]])  # greedy outputs, forced
    import sklearn_xmtc._generative as mod
    monkeypatch.setattr(mod, "forward_eval", lambda net, X: {
        "sequence": seq[: len(X["input_ids"])],
        "log_probs": torch.zeros(len(X["input_ids"]), 3, L + 1)})
    expected = {"first_n": [[3], [], [1, 2, 7]], "all": [[3, 5], [2, 4], [1, 2, 7]]}
    for params, key in ((dict(matching="first_n"), "first_n"), (dict(loss="mle"), "first_n"),
                        (dict(matching="all"), "all")):
        est = OTSeq2SetClassifier(max_epochs=1, max_labels=3, **params, **SMALL)
        pred = est.fit(X_tr, Y_tr).predict(["a", "b", "c"])
        assert [sorted(r.indices.tolist()) for r in pred] == expected[key], params


def test_trained_decoder_emits_the_empty_label(tiny, fitted):
    seq = _sequences(fitted, tiny[2])  # N = 3 steps, texts have 1 to 3 labels
    assert (seq == fitted.n_labels_).any(1).float().mean() > 0.25


def test_beats_dummy_on_a_real_cooking_slice(shared_data):
    data = load_jsonl_dataset(shared_data / "cooking", max_samples=1200)
    X_te, Y_te = data.X_test[:400], data.Y_test[:400]
    dummy = micro_f1(Y_te, DummyXMTCClassifier().fit(data.X_train, data.Y_train).predict(X_te))
    est = OTSeq2SetClassifier(max_epochs=5, lr=1e-2, matching="first_n",
                              **{**SMALL, "max_length": 24})
    f1 = micro_f1(Y_te, est.fit(data.X_train, data.Y_train).predict(X_te))
    # measured: dummy 0.079, OTSeq2Set 0.177; require a 0.07 margin
    assert f1 >= dummy + 0.07, (f1, dummy)


COOKING = dict(embedding_dim=64, hidden_size=64, encoder_layers=1, lightconv_kernels=(3, 7, 15),
               lightconv_heads=8, max_labels=5, max_epochs=5, lr=5e-3, max_length=64,
               device="cpu", random_state=0)


@pytest.mark.slow  # 212 s on the 2-core CI machine: the ablation, kept out of the default run
def test_matching_beats_the_mle_baselines_on_a_real_cooking_slice(shared_data):
    """Paper 002's claim at CPU scale: the set losses beat Seq2Seq and MLC2Seq (teacher-forced
    MLE in a fixed label order) trained the same way on 3,000 cooking questions."""
    data = load_jsonl_dataset(shared_data / "cooking", max_samples=3000)
    X_te, Y_te = data.X_test[:1000], data.Y_test[:1000]

    def f1(**params):
        est = OTSeq2SetClassifier(**COOKING, **params).fit(data.X_train, data.Y_train)
        return micro_f1(Y_te, est.predict(X_te))

    seq2seq = f1(loss="mle", label_order="given", use_lightconv=False)
    mlc2seq = f1(loss="mle", label_order="frequency", use_lightconv=False)
    bm = f1(ot_weight=0.0, use_lightconv=False)
    complete = f1()  # BM + OT + LC
    dummy = micro_f1(Y_te, DummyXMTCClassifier().fit(data.X_train, data.Y_train).predict(X_te))
    # measured (seeds 0 / 1): Seq2Seq .305/.298, MLC2Seq .310/.308, BM .341/.348,
    # BM+OT+LC .329/.335, dummy .086
    mle = max(seq2seq, mlc2seq)
    assert bm >= mle + 0.02, (bm, seq2seq, mlc2seq)
    assert complete >= mle + 0.01, (complete, seq2seq, mlc2seq)
    assert complete >= dummy + 0.2, (complete, dummy)


def test_mle_targets_follow_the_label_order():
    labels = torch.tensor([[0, 2, 3], [1, -1, -1]])
    rank = torch.tensor([3, 0, 1, 2])  # label 1 most frequent, then 2, 3, 0
    assert order_labels(labels, rank).tolist() == [[2, 3, 0], [1, -1, -1]]
    assert order_labels(labels, None).tolist() == labels.tolist()


def test_frequency_order_rank_and_teacher_targets(tiny):
    X_tr, Y_tr = tiny[0][:100], tiny[1][:100]
    est = OTSeq2SetClassifier(max_epochs=1, loss="mle", label_order="frequency",
                              use_lightconv=False, **SMALL).fit(X_tr, Y_tr)
    rank = est.net_.module_.label_rank.numpy()
    assert np.array_equal(np.argsort(rank), np.argsort(-est.label_frequencies_, kind="stable"))
    X = {"input_ids": torch.ones(1, 4, dtype=torch.long),
         "attention_mask": torch.ones(1, 4, dtype=torch.bool),
         "labels": torch.tensor([[int(np.argsort(rank)[2]), int(np.argsort(rank)[0]), -1]])}
    seq = forward_eval(est.net_, X)["sequence"]
    L = est.n_labels_
    assert seq.tolist() == [[int(np.argsort(rank)[0]), int(np.argsort(rank)[2]), L, -1]]


def test_label_texts_initialise_label_embeddings(tiny):
    X_tr, Y_tr = tiny[0][:100], tiny[1][:100]
    texts = {0: "lab0w0 lab0w1", 1: "lab1w0 unknownword"}
    est = OTSeq2SetClassifier(max_epochs=1, lr=0.0, dropout=0.0, label_texts=texts,
                              **SMALL).fit(X_tr, Y_tr)
    module, vocab = est.net_.module_, est.tokenizer_.get_vocab()
    tok = module.embed.embedding.weight.detach()
    lab = module.label_embed.weight.detach()
    assert torch.allclose(lab[0], (tok[vocab["lab0w0"]] + tok[vocab["lab0w1"]]) / 2, atol=1e-6)
    assert torch.allclose(lab[1], tok[vocab["lab1w0"]], atol=1e-6)  # unknown word skipped
    # a label missing from label_texts uses its name: "2" is no token -> random row kept
    rand = OTSeq2SetClassifier(max_epochs=1, lr=0.0, **SMALL).fit(X_tr, Y_tr)
    assert torch.equal(lab[2], rand.net_.module_.label_embed.weight.detach()[2])


def test_baselines_and_ablations_fit(tiny):
    X_tr, Y_tr, X_te, _ = tiny
    for params in (dict(use_lightconv=False, ot_weight=0.0), dict(bottleneck_size=8),
                   dict(loss="mle", label_order="frequency", use_lightconv=False)):
        est = OTSeq2SetClassifier(max_epochs=1, **params, **SMALL).fit(X_tr[:64], Y_tr[:64])
        assert est.predict(X_te[:5]).shape == (5, Y_tr.shape[1])
    assert est.net_.module_.lightconv is None


def test_gridsearch_over_loss_weights(tiny):
    X, Y = tiny[0][:96], tiny[1][:96]
    search = GridSearchCV(OTSeq2SetClassifier(max_epochs=1, **SMALL),
                          {"ot_weight": [0.0, 8.0]}, cv=KFold(2),
                          scoring=xmtc_scoring(["precision_at_1", "micro_f1"]),
                          refit="micro_f1").fit(X, Y)
    means = search.cv_results_["mean_test_micro_f1"]
    assert search.best_score_ == means.max()
    assert search.best_params_ == search.cv_results_["params"][int(np.argmax(means))]
    best = search.best_estimator_
    assert best.ot_weight == search.best_params_["ot_weight"] and best.n_samples_fit_ == len(X)


def test_bad_parameters_give_clear_errors(tiny):
    X, Y = tiny[0][:40], tiny[1][:40]
    est = OTSeq2SetClassifier(max_epochs=1, **SMALL)
    with pytest.raises(ValueError, match="lightconv_heads"):
        clone(est).set_params(lightconv_heads=5).fit(X, Y)
    with pytest.raises(ValueError, match="lightconv_kernels"):
        clone(est).set_params(lightconv_kernels=()).fit(X, Y)
    with pytest.raises(ValueError, match="matching"):
        clone(est).set_params(matching="greedy").fit(X, Y)
    with pytest.raises(ValueError, match="loss"):
        clone(est).set_params(loss="bce").fit(X, Y)


def test_common_checks():
    check_xmtc_estimator(OTSeq2SetClassifier(
        embedding_dim=8, hidden_size=8, encoder_layers=1, lightconv_heads=2,
        lightconv_kernels=(3,), max_labels=3, max_epochs=1, batch_size=16, max_length=16,
        device="cpu", random_state=0))


def test_a_diverged_fit_stops_before_the_matching_loss_crashes(tiny):
    """lr=1e6 used to crash inside scipy ("matrix contains invalid numeric entries")."""
    from sklearn_xmtc.exceptions import DivergenceError

    X, Y = tiny[0][:64], tiny[1][:64]
    for lr in (1e6, 1e12):
        with pytest.raises(DivergenceError, match=r"Training diverged at epoch \d+, batch \d+"):
            OTSeq2SetClassifier(max_epochs=3, lr=lr, gradient_clip=None, **SMALL).fit(X, Y)
    est = OTSeq2SetClassifier(max_epochs=1, **SMALL).fit(X, Y)
    with torch.no_grad():
        est.net_.module_.out.weight[0] = float("nan") if not isinstance(
            est.net_.module_.out, torch.nn.Sequential) else est.net_.module_.out[-1].weight[0]
    with pytest.raises(ValueError, match="NaN scores"):
        est.predict(X[:3])
