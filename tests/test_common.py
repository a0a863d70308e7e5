"""The common estimator checks, run over every public estimator.

A new method is checked by adding a fast instance of it to ESTIMATORS.
"""

import pytest

from sklearn_xmtc import DummyXMTCClassifier, XMLCNNClassifier
from sklearn_xmtc.utils.estimator_checks import yield_xmtc_checks

FAST = dict(max_epochs=2, batch_size=16, max_length=32, device="cpu", random_state=0)

ESTIMATORS = [
    DummyXMTCClassifier(),
    DummyXMTCClassifier(strategy="prior", threshold=0.1),
    XMLCNNClassifier(embedding_dim=16, n_filters=8, hidden_size=16, **FAST),
]

CASES = [(est, name, check) for est in ESTIMATORS for name, check in yield_xmtc_checks(est)]


@pytest.mark.parametrize(
    "check", [c for _, _, c in CASES],
    ids=[f"{type(e).__name__}-{n}" for e, n, _ in CASES])
def test_common_checks(check):
    check()


def test_every_public_estimator_is_checked():
    import sklearn_xmtc

    checked = {type(e).__name__ for e in ESTIMATORS}
    assert set(sklearn_xmtc.__all__) <= checked
