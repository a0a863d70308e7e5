"""The shared pieces a method composes, used by a method other than the ones they came from."""

from numbers import Integral

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from sklearn_xmtc._generative import GenerativeSetMixin
from sklearn_xmtc._neural import BaseNeuralXMTCClassifier
from sklearn_xmtc._training import TokenDataset, forward_eval, iter_eval_batches
from sklearn_xmtc._vocabulary import TrainedVocabularyMixin
from sklearn_xmtc.datasets import make_tiny_xmtc
from sklearn_xmtc.nn import SetDecoderMixin, pool_states
from sklearn_xmtc.nn._set_losses import sequence_nll_loss
from sklearn_xmtc.otseq2set import OTSeq2SetClassifier


class _BagDecoder(SetDecoderMixin, nn.Module):
    """Mean token embedding -> a GRU cell run for N greedy steps over L labels + ∅."""

    def __init__(self, vocab, n_labels, dim=16, steps=3, forbidden=None):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.labels = nn.Embedding(n_labels + 2, dim)
        self.cell = nn.GRUCell(dim, dim)
        self.out = nn.Linear(dim, n_labels + 1)
        self.n_labels, self.steps, self.forbidden = n_labels, steps, forbidden

    def step_mask(self, step, used, prev):
        mask = super().step_mask(step, used, prev)
        if self.forbidden is not None:  # a constraint a method may add: never this label
            mask = mask.clone()
            mask[:, self.forbidden] = True
        return mask

    def forward(self, input_ids, attention_mask, labels=None):
        w = attention_mask.unsqueeze(-1).float()
        h = (self.embed(input_ids) * w).sum(1) / w.sum(1)  # (B, d)

        def step(state, prev):
            state = self.cell(self.labels(prev), state)
            return torch.log_softmax(self.out(state), 1), state
        log_probs, seq = self.greedy_decode(step, h, self.steps, self.n_labels, self.n_labels + 1)
        return {"log_probs": log_probs, "sequence": seq, "embedding": h}


class _SetLoss(nn.Module):
    """Likelihood of the labels in their given order, then ∅, at the N generated steps."""

    def forward(self, output, y):
        B, N = output["sequence"].shape
        L = output["log_probs"].shape[2] - 1
        targets = torch.full((B, N), -1, dtype=torch.long)
        y = y[:, :N]
        n = (y >= 0).sum(1)
        targets[:, : y.shape[1]] = y
        rows = torch.nonzero(n < N).squeeze(1)
        targets[rows, n[rows]] = L
        return sequence_nll_loss(output["log_probs"], targets)


class TinyGenerativeClassifier(GenerativeSetMixin, TrainedVocabularyMixin,
                               BaseNeuralXMTCClassifier):
    """A second generative method: the shared mixins, none of OTSeq2Set's parameters."""

    _target = "indices"
    _parameter_constraints = {
        **BaseNeuralXMTCClassifier._parameter_constraints,
        **TrainedVocabularyMixin._parameter_constraints,
        "steps": [Interval(Integral, 1, None, closed="left")],
        "forbidden": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(self, *, steps=3, forbidden=None, max_epochs=20, batch_size=32, lr=1e-2,
                 device="cpu", random_state=0, verbose=0, validation_fraction=None,
                 patience=None, tokenizer=None, tokenizer_type="word", max_vocab_size=5000,
                 min_frequency=1, lowercase=True, max_length=32, embeddings=None,
                 freeze_embeddings=False, threshold=0.5, callbacks=None, keep_optimizer=False, propensity_a=0.55,
                 propensity_b=1.5):
        for name, value in list(locals().items()):
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    def _build_module(self):
        return _BagDecoder(self.vocab_size_, self.n_labels_, steps=self.steps,
                           forbidden=self.forbidden)

    def _build_criterion(self):
        return _SetLoss()


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_xmtc(n_samples=300, n_labels=6, labels_per_sample=(1, 2), random_state=0)


def test_a_second_generative_method_inherits_the_generated_set_contract(tiny):
    X, Y = tiny
    est = TinyGenerativeClassifier().fit(X, Y)
    assert not set(est.get_params()) & (set(OTSeq2SetClassifier().get_params())
                                        - set(BaseNeuralXMTCClassifier._parameter_constraints)
                                        - set(TrainedVocabularyMixin._parameter_constraints))
    pred = est.predict(X[:100])
    seq = torch.cat([forward_eval(est.net_, b)["sequence"]
                     for b in iter_eval_batches(est.net_, est._make_dataset(X[:100]))])
    for row, s in zip(pred, seq.tolist()):  # the set: the labels before the first ∅ (index L)
        expected = s[: s.index(6)] if 6 in s else s
        assert sorted(row.indices.tolist()) == sorted(expected)
    hits = sum(len(set(p.indices) & set(t.indices)) for p, t in zip(pred, Y[:100]))
    assert hits / max(pred.nnz, 1) > 0.6  # the planted words are learned
    idx, scores = est.predict_topk(X[:5], k=3)  # best probability over the steps
    log_p = torch.cat([forward_eval(est.net_, b)["log_probs"]
                       for b in iter_eval_batches(est.net_, est._make_dataset(X[:5]))])
    best = log_p[:, :, :6].exp().amax(1)
    assert np.allclose(scores, torch.sort(best, 1, descending=True).values[:, :3].numpy())


def test_the_step_mask_hook_constrains_decoding(tiny):
    X, Y = tiny
    free = TinyGenerativeClassifier(max_epochs=5).fit(X, Y)
    assert free.predict(X).getcol(0).nnz > 0  # label 0 is the most frequent one
    banned = TinyGenerativeClassifier(max_epochs=5, forbidden=0).fit(X, Y)
    assert banned.predict(X).getcol(0).nnz == 0


def test_pool_states_by_hand():
    states = torch.arange(24, dtype=torch.float32).view(2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.equal(pool_states(states, mask, "first"), states[:, 0])
    assert torch.equal(pool_states(states, mask, "last"), torch.stack([states[0, 1], states[1, 2]]))
    assert torch.equal(pool_states(states, mask, "mean"),
                       torch.stack([states[0, :2].mean(0), states[1].mean(0)]))
    with pytest.raises(ValueError, match="pooling"):
        pool_states(states, mask, "max")


def test_per_sample_fields_and_evaluation_batches():
    flat, offsets = np.arange(1, 7), np.array([0, 2, 3, 6])
    Y = np.array([[1, 0], [0, 1], [1, 1]])
    parents = np.array([[4, -1], [5, 6], [7, -1]])
    ds = TokenDataset(flat, offsets, 0, Y, target="indices", labels_in_input=True,
                      fields={"parents": parents})
    X, y = ds.__getitems__([2, 0])
    assert X["parents"].tolist() == [[7, -1], [4, -1]] and X["labels"].tolist() == [[0, 1], [0, -1]]
    assert ds.with_fields(target="dense").fields.keys() == {"parents"}
    with pytest.raises(ValueError, match="field 'parents' has 2 rows for 3 texts"):
        TokenDataset(flat, offsets, 0, fields={"parents": parents[:2]})

    class _Net:  # what iter_eval_batches reads of a skorch net
        device = "cpu"

        def get_iterator(self, dataset, training=False):
            yield dataset.__getitems__([0, 1, 2])
    (batch,) = iter_eval_batches(_Net(), ds)
    assert set(batch) == {"input_ids", "attention_mask", "parents"}  # no labels
