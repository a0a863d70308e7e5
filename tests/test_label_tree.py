"""Label features (PIFA), balanced clustering and shallow-wide label trees."""

import time
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_xmtc.labels import (LabelTree, balanced_kmeans, build_label_tree, children_table,
                                 pifa_features, reduce_label_features, tfidf_label_features)


def _features(n_labels, dim=16, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_labels, dim).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_pifa_is_the_normalised_sum_of_positive_rows():
    X = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 3.0, 4.0], [0, 0, 2.0]]))
    Y = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]]))
    F = pifa_features(X, Y).toarray()
    # label 0: rows 0 + 1 = [1, 3, 4] / sqrt(26); label 1: rows 1 + 2 = [0, 3, 6] / sqrt(45)
    assert np.allclose(F[0], np.array([1, 3, 4]) / np.sqrt(26), atol=1e-6)
    assert np.allclose(F[1], np.array([0, 3, 6]) / np.sqrt(45), atol=1e-6)
    assert np.allclose(F[2], 0)  # no positive text: zero row
    with pytest.raises(ValueError, match="rows"):
        pifa_features(X, Y[:2])


def test_tfidf_label_features_group_labels_sharing_words():
    texts = ["apple banana fruit", "banana fruit salad", "engine car wheel", "car wheel road"]
    Y = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]))
    F = tfidf_label_features(texts, Y, n_components=2, random_state=0)
    assert F.shape == (4, 2) and np.allclose(np.linalg.norm(F, axis=1), 1, atol=1e-5)
    assert balanced_kmeans(F, 2, random_state=0).tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])


def test_balanced_kmeans_finds_separated_groups_and_balances_sizes():
    rng = np.random.RandomState(0)
    centers = np.eye(4, 8) * 5
    X = np.repeat(centers, 25, axis=0) + rng.randn(100, 8) * 0.1
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    ids = balanced_kmeans(X, 4, random_state=0)
    for g in range(4):  # every planted group is one cluster
        assert len(set(ids[g * 25:(g + 1) * 25])) == 1
    sizes = np.bincount(balanced_kmeans(_features(103), 7, random_state=0))
    assert len(sizes) == 7 and sizes.max() - sizes.min() <= 2
    with pytest.raises(ValueError, match="n_clusters"):
        balanced_kmeans(X, 101)


def test_tree_leaves_height_branching_and_seed():
    F = _features(1000)
    tree = build_label_tree(F, cluster_size=8, tree_height=3, branching=4, random_state=0)
    # depth ceil(log2(1000 / 8)) = 7: kept depths 5 and 7 -> 32, 128 nodes, then labels
    assert tree.height == 3 and tree.n_nodes == [32, 128, 1000]
    assert (tree.children[0] >= 0).sum(1).tolist() == [4] * 32  # K = 4 children each
    leaf_rows = tree.children[1]
    labels = leaf_rows[leaf_rows >= 0]
    assert np.array_equal(np.sort(labels), np.arange(1000))  # every label in one leaf
    assert (leaf_rows >= 0).sum(1).max() <= 8  # cluster_size
    # parents are consistent with the label -> node maps
    assert np.array_equal(tree.parents[1][tree.node_of_label[1]], tree.node_of_label[0])
    again = build_label_tree(F, cluster_size=8, tree_height=3, branching=4, random_state=0)
    other = build_label_tree(F, cluster_size=8, tree_height=3, branching=4, random_state=1)
    assert all(np.array_equal(a, b) for a, b in zip(tree.node_of_label, again.node_of_label))
    assert not np.array_equal(tree.node_of_label[1], other.node_of_label[1])


def test_small_label_sets_give_flat_or_shorter_trees_and_bad_branching_fails():
    assert build_label_tree(_features(6), cluster_size=8).height == 1
    assert build_label_tree(_features(40), cluster_size=8, tree_height=5).n_nodes == [8, 40]
    with pytest.raises(ValueError, match="power of two"):
        build_label_tree(_features(40), branching=6)


def test_children_table_and_level_targets():
    table = children_table(np.array([1, 0, 1, 1]), 3)
    assert table.tolist() == [[1, -1, -1], [0, 2, 3], [-1, -1, -1]]
    tree = LabelTree([np.array([0, 0, 1, 1]), np.arange(4)])
    Y = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1]]))
    assert tree.level_targets(Y, 0).toarray().tolist() == [[1, 0], [0, 1]]


def test_50k_label_tree_in_seconds_with_bounded_memory():
    rng = np.random.RandomState(0)
    n, L, V = 20000, 50000, 20000
    X = sp.csr_matrix((rng.rand(20 * n).astype(np.float32), rng.randint(0, V, 20 * n),
                       np.arange(0, 20 * n + 1, 20)), shape=(n, V))  # 20 words per text
    rows = np.repeat(np.arange(n), 3)
    Y = sp.csr_matrix((np.ones(3 * n, np.float32), (rows, rng.randint(0, L, 3 * n))),
                      shape=(n, L))
    Y.data[:] = 1
    tracemalloc.start()
    t0 = time.perf_counter()
    F = reduce_label_features(pifa_features(X, Y), n_components=64, random_state=0)
    tree = build_label_tree(F, cluster_size=8, tree_height=3, branching=8, random_state=0)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert tree.n_nodes == [1024, 8192, 50000]
    labels = tree.children[1][tree.children[1] >= 0]
    assert np.array_equal(np.sort(labels), np.arange(L))
    # dense (L x V) would be 4 GB and (n x L) 4 GB; measured ~6 s and ~150 MB
    assert peak < 400e6, peak
    assert seconds < 60, seconds
