"""Bad texts given as X: lone surrogates, mappings and sets, for fit and every predict method."""

import re

import numpy as np
import pytest

from sklearn_xmtc import DummyXMTCClassifier, XMLCNNClassifier
from sklearn_xmtc._registry import methods
from sklearn_xmtc.utils.validation import check_texts

X_TRAIN = ["apple pie", "banana bread", "cherry tart", "apple crumble", "banana split"]
Y_TRAIN = [["fruit", "apple"], ["fruit"], ["fruit", "cherry"], ["apple"], ["fruit"]]
# row 3 holds a lone surrogate, as os.fsdecode(b"\xff") or a surrogateescape read gives
BAD = ["apple", "tart", "crème brûlée", "caf\udcff au lait", "pie"]
SURROGATE = re.escape("X[3] is not valid Unicode: it holds a lone surrogate '\\udcff' at "
                      "character 3")
PREDICT_METHODS = ["predict", "predict_topk", "predict_proba", "predict_labels", "score"]


def _call(est, method, X):
    if method == "score":
        return est.score(X, [["fruit"]] * len(X))
    return getattr(est, method)(X)


@pytest.fixture(scope="module")
def fitted():
    """A dummy (which ignores the text) and an XML-CNN (which tokenizes it)."""
    cnn = XMLCNNClassifier(embedding_dim=8, n_filters=4, hidden_size=8, max_length=16,
                           max_epochs=1, device="cpu", verbose=0, random_state=0)
    return {"dummy": DummyXMTCClassifier().fit(X_TRAIN, Y_TRAIN),
            "xmlcnn": cnn.fit(X_TRAIN, Y_TRAIN)}


def test_check_texts_names_the_lone_surrogate():
    with pytest.raises(ValueError, match=SURROGATE + r".*surrogateescape.*'replace'"):
        check_texts(BAD)
    with pytest.raises(ValueError, match=r"^docs\[0\] is not valid Unicode"):
        check_texts(["\ud800"], name="docs")  # a high surrogate too
    # valid non-ASCII text (accents, CJK, emoji outside the BMP) passes unchanged
    good = ["crème brûlée", "寿司", "🍣 sushi", "plain"]
    assert check_texts(good) == good
    # a surrogate pair written as one character is valid; only lone halves are not
    assert check_texts(["\U0001f363"]) == ["\U0001f363"]


@pytest.mark.parametrize("method", [m for m in methods() if m.available()],
                         ids=lambda m: m.name)
def test_fit_rejects_a_lone_surrogate_for_every_estimator(method):
    # the check runs before any training or tokenizer, so the defaults are cheap here
    with pytest.raises(ValueError, match=SURROGATE):
        method.load()().fit(BAD, Y_TRAIN)


@pytest.mark.parametrize("name", ["dummy", "xmlcnn"])
@pytest.mark.parametrize("method", PREDICT_METHODS)
def test_every_predict_method_rejects_a_lone_surrogate(fitted, name, method):
    # before: the dummy answered without a word, XML-CNN raised a tokenizers TypeError
    with pytest.raises(ValueError, match=SURROGATE):
        _call(fitted[name], method, BAD)
    # the same texts without row 3 are predicted, one row each
    out = _call(fitted[name], method, BAD[:3] + BAD[4:])
    if method == "score":  # P@1 against "fruit" for every text: top-1 == "fruit"
        est = fitted[name]
        top = est.classes_[est.predict_topk(BAD[:3] + BAD[4:], k=1)[0][:, 0]]
        assert out == pytest.approx(float(np.mean(top == "fruit")))
    else:
        out = out[0] if method == "predict_topk" else out  # (indices, scores)
        assert (len(out) if isinstance(out, list) else out.shape[0]) == 4


@pytest.mark.parametrize("X, what", [
    ({"apple pie": 0, "banana bread": 1}, r"mapping \(dict\).*read as its keys"
                                          r".*list\(X.values\(\)\)"),
    ({"apple pie", "banana bread"}, r"a set, whose order is arbitrary.*sorted\(X\)"),
    (frozenset({"apple pie"}), r"a frozenset, whose order is arbitrary"),
])
def test_mappings_and_sets_are_refused(fitted, X, what):
    with pytest.raises(TypeError, match=what):
        check_texts(X)
    with pytest.raises(TypeError, match=what):
        DummyXMTCClassifier().fit(X, Y_TRAIN[:len(X)])
    for method in PREDICT_METHODS:
        with pytest.raises(TypeError, match=what):
            _call(fitted["dummy"], method, X)


def test_ordered_iterables_are_still_accepted(fitted):
    texts = {"a": "apple pie", "b": "banana bread"}
    est = fitted["dummy"]
    want = est.predict_proba(list(texts.values()))
    # dict views keep insertion order: values() and keys() are fine
    np.testing.assert_array_equal(est.predict_proba(texts.values()), want)
    assert check_texts(texts.keys()) == ["a", "b"]
    assert check_texts(t for t in ("x", "y")) == ["x", "y"]


def test_label_texts_with_a_lone_surrogate_name_the_label():
    from sklearn_xmtc.labels import load_label_texts

    with pytest.raises(ValueError, match=r"label_texts\['a'\] is not valid Unicode"):
        load_label_texts({"a": "caf\udcff"})
