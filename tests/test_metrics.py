"""Tests of sklearn_xmtc.metrics: hand-computed cases, properties, errors."""

import doctest
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_score, recall_score

import sklearn_xmtc.metrics as M
from sklearn_xmtc.metrics import (
    PROPENSITY_PRESETS,
    classification_scores,
    example_f1,
    inverse_propensity,
    macro_f1,
    micro_f1,
    micro_precision,
    micro_recall,
    ndcg_at_k,
    precision_at_k,
    propensity,
    psndcg_at_k,
    psp_at_k,
    ranking_scores,
    recall_at_k,
)

D2, D3 = 1 / math.log2(3), 1 / math.log2(4)  # DCG discounts of ranks 2 and 3 (rank 1: 1)

# ---------------------------------------------------------------------------
# A hand-computed case: 4 samples, 5 labels.
#   true sets: {0, 2}, {1}, {} (empty), {0, 1, 3, 4}
#   ranking from the scores (ties -> lower label index first):
#     row 0: 1 (.9), 0 (.5, tie with 2, lower index), 2, 3, 4   top-3 [1, 0, 2]
#     row 1: all tied -> 0, 1, 2, 3, 4                         top-3 [0, 1, 2]
#     row 2: 0 (.3), 2 (.2), 1 (.1)                             top-3 [0, 2, 1]
#     row 3: 2 (1.), 4 (.7), then 0, 1, 3 tied at 0 -> 0       top-3 [2, 4, 0]
#   hits in the top 3: row 0 [0 1 1], row 1 [0 1 0], row 2 [0 0 0], row 3 [0 1 1]
# ---------------------------------------------------------------------------
Y_HAND = np.array([[1, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 0, 1, 1]])
S_HAND = np.array(
    [
        [0.5, 0.9, 0.5, 0.1, 0.0],
        [0.2, 0.2, 0.2, 0.2, 0.2],
        [0.3, 0.1, 0.2, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0, 0.7],
    ]
)
TOP3_HAND = np.array([[1, 0, 2], [0, 1, 2], [0, 2, 1], [2, 4, 0]])
P3_HAND = (2 + 1 + 0 + 2) / (4 * 3)  # precision divides by k = 3 even for short rows
R3_HAND = (2 / 2 + 1 / 1 + 0 + 2 / 4) / 4  # the empty row contributes 0
NDCG3_HAND = (
    (D2 + D3) / (1 + D2)  # row 0: hits at ranks 2, 3; |y| = 2
    + D2 / 1  # row 1: hit at rank 2; |y| = 1 < k, IDCG = 1
    + 0  # row 2: empty truth -> 0
    + (D2 + D3) / (1 + D2 + D3)  # row 3: |y| = 4 > k, IDCG over 3 ranks
) / 4


def test_hand_case_dense_scores():
    assert precision_at_k(Y_HAND, S_HAND, k=3) == pytest.approx(P3_HAND)
    assert recall_at_k(Y_HAND, S_HAND, k=3) == pytest.approx(R3_HAND)
    assert ndcg_at_k(Y_HAND, S_HAND, k=3) == pytest.approx(NDCG3_HAND)
    # rank 1 never hits: labels 1, 0, 0, 2 are all false
    assert precision_at_k(Y_HAND, S_HAND, k=1) == 0.0


@pytest.mark.parametrize(
    "form", ["dense", "sparse", "sparse_array", "indices", "tuple", "csr_true"]
)
def test_hand_case_every_prediction_form(form):
    r, c = np.nonzero(np.ones_like(S_HAND))
    preds = {
        "dense": S_HAND,
        "sparse": sp.csr_matrix((S_HAND[r, c], (r, c)), shape=S_HAND.shape),
        "sparse_array": sp.csr_array((S_HAND[r, c], (r, c)), shape=S_HAND.shape),
        "indices": TOP3_HAND,
        "tuple": (TOP3_HAND.astype(np.int64), np.ones(TOP3_HAND.shape, np.float32)),
        "csr_true": TOP3_HAND,
    }
    y_true = sp.csr_matrix(Y_HAND) if form == "csr_true" else Y_HAND
    got = ranking_scores(y_true, preds[form], ks=(3,))
    expected = {"precision_at_3": P3_HAND, "recall_at_3": R3_HAND, "ndcg_at_3": NDCG3_HAND}
    assert got == pytest.approx(expected)


def test_dense_top_k_ties_take_lower_index():
    # every score equal: the ranking is 0, 1, 2, ...; label 0 true -> P@1 = 1
    y = np.array([[1, 0, 0, 0]])
    assert precision_at_k(y, np.zeros((1, 4)), k=1) == 1.0
    # label 3 true, tied with 2 at the top: 2 wins the tie -> P@1 = 0, P@2 = 1/2
    y = np.array([[0, 0, 0, 1]])
    s = np.array([[0.0, 0.1, 0.5, 0.5]])
    assert precision_at_k(y, s, k=1) == 0.0
    assert precision_at_k(y, s, k=2) == 0.5
    assert precision_at_k(y, sp.csr_matrix(s), k=1) == 0.0


