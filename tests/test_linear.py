"""LinearXMTCClassifier: TF-IDF + LIBLINEAR one-vs-rest (the `linear` extra)."""

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("liblinear", reason="needs the `linear` extra")

from sklearn.svm import LinearSVC  # noqa: E402

from sklearn_xmtc import DummyXMTCClassifier  # noqa: E402
from sklearn_xmtc.datasets import load_dataset, make_tiny_xmtc  # noqa: E402
from sklearn_xmtc.linear import LinearXMTCClassifier  # noqa: E402
from sklearn_xmtc.metrics import precision_at_k  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_xmtc(n_samples=200, n_labels=6, random_state=0)


def test_weights_are_liblinears_l2_svm_per_label(tiny):
    """Each column is the L2-loss SVM of its label (bias regularised, as LIBLINEAR's -B 1):
    scikit-learn's LinearSVC(dual=False) solves the same problem with its own LIBLINEAR."""
    X, Y = tiny
    est = LinearXMTCClassifier(tol=1e-8).fit(X, Y)
    F = est._features(X)
    for j in range(Y.shape[1]):
        y = Y[:, j].toarray().ravel() > 0
        ref = LinearSVC(C=1.0, dual=False, tol=1e-8, fit_intercept=False).fit(F, y)
        assert np.allclose(est.coef_[:, j].toarray().ravel(), ref.coef_.ravel(), atol=1e-4)
    decision = (F @ est.coef_).toarray()
    proba = est.predict_proba(X)
    assert np.allclose(proba, 1 / (1 + np.exp(-decision)), atol=1e-6)
    assert np.array_equal(est.predict(X).toarray() > 0, decision >= 0)  # threshold 0.5


def test_pruning_keeps_the_ranking_and_a_label_never_seen(tiny):
    X, Y = tiny
    full = LinearXMTCClassifier().fit(X, Y)
    pruned = LinearXMTCClassifier(prune_threshold=0.05).fit(X, Y)
    kept = np.abs(full.coef_.toarray()) > 0.05
    assert pruned.coef_.nnz == kept.sum() < full.coef_.nnz  # exactly the large weights
    a, b = full.predict_topk(X, k=1)[0], pruned.predict_topk(X, k=1)[0]
    assert (a == b).mean() > 0.9
    Y2 = sp.hstack([Y, sp.csr_matrix((Y.shape[0], 1))], format="csr")  # an empty column
    est = LinearXMTCClassifier().fit(X, Y2)
    assert est.coef_[:, -1].nnz == 0 and (est.predict_topk(X, k=1)[0] != 6).all()
    # a label never seen scores 0, last: not 0.5 (a decision value of 0) above the rest
    for est in (est, LinearXMTCClassifier(flat_max_labels=0, cluster_size=2, tree_branching=2,
                                          n_candidates=8).fit(X, Y2)):
        assert (est.predict_proba(X)[:, 6] == 0).all()
        assert (est.predict_topk(X, k=7)[0][:, -1] == 6).all()


def test_learns_on_a_reuters21578_slice(shared_data):
    data = load_dataset(str(shared_data / "reuters21578"))
    X_tr, Y_tr, X_te, Y_te = data.X_train[:3000], data.Y_train[:3000], data.X_test[:400], \
        data.Y_test[:400]
    dummy = precision_at_k(Y_te, DummyXMTCClassifier().fit(X_tr, Y_tr).predict_topk(X_te, 1)[0],
                           k=1)
    est = LinearXMTCClassifier().fit(X_tr, Y_tr)
    p1 = precision_at_k(Y_te, est.predict_topk(X_te, 1)[0], k=1)
    assert p1 > dummy + 0.3, (p1, dummy)  # measured: 0.80 against 0.435


