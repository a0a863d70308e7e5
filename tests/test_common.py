"""The common estimator checks, run once, over the method registry.

Every fast parameter setting (``Method.tests``) of every method of
``sklearn_xmtc._registry.methods()`` -- plugins named in
``SKLEARN_XMTC_METHODS`` included -- gets every check of
``sklearn_xmtc.utils.estimator_checks.yield_xmtc_checks``; ids read
``<method>[<setting>]-<check>``, e.g. ``xmlcnn[0]-check_pickle_roundtrip``. A
new method is checked by its registry line, with no edit here. A method whose
optional extra is not installed has its checks skipped, with the reason.
"""

from functools import partial

import pytest

import sklearn_xmtc
from sklearn_xmtc._registry import get_method, make_estimator, methods, public_classes
from sklearn_xmtc.utils.estimator_checks import xmtc_check_names, yield_xmtc_checks

#: Checks known to fail, ``{(method name, setting index, check name): reason}``. Each runs
#: as a strict xfail: an unexpected pass fails the run, so a fixed entry must be removed.
EXPECTED_FAILURES = {
    ("ghxmc", 2, "check_label_formats"):
        "the subword mode spells each label by its name: label lists named 'label3' and the "
        "column 3 of a matrix are different strings, so the targets (and models) differ",
}


def _reraise(exc):
    raise exc


def common_cases(selected=None):
    """``pytest.param(check, id=...)`` for every (method, setting, check)."""
    cases = []
    for method in methods() if selected is None else selected:
        for setting in range(len(method.tests)):
            tag = f"{method.name}[{setting}]"
            if not method.available():
                skip = pytest.mark.skip(reason=f"{method.name} needs the `{method.extra}` extra "
                                               f"(pip install sklearn-xmtc[{method.extra}])")
                cases += [pytest.param(None, id=f"{tag}-{name}", marks=skip)
                          for name in xmtc_check_names()]
                continue
            try:
                est = make_estimator(method.name, setting=setting)
            except Exception as exc:  # noqa: BLE001 - one broken method fails its own case
                cases.append(pytest.param(partial(_reraise, exc), id=f"{tag}-make_estimator"))
                continue
            for name, check in yield_xmtc_checks(est):
                reason = EXPECTED_FAILURES.get((method.name, setting, name))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                cases.append(pytest.param(check, id=f"{tag}-{name}", marks=marks))
    return cases


@pytest.mark.parametrize("check", common_cases())
def test_common_checks(check):
    check()


def test_every_public_estimator_is_checked():
    classes = {}
    for method in methods():
        if method.tests:
            classes.setdefault(method.class_name, []).append(method)
    estimators = [n for n in sklearn_xmtc.__all__ if n != "load"]  # load: a function
    assert estimators == sorted(public_classes())
    unchecked = set(estimators) - set(classes)
    assert not unchecked, f"public estimators without a registry test setting: {unchecked}"
    not_here = sorted(name for name in estimators
                      if not any(m.available() for m in classes[name]))
    if not_here:
        pytest.skip(f"{not_here}: checks skipped here (optional extra not installed)")


def test_expected_failures_name_real_cases():
    names = set(xmtc_check_names())
    for (method, setting, check), reason in EXPECTED_FAILURES.items():
        assert 0 <= setting < len(get_method(method).tests), (method, setting)
        assert check in names, check
        assert reason, "every expected failure says why"