def test_index_padding_and_short_predictions():
    y = np.array([[1, 0, 1]])
    # one real prediction (2, a hit), then -1: P@3 = 1/3, R@3 = 1/2
    assert precision_at_k(y, np.array([[2, -1, -1]]), k=3) == pytest.approx(1 / 3)
    assert recall_at_k(y, np.array([[2, -1, -1]]), k=3) == pytest.approx(1 / 2)
    # only 2 columns given but k = 4: missing ranks are misses -> (1 + 1) / 4
    assert precision_at_k(y, np.array([[2, 0]]), k=4) == pytest.approx(2 / 4)
    # an index beyond y_true's columns: y_true lacks labels of the model
    with pytest.raises(ValueError, match="label index 7 but y_true has only 3 label columns"):
        precision_at_k(y, np.array([[7, 0]]), k=2)
    # a label repeated in a row counts once: (hit at rank 1, repeat dropped) -> 1 / 2
    assert precision_at_k(y, np.array([[0, 0]]), k=2) == pytest.approx(1 / 2)


def test_sparse_scores_absent_entries_never_ranked():
    y = np.array([[1, 1, 0, 0]])
    # only label 2 scored (negative!); absent labels are -inf and never ranked
    s = sp.csr_matrix(([-3.0], ([0], [2])), shape=(1, 4))
    assert precision_at_k(y, s, k=3) == 0.0
    # the dense equivalent with -inf gives the same (a -inf score is never ranked)
    dense = np.full((1, 4), -np.inf)
    dense[0, 2] = -3.0
    assert precision_at_k(y, dense, k=3) == 0.0
    # label 1 stored with score 0, label 0 absent: 1 is ranked, 0 is not -> 1 / 3
    s = sp.csr_matrix(([0.0, 0.0], ([0, 0], [1, 3])), shape=(1, 4))
    assert s.nnz == 2
    assert precision_at_k(y, s, k=3) == pytest.approx(1 / 3)


def test_label_lists_with_classes_and_unseen_labels():
    classes = ["a", "b", "c"]
    y = [["b", "x"], ["a"]]  # "x" is not a known class: an extra column, always missed
    pred = np.array([[1, 0], [0, 2]])  # column 1 = "b", 0 = "a"
    assert precision_at_k(y, pred, k=2, classes=classes) == pytest.approx((1 + 1) / 4)
    assert recall_at_k(y, pred, k=2, classes=classes) == pytest.approx((1 / 2 + 1 / 1) / 2)
    # nDCG: row 0 hit at rank 1, |y| = 2 -> 1 / (1 + D2); row 1 hit at rank 1 -> 1
    expected = (1 / (1 + D2) + 1) / 2
    assert ndcg_at_k(y, pred, k=2, classes=classes) == pytest.approx(expected)


def test_psp_and_psndcg_hand_computed():
    w = np.array([1.0, 2.0, 4.0])
    y = np.array([[1, 0, 1], [0, 1, 0]])
    pred = np.array([[0, 1], [1, 0]])
    # hits: row 0 label 0 at rank 1 (w 1), row 1 label 1 at rank 1 (w 2) -> 3
    # best: row 0 true weights {1, 4} -> 4 + 1; row 1 {2} -> 2; total 7
    assert psp_at_k(y, pred, k=2, inv_propensity=w) == pytest.approx(3 / 7)
    # PSnDCG: numerator 1 * 1 + 2 * 1; best 4 * 1 + 1 * D2 + 2 * 1
    assert psndcg_at_k(y, pred, k=2, inv_propensity=w) == pytest.approx(3 / (6 + D2))
    # k = 1: numerator 1 + 2; best 4 + 2
    assert psp_at_k(y, pred, k=1, inv_propensity=w) == pytest.approx(3 / 6)


def test_psp_rejects_inv_propensity_shorter_than_y_true():
    # y has 4 columns, w only 3: no guessed weight for column 3, a clear error instead
    y = np.array([[0, 0, 0, 1], [1, 0, 0, 0]])
    pred = np.array([[3], [1]])
    w = np.array([1.0, 2.0, 4.0])
    for f in (psp_at_k, psndcg_at_k):
        with pytest.raises(ValueError, match="3 entries but y_true has 4 columns") as info:
            f(y, pred, k=1, inv_propensity=w)
        assert "n_columns=4" in str(info.value)
        assert "estimator_inv_propensity" in str(info.value)
    with pytest.raises(ValueError, match="3 entries"):
        ranking_scores(y, pred, ks=(1,), inv_propensity=w)
    # a longer vector is cut: its extra entries are never used
    longer = np.array([1.0, 2.0, 4.0, 8.0, 100.0])
    assert psp_at_k(y, pred, k=1, inv_propensity=longer) == pytest.approx(8 / (8 + 1))