def test_a_given_feature_matrix_is_the_same_model(tiny):
    """vectorizer=None on the TF-IDF rows the estimator would build gives its weights."""
    X, Y = tiny
    texts = LinearXMTCClassifier().fit(X, Y)
    F = texts.make_vectorizer().fit_transform(X)
    for given in (F, F.toarray()):  # sparse or dense
        est = LinearXMTCClassifier(vectorizer=None).fit(given, Y)
        assert est.vectorizer_ is None and est.n_features_in_ == F.shape[1]
        assert abs(est.coef_ - texts.coef_).max() < 1e-6
        assert np.array_equal(est.predict_topk(given, k=3)[0], texts.predict_topk(X, k=3)[0])
    assert LinearXMTCClassifier(vectorizer="passthrough").__sklearn_tags__().input_tags.sparse


def test_a_feature_matrix_estimator_rejects_bad_inputs(tiny):
    X, Y = tiny
    F = LinearXMTCClassifier().make_vectorizer().fit_transform(X)
    with pytest.raises(TypeError, match="numeric feature matrix X, got texts"):
        LinearXMTCClassifier(vectorizer=None).fit(X, Y)
    est = LinearXMTCClassifier(vectorizer=None).fit(F, Y)
    with pytest.raises(ValueError, match=f"X has 3 features, but .* fitted with {F.shape[1]}"):
        est.predict_topk(np.ones((2, 3)))
    bad = F.toarray()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearXMTCClassifier(vectorizer=None).fit(bad, Y)
    with pytest.raises(ValueError, match="power of two"):
        LinearXMTCClassifier(flat_max_labels=0, cluster_size=2, tree_branching=3).fit(X, Y)


def test_tree_scores_are_sigmoid_products_of_its_node_models(tiny):
    """A 3-level tree (4 clusters of <= 2 labels under 2 nodes): with a beam wider than
    every level, a label's score is the product of the sigmoids of its nodes' decision
    values, and each node model is the L2-SVM of its node on the texts of its parent."""
    X, Y = tiny
    est = LinearXMTCClassifier(flat_max_labels=0, cluster_size=2, tree_branching=2, n_candidates=8,
                               tol=1e-8).fit(X, Y)
    tree = est.tree_
    assert est.coef_ is None and tree.height == 3 and tree.n_labels == 6
    F = est._features(X)
    sig = [1 / (1 + np.exp(-(F @ W).toarray())) for W in est.tree_coef_]
    expected = sig[2] * sig[1][:, tree.node_of_label[1]] * sig[0][:, tree.node_of_label[0]]
    assert np.allclose(est.predict_proba(X), expected, atol=1e-5)
    # the leaf model of label 0: trained only on the texts with a label of its cluster
    cluster = tree.node_of_label[1][0]
    rows = np.flatnonzero(tree.level_targets(Y, 1)[:, cluster].toarray().ravel())
    y = Y[rows, 0].toarray().ravel() > 0
    ref = LinearSVC(C=1.0, dual=False, tol=1e-8, fit_intercept=False).fit(F[rows], y)
    assert np.allclose(est.tree_coef_[2][:, 0].toarray().ravel(), ref.coef_.ravel(), atol=1e-4)


def test_tree_learns_on_codiesp(shared_data):
    data = load_dataset(str(shared_data / "codiesp"))
    tree = LinearXMTCClassifier(flat_max_labels=0).fit(data.X_train, data.Y_train)
    assert tree.tree_.height == 3  # 4 x 64 nodes above 2194 labels
    p_tree = precision_at_k(data.Y_test, tree.predict_topk(data.X_test, 1)[0], k=1)
    # measured: 0.664, against 0.740 flat, 0.616 for LibMultiLabel's tree, 0.224 the dummy
    assert p_tree > 0.6, p_tree


