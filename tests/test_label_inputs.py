"""Label inputs that used to give silent wrong results (issue 14, items 2-4).

- dense 0/1 rows given as lists are a matrix, integer label lists stay label lists;
- ``score``, the metrics and the scorers check y's columns against ``classes_``;
- missing labels are rejected, mixed label types warn.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc.labels import XMTCLabelBinarizer, check_label_matrix, is_label_lists
from sklearn_xmtc.metrics import (
    classification_scores,
    get_scorer,
    micro_f1,
    micro_precision,
    ndcg_at_k,
    precision_at_k,
    ranking_scores,
    xmtc_scoring,
)

X = ["a b", "b c", "c a", "a a"]
Y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [1, 0, 0]])


# ---------------------------------------------------------------------------
# Item 2: dense 0/1 rows vs integer label lists
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("rows", [
    Y.tolist(),  # Y.toarray().tolist()
    list(Y),  # a list of numpy rows
    Y,  # a numpy 2-D int array
    Y.astype(np.float32).tolist(),  # float 0.0 / 1.0
    list(Y.astype(bool)),
    tuple(Y.tolist()),
], ids=["list-of-lists", "list-of-arrays", "ndarray", "float-lists", "bool-arrays", "tuple"])
def test_dense_rows_are_read_as_a_matrix(rows):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 3 columns: not ambiguous, no warning
        assert not is_label_lists(rows)
        b = XMTCLabelBinarizer().fit(rows)
        Y_csr = b.transform(rows)
        est = DummyXMTCClassifier().fit(X, rows)
    assert b.classes_.tolist() == [0, 1, 2]
    assert Y_csr.toarray().tolist() == Y.tolist()
    assert est.classes_.tolist() == [0, 1, 2] and est.n_labels_ == 3
    ref = DummyXMTCClassifier().fit(X, sp.csr_matrix(Y))
    np.testing.assert_array_equal(est.label_frequencies_, ref.label_frequencies_)
    np.testing.assert_array_equal(est.predict_topk(X, k=3)[0], ref.predict_topk(X, k=3)[0])


@pytest.mark.parametrize("lists, classes, dense", [
    ([[0, 3], [2]], [0, 2, 3], [[1, 0, 1], [0, 1, 0]]),
    ([[1], [0]], [0, 1], [[0, 1], [1, 0]]),  # one label each: never a 1-column matrix
    ([[0, 2], [1, 2]], [0, 1, 2], [[1, 0, 1], [0, 1, 1]]),  # equal lengths, a label 2
    ([(0, 1), (1, 0)], [0, 1], [[1, 1], [1, 1]]),  # tuples are always label lists
    ([{0, 1}, {1}], [0, 1], [[1, 1], [0, 1]]),  # so are sets
    ([[0, 1], [1]], [0, 1], [[1, 1], [0, 1]]),  # unequal lengths
    ([np.array([0, 3]), np.array([2, 5])], [0, 2, 3, 5], [[1, 0, 1, 0], [0, 1, 0, 1]]),
])
def test_integer_label_lists_stay_label_lists(lists, classes, dense):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert is_label_lists(lists)
        b = XMTCLabelBinarizer().fit(lists)
        est = DummyXMTCClassifier().fit(X[: len(lists)], lists)
    assert b.classes_.tolist() == classes
    assert b.transform(lists).toarray().tolist() == dense
    assert est.classes_.tolist() == classes


def test_ambiguous_rows_are_a_matrix_with_a_warning():
    rows = [[0, 1], [1, 0], [0, 1], [1, 0]]  # rows of a 2-column matrix, or lists {0, 1}
    with pytest.warns(UserWarning, match=r"read as a dense 0/1 label matrix.*tuple"):
        b = XMTCLabelBinarizer().fit(rows)
    assert b.classes_.tolist() == [0, 1]
    with pytest.warns(UserWarning, match="tuple"):
        assert b.transform(rows).toarray().tolist() == rows
    with pytest.warns(UserWarning, match="np.asarray"):
        est = DummyXMTCClassifier().fit(X, rows)
    assert est.label_frequencies_.tolist() == [2, 2]
    # the unambiguous spellings of each reading give no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lists = XMTCLabelBinarizer().fit_transform([tuple(r) for r in rows])
        assert lists.toarray().tolist() == [[1, 1]] * 4
        assert XMTCLabelBinarizer().fit_transform(np.asarray(rows)).toarray().tolist() == rows
        # a row with both or neither label is no valid label list: no ambiguity
        assert XMTCLabelBinarizer().fit_transform([[0, 1], [1, 1], [0, 0]]).shape == (3, 2)


# ---------------------------------------------------------------------------
# Item 3: columns of y against classes_ (score, metrics, scorers)
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def csr_model():
    return DummyXMTCClassifier().fit(X, sp.csr_matrix(Y))  # classes_ = 0, 1, 2


@pytest.fixture(scope="module")
def named_model():
    return DummyXMTCClassifier().fit(X, [["x", "z"], ["y"], ["x", "y"], ["x"]])


def test_score_rejects_a_narrower_matrix(csr_model, named_model):
    for est in (csr_model, named_model):
        with pytest.raises(ValueError, match="2 label columns but there are 3 classes"):
            est.score(X, Y[:, :2])
        with pytest.raises(ValueError, match="2 label columns but there are 3 classes"):
            est.score(X, sp.csr_matrix(Y[:, :2]))


def test_score_matrix_with_test_only_columns_and_label_lists(csr_model, named_model):
    # P@1: the top label is 0 ("x") for every text; truth holds it in rows 0, 2, 3
    assert csr_model.score(X, Y) == pytest.approx(0.75)
    wide = np.hstack([Y, [[0], [1], [0], [0]]])  # a test-only label after classes_
    assert csr_model.score(X, wide) == pytest.approx(0.75)
    assert named_model.score(X, wide) == pytest.approx(0.75)
    # label lists of a model fitted on a matrix are column indices (classes_ = 0..L-1)
    assert csr_model.score(X, [[0, 2], [1], [0, 1], [0]]) == pytest.approx(0.75)
    # unknown labels count as misses
    assert named_model.score(X, [["x"], ["w"], ["w"], ["x", "w"]]) == pytest.approx(0.5)
    assert csr_model.score(X, [[0], [7], [7], [0]]) == pytest.approx(0.5)


def test_score_rejects_names_against_integer_classes(csr_model, named_model):
    with pytest.raises(ValueError, match=r"'x' \(str\).*column indices 0\.\.2"):
        csr_model.score(X, [["x"], ["y"], ["x"], ["x"]])
    with pytest.raises(ValueError, match=r"label 0 \(int\).*str"):
        named_model.score(X, [[0], [1], [0], [0]])


def test_ranking_metrics_require_classes_with_label_lists():
    idx = np.array([[0], [1]])
    with pytest.raises(ValueError, match="classes= is required"):
        precision_at_k([["b"], ["a"]], idx, k=1)
    with pytest.raises(ValueError, match="classes= is required"):
        ranking_scores([["b"], ["a"]], idx, ks=(1,))
    assert precision_at_k([["b"], ["a"]], idx, k=1, classes=["b", "a"]) == 1.0
    assert precision_at_k([["b"], ["a"]], idx, k=1, classes=["a", "b"]) == 0.0


def test_ranking_metrics_check_columns_against_classes_and_scores():
    scores = np.array([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1]])
    y = np.array([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="2 label columns but there are 3 classes"):
        precision_at_k(y, np.array([[0], [1]]), k=1, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="y_pred has 3 columns but y_true has only 2"):
        precision_at_k(y, scores, k=1)
    with pytest.raises(ValueError, match="y_pred has 3 columns but y_true has only 2"):
        ndcg_at_k(sp.csr_matrix(y), sp.csr_matrix(scores), k=1)
    with pytest.raises(ValueError, match="label index 2 but y_true has only 2"):
        precision_at_k(y, np.array([[2], [1]]), k=1)
    # a wider y_true (test-only column 2) is the rule, not an error
    assert precision_at_k(np.array([[1, 0, 1], [0, 1, 0]]), scores, k=1, classes=[0, 1, 2]) == 1.0
    # label lists + classes: indices may name only the known classes
    with pytest.raises(ValueError, match="label index 2 but y_true has only 2"):
        precision_at_k([["a"], ["b", "new"]], np.array([[2], [1]]), k=1, classes=["a", "b"])


def test_set_metrics_require_classes_against_a_matrix_prediction():
    P = sp.csr_matrix(np.array([[1, 0], [0, 1]]))
    with pytest.raises(ValueError, match="classes= is required"):
        micro_f1([["a"], ["b"]], P)
    assert micro_f1([["a"], ["b"]], P, classes=["a", "b"]) == 1.0
    assert micro_f1([["a"], ["b"]], P, classes=["b", "a"]) == 0.0
    # both label lists: the labels are compared themselves, classes not needed
    assert classification_scores([["a"], ["b"]], [["a"], ["c"]])["micro_f1"] == 0.5
    with pytest.raises(ValueError, match="1 label columns but there are 2 classes"):
        micro_f1(np.array([[1], [0]]), P, classes=["a", "b"])


def test_set_metrics_unknown_predicted_names_miss_test_only_columns():
    # y_true: classes a, b, then a test-only column; the prediction "q" is no class
    y_true = np.array([[1, 0, 1]])
    assert micro_precision(y_true, [["a", "q"]], classes=["a", "b"]) == pytest.approx(0.5)


def test_scorers_check_columns(csr_model, named_model):
    for name in ("precision_at_1", "micro_f1"):
        scorer = get_scorer(name)
        with pytest.raises(ValueError, match="2 label columns but there are 3 classes"):
            scorer(csr_model, X, sp.csr_matrix(Y[:, :2]))
        with pytest.raises(ValueError, match=r"'x' \(str\)"):
            scorer(csr_model, X, [["x"], ["y"], ["x"], ["x"]])
    multi = xmtc_scoring(["precision_at_1", "micro_f1"])
    with pytest.raises(ValueError, match="2 label columns but there are 3 classes"):
        multi(named_model, X, Y[:, :2])
    assert multi(csr_model, X, [[0, 2], [1], [0, 1], [0]]) == pytest.approx(multi(csr_model, X, Y))


# ---------------------------------------------------------------------------
# Item 4: missing labels and mixed label types
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, np.float32("nan")])
def test_missing_labels_are_errors(missing):
    y = [["a"], ["b"], ["a"], ["b", missing]]
    pattern = r"y\[3\] holds a missing label \(" + ("None" if missing is None else ".*nan")
    with pytest.raises(ValueError, match=pattern):
        DummyXMTCClassifier().fit(X, y)
    with pytest.raises(ValueError, match=pattern.replace("y", "Y", 1)):
        XMTCLabelBinarizer().fit(y)
    with pytest.raises(ValueError, match=pattern.replace("y", "y_true", 1)):
        precision_at_k(y, np.zeros((4, 1), dtype=int), k=1, classes=["a", "b"])


def test_pandas_na_is_a_missing_label():
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match=r"Y\[1\] holds a missing label"):
        check_label_matrix([["a"], [pd.NA]])


def test_mixed_label_types_warn():
    y = [[1], ["1"], [1, 2], ["1"]]
    with pytest.warns(UserWarning, match=r"mixes label types, e\.g\. 1 \(int\) and '1' \(str\)"):
        est = DummyXMTCClassifier().fit(X, y)
    assert len(est.classes_) == 3  # 1, 2 and "1" stay three labels
    with pytest.warns(UserWarning, match="mixes label types"):
        XMTCLabelBinarizer().fit([["a"], [2.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        XMTCLabelBinarizer().fit([[1], [np.int64(2)]])  # python and numpy ints: one type
        XMTCLabelBinarizer().fit([["a"], [np.str_("b")]])