def _hand_inv_propensity(counts, N, A=0.55, B=1.5):
    """1 + C (N_l + B)^-A with C = (ln N - 1)(B + 1)^A, one count at a time."""
    C = (math.log(N) - 1) * (B + 1) ** A
    return [1 + C * (n_l + B) ** -A for n_l in counts]


def test_inverse_propensity_n_columns_gives_test_only_columns_count_zero():
    # N = 10 training samples, counts 10, 1, 0 for the 3 training labels
    w_hand = _hand_inv_propensity([10, 1, 0, 0, 0], N=10)
    assert w_hand[1] == pytest.approx(math.log(10))  # N_l = 1: (B + 1)^A cancels
    assert w_hand[2] == pytest.approx(2.7251343234120733)  # N_l = 0: 1 + C 1.5^-0.55
    got = inverse_propensity(label_frequencies=[10, 1, 0], n_samples=10, n_columns=5)
    np.testing.assert_allclose(got, w_hand)
    assert got[3] == got[4] == got[2]  # test-only columns = a label seen 0 times
    # the same from y_train, and for propensity(); n_columns = n_labels changes nothing
    y_train = np.zeros((10, 3))
    y_train[:, 0] = 1
    y_train[0, 1] = 1
    np.testing.assert_allclose(inverse_propensity(y_train, n_columns=5), w_hand)
    np.testing.assert_allclose(propensity(y_train, n_columns=5), 1 / np.array(w_hand))
    np.testing.assert_allclose(inverse_propensity(y_train, n_columns=3), w_hand[:3])
    # other A, B (Amazon preset) keep the same N, A, B for the padded columns
    amazon = inverse_propensity(y_train, preset="amazon", n_columns=4)
    np.testing.assert_allclose(amazon, _hand_inv_propensity([10, 1, 0, 0], N=10, A=0.6, B=2.6))


@pytest.mark.parametrize("n_columns", [2, 0, -1, 3.0, True, "4"])
def test_inverse_propensity_bad_n_columns(n_columns):
    with pytest.raises(ValueError, match="n_columns"):
        inverse_propensity(label_frequencies=[10, 1, 0], n_samples=10, n_columns=n_columns)


def test_psp_with_a_test_only_column_hit_or_missed():
    # training: N = 4, counts [3, 1] for labels 0, 1; test y_true adds column 2 (test-only)
    w0, w1, w2 = _hand_inv_propensity([3, 1, 0], N=4)
    assert (round(w0, 4), round(w1, 4), round(w2, 4)) == (1.2796, 1.3863, 1.5116)
    w = inverse_propensity(label_frequencies=[3, 1], n_samples=4, n_columns=3)
    y = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 0]]))
    # hit: row 0 ranks the test-only label 2 first -> w2; row 1 ranks 0 first -> w0
    # best: row 0 max(w1, w2) = w2, row 1 w0
    hit = np.array([[2, 1], [0, -1]])
    assert psp_at_k(y, hit, k=1, inv_propensity=w) == pytest.approx((w2 + w0) / (w2 + w0))
    # missed: row 0 ranks label 1 first -> w1 instead of w2
    miss = np.array([[1, 0], [0, -1]])
    assert psp_at_k(y, miss, k=1, inv_propensity=w) == pytest.approx((w1 + w0) / (w2 + w0))
    # k = 2: the miss finds w1 (row 0) + w0; best row 0 w2 + w1, row 1 w0
    assert psp_at_k(y, miss, k=2, inv_propensity=w) == pytest.approx((w1 + w0) / (w2 + w1 + w0))
    assert psp_at_k(y, hit, k=2, inv_propensity=w) == pytest.approx(1.0)
    # the test-only weight is that of a label seen 0 times, not the largest known one
    assert w2 > max(w0, w1)


def test_hit_matrix_matches_hand_hits():
    got = M.hit_matrix(Y_HAND, S_HAND, k=3)
    expected = [[0, 1, 1], [0, 1, 0], [0, 0, 0], [0, 1, 1]]  # see the hand case above
    assert got.dtype == bool and got.astype(int).tolist() == expected
    # indices: -1 never hits; a repeated label hits once
    idx = np.array([[2, -1, 2], [0, 1, 1], [0, 0, 0], [3, 0, 4]])
    assert M.hit_matrix(Y_HAND, idx, k=3).astype(int).tolist() == [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 0],
        [1, 1, 1],
    ]
    with pytest.raises(ValueError, match="samples"):
        M.hit_matrix(Y_HAND, idx[:2], k=3)
    with pytest.raises(ValueError, match="label index 7 but y_true has only 5"):
        M.hit_matrix(Y_HAND, np.array([[2], [7], [0], [3]]), k=3)