def test_fit_leaves_torchs_thread_count_alone(tiny):
    """liblinear-multicore sets OpenMP's process-wide thread count (to 1); torch shares it,
    so a fit used to leave every later torch op (a hybrid's encoder) on one thread."""
    import torch

    X, Y = tiny
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        LinearXMTCClassifier().fit(X, Y)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("kind", ["flat", "tree"])
def test_labels_trained_in_threads_give_the_same_weights(tiny, kind):
    """n_jobs trains labels (tree nodes) at the same time; each thread has its own label
    vector over the shared rows, so the weights are those of one label at a time, bit for
    bit (a shared vector would mix the labels' targets)."""
    X, Y = make_tiny_xmtc(n_samples=300, n_labels=24, random_state=1)
    params = {} if kind == "flat" else dict(flat_max_labels=0, cluster_size=4,
                                            tree_branching=2, n_candidates=8)
    one = LinearXMTCClassifier(**params).fit(X, Y)
    four = LinearXMTCClassifier(n_jobs=4, **params).fit(X, Y)
    coefs = ([one.coef_], [four.coef_]) if kind == "flat" else (one.tree_coef_, four.tree_coef_)
    for a, b in zip(*coefs):
        assert a.shape == b.shape and (a != b).nnz == 0
    assert len(set(map(id, coefs[0]))) == len(coefs[0])
    # the labels differ, so equal weights are not one label copied over
    assert np.unique(one.predict_topk(X, k=1)[0]).size > 5
    # a dual solver in threads: the same models up to the solver's own fit-to-fit spread
    # (its coordinate order is not seeded by the binding)
    a = LinearXMTCClassifier(solver="l2svm_dual", n_jobs=4).fit(X, Y)
    b = LinearXMTCClassifier(solver="l2svm_dual").fit(X, Y)
    assert abs(a.coef_ - b.coef_).max() < 1e-3


def test_n_jobs_zero_is_refused(tiny):
    X, Y = tiny
    with pytest.raises(ValueError, match="n_jobs=0"):
        LinearXMTCClassifier(n_jobs=0).fit(X, Y)


def test_character_ngrams_match_inflections_that_words_miss():
    """Trained on "colour" / "engine" texts, a test text with only inflected forms
    ("colours", "engines") shares no word with training: the word analyzer cannot rank it,
    the character n-grams (within word boundaries) can."""
    X = ["a colour study", "colour and light", "the engine room", "an engine test"] * 3
    Y = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]] * 3))
    new = ["colours everywhere", "engines everywhere"]
    word = LinearXMTCClassifier(analyzer="word").fit(X, Y)
    assert word.vectorizer_.transform(new).nnz == 0  # nothing known: equal scores
    for analyzer in ("char_wb", "word+char_wb"):
        est = LinearXMTCClassifier(analyzer=analyzer).fit(X, Y)
        assert est.predict_topk(new, k=1)[0].ravel().tolist() == [0, 1], analyzer
    both = LinearXMTCClassifier(analyzer="word+char_wb").fit(X, Y)
    F = both._features(X)[:, :-1]  # the bias column dropped
    n_word = len(both.vectorizer_.transformer_list[0][1].vocabulary_)
    # each block L2-normalised and weighted by sqrt(1/2): rows keep unit norm
    for block in (F[:, :n_word], F[:, n_word:]):
        assert np.allclose(sp.linalg.norm(block, axis=1), np.sqrt(0.5))
    char = both.vectorizer_.transformer_list[1][1]
    assert char.analyzer == "char_wb" and char.ngram_range == (2, 5) and char.min_df == 2
    with pytest.raises(ValueError, match="analyzer"):
        LinearXMTCClassifier(analyzer="chars").fit(X, Y)


@pytest.mark.parametrize("kind", ["flat", "tree"])
def test_verbose_counts_the_problems_and_is_silent_otherwise(tiny, kind, capsys):
    X, Y = tiny
    params = {} if kind == "flat" else dict(flat_max_labels=0, cluster_size=2,
                                            tree_branching=2)
    quiet = LinearXMTCClassifier(**params).fit(X, Y)
    assert capsys.readouterr().err == ""
    loud = LinearXMTCClassifier(verbose=1, n_jobs=2, **params).fit(X, Y)
    err = capsys.readouterr().err
    assert "LIBLINEAR problems" in err
    # flat: one problem per label, known up front; a tree counts its nodes as they come
    assert ("/6 " in err) if kind == "flat" else ("node [" in err and "/6 " not in err)
    assert np.array_equal(quiet.predict_topk(X, k=3)[0], loud.predict_topk(X, k=3)[0])
