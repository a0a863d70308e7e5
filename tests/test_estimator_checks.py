"""The common checks can fail: each broken variant of the dummy is caught by the check
that is meant to catch it (and the unbroken dummy passes every check)."""

import numpy as np
import pytest

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc.utils import estimator_checks as ec


class WrongScore(DummyXMTCClassifier):
    def score(self, X, y):
        return 0.5  # a number in [0, 1], but not P@1


class WrongFrequencies(DummyXMTCClassifier):
    def fit(self, X, y):
        super().fit(X, y)
        self.label_frequencies_ = self.label_frequencies_ + 1
        return self


class WrongSampleCount(DummyXMTCClassifier):
    def fit(self, X, y):
        super().fit(X, y)
        self.n_samples_fit_ = 1
        return self


class WrongPropensity(DummyXMTCClassifier):
    def fit(self, X, y):
        super().fit(X, y)
        self.inv_propensity_ = np.full_like(self.inv_propensity_, 2.0)  # (L,) and > 1
        return self


class CapitalY(DummyXMTCClassifier):
    def fit(self, X, Y):  # the pre-scikit-learn argument name
        return super().fit(X, Y)


class Nondeterministic(DummyXMTCClassifier):
    def fit(self, X, y):
        super().fit(X, y)
        self.priors_ = np.random.default_rng().random(self.priors_.shape, dtype=np.float32)
        return self


class IgnoresLabelLimits(DummyXMTCClassifier):
    def _iter_predicted_sets(self, texts, start=0):  # thresholded sets, limits forgotten
        for cand, scores in self._scored_batches(texts):
            r, c = np.nonzero(scores.numpy() >= self.threshold)
            yield len(scores), r, c


class CapsAtWrongLabels(DummyXMTCClassifier):
    def _iter_predicted_sets(self, texts, start=0):  # max_labels kept, but the worst labels
        for n, r, c in super()._iter_predicted_sets(texts, start):
            yield n, r, (self.n_labels_ - 1 - c) if self.max_labels else c


@pytest.mark.parametrize("cls, check, message", [
    (WrongScore, ec.check_fit_predict_shapes, "score gave 0.5"),
    (WrongFrequencies, ec.check_fit_predict_shapes, "label_frequencies_"),
    (WrongSampleCount, ec.check_fit_predict_shapes, "n_samples_fit_ 1 != 80"),
    (WrongPropensity, ec.check_fit_predict_shapes, "Jain"),
    (CapitalY, ec.check_fit_score_keyword_y, "fit\\(X, y=...\\)"),
    (Nondeterministic, ec.check_deterministic, "differ"),
    (lambda: IgnoresLabelLimits(strategy="prior"), ec.check_fit_predict_shapes,
     "exactly its best label"),
    (lambda: CapsAtWrongLabels(strategy="prior"), ec.check_fit_predict_shapes,
     "exactly its best label"),
])
def test_a_broken_estimator_fails_its_check(cls, check, message):
    with pytest.raises(AssertionError, match=message):
        check(getattr(cls, "__name__", "variant"), cls())


def test_the_dummy_passes_every_check():
    ec.check_xmtc_estimator(DummyXMTCClassifier())
    names = [name for name, _ in ec.yield_xmtc_checks(DummyXMTCClassifier())]
    assert names == ec.xmtc_check_names()