def test_psp_with_hand_computed_propensity():
    # training: N = 10 samples; label 0 in all 10, label 1 in exactly 1, label 2 never
    y_train = np.zeros((10, 3))
    y_train[:, 0] = 1
    y_train[0, 1] = 1
    C = (math.log(10) - 1) * (1.5 + 1) ** 0.55
    w_hand = np.array([1 + C * 11.5**-0.55, 1 + C * 2.5**-0.55, 1 + C * 1.5**-0.55])
    # with N_l = 1 the (B + 1)^A factors cancel: 1 / p = ln N
    assert w_hand[1] == pytest.approx(math.log(10))
    assert w_hand == pytest.approx([1.5627160420436192, 2.302585092994046, 2.7251343234120733])
    w = inverse_propensity(y_train)
    np.testing.assert_allclose(w, w_hand)
    np.testing.assert_allclose(propensity(y_train), 1 / w_hand)
    y = np.array([[0, 1, 1]])
    # top-1 = label 1 (hit, w = ln 10); best = max(w_1, w_2) = w_2
    got = psp_at_k(y, np.array([[1]]), k=1, inv_propensity=w)
    assert got == pytest.approx(w_hand[1] / w_hand[2])


def test_propensity_inputs_and_presets():
    lists = [["a"], ["a", "b"], ["a"], ["c"]]
    Y = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1]])
    expected = inverse_propensity(label_frequencies=[3, 1, 1], n_samples=4)
    np.testing.assert_allclose(inverse_propensity(lists), expected)
    np.testing.assert_allclose(inverse_propensity(sp.csr_matrix(Y)), expected)
    np.testing.assert_allclose(inverse_propensity(Y), expected)
    np.testing.assert_allclose(
        inverse_propensity(lists, classes=["c", "b", "a"]), expected[::-1]
    )
    assert PROPENSITY_PRESETS == {
        "default": (0.55, 1.5),
        "wikipedia": (0.5, 0.4),
        "amazon": (0.6, 2.6),
    }
    for name, (A, B) in PROPENSITY_PRESETS.items():
        np.testing.assert_allclose(
            inverse_propensity(Y, preset=name), inverse_propensity(Y, A=A, B=B)
        )
    # wikipedia by hand for label 0: N = 4, N_l = 3
    C = (math.log(4) - 1) * 1.4**0.5
    assert inverse_propensity(Y, preset="wikipedia")[0] == pytest.approx(1 + C * 3.4**-0.5)
    assert not np.allclose(inverse_propensity(Y, preset="amazon"), expected)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"preset": "nope"}, ValueError),
        ({"preset": "amazon", "A": 0.7}, ValueError),
        ({"A": -1.0}, ValueError),
        ({"B": float("nan")}, ValueError),
        ({"label_frequencies": [1, 2]}, ValueError),  # n_samples missing
        ({"label_frequencies": [1, 5], "n_samples": 3}, ValueError),
        ({"label_frequencies": [1, -1], "n_samples": 3}, ValueError),
    ],
)
def test_propensity_errors(kwargs, exc):
    y = None if "label_frequencies" in kwargs else np.eye(3)
    with pytest.raises(exc):
        inverse_propensity(y, **kwargs)


def test_propensity_needs_exactly_one_source():
    with pytest.raises(TypeError):
        inverse_propensity()
    with pytest.raises(TypeError):
        inverse_propensity(np.eye(2), label_frequencies=[1, 1], n_samples=2)


def test_ranking_scores_keys_defaults_and_consistency():
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    got = ranking_scores(Y_HAND, S_HAND, ks=(1, 3), inv_propensity=w)
    metrics = ("precision", "recall", "ndcg", "psp", "psndcg")
    assert list(got) == [f"{m}_at_{k}" for m in metrics for k in (1, 3)]
    assert got["psp_at_3"] == pytest.approx(psp_at_k(Y_HAND, S_HAND, 3, inv_propensity=w))
    assert got["psndcg_at_1"] == pytest.approx(psndcg_at_k(Y_HAND, S_HAND, 1, inv_propensity=w))
    default = ranking_scores(Y_HAND, S_HAND, ks=2)
    assert set(default) == {"precision_at_2", "recall_at_2", "ndcg_at_2"}
    only = ranking_scores(Y_HAND, S_HAND, ks=2, metrics="ndcg")
    assert only == {"ndcg_at_2": ndcg_at_k(Y_HAND, S_HAND, 2)}


