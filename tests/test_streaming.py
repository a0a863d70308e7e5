"""Prediction from any iterable of texts, chunk by chunk (issue 20, item 3)."""

import numpy as np
import pytest

import sklearn_xmtc._base as base
from sklearn_xmtc._registry import make_estimator
from sklearn_xmtc.datasets import make_tiny_xmtc
from sklearn_xmtc.model_selection import TunedThresholdXMTCClassifier

X, Y = make_tiny_xmtc(n_samples=80, n_labels=8, random_state=0)
CHUNK = 7  # small, so that 30 texts cross chunk and batch boundaries


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(base, "STREAM_CHUNK", CHUNK)


def _cases():
    yield "xmlcnn", make_estimator("xmlcnn", setting=0)
    yield "attentionxml-tree", make_estimator("attentionxml", setting=1)
    yield "otseq2set", make_estimator("otseq2set", setting=0)
    yield "ghxmc", make_estimator("ghxmc", setting=0)
    yield "linear", make_estimator("linear", setting=0)
    yield "tuned-dummy", TunedThresholdXMTCClassifier(make_estimator("dummy"))


@pytest.mark.parametrize("name,est", list(_cases()), ids=[n for n, _ in _cases()])
def test_a_generator_predicts_as_the_list(small_chunks, name, est):
    est.fit(X, Y)
    texts = X[:30]
    idx, scores = est.predict_topk(texts, k=3)
    g_idx, g_scores = est.predict_topk((t for t in texts), k=3)
    assert np.array_equal(idx, g_idx) and np.allclose(scores, g_scores, atol=1e-6)
    assert (est.predict(texts) != est.predict(iter(texts))).nnz == 0
    assert est.predict(iter(texts)).shape == (30, est.n_labels_)
    assert np.allclose(est.predict_proba(texts), est.predict_proba(iter(texts)), atol=1e-6)
    if hasattr(est, "transform") and name != "linear":
        assert np.allclose(est.transform(texts), est.transform(iter(texts)), atol=1e-5)
    assert est.predict_topk(iter([]), k=2)[0].shape == (0, 2)


def test_a_generator_is_read_one_chunk_at_a_time(small_chunks):
    est = make_estimator("xmlcnn", setting=0).fit(X, Y)
    drawn, seen = [0], []

    def texts():
        for t in X[:30]:
            drawn[0] += 1
            yield t

    score = est._iter_candidate_scores

    def watched(chunk, k=None):
        seen.append((len(chunk), drawn[0]))
        return score(chunk, k=k)

    est._iter_candidate_scores = watched
    est.predict_topk(texts(), k=2)
    assert [n for n, _ in seen] == [7, 7, 7, 7, 2]
    # when a chunk is scored, at most that chunk has been drawn from the generator
    assert [d for _, d in seen] == [7, 14, 21, 28, 30]


def test_a_bad_text_in_a_stream_is_named_by_its_position(small_chunks):
    est = make_estimator("dummy").fit(X, Y)
    bad = iter(X[:12] + [None] + X[:3])
    with pytest.raises(ValueError, match=r"X\[12\] is a missing value"):
        est.predict_topk(bad, k=1)
    with pytest.raises(TypeError, match=r"X\[9\] must be a str"):
        est.predict(t for t in X[:9] + [3.0])


def test_a_feature_matrix_is_cut_into_row_chunks(small_chunks):
    from sklearn.feature_extraction.text import TfidfVectorizer

    F = TfidfVectorizer().fit_transform(X)
    est = make_estimator("linear", {"vectorizer": None}, setting=0).fit(F, Y)
    whole = est.predict_topk(F[:30], k=3)
    big = base.STREAM_CHUNK
    assert big == CHUNK
    base_chunks = list(est._iter_predict_chunks(F[:30]))
    assert [s for s, _ in base_chunks] == [0, 7, 14, 21, 28]
    assert np.array_equal(whole[0], np.concatenate(
        [est.predict_topk(c, k=3)[0] for _, c in base_chunks]))
