"""HybridXMTCClassifier: TF-IDF beside an encoder's embedding, one linear ranker."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import Normalizer

pytest.importorskip("liblinear", reason="needs the `linear` extra")

from sklearn_xmtc.datasets import load_dataset, make_tiny_xmtc  # noqa: E402
from sklearn_xmtc.hybrid import HybridXMTCClassifier  # noqa: E402
from sklearn_xmtc.linear import LinearXMTCClassifier  # noqa: E402
from sklearn_xmtc.metrics import precision_at_k  # noqa: E402
from sklearn_xmtc.text import FrozenTextEncoder  # noqa: E402
from sklearn_xmtc.xmlcnn import XMLCNNClassifier  # noqa: E402


def tiny_cnn(**kw):
    return XMLCNNClassifier(**{**dict(embedding_dim=16, n_filters=8, hidden_size=16,
                                      max_epochs=2, batch_size=16, max_length=32,
                                      device="cpu", random_state=0, verbose=0), **kw})


class FoldRecorder(TransformerMixin, BaseEstimator):
    """An encoder that remembers what it was fitted on; its embedding of a text is
    (length of the text, number of texts fitted on), so a row shows which fit embedded it."""

    fits = []

    def fit(self, X, y=None):
        self.n_fit_ = len(X)
        FoldRecorder.fits.append(len(X))
        return self

    def transform(self, X):
        return np.array([[len(t), self.n_fit_] for t in X], dtype=np.float32)


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_xmtc(n_samples=120, n_labels=6, random_state=0)


def test_rows_stack_unit_tfidf_beside_the_weighted_unit_embedding(tiny):
    X, Y = tiny
    est = HybridXMTCClassifier(FoldRecorder(), embedding_weight=0.5).fit(X, Y)
    F = est._rows(est.vectorizer_, est.encoder_.transform(X[:5]), X[:5], 0.5)
    n_tfidf = len(est.vectorizer_.vocabulary_)
    assert F.shape == (5, n_tfidf + 2) and sp.issparse(F)
    assert np.allclose(sp.linalg.norm(F[:, :n_tfidf], axis=1), 1.0)
    emb = F[:, n_tfidf:].toarray()
    assert np.allclose(np.linalg.norm(emb, axis=1), 0.5)
    Z = est.encoder_.transform(X[:5])
    assert np.allclose(emb, 0.5 * Z / np.linalg.norm(Z, axis=1, keepdims=True))
    assert est.ranker_.vectorizer is None and est.ranker_.n_features_in_ == n_tfidf + 2
    no_emb = HybridXMTCClassifier(FoldRecorder(), embedding_weight=0).fit(X, Y)
    assert no_emb.ranker_.n_features_in_ == n_tfidf
    only_emb = HybridXMTCClassifier(FoldRecorder(), use_tfidf=False).fit(X, Y)
    assert only_emb.vectorizer_ is None and only_emb.ranker_.n_features_in_ == 2


def test_n_jobs_reaches_the_ranker_and_changes_nothing_else(tiny):
    X, Y = tiny
    one = HybridXMTCClassifier(FoldRecorder(), embedding_weight=0.5).fit(X, Y)
    two = HybridXMTCClassifier(FoldRecorder(), embedding_weight=0.5, n_jobs=2).fit(X, Y)
    assert one.ranker_.n_jobs is None and two.ranker_.n_jobs == 2
    assert (one.ranker_.coef_ != two.ranker_.coef_).nnz == 0
    kept = HybridXMTCClassifier(FoldRecorder(), ranker=LinearXMTCClassifier(n_jobs=3)).fit(X, Y)
    assert kept.ranker_.n_jobs == 3  # None keeps the ranker's own


def test_cv_gives_out_of_fold_embeddings(tiny):
    X, Y = tiny
    FoldRecorder.fits = []
    est = HybridXMTCClassifier(FoldRecorder(), cv=3).fit(X, Y)
    assert FoldRecorder.fits == [120, 80, 80, 80]  # encoder_ on all, then one per fold
    assert est.encoder_.n_fit_ == 120
    FoldRecorder.fits = []
    HybridXMTCClassifier(FoldRecorder()).fit(X, Y)
    assert FoldRecorder.fits == [120]


def test_the_pipeline_recipe_is_the_same_model(tiny):
    X, Y = tiny
    est = HybridXMTCClassifier(tiny_cnn(), embedding_weight=0.5).fit(X, Y)
    pipe = Pipeline([
        ("features", FeatureUnion([("tfidf", LinearXMTCClassifier().make_vectorizer()),
                                   ("emb", make_pipeline(tiny_cnn(), Normalizer()))],
                                  transformer_weights={"emb": 0.5})),
        ("linear", LinearXMTCClassifier(vectorizer=None))]).fit(X, Y)
    a_idx, a_s = est.predict_topk(X, k=3)
    b_idx, b_s = pipe[-1].predict_topk(pipe[:-1].transform(X), k=3)  # scorers do this
    assert np.array_equal(a_idx, b_idx) and np.allclose(a_s, b_s, atol=1e-5)


def test_fusion_mixes_the_encoders_scores(tiny):
    X, Y = tiny
    enc = tiny_cnn().fit(X, Y)
    alone_idx, alone_s = enc.predict_topk(X, k=3)
    full = HybridXMTCClassifier(enc, refit_encoder=False, fusion_weight=1.0,
                                fusion_candidates=6).fit(X, Y)
    assert full.encoder_ is enc  # used as it is
    idx, s = full.predict_topk(X, k=3)
    assert np.array_equal(idx, alone_idx) and np.allclose(s, alone_s, atol=1e-6)
    ranker = HybridXMTCClassifier(enc, refit_encoder=False).fit(X, Y)
    half = HybridXMTCClassifier(enc, refit_encoder=False, fusion_weight=0.5,
                                fusion_candidates=6).fit(X, Y)
    expected = 0.5 * ranker.predict_proba(X) + 0.5 * enc.predict_proba(X)
    assert np.allclose(half.predict_proba(X), expected, atol=1e-5)
    auto = HybridXMTCClassifier(enc, refit_encoder=False, fusion_weight="auto",
                                fusion_grid=(0.0, 0.5)).fit(X, Y)
    assert set(auto.fusion_scores_) == {0.0, 0.5}
    assert auto.fusion_weight_ == max(auto.fusion_scores_, key=auto.fusion_scores_.get)


def test_encoder_names_and_bad_encoders(tiny, tmp_path):
    X, Y = tiny
    est = HybridXMTCClassifier("xmlcnn")
    assert isinstance(est._encoder_template(), XMLCNNClassifier)
    assert est._encoder_template().max_epochs == 6  # the registry's demo parameters
    assert isinstance(HybridXMTCClassifier(tmp_path)._encoder_template(), FrozenTextEncoder)
    with pytest.raises(ValueError, match="neither 'minilm', a registry name"):
        HybridXMTCClassifier("no-such-encoder").fit(X, Y)
    with pytest.raises(ValueError, match="cannot be its own encoder"):
        HybridXMTCClassifier("hybrid").fit(X, Y)
    with pytest.raises(ValueError, match="no transform"):
        HybridXMTCClassifier("dummy").fit(X, Y)
    with pytest.raises(ValueError, match="needs an encoder with predict_topk"):
        HybridXMTCClassifier(FoldRecorder(), fusion_weight=0.3).fit(X, Y)
    with pytest.raises(ValueError, match="no feature at all"):
        HybridXMTCClassifier(FoldRecorder(), use_tfidf=False, embedding_weight=0).fit(X, Y)
    with pytest.raises(NotFittedError):
        HybridXMTCClassifier(tiny_cnn(), refit_encoder=False).fit(X, Y)
    with pytest.raises(ValueError, match="encoder"):
        HybridXMTCClassifier(object()).fit(X, Y)


def test_hybrid_beats_its_encoder_on_a_cooking_slice(shared_data):
    """On 3000 cooking questions the hybrid over a briefly trained XML-CNN beats the
    XML-CNN alone by far, and loses most of that without its TF-IDF block."""
    data = load_dataset(str(shared_data / "cooking"))
    X_tr, Y_tr = data.X_train[:3000], data.Y_train[:3000]
    X_te, Y_te = data.X_test[:600], data.Y_test[:600]
    enc = tiny_cnn(embedding_dim=32, n_filters=16, hidden_size=64, max_epochs=3,
                   batch_size=64, lr=1e-2).fit(X_tr, Y_tr)

    def p1(model):
        return precision_at_k(Y_te, model.predict_topk(X_te, k=1)[0], k=1)

    hybrid = HybridXMTCClassifier(enc, refit_encoder=False).fit(X_tr, Y_tr)
    no_tfidf = HybridXMTCClassifier(enc, refit_encoder=False, use_tfidf=False).fit(X_tr, Y_tr)
    p_enc, p_hyb, p_no = p1(enc), p1(hybrid), p1(no_tfidf)
    # measured: hybrid 0.682, XML-CNN alone 0.105, the hybrid without TF-IDF 0.127
    assert p_hyb > p_enc + 0.3, (p_hyb, p_enc)
    assert p_hyb > p_no + 0.3, (p_hyb, p_no)


class Counter(TransformerMixin, BaseEstimator):
    """A fitted encoder that counts the texts it embeds; its embedding of a text is the
    label it was given by ``truth`` (one-hot), so the embedding block alone is perfect."""

    def __init__(self, truth=None):
        self.truth = truth

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        self.n_embedded_ = getattr(self, "n_embedded_", 0) + len(X)
        return np.stack([self.truth[t] for t in X]).astype(np.float32)

    def __sklearn_is_fitted__(self):
        return True


def test_param_grid_chooses_on_a_validation_split_and_refits(tiny):
    X, Y = tiny
    rng = np.random.RandomState(0)
    # texts of random words: TF-IDF knows nothing; the embedding is the first label
    noise = [" ".join(rng.choice(["ab", "cd", "ef", "gh", "ij"], 6)) + f" t{i}"
             for i in range(len(X))]
    first = Y.toarray().argmax(1)
    enc = Counter({t: np.eye(Y.shape[1])[first[i]] for i, t in enumerate(noise)})
    grid = {"embedding_weight": [0.0, 1.0], "ranker__analyzer": ["word", "word+char_wb"]}
    est = HybridXMTCClassifier(enc, refit_encoder=False, param_grid=grid,
                               embedding_weight=0.0).fit(noise, Y)
    assert [r["params"] for r in est.validation_results_] == [
        {"embedding_weight": 0.0, "ranker__analyzer": "word"},
        {"embedding_weight": 0.0, "ranker__analyzer": "word+char_wb"},
        {"embedding_weight": 1.0, "ranker__analyzer": "word"},
        {"embedding_weight": 1.0, "ranker__analyzer": "word+char_wb"}]
    scores = [r["ndcg@5"] for r in est.validation_results_]
    assert max(scores[2:]) > max(scores[:2]) + 0.1  # the embedding is what knows the labels
    assert est.best_params_ == est.validation_results_[int(np.argmax(scores))]["params"]
    assert est.embedding_weight_ == 1.0 and est.embedding_weight == 0.0  # params untouched
    assert est.ranker_.analyzer == est.best_params_["ranker__analyzer"]
    assert est.ranker_.n_samples_fit_ == len(X)  # refitted on every text
    assert enc.n_embedded_ == len(X)  # a fixed encoder embeds each text once for it all
    assert precision_at_k(Y, est.predict_topk(noise, k=1)[0], k=1) > 0.9
    plain = HybridXMTCClassifier(FoldRecorder()).fit(X, Y)
    assert plain.best_params_ == {} and plain.validation_results_ is None


def test_param_grid_with_a_trained_encoder_fits_it_on_the_fit_part(tiny):
    X, Y = tiny
    FoldRecorder.fits = []
    est = HybridXMTCClassifier(FoldRecorder(), param_grid={"ranker__C": [0.5, 2.0]},
                               validation_fraction=0.25).fit(X, Y)
    assert FoldRecorder.fits == [90, 120]  # once for the whole grid, then on everything
    assert est.ranker_.C == est.best_params_["ranker__C"] and len(est.validation_results_) == 2


@pytest.mark.parametrize("grid, match", [
    ({"encoder__max_epochs": [1, 2]}, "is not 'embedding_weight'"),
    ({"ranker__no_such": [1]}, "is not 'embedding_weight'"),
    ({"embedding_weight": []}, "non-empty list"),
    ({"embedding_weight": 0.5}, "non-empty list"),
    ({"embedding_weight": [0.0], "use_tfidf": [False]}, "no feature at all"),
    ({"embedding_weight": [0.5, -1.0]}, "must be a float >= 0"),
    ({"ranker__analyzer": ["word", "chars"]}, "analyzer"),
])
def test_bad_param_grids_are_refused_before_any_fit(tiny, grid, match):
    X, Y = tiny
    FoldRecorder.fits = []
    with pytest.raises(ValueError, match=match):
        HybridXMTCClassifier(FoldRecorder(), param_grid=grid).fit(X, Y)
    assert FoldRecorder.fits == []


def test_verbose_reaches_the_ranker_and_the_encoders_it_builds(capsys):
    X, Y = make_tiny_xmtc(n_samples=120, n_labels=6, random_state=0)
    quiet = HybridXMTCClassifier(tiny_cnn(), embedding_weight=0.5).fit(X, Y)
    assert capsys.readouterr().err == ""
    loud = HybridXMTCClassifier(tiny_cnn(), embedding_weight=0.5, verbose=1).fit(X, Y)
    assert "LIBLINEAR problems" in capsys.readouterr().err
    # a given encoder keeps its own verbose; the ranker's is raised
    assert loud.encoder_.verbose == 0 and loud.ranker_.verbose == 1
    assert np.array_equal(quiet.predict_topk(X, k=3)[0], loud.predict_topk(X, k=3)[0])
    assert HybridXMTCClassifier("xmlcnn", verbose=1)._encoder_template().verbose == 1
    assert HybridXMTCClassifier("xmlcnn")._encoder_template().verbose == 0
    from sklearn_xmtc._registry import offline_encoder

    if offline_encoder() is not None:
        assert HybridXMTCClassifier("minilm", verbose=1)._encoder_template().verbose == 1