def test_no_true_labels_anywhere_gives_zero():
    y = np.zeros((2, 3))
    pred = np.array([[0], [1]])
    w = np.ones(3)
    for f in (precision_at_k, recall_at_k, ndcg_at_k):
        assert f(y, pred, k=1) == 0.0
    assert psp_at_k(y, pred, k=1, inv_propensity=w) == 0.0
    assert psndcg_at_k(y, pred, k=1, inv_propensity=w) == 0.0


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("f", [precision_at_k, recall_at_k, ndcg_at_k])
@pytest.mark.parametrize(
    "k, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_bad_k(f, k, exc):
    with pytest.raises(exc, match="k must be an int"):
        f(Y_HAND, S_HAND, k=k)


def test_bad_k_in_psp_and_ranking_scores():
    with pytest.raises(ValueError):
        psp_at_k(Y_HAND, S_HAND, k=0, inv_propensity=np.ones(5))
    with pytest.raises(ValueError):
        ranking_scores(Y_HAND, S_HAND, ks=(1, 0))
    with pytest.raises(ValueError):
        ranking_scores(Y_HAND, S_HAND, ks=())


def test_mismatched_rows_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(3, 5\)"):
        precision_at_k(Y_HAND, S_HAND[:3], k=1)
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(2, 3\)"):
        ranking_scores(Y_HAND, TOP3_HAND[:2])
    with pytest.raises(ValueError, match="samples"):
        micro_f1(Y_HAND, Y_HAND[:2])


def test_non_binary_y_true():
    with pytest.raises(ValueError, match="binary"):
        precision_at_k(Y_HAND * 2, S_HAND, k=1)
    with pytest.raises(ValueError, match="binary"):
        micro_f1(sp.csr_matrix(Y_HAND * 0.5), Y_HAND)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 2, 2)), np.array(3.0)])
def test_bad_prediction_ndim(bad):
    y = np.eye(2)
    with pytest.raises(ValueError, match="2-D"):
        precision_at_k(y, bad, k=1)


def test_bad_prediction_values():
    y = np.eye(2)
    with pytest.raises(ValueError, match="NaN"):
        precision_at_k(y, np.array([[np.nan, 1.0], [0.0, 1.0]]), k=1)
    with pytest.raises(ValueError, match=">= 0"):
        precision_at_k(y, np.array([[-2], [0]]), k=1)
    with pytest.raises(TypeError):
        precision_at_k(y, np.array([["a"], ["b"]]), k=1)
    with pytest.raises(TypeError, match="integer"):
        precision_at_k(y, (np.array([[0.0], [1.0]]), None), k=1)


def test_missing_inv_propensity():
    with pytest.raises(TypeError, match="inv_propensity"):
        psp_at_k(Y_HAND, S_HAND, k=1, inv_propensity=None)
    with pytest.raises(TypeError):
        psp_at_k(Y_HAND, S_HAND, k=1)  # keyword-only and required
    with pytest.raises(TypeError, match="inv_propensity"):
        ranking_scores(Y_HAND, S_HAND, metrics=("psp",))
    with pytest.raises(ValueError, match="1-D"):
        psp_at_k(Y_HAND, S_HAND, k=1, inv_propensity=np.ones((5, 1)))
    with pytest.raises(ValueError, match="Unknown ranking metric"):
        ranking_scores(Y_HAND, S_HAND, metrics=("precission",))


def test_empty_y_true_rejected():
    with pytest.raises(ValueError, match="no samples"):
        precision_at_k(sp.csr_matrix((0, 3)), np.zeros((0, 1), dtype=int), k=1)


# ---------------------------------------------------------------------------
# Property tests against a plain-Python reference (loops allowed here only)
# ---------------------------------------------------------------------------
def ref_ranking(scores_row, stored=None):
    """Labels by decreasing score, ties -> lower index; unstored / -inf never ranked."""
    labels = [
        j
        for j in range(len(scores_row))
        if (stored is None or stored[j]) and scores_row[j] != -np.inf
    ]
    return sorted(labels, key=lambda j: (-scores_row[j], j))


def ref_metrics(true_sets, rankings, k, w):
    """P, R, nDCG (means of per-sample values), PSP, PSnDCG (ratios of sums)."""
    p = r = nd = ps_num = ps_den = psd_num = psd_den = 0.0
    for truth, ranked in zip(true_sets, rankings):
        top = ranked[:k]
        hits = [1.0 if lab in truth else 0.0 for lab in top]
        p += sum(hits) / k
        r += sum(hits) / len(truth) if truth else 0.0
        dcg = sum(h / math.log2(j + 2) for j, h in enumerate(hits))
        idcg = sum(1 / math.log2(j + 2) for j in range(min(k, len(truth))))
        nd += dcg / idcg if idcg else 0.0
        ps_num += sum(h * w[lab] for h, lab in zip(hits, top))
        psd_num += sum(h * w[lab] / math.log2(j + 2) for j, (h, lab) in enumerate(zip(hits, top)))
        best = sorted((w[lab] for lab in truth), reverse=True)[:k]
        ps_den += sum(best)
        psd_den += sum(b / math.log2(j + 2) for j, b in enumerate(best))
    n = len(true_sets)
    return {
        "precision": p / n,
        "recall": r / n,
        "ndcg": nd / n,
        "psp": ps_num / ps_den if ps_den else 0.0,
        "psndcg": psd_num / psd_den if psd_den else 0.0,
    }


@st.composite
def ranking_problem(draw):
    n = draw(st.integers(1, 6))
    L = draw(st.integers(1, 7))
    cells = st.lists(st.booleans(), min_size=L, max_size=L)
    y = np.array(draw(st.lists(cells, min_size=n, max_size=n)), dtype=np.int64).reshape(n, L)
    ints = st.lists(st.integers(-2, 3), min_size=L, max_size=L)  # few values: many ties
    s = np.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype=np.float64).reshape(n, L)
    stored = np.array(draw(st.lists(cells, min_size=n, max_size=n)), dtype=bool).reshape(n, L)
    k = draw(st.integers(1, L + 2))
    w = np.array(draw(st.lists(st.floats(1.0, 10.0), min_size=L, max_size=L)))
    return y, s, stored, k, w


@settings(max_examples=50, deadline=None, database=None)
@given(ranking_problem())
def test_ranking_metrics_match_reference(problem):
    y, s, stored, k, w = problem
    true_sets = [set(np.flatnonzero(row)) for row in y]
    expected = ref_metrics(true_sets, [ref_ranking(row) for row in s], k, w)
    keys = {m: f"{m}_at_{k}" for m in expected}
    # dense scores, then the same ranking as top-k indices padded with -1
    top = np.full((len(y), k), -1)
    for i, row in enumerate(s):
        ranked = ref_ranking(row)[:k]
        top[i, : len(ranked)] = ranked
    for pred in (s, top, (top, np.zeros(top.shape))):
        got = ranking_scores(sp.csr_matrix(y), pred, ks=(k,), inv_propensity=w)
        assert got == pytest.approx({keys[m]: v for m, v in expected.items()})
    # the single-metric functions agree
    assert precision_at_k(y, s, k) == pytest.approx(expected["precision"])
    assert recall_at_k(y, s, k) == pytest.approx(expected["recall"])
    assert ndcg_at_k(y, s, k) == pytest.approx(expected["ndcg"])
    assert psp_at_k(y, s, k, inv_propensity=w) == pytest.approx(expected["psp"])
    assert psndcg_at_k(y, s, k, inv_propensity=w) == pytest.approx(expected["psndcg"])
    # sparse scores: only stored entries are ranked
    r, c = np.nonzero(stored)
    S = sp.csr_matrix((s[r, c], (r, c)), shape=s.shape)
    expected = ref_metrics(true_sets, [ref_ranking(row, st_) for row, st_ in zip(s, stored)], k, w)
    got = ranking_scores(y, S, ks=(k,), inv_propensity=w)
    assert got == pytest.approx({keys[m]: v for m, v in expected.items()})


@st.composite
def set_problem(draw):
    n = draw(st.integers(1, 6))
    L = draw(st.integers(2, 6))  # sklearn reads a 1-column y as binary, not multilabel
    cells = st.lists(st.booleans(), min_size=L, max_size=L)
    y = np.array(draw(st.lists(cells, min_size=n, max_size=n)), dtype=np.int64).reshape(n, L)
    p = np.array(draw(st.lists(cells, min_size=n, max_size=n)), dtype=np.int64).reshape(n, L)
    return y, p


def ref_set_metrics(y, p):
    n, L = y.shape
    tp = sum(int(y[i, j] and p[i, j]) for i in range(n) for j in range(L))
    nt, npred = int(y.sum()), int(p.sum())
    f1_l = [
        2 * sum(int(y[i, j] and p[i, j]) for i in range(n)) / (y[:, j].sum() + p[:, j].sum())
        for j in range(L)
        if y[:, j].sum() > 0
    ]
    ex = []
    for i in range(n):
        t = sum(int(y[i, j] and p[i, j]) for j in range(L))
        den = y[i].sum() + p[i].sum()
        ex.append(2 * t / den if den else 0.0)
    return {
        "micro_precision": tp / npred if npred else 0.0,
        "micro_recall": tp / nt if nt else 0.0,
        "micro_f1": 2 * tp / (nt + npred) if nt + npred else 0.0,
        "macro_f1": sum(f1_l) / len(f1_l) if f1_l else 0.0,
        "example_f1": sum(ex) / n,
    }


@settings(max_examples=50, deadline=None, database=None)
@given(set_problem())
def test_set_metrics_match_reference_and_sklearn(problem):
    y, p = problem
    expected = ref_set_metrics(y, p)
    assert classification_scores(sp.csr_matrix(y), sp.csr_matrix(p)) == pytest.approx(expected)
    assert classification_scores(y, p) == pytest.approx(expected)
    # the same sets as label lists and as top-k indices
    lists_y = [tuple(np.flatnonzero(r)) for r in y]
    lists_p = [tuple(np.flatnonzero(r)) for r in p]  # tuples: never rows of a 0/1 matrix
    classes = list(range(y.shape[1]))
    assert classification_scores(lists_y, lists_p, classes=classes) == pytest.approx(expected)
    top = np.full(p.shape, -1)
    for i, labs in enumerate(lists_p):
        top[i, : len(labs)] = labs[::-1]  # order does not matter for sets
    assert classification_scores(y, (top, None)) == pytest.approx(expected)
    # sklearn (zero_division=0); macro restricted to the labels with support
    kw = {"zero_division": 0}
    assert micro_f1(y, p) == pytest.approx(f1_score(y, p, average="micro", **kw))
    assert micro_precision(y, p) == pytest.approx(precision_score(y, p, average="micro", **kw))
    assert micro_recall(y, p) == pytest.approx(recall_score(y, p, average="micro", **kw))
    assert example_f1(y, p) == pytest.approx(f1_score(y, p, average="samples", **kw))
    supported = np.flatnonzero(y.sum(axis=0))
    sk_macro = f1_score(y, p, average="macro", labels=supported, **kw) if supported.size else 0.0
    assert macro_f1(y, p) == pytest.approx(sk_macro)


# ---------------------------------------------------------------------------
# Set metrics: hand cases, label lists, conventions, errors
# ---------------------------------------------------------------------------
def test_set_metrics_hand_case():
    # truth {0, 1}, {2}, {} ; predicted {0, 3}, {}, {}
    y = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
    p = np.array([[1, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    s = classification_scores(y, p)
    assert s["micro_precision"] == pytest.approx(1 / 2)  # TP 1 of 2 predicted
    assert s["micro_recall"] == pytest.approx(1 / 3)  # TP 1 of 3 true
    assert s["micro_f1"] == pytest.approx(2 * 1 / (3 + 2))
    # labels with support: 0 (F1 2*1/(1+1) = 1), 1 (0), 2 (0); label 3 (never true) excluded
    assert s["macro_f1"] == pytest.approx(1 / 3)
    # per sample: 2*1/(2+2) = .5, 0, empty/empty -> 0 (zero_division=0)
    assert s["example_f1"] == pytest.approx(0.5 / 3)


def test_set_metrics_label_lists_unseen_labels_are_errors():
    classes = ["a", "b"]
    y = [["a", "z"], ["b"]]  # "z" unknown -> extra column, can only be missed
    p = [["a", "q"], ["b"]]  # "q" unknown -> extra column, a false positive
    s = classification_scores(y, p, classes=classes)
    assert s["micro_precision"] == pytest.approx(2 / 3)  # a, b right; q wrong
    assert s["micro_recall"] == pytest.approx(2 / 3)  # a, b found; z missed
    # labels with support: a (1), b (1), z (0)
    assert s["macro_f1"] == pytest.approx(2 / 3)
    # y as a matrix over classes, predictions as lists of names
    s2 = classification_scores(np.array([[1, 0], [0, 1]]), [["a", "q"], ["b"]], classes=classes)
    assert s2["micro_precision"] == pytest.approx(2 / 3)
    assert s2["micro_recall"] == 1.0


def test_set_predictions_wider_than_truth_are_errors():
    y = sp.csr_matrix(np.array([[1, 0]]))
    p = sp.csr_matrix(np.array([[1, 0, 1]]))  # column 2 beyond y_true
    with pytest.raises(ValueError, match="y_pred has 3 columns but y_true has only 2"):
        micro_precision(y, p)
    with pytest.raises(ValueError, match="label index 2 but y_true has only 2"):
        micro_precision(y, (np.array([[0, 2]]), None))
    # a prediction padded to y_true's width (test-only columns) is fine
    assert micro_precision(sp.csr_matrix([[1, 0, 1]]), p) == 1.0


def test_set_metric_errors():
    y = np.eye(3)
    with pytest.raises(ValueError, match=r"\(indices, scores\)"):
        micro_f1(y, np.array([[0, 2], [1, 0], [2, 1]]))  # indices are not a 0/1 matrix
    with pytest.raises(ValueError):
        micro_f1(y, (np.array([[-3], [0], [1]]), None))
    with pytest.raises(ValueError, match="samples"):
        classification_scores([["a"]], [["a"], ["b"]])


# ---------------------------------------------------------------------------
# One propensity definition: benchmarks, estimators (CLI, scorers), metrics
# ---------------------------------------------------------------------------
def _load_bench_evaluation():
    """benchmarks/_evaluation.py by path (whether or not benchmarks/ is a package)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "_evaluation.py"
    spec = importlib.util.spec_from_file_location("_bench_evaluation_for_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _old_bench_hits(Y, idx):
    """The hit matrix benchmarks/_evaluation.py computed before using hit_matrix."""
    n, k = idx.shape
    rows, cols = np.repeat(np.arange(n), k), idx.ravel()
    valid = (cols >= 0) & (cols < Y.shape[1])
    hit = np.zeros(n * k, dtype=bool)
    hit[valid] = np.asarray(Y[rows[valid], cols[valid]]).ravel() > 0
    return hit.reshape(n, k)


def _bench_split(seed=0):
    rng = np.random.default_rng(seed)
    Y_train = sp.csr_matrix((rng.random((40, 6)) < [0.9, 0.5, 0.2, 0.05, 0.02, 0.0]) * 1.0)
    Y_test = sp.csr_matrix((rng.random((25, 9)) < 0.3) * 1.0)  # columns 6..8: test-only
    idx = np.argsort(-rng.random((25, 9)), axis=1)[:, :5]
    idx[rng.random((25, 5)) < 0.1] = -1
    sets = sp.csr_matrix((rng.random((25, 6)) < 0.3) * 1.0)  # over the training labels
    return Y_train, Y_test, idx, sets


def test_benchmark_propensities_unchanged_and_shared_with_estimators():
    ev = _load_bench_evaluation()
    Y_train, Y_test, idx, sets = _bench_split()
    counts = np.bincount(Y_train.indices, minlength=6)
    # the benchmark's former definition: training counts padded with zeros by hand
    old = inverse_propensity(
        label_frequencies=np.concatenate([counts, np.zeros(3, dtype=np.int64)]), n_samples=40
    )
    new = ev.shared_inv_propensity(Y_train, 9)
    np.testing.assert_array_equal(new, old)
    np.testing.assert_allclose(new, _hand_inv_propensity(list(counts) + [0, 0, 0], N=40))
    assert new[5] == new[6] == new[8]  # label 5 (never in training) = test-only columns
    np.testing.assert_array_equal(ev.train_frequencies(Y_train, 9), list(counts) + [0, 0, 0])
    # an estimator fitted on the same training labels gives the same weights
    from sklearn_xmtc import DummyXMTCClassifier

    est = DummyXMTCClassifier().fit([f"t{i}" for i in range(40)], Y_train)
    np.testing.assert_array_equal(M.estimator_inv_propensity(est, n_columns=9), new)
    # and evaluate_predictions scores PSP with them (hits as before)
    np.testing.assert_array_equal(M.hit_matrix(Y_test, idx, k=5), _old_bench_hits(Y_test, idx))
    got = ev.evaluate_predictions(Y_train, Y_test, idx, sets)
    ref = ranking_scores(Y_test, idx, ks=(1, 3, 5), inv_propensity=old, metrics=("psp",))
    assert [got[f"PSP@{k}"] for k in (1, 3, 5)] == [ref[f"psp_at_{k}"] for k in (1, 3, 5)]
    assert got["micro-F1"] == micro_f1(Y_test, sp.hstack([sets, sp.csr_matrix((25, 3))]))


def test_pad_columns():
    from sklearn_xmtc.labels import pad_columns

    P = sp.csr_matrix(np.array([[1, 0], [0, 1]], dtype=np.float32))
    wide = pad_columns(P, 4)
    assert wide.shape == (2, 4) and wide.format == "csr"
    assert wide.toarray().tolist() == [[1, 0, 0, 0], [0, 1, 0, 0]]
    assert np.shares_memory(wide.indices, P.indices)  # no copy of the entries
    assert pad_columns(P, 2).shape == (2, 2)
    assert pad_columns(sp.coo_matrix(P), 3).format == "csr"
    assert pad_columns(np.array([[0, 1]]), 2).toarray().tolist() == [[0, 1]]
    for bad in (1, 2.0, True):
        with pytest.raises(ValueError, match="n_columns|fewer"):
            pad_columns(P, bad)
    import sklearn_xmtc.labels._columns as columns

    result = doctest.testmod(columns)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------
# Module hygiene
# ---------------------------------------------------------------------------
def test_docstring_examples_run():
    import importlib

    for name in ("_ranking", "_propensity", "_classification", "_scorers"):
        mod = importlib.import_module(f"sklearn_xmtc.metrics.{name}")
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, name


def test_all_is_sorted_and_public():
    assert M.__all__ == sorted(M.__all__)
    for name in M.__all__:
        assert hasattr(M, name)
        obj = getattr(M, name)
        if callable(obj):
            assert obj.__doc__ and "Examples" in obj.__doc__, name


def test_no_torch_import():
    src = Path(M.__file__).parent
    for path in src.glob("*.py"):
        assert "torch" not in path.read_text(), path
    root = str(src.parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    code = "import sys, sklearn_xmtc.metrics; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False"
